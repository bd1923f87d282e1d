import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { FakeContext } from './context.js';
import { randomToken, shardOf } from './snowflake.js';
import type { Json } from './state.js';

export const GATEWAY_PATH = '/gateway';

const Intents = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildPresences: 1 << 8,
  GuildMessages: 1 << 9,
  DirectMessages: 1 << 12,
  MessageContent: 1 << 15,
};

/** The intent a dispatch needs, or 0 when it is always sent. Messages in DMs need DirectMessages. */
function intentFor(event: string, dm: boolean): number {
  if (event.startsWith('GUILD_MEMBER')) return Intents.GuildMembers;
  if (event.startsWith('MESSAGE_')) return dm ? Intents.DirectMessages : Intents.GuildMessages;
  if (event.startsWith('GUILD_') || event.startsWith('CHANNEL_') || event.startsWith('THREAD_')) {
    return event === 'THREAD_MEMBERS_UPDATE' ? Intents.GuildMembers | Intents.Guilds : Intents.Guilds;
  }
  return 0;
}

interface Frame {
  op: number;
  d: unknown;
  s: number | null;
  t: string | null;
}

interface Session {
  id: string;
  shard: [number, number];
  intents: number;
  token: string;
  seq: number;
  /** Dispatches sent in this session, for RESUME replays. */
  sent: Frame[];
  socket: Connection | null;
  resumable: boolean;
}

interface Connection {
  ws: WebSocket;
  session: Session | null;
  shardId: number | null;
}

export interface SessionStart {
  shardId: number;
  shardCount: number;
  at: number;
  /** True when this IDENTIFY broke `max_concurrency` (same bucket within the identify window, 5 s). */
  violatesMaxConcurrency: boolean;
}

/** The gateway side of the fake: sessions per shard, dispatch routing, RESUME replays. */
export class Gateway {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly connections = new Set<Connection>();
  private readonly sessions = new Map<string, Session>();
  readonly sessionStarts: SessionStart[] = [];
  private readonly lastIdentifyByBucket = new Map<number, number>();
  /**
   * Discord's identify window: one IDENTIFY per `max_concurrency` bucket per 5 s. Tests that
   * start many shards shorten it (and the bot's throttler window with it) to run in seconds.
   */
  identifyWindowMs = 5000;
  /** Shards whose IDENTIFY is accepted but never answered with READY (a stalled start). */
  readonly stalledShards = new Set<number>();
  /** While true the gateway is unreachable: new connections are cut before the WebSocket opens. */
  private unreachable = false;
  /** Connections cut during an outage, for tests that wait for a client's attempt to fail. */
  refusedConnections = 0;

