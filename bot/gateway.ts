import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { MessagePort } from 'node:worker_threads';
import { DefaultUserAgent } from '@discordjs/rest';
import { type IShardingStrategy, type WebSocketManager, WorkerShardingStrategy } from '@discordjs/ws';
import { type Client, Events, type Interaction } from 'discord.js';
import {
  type AckTable,
  EARLY_ACK,
  type EarlyAck,
  GATEWAY_CLOSE_WAIT_MS,
  type GatewayThreadConfig,
} from './acks.js';

// From the sources the thread starts through a boot module that registers tsx first.
const here = import.meta.url;
const THREAD = fileURLToPath(
  new URL(here.endsWith('.ts') ? './gateway-thread-boot.mjs' : './gateway-thread.js', here),
);

/**
 * The client's shards run in one gateway thread (`gateway-thread.ts`), which acknowledges
 * interactions as they arrive. It asks for what it needs (where callbacks go, the acks) once the
 * main thread listens to it, over a port of its own: the thread's start-up data is @discordjs/ws's.
 */
export function gatewayThreadStrategy(
  manager: WebSocketManager,
  apiUrl: string,
  acks: () => AckTable,
): IShardingStrategy {
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
      payload.port.postMessage(config);
      payload.port.close();
    },
  });
  return {
    spawn: (shardIds) => threads.spawn(shardIds),
    connect: () => threads.connect(),
    send: (shardId, payload) => threads.send(shardId, payload),
    fetchStatus: () => threads.fetchStatus(),
    // The strategy ends a thread on the first "destroyed" it gets back from it, and the other
    // shards' answers can be lost with the thread: its destroy would wait for them forever (a
    // stop hung). The thread answers only once every shard has closed, or it has stopped waiting.
    destroy: (options) =>
      Promise.race([
        threads.destroy(options),
        sleep(GATEWAY_CLOSE_WAIT_MS + 1_000, undefined, { ref: false }),
      ]),
  };
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
