import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { MessagePort } from 'node:worker_threads';
import { DefaultUserAgent } from '@discordjs/rest';
import { type IShardingStrategy, type WebSocketManager, WorkerShardingStrategy } from '@discordjs/ws';
import { type Client, Events, type Interaction } from 'discord.js';
import { gauge } from '../lib/metrics.js';
import {
  type AckTable,
  EARLY_ACK,
  type EarlyAck,
  GATEWAY_CLOSE_WAIT_MS,
  type GatewayThreadConfig,
  type ThreadHeapReply,
  type ThreadHeapRequest,
} from './acks.js';

// From the sources the thread starts through a boot module that registers tsx first.
const here = import.meta.url;
const THREAD = fileURLToPath(
  new URL(here.endsWith('.ts') ? './gateway-thread-boot.mjs' : './gateway-thread.js', here),
);

export interface GatewayThreadStrategy extends IShardingStrategy {
  /**
   * The V8 heap the gateway thread uses (bytes), after collecting its garbage when `gc` and the
   * process runs with `--expose-gc`; null before the thread has started or after it ended.
   */
  threadHeapUsed(gc?: boolean): Promise<number | null>;
}

/** Strategies of this process's clients with a thread (spawned, not yet destroyed), for the heap gauge. */
const live = new Set<GatewayThreadStrategy>();

gauge(
  'gamemod_bot_gateway_thread_heap_bytes',
  "V8 heap used by the bot's gateway thread (its shards), which the process heap figures leave out",
  [],
  async function () {
    const used = await Promise.all([...live].map((s) => s.threadHeapUsed()));
    this.set(used.reduce<number>((sum, n) => sum + (n ?? 0), 0));
  },
);

/** A heap question the thread did not answer within this is answered null (it is ending). */
const HEAP_ANSWER_MS = 2_000;

/**
 * The client's shards run in one gateway thread (`gateway-thread.ts`), which acknowledges
 * interactions as they arrive. It asks for what it needs (where callbacks go, the acks) once the
 * main thread listens to it, over a port of its own (the thread's start-up data is
 * @discordjs/ws's), which stays open for questions about the thread (its heap).
 */
export function gatewayThreadStrategy(
  manager: WebSocketManager,
  apiUrl: string,
  acks: () => AckTable,
): GatewayThreadStrategy {
  let port: MessagePort | null = null;
  let asked = 0;
  const answers = new Map<number, (usedBytes: number | null) => void>();
  const threads = new WorkerShardingStrategy(manager, {
    shardsPerWorker: 'all',
    workerPath: THREAD,
    unknownPayloadHandler: (payload: { gatewayThread?: string; port?: MessagePort }) => {
      if (payload.gatewayThread !== 'config' || !payload.port) return;
      const config: GatewayThreadConfig = {
        apiBase: `${apiUrl}/v${manager.options.version}`,
        // Discord's required form, then which part of the bot sent it (logs, the fake's tests).
        userAgent: `${DefaultUserAgent} GameMod-gateway-thread`,
        acks: acks(),
      };
      // A thread started again (after one failed) asks again: its port replaces the old one.
      port?.close();
      port = payload.port;
      port.on('message', (m: ThreadHeapReply) => answers.get(m.heap)?.(m.usedBytes));
      // A listener refs the port: unref'd after it, the port does not hold the process up.
      port.unref();
      port.postMessage(config);
    },
  });
  const strategy: GatewayThreadStrategy = {
    threadHeapUsed: (gc = false) => {
      const p = port;
      if (!p) return Promise.resolve(null);
      const heap = ++asked;
      return new Promise((resolve) => {
        const timer = setTimeout(() => answer(null), HEAP_ANSWER_MS).unref();
        const answer = (usedBytes: number | null) => {
          clearTimeout(timer);
          answers.delete(heap);
          resolve(usedBytes);
        };
        answers.set(heap, answer);
        p.postMessage({ heap, gc } satisfies ThreadHeapRequest);
      });
    },
    spawn: (shardIds) => {
      live.add(strategy);
      return threads.spawn(shardIds);
    },
    connect: () => threads.connect(),
    send: (shardId, payload) => threads.send(shardId, payload),
    fetchStatus: () => threads.fetchStatus(),
    // The strategy ends a thread on the first "destroyed" it gets back from it, and the other
    // shards' answers can be lost with the thread: its destroy would wait for them forever (a
    // stop hung). The thread answers only once every shard has closed, or it has stopped waiting.
    destroy: async (options) => {
      live.delete(strategy);
      port?.close();
      port = null;
      await Promise.race([
        threads.destroy(options),
        sleep(GATEWAY_CLOSE_WAIT_MS + 1_000, undefined, { ref: false }),
      ]);
    },
  };
  return strategy;
}

/** Interactions whose payloads arrive marked; an entry this old was never routed (at most this many kept). */
const KEPT = 1_000;

/**
 * What the gateway thread did with each interaction's acknowledgement, read from the raw event
 * (emitted just before the interaction is) and taken once by the interaction's handler.
 */
export class EarlyAcks {
  private readonly acks = new Map<string, EarlyAck>();

  constructor(client: Client) {
    client.on(Events.Raw, (packet: { t?: string; d?: Record<string, unknown> }) => {
      const ack =
        packet.t === 'INTERACTION_CREATE' ? (packet.d?.[EARLY_ACK] as EarlyAck | undefined) : undefined;
      if (!ack || !packet.d) return;
      this.acks.set(String(packet.d['id']), ack);
      if (this.acks.size > KEPT) this.acks.delete(this.acks.keys().next().value as string);
    });
  }

  /**
   * The gateway thread's acknowledgement of `i`, if it made or attempted one. An acknowledged
   * interaction is marked deferred (ephemeral), as its own `deferReply` would have left it, so
   * its answer edits the deferred reply.
   */
  take(i: Interaction): EarlyAck | undefined {
    const ack = this.acks.get(i.id);
    if (!ack) return undefined;
    this.acks.delete(i.id);
    if ('at' in ack && i.isRepliable()) {
      i.deferred = true;
      i.ephemeral = true;
    }
    return ack;
  }
}
