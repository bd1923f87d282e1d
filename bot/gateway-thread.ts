import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapStatistics } from 'node:v8';
import { MessageChannel, parentPort } from 'node:worker_threads';
import {
  type SessionInfo,
  WebSocketShard,
  type WebSocketShardDestroyOptions,
  WebSocketShardEvents,
  WorkerBootstrapper,
  WorkerContextFetchingStrategy,
  WorkerReceivePayloadOp,
} from '@discordjs/ws';
import { Agent, request } from 'undici';
import {
  EARLY_ACK,
  type EarlyAck,
  GATEWAY_CLOSE_WAIT_MS,
  type GatewayThreadConfig,
  type RawInteraction,
  rawAck,
  type ThreadHeapReply,
  type ThreadHeapRequest,
} from './acks.js';

/**
 * The gateway thread: the bot's shards (WebSocket, inflate, JSON) run here, not on the main
 * thread, and an interaction whose first answer is an ephemeral deferral (`acks.ts`) is
 * acknowledged here the moment its frame arrives. Discord allows 3 s for that; on the main
 * thread an acknowledgement waited behind whatever ran there (database results, REST answers,
 * garbage collection). The event then goes on to the main thread marked as acknowledged, which
 * answers it by editing the deferred reply. Nothing else is decided here: a refused
 * acknowledgement (a replayed interaction) is marked so, and any other failure leaves the
 * acknowledgement to the main thread, as if this thread had not tried.
 */

/** After this the thread stops waiting (3 s is Discord's limit for the first answer to arrive). */
const ACK_TIMEOUT_MS = 2_000;
/** Of that, for a new connection to Discord (most acknowledgements reuse one). */
const CONNECT_TIMEOUT_MS = 750;
/** Discord refused the acknowledgement: already acknowledged (a replay), or too late. */
const REFUSED = new Set([40060, 10062]);

/**
 * A shard's session, kept in the thread. @discordjs/ws's worker strategy asks the main thread for
 * it on every dispatch, so each event, an interaction's too, waited for the main thread to
 * answer, and events could pass each other on the way. The thread is the session's only writer:
 * the main thread is still told of every change (to resume after the thread is restarted), and
 * asked once, when the shard starts.
 */
class LocalSessions extends WorkerContextFetchingStrategy {
  private readonly sessions = new Map<number, SessionInfo | null>();

  override async retrieveSessionInfo(shardId: number): Promise<SessionInfo | null> {
    if (!this.sessions.has(shardId)) this.sessions.set(shardId, await super.retrieveSessionInfo(shardId));
    return this.sessions.get(shardId) ?? null;
  }

  override updateSessionInfo(shardId: number, session: SessionInfo | null): void {
    this.sessions.set(shardId, session);
    super.updateSessionInfo(shardId, session);
  }
}

/** An ephemeral "thinking…" (type 5, flag 64), as the main thread's deferReply sends. */
const DEFER = JSON.stringify({ type: 5, data: { flags: 64 } });

class GatewayThread extends WorkerBootstrapper {
  private config: GatewayThreadConfig | null = null;
  /**
   * Keep-alive connections for the acknowledgements, through undici's own request API: `fetch`
   * (the same client under WHATWG streams, an AbortSignal and a DOMException per call) cost this
   * thread about as much CPU per acknowledgement as the rest of its work on the interaction.
   */
  private readonly http = new Agent({
    // Within ACK_TIMEOUT_MS altogether, a new connection included.
    connect: { timeout: CONNECT_TIMEOUT_MS },
    headersTimeout: ACK_TIMEOUT_MS - CONNECT_TIMEOUT_MS,
    bodyTimeout: ACK_TIMEOUT_MS - CONNECT_TIMEOUT_MS,
  });
  private readonly destroying = new Map<number, Promise<void>>();
  private markAllAsked = () => {};
  /** Every shard of the thread has been asked to close. */
  private readonly allAsked = new Promise<void>((resolve) => {
    this.markAllAsked = resolve;
  });

  /**
   * What `bootstrap()` does, with two differences: every event goes through `forwardInOrder`
   * (one that overtook a dispatch held for its acknowledgement would reach the client out of
   * order), and each shard keeps its session here (`LocalSessions`).
   */
  async start(): Promise<void> {
    for (const shardId of this.data.shardIds) {
      const shard = new WebSocketShard(new LocalSessions(this.data), shardId);
      this.forwardInOrder(shard);
      this.shards.set(shardId, shard);
    }
    this.setupThreadEvents();
    parentPort?.postMessage({ op: WorkerReceivePayloadOp.WorkerReady });
    // Asked for once the main thread listens: its first message (connect) comes after that. The
    // port stays open (without holding the thread up) for the main thread's questions.
    parentPort?.once('message', () => {
      const { port1, port2 } = new MessageChannel();
      port1.on('message', (m: GatewayThreadConfig | ThreadHeapRequest) => {
        if ('heap' in m) port1.postMessage(heapUsed(m));
        else this.config = m;
      });
      port1.unref();
      parentPort?.postMessage({ gatewayThread: 'config', port: port2 }, [port2]);
    });
  }

