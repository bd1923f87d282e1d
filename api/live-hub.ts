import type { Redis } from 'ioredis';
import {
  currentSeq,
  LIVE_CHANNEL_PATTERN,
  type LiveEnvelope,
  liveEnvelopeSchema,
  memberTopic,
  orgTopic,
  readBacklog,
} from '../lib/live.js';
import type { Logger } from '../lib/logger.js';
import { presenceChannel, staffPresenceMessage } from '../lib/presence.js';

/** One client's view of the hub: it receives what is published on the topics it follows. */
export interface LiveClient {
  send(message: object): void;
}

const PRESENCE_PATTERN = 'gm:presence-ch:*';
const presenceKey = (ticketId: string) => `gm:presence:${ticketId}`;
/** A viewer who stops refreshing disappears after this long (a closed laptop, a lost network). */
export const PRESENCE_TTL_MS = 30_000;

export type PresenceState = 'viewing' | 'typing';
export interface Viewer {
  userId: string;
  state: PresenceState;
}

/**
 * Per API instance: one Redis subscriber connection for every WebSocket it holds. Events come
 * from the outbox relay on any instance (lib/live.ts); each topic a client follows gets them in
 * sequence order. While a client catches up from the backlog, live envelopes for that topic are
 * held and sent after it, so the client sees no gap or duplicate it didn't ask for.
 */
export class LiveHub {
  private readonly topics = new Map<string, Map<LiveClient, { syncing: LiveEnvelope[] | null }>>();

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  async start(): Promise<void> {
    this.subscriber.on('pmessage', (pattern: string, channel: string, message: string) => {
      try {
        if (pattern === LIVE_CHANNEL_PATTERN) this.deliver(liveEnvelopeSchema.parse(JSON.parse(message)));
        else {
          // The org's channel carries both viewers of a ticket and staff presence (lib/presence.ts).
          const msg = JSON.parse(message) as { ticketId?: string };
          if (typeof msg.ticketId === 'string')
            this.deliverPresence(msg as { ticketId: string; viewers: Viewer[] });
          else this.deliverStaffPresence(channel.slice(PRESENCE_PATTERN.length - 1), msg);
        }
      } catch (err) {
        this.log.warn({ err }, 'dropped a malformed live message');
      }
    });
    await this.subscriber.psubscribe(LIVE_CHANNEL_PATTERN, PRESENCE_PATTERN);
  }

  async stop(): Promise<void> {
    // The connection is the app's (shared with the token cache); app.ts closes it.
    this.topics.clear();
  }

  private deliver(env: LiveEnvelope) {
    for (const [client, state] of this.topics.get(env.topic) ?? []) {
      if (state.syncing) state.syncing.push(env);
      else client.send({ type: 'event', ...env });
    }
  }

  /**
   * Follows a topic. With `after`, first sends what was published after that sequence number
   * (or `resync` when the backlog no longer reaches back that far: refetch, then follow).
   */
  async subscribe(client: LiveClient, topic: string, after: number | undefined): Promise<void> {
    let clients = this.topics.get(topic);
    if (!clients) {
      clients = new Map();
      this.topics.set(topic, clients);
    }
    const state = { syncing: [] as LiveEnvelope[] | null };
    clients.set(client, state);
    let last = after ?? 0;
    try {
      if (after !== undefined) {
        const { envelopes, complete } = await readBacklog(this.redis, topic, after);
        if (!complete) client.send({ type: 'resync', topic });
        for (const env of envelopes) client.send({ type: 'event', ...env });
        last = envelopes.at(-1)?.seq ?? after;
      }
      const current = await currentSeq(this.redis, topic);
      client.send({ type: 'subscribed', topic, seq: Math.max(current, last) });
    } finally {
      for (const env of state.syncing ?? []) if (env.seq > last) client.send({ type: 'event', ...env });
      state.syncing = null;
    }
  }

  unsubscribe(client: LiveClient, topic: string) {
    const clients = this.topics.get(topic);
    clients?.delete(client);
    if (clients?.size === 0) this.topics.delete(topic);
  }

  drop(client: LiveClient) {
    for (const topic of [...this.topics.keys()]) this.unsubscribe(client, topic);
  }

  /** Records (or with `null`, clears) who is viewing or typing in a ticket and tells the other viewers. */
  async setPresence(
    orgId: string,
    ticketId: string,
    userId: string,
    state: PresenceState | null,
  ): Promise<void> {
    const key = presenceKey(ticketId);
    const now = this.now();
    const tx = this.redis.multi().zremrangebyscore(key, '-inf', now);
    if (state)
      tx.zadd(key, now + PRESENCE_TTL_MS, `${userId}|${state}`).zrem(key, `${userId}|${other(state)}`);
    else tx.zrem(key, `${userId}|viewing`, `${userId}|typing`);
    await tx.pexpire(key, PRESENCE_TTL_MS * 2).exec();
    const viewers = await this.viewers(ticketId);
    await this.redis.publish(presenceChannel(orgId), JSON.stringify({ ticketId, viewers }));
  }

  async viewers(ticketId: string): Promise<Viewer[]> {
    const members = await this.redis.zrangebyscore(presenceKey(ticketId), this.now(), '+inf');
    return members.map((m) => {
      const [userId, state] = m.split('|');
      return { userId: userId as string, state: state as PresenceState };
    });
  }

  /**
   * A member's online/away/offline change goes, once each, to every client following the org's
   * inbox or a member's own notifications in it: every panel page with an org on screen follows
   * the latter (the bell), a ticket page follows no inbox. Changes are rare (a member coming or
   * choosing), so walking the topics is cheap.
   */
  private deliverStaffPresence(orgId: string, raw: unknown) {
    const { userId, state, lastSeenAt } = staffPresenceMessage.parse(raw);
    const message = { type: 'staff-presence', userId, state, lastSeenAt: new Date(lastSeenAt).toISOString() };
    const members = memberTopic(orgId, '');
    const clients = new Set<LiveClient>();
    for (const [topic, followers] of this.topics) {
      if (topic === orgTopic(orgId) || topic.startsWith(members)) for (const [c] of followers) clients.add(c);
    }
    for (const client of clients) client.send(message);
  }

  private deliverPresence(msg: { ticketId: string; viewers: Viewer[] }) {
    for (const [client] of this.topics.get(`ticket:${msg.ticketId}`) ?? []) {
      client.send({ type: 'presence', ticketId: msg.ticketId, viewers: msg.viewers });
    }
  }
}

const other = (s: PresenceState): PresenceState => (s === 'viewing' ? 'typing' : 'viewing');
