import { type ChildProcess, fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { LIVE_CHANNEL_PATTERN, type LiveEnvelope } from '../../lib/live.js';

/**
 * The outbox benchmark's endpoints in a process of their own: the live subscriber (what every
 * API instance's WebSocket hub is) and the webhook receiver (a studio's endpoint). In the
 * benchmark's process they shared one event loop with the writers (500 commits/s), the
 * subscriber's ~1,000 messages/s and the receiver's 500 requests/s: that loop's delay (p99
 * 14 ms, up to 42 ms, 2026-12-07) was in every latency it measured, when an event's arrival
 * waited behind the receiver's requests. Times are `monotonicMs()`: CLOCK_MONOTONIC, the same
 * clock in every process of the machine, so the writers' commit times compare with them.
 */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** What the endpoints saw, asked for once the load has stopped. */
export interface EndpointsSeen {
  /** When each aggregate's first event arrived (monotonicMs), since the last `clearArrivals`. */
  receivedAt: Array<[string, number]>;
  /** How often each event id arrived on its org topic. */
  arrivals: Array<[number, number]>;
  /** The sequence numbers that arrived, by topic. */
  seqsSeen: Array<[string, number[]]>;
  /** Each topic's first number that arrived after `faultRun`. */
  faultFirstSeq: Array<[string, number]>;
  /** Webhook ids the receiver took more than once. */
  deliveredTwice: number;
}

type Request = { op: 'clearArrivals' } | { op: 'faultRun' } | { op: 'seen' } | { op: 'stop' };

export interface OutboxEndpoints {
  hookUrl: string;
  clearArrivals(): Promise<void>;
  faultRun(): Promise<void>;
  seen(): Promise<EndpointsSeen>;
  stop(): Promise<void>;
}

const SELF = fileURLToPath(import.meta.url);

export async function startOutboxEndpoints(redisUrl: string): Promise<OutboxEndpoints> {
  const child: ChildProcess = fork(SELF, ['--outbox-endpoints'], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_ENDPOINTS_REDIS: redisUrl },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const hookUrl = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { hookUrl: string }).hookUrl));
    child.once('exit', (code) => reject(new Error(`the endpoints process exited with ${code}`)));
  });
  const ask = <T>(req: Request) =>
    new Promise<T>((resolve) => {
      child.once('message', (m) => resolve(m as T));
      child.send(req);
    });
  return {
    hookUrl,
    clearArrivals: () => ask({ op: 'clearArrivals' }),
    faultRun: () => ask({ op: 'faultRun' }),
    seen: () => ask<EndpointsSeen>({ op: 'seen' }),
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ op: 'stop' } satisfies Request);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      child.kill('SIGKILL');
    },
  };
}

async function serve(redisUrl: string): Promise<void> {
  const delivered = new Map<string, number>();
  const receiver = http.createServer((req, res) => {
    const id = String(req.headers['webhook-id']);
    delivered.set(id, (delivered.get(id) ?? 0) + 1);
    req.resume();
    req.on('end', () => {
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const receivedAt = new Map<string, number>();
  const arrivals = new Map<number, number>();
  const seqsSeen = new Map<string, Set<number>>();
  const faultFirstSeq = new Map<string, number>();
  let faultRun = false;
  // ioredis re-subscribes after an outage.
  const sub = new Redis(redisUrl, { maxRetriesPerRequest: null });
  sub.on('error', () => {});
  await sub.psubscribe(LIVE_CHANNEL_PATTERN);
  sub.on('pmessage', (_p, _c, msg) => {
    const at = monotonicMs();
    const env = JSON.parse(msg) as LiveEnvelope;
    if (!env.topic.startsWith('org:')) return;
    arrivals.set(env.event.id, (arrivals.get(env.event.id) ?? 0) + 1);
    const seen = seqsSeen.get(env.topic) ?? new Set<number>();
    seqsSeen.set(env.topic, seen.add(env.seq));
    if (faultRun && !faultFirstSeq.has(env.topic)) faultFirstSeq.set(env.topic, env.seq);
    if (env.event.aggregateId && !receivedAt.has(env.event.aggregateId))
      receivedAt.set(env.event.aggregateId, at);
  });
  process.on('message', (req: Request) => {
    if (req.op === 'clearArrivals') {
      receivedAt.clear();
      process.send?.({});
    } else if (req.op === 'faultRun') {
      faultRun = true;
      process.send?.({});
    } else if (req.op === 'seen') {
      process.send?.({
        receivedAt: [...receivedAt],
        arrivals: [...arrivals],
        seqsSeen: [...seqsSeen].map(([t, s]) => [t, [...s]]),
        faultFirstSeq: [...faultFirstSeq],
        deliveredTwice: [...delivered.values()].filter((n) => n > 1).length,
      } satisfies EndpointsSeen);
    } else if (req.op === 'stop') {
      sub.disconnect();
      receiver.closeAllConnections();
      receiver.close(() => process.exit(0));
    }
  });
  process.send?.({ hookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` });
}

if (process.argv.includes('--outbox-endpoints')) {
  serve(process.env.BENCH_ENDPOINTS_REDIS as string).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