  /**
   * A shard that cannot connect (Discord closed with a code that forbids retrying: a refused
   * intent, a wrong shard) has already said so through its close and error events, which the
   * client turns into a fatal start error. Left to reject here, it would crash the thread, and
   * @discordjs/ws's worker strategy rethrows that on the main thread: the process would die
   * without the reason, and the client's connect would never return.
   */
  protected override async connect(shardId: number): Promise<void> {
    await super.connect(shardId).catch(() => {});
  }

  /**
   * Works around @discordjs/ws 1.2: destroying a shard that is still waiting for READY aborts
   * that wait, whose handler starts a second destroy "to reconnect"; the second clears the
   * first's close handler, so `client.destroy()` never returned and the shard connected and
   * identified again after the client was destroyed (burning session starts). Dropping the
   * pending waits first leaves them to end on the shard's close, as they do for a ready shard.
   */
  protected override async destroy(shardId: number, options?: WebSocketShardDestroyOptions): Promise<void> {
    const shard = this.shards.get(shardId) as unknown as { timeoutAbortControllers?: Map<string, unknown> };
    shard?.timeoutAbortControllers?.clear();
    this.destroying.set(shardId, super.destroy(shardId, options));
    // The worker strategy ends the thread on the first "destroyed" it gets back, and destroys
    // every shard of the thread together: none is answered until all have closed. A close that
    // has not finished by then is cut when the thread ends; a stop waits no longer.
    if (this.destroying.size === this.data.shardIds.length) this.markAllAsked();
    await this.allAsked;
    await Promise.race([
      Promise.all(this.destroying.values()),
      sleep(GATEWAY_CLOSE_WAIT_MS, undefined, { ref: false }),
    ]);
  }

  /**
   * The shard's events go to the main thread in the order they came, an interaction's after its
   * acknowledgement; while nothing waits, at once.
   */
  private forwardInOrder(shard: WebSocketShard): void {
    let waiting = 0;
    let previous: Promise<void> = Promise.resolve();
    const post = (event: WebSocketShardEvents, payload: unknown) =>
      parentPort?.postMessage({ op: WorkerReceivePayloadOp.Event, event, data: payload, shardId: shard.id });
    for (const event of Object.values(WebSocketShardEvents)) {
      shard.on(event, (payload: unknown) => {
        const d =
          event === WebSocketShardEvents.Dispatch
            ? interactionIn(payload as { data: { t: string | null; d: unknown } })
            : null;
        const ack = d && this.acks(d) ? this.acknowledge(d) : null;
        if (!ack && waiting === 0) return void post(event, payload);
        waiting += 1;
        previous = previous
          .then(async () => {
            const early = await ack;
            if (d && early) d[EARLY_ACK] = early;
            post(event, payload);
          })
          .finally(() => {
            waiting -= 1;
          })
          // An event that cannot be passed on must not silently stop the ones after it: the
          // thread fails, and with it the process, which its supervisor restarts.
          .catch((err: unknown) =>
            process.nextTick(() => {
              throw err;
            }),
          );
      });
    }
  }

  /** Whether this thread acknowledges the interaction: its first answer is an ephemeral deferral. */
  private acks(d: Record<string, unknown>): boolean {
    return !!this.config && rawAck(this.config.acks, d as unknown as RawInteraction) === 'defer';
  }

  private async acknowledge(d: Record<string, unknown>): Promise<EarlyAck | null> {
    const c = this.config as GatewayThreadConfig;
    const sent = performance.timeOrigin + performance.now();
    try {
      const res = await request(
        `${c.apiBase}/interactions/${String(d['id'])}/${String(d['token'])}/callback`,
        {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'User-Agent': c.userAgent },
          body: DEFER,
          dispatcher: this.http,
        },
      );
      if (res.statusCode >= 200 && res.statusCode < 300) {
        await res.body.dump();
        return { at: Date.now(), sent };
      }
      const body = (await res.body.json().catch(() => null)) as { code?: unknown } | null;
      const code = Number(body?.code);
      return REFUSED.has(code) ? { refused: code } : null;
    } catch {
      // No answer: Discord may or may not have taken it. The main thread acknowledges again and
      // takes "already acknowledged" as this one having landed.
      return { unsure: true };
    }
  }
}

void new GatewayThread().start();

function heapUsed(req: ThreadHeapRequest): ThreadHeapReply {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (req.gc && gc) {
    gc();
    gc();
  }
  return { heap: req.heap, usedBytes: getHeapStatistics().used_heap_size };
}

function interactionIn(payload: { data: { t: string | null; d: unknown } }): Record<string, unknown> | null {
  return payload.data.t === 'INTERACTION_CREATE' ? (payload.data.d as Record<string, unknown>) : null;
}
