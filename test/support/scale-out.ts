import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { z } from 'zod';

/** Helpers for test/scale-out.test.ts: the script as a child, a webhook sink, metrics, a socket. */

const readyLine = z.object({
  msg: z.string().startsWith('scale-out ready'),
  processes: z.array(
    z.object({
      name: z.string(),
      pid: z.number().int(),
      port: z.number().int().optional(),
      metricsPort: z.number().int().optional(),
    }),
  ),
});
export type ScaledProcess = z.infer<typeof readyLine>['processes'][number];

export interface ScaleOutRun {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** The processes the script reported once every one was ready. */
  ready: Promise<ScaledProcess[]>;
}

/**
 * `npm run scale-out` as the operator runs it, in its own process group: if it ever fails to
 * stop its children, the test can still end the whole group by its id. After `killAfterMs` the
 * group is killed whatever the test is doing, so a hung run never outlives its bound.
 */
export function runScaleOut(
  args: string[],
  env: Record<string, string>,
  opts: { readyTimeoutMs: number; killAfterMs: number },
): ScaleOutRun {
  const { readyTimeoutMs } = opts;
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/scale-out.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const watchdog = setTimeout(() => killGroup(child), opts.killAfterMs);
  watchdog.unref();
  void exited.then(() => clearTimeout(watchdog));
  const ready = new Promise<ScaledProcess[]>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`not ready in ${readyTimeoutMs} ms:\n${out.slice(-4000)}`)),
      readyTimeoutMs,
    );
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        out += `${line}\n`;
        if (!line.includes('scale-out ready')) return;
        const parsed = readyLine.safeParse(JSON.parse(line));
        if (parsed.success) {
          clearTimeout(timer);
          resolve(parsed.data.processes);
        }
      });
    }
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`scale-out exited with ${code} before it was ready:\n${out.slice(-4000)}`));
    });
  });
  ready.catch(() => {});
  return { child, output: () => out, exited, ready };
}

/** SIGKILL to the script's process group (its children are in it), by the group's id. */
export function killGroup(child: ChildProcess): void {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}

export interface WebhookSink {
  url: string;
  /** Every request: the subscription (the path) and its Standard Webhooks id. */
  received: Array<{ path: string; webhookId: string; type: string }>;
  close(): Promise<void>;
}

/** A loopback receiver that answers 204 and records what it got. */
export async function startWebhookSink(): Promise<WebhookSink> {
  const received: WebhookSink['received'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const type = z.object({ type: z.string() }).safeParse(JSON.parse(body || '{}'));
      received.push({
        path: req.url ?? '',
        webhookId: String(req.headers['webhook-id'] ?? ''),
        type: type.success ? type.data.type : '',
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The sum of a Prometheus series' samples whose labels include `labels` (text format), read from
 * one process's metrics listener.
 */
export async function scrapeSum(
  port: number,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

export interface LiveSocket {
  received: Array<{
    type: string;
    topic?: string;
    seq?: number;
    event?: { id: number; type: string; aggregateId: string | null };
    at: number;
  }>;
  send(m: object): void;
  waitFor<T>(find: () => T | undefined, what: string, timeoutMs?: number): Promise<T>;
  close(): void;
}

/** `/v1/live` as an integration connects: a bearer token on the upgrade request. */
export async function connectLive(port: number, token: string): Promise<LiveSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/live`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const received: LiveSocket['received'] = [];
  ws.on('message', (m) => received.push({ ...JSON.parse(String(m)), at: performance.now() }));
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  return {
    received,
    send: (m) => ws.send(JSON.stringify(m)),
    async waitFor(find, what, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        const found = find();
        if (found !== undefined) return found;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(received).slice(0, 800)}`);
    },
    close: () => ws.close(),
  };
}