  constructor(private readonly fake: FakeContext) {}

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== GATEWAY_PATH || this.unreachable) {
        if (this.unreachable) this.refusedConnections += 1;
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, url));
    });
  }

  url(): string {
    return `${this.fake.baseUrl().replace(/^http/, 'ws')}${GATEWAY_PATH}`;
  }

  private onConnection(ws: WebSocket, url: URL): void {
    const conn: Connection = { ws, session: null, shardId: null };
    this.connections.add(conn);
    ws.on('close', (code) => {
      this.connections.delete(conn);
      if (conn.session?.socket !== conn) return;
      conn.session.socket = null;
      // A clean close (1000/1001) from the client ends the session, as on Discord.
      if (code === 1000 || code === 1001) conn.session.resumable = false;
    });
    ws.on('error', () => undefined);
    ws.on('message', (raw, isBinary) => this.onMessage(conn, raw.toString(), isBinary));
    if (url.searchParams.get('v') !== '10' || url.searchParams.get('encoding') !== 'json') {
      // Discord closes with 4012 (invalid API version) or 4002 (decode error) for these.
      ws.close(url.searchParams.get('v') !== '10' ? 4012 : 4002, 'Invalid API version or encoding');
      return;
    }
    this.send(conn, {
      op: 10,
      d: { heartbeat_interval: this.fake.options.heartbeatIntervalMs },
      s: null,
      t: null,
    });
  }

  private onMessage(conn: Connection, raw: string, isBinary: boolean): void {
    let frame: { op?: unknown; d?: unknown };
    try {
      frame = JSON.parse(raw) as { op?: unknown; d?: unknown };
    } catch {
      conn.ws.close(4002, 'Error while decoding payload.');
      return;
    }
    const op = typeof frame.op === 'number' ? frame.op : -1;
    this.fake.log.addFrame({
      shardId: conn.shardId,
      direction: 'in',
      op,
      t: null,
      s: null,
      d: frame.d ?? null,
      at: Date.now(),
    });
    if (isBinary) return;
    switch (op) {
      case 1:
        this.send(conn, { op: 11, d: null, s: null, t: null });
        return;
      case 2:
        this.identify(conn, (frame.d ?? {}) as Json);
        return;
      case 6:
        this.resume(conn, (frame.d ?? {}) as Json);
        return;
      case 3:
      case 4:
      case 8:
        if (!conn.session) conn.ws.close(4003, 'Not authenticated.');
        return;
      default:
        conn.ws.close(4001, 'Unknown opcode.');
    }
  }

  private identify(conn: Connection, d: Json): void {
    if (conn.session) {
      conn.ws.close(4005, 'Already authenticated.');
      return;
    }
    const token = typeof d['token'] === 'string' ? d['token'].replace(/^Bot /, '') : '';
    if (token !== this.fake.state.botToken) {
      conn.ws.close(4004, 'Authentication failed.');
      return;
    }
    const shardRaw = Array.isArray(d['shard']) ? d['shard'] : [0, 1];
    const shard: [number, number] = [Number(shardRaw[0] ?? 0), Number(shardRaw[1] ?? 1)];
    if (!(shard[1] >= 1 && shard[0] >= 0 && shard[0] < shard[1])) {
      conn.ws.close(4010, 'Invalid shard.');
      return;
    }
    if (typeof d['intents'] !== 'number') {
      conn.ws.close(4013, 'Invalid intent(s).');
      return;
    }
    // Message Content (1 << 15) is privileged: an app without it enabled in the portal gets 4014.
    if (!this.fake.options.messageContentIntent && (d['intents'] & (1 << 15)) !== 0) {
      conn.ws.close(4014, 'Disallowed intent(s).');
      return;
    }
    const limit = this.fake.options.sessionStartLimit;
    const bucket = shard[0] % limit.max_concurrency;
    const now = Date.now();
    const last = this.lastIdentifyByBucket.get(bucket);
    const violates = last !== undefined && now - last < this.identifyWindowMs;
    this.sessionStarts.push({
      shardId: shard[0],
      shardCount: shard[1],
      at: now,
      violatesMaxConcurrency: violates,
    });
    limit.remaining = Math.max(0, limit.remaining - 1);
    if (violates && this.fake.options.enforceIdentifyRateLimit) {
      this.send(conn, { op: 9, d: false, s: null, t: null });
      return;
    }
    this.lastIdentifyByBucket.set(bucket, now);
    const session: Session = {
      id: randomToken(16),
      shard,
      intents: d['intents'],
      token,
      seq: 0,
      sent: [],
      socket: conn,
      resumable: true,
    };
    this.sessions.set(session.id, session);
    conn.session = session;
    conn.shardId = shard[0];
    if (this.stalledShards.has(shard[0])) return;
    const { state } = this.fake;
    const guildIds = [...state.guilds.keys()].filter((id) => shardOf(id, shard[1]) === shard[0]);
    this.sendDispatch(session, 'READY', {
      v: 10,
      user: { ...state.userPayload(state.botUser), verified: true, mfa_enabled: false, email: null },
      guilds: guildIds.map((id) => ({ id, unavailable: true })),
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.url(),
      shard,
      application: { id: state.applicationId, flags: 0 },
      user_settings: {},
      relationships: [],
      private_channels: [],
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      auth: {},
      _trace: ['["fake-discord",{"micros":0}]'],
    });
    for (const id of guildIds)
      this.sendDispatch(
        session,
        'GUILD_CREATE',
        stripContent('GUILD_CREATE', state.guildCreatePayload(id), session.intents, state.botUser.id),
      );
  }

  private resume(conn: Connection, d: Json): void {
    const session = typeof d['session_id'] === 'string' ? this.sessions.get(d['session_id']) : undefined;
    const token = typeof d['token'] === 'string' ? d['token'].replace(/^Bot /, '') : '';
    if (token !== this.fake.state.botToken) {
      conn.ws.close(4004, 'Authentication failed.');
      return;
    }
    if (!session?.resumable) {
      this.send(conn, { op: 9, d: false, s: null, t: null });
      return;
    }
    const seq = typeof d['seq'] === 'number' ? d['seq'] : 0;
    if (session.socket && session.socket !== conn)
      session.socket.ws.close(4000, 'Session resumed elsewhere.');
    session.socket = conn;
    conn.session = session;
    conn.shardId = session.shard[0];
    for (const frame of session.sent) if ((frame.s ?? 0) > seq) this.send(conn, frame);
    this.sendDispatch(session, 'RESUMED', null);
  }

  private send(conn: Connection, frame: Frame): void {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    conn.ws.send(JSON.stringify(frame));
    this.fake.log.addFrame({
      shardId: conn.shardId,
      direction: 'out',
      op: frame.op,
      t: frame.t,
      s: frame.s,
      d: frame.d,
      at: Date.now(),
    });
  }

  private sendDispatch(session: Session, t: string, d: unknown): void {
    session.seq += 1;
    const frame: Frame = { op: 0, t, s: session.seq, d };
    session.sent.push(frame);
    if (session.sent.length > 1000) session.sent.shift();
    if (session.socket) this.send(session.socket, frame);
  }

  /** Live sessions (one per shard normally). */
  private liveSessions(): Session[] {
    return [...this.sessions.values()].filter((s) => s.resumable);
  }

  /**
   * Sends a dispatch to the shard that owns `guildId` (shard 0 for `null`, like DMs), honouring
   * intents. Sessions whose socket is down keep the event for a RESUME replay.
   */
  dispatch(guildId: string | null, event: string, data: unknown): number {
    let sent = 0;
    for (const session of this.liveSessions()) {
      const owner = !guildId ? 0 : shardOf(guildId, session.shard[1]);
      if (owner !== session.shard[0]) continue;
      const needed = intentFor(event, !guildId);
      if (needed && !(session.intents & needed)) continue;
      this.sendDispatch(
        session,
        event,
        stripContent(event, data, session.intents, this.fake.state.botUser.id),
      );
      sent += 1;
    }
    return sent;
  }

  /** Sends op 7 to the shard's live connection; the client should resume with op 6. */
  reconnectShard(shardId: number): void {
    for (const session of this.liveSessions()) {
      if (session.shard[0] === shardId && session.socket)
        this.send(session.socket, { op: 7, d: null, s: null, t: null });
    }
  }

  /** Sends op 9; a non-resumable invalidation forgets the session, so only IDENTIFY works. */
  invalidateSession(shardId: number, resumable: boolean): void {
    for (const session of this.liveSessions()) {
      if (session.shard[0] !== shardId) continue;
      if (!resumable) session.resumable = false;
      if (session.socket) this.send(session.socket, { op: 9, d: resumable, s: null, t: null });
    }
  }

  /** Drops the shard's TCP connection without a close frame, like a network failure. */
  dropShard(shardId: number): void {
    for (const conn of this.connections) if (conn.shardId === shardId) conn.ws.terminate();
  }

  /**
   * A gateway outage: every connection is cut without a close frame and reconnects fail until
   * `restoreGateway`. Sessions stay resumable and keep what is dispatched meanwhile (REST works
   * throughout), so a client that comes back resumes and gets the missed events replayed.
   */
  cutGateway(): void {
    this.unreachable = true;
    for (const conn of this.connections) conn.ws.terminate();
  }

  restoreGateway(): void {
    this.unreachable = false;
  }

  /** Shard ids with an identified, connected session. */
  connectedShards(): number[] {
    return [...this.connections].filter((c) => c.session).map((c) => c.shardId ?? 0);
  }

  async close(): Promise<void> {
    for (const conn of this.connections) conn.ws.terminate();
    this.connections.clear();
    this.sessions.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

/** Without the MessageContent intent, other users' messages arrive without content. */
function stripContent(event: string, data: unknown, intents: number, botId: string): unknown {
  if (event === 'GUILD_CREATE') return trimMembers(data as Json, intents, botId);
  if (event !== 'MESSAGE_CREATE' && event !== 'MESSAGE_UPDATE') return data;
  if (intents & Intents.MessageContent) return data;
  const msg = data as Json;
  // Discord keeps the content of messages in DMs with the app without the privileged intent.
  if (!msg['guild_id']) return data;
  const author = msg['author'] as Json | undefined;
  if (author?.['id'] === botId) return data;
  const mentions = (msg['mentions'] as Json[] | undefined) ?? [];
  if (mentions.some((m) => m['id'] === botId)) return data;
  return { ...msg, content: '', embeds: [], attachments: [], components: [] };
}

/**
 * Without the privileged GuildPresences intent, GUILD_CREATE lists only the bot's own member (and
 * members in voice channels, which the fake has none of), as Discord documents.
 */
function trimMembers(guild: Json, intents: number, botId: string): Json {
  if (intents & Intents.GuildPresences) return guild;
  const members = (guild['members'] as Json[] | undefined) ?? [];
  return { ...guild, members: members.filter((m) => (m['user'] as Json | undefined)?.['id'] === botId) };
}
