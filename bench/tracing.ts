import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { createApiToken } from '../db/api-tokens.js';
import { SYSTEM } from '../db/changes.js';
import { createOrganization } from '../db/organizations.js';
import { withTenant } from '../db/tenant.js';
import { createUser } from '../db/users.js';
import { freePort } from '../lib/local-stack/ports.js';
import { randomSecretKey } from '../lib/secret-key.js';
import { withApiStack } from './lib/api-rounds.js';
import type { Benchmark } from './lib/benchmark.js';

/**
 * What tracing costs the API: the same process (`main.ts`, api role) started with tracing off
 * (no OTEL_* variable: no SDK loaded) and on (exporting every span to a loopback OTLP receiver
 * here), in alternating rounds, measured with autocannon on `POST /v1/orgs/:orgId/tickets` (a
 * traced request: server span, pool and query spans, the outbox row's traceparent) and on
 * `GET /health` (not traced, so only the instrumentation's wrappers). `npm run bench -- tracing`
 * runs 2 rounds of 10 s; standalone, with other figures:
 *
 *   npx tsx bench/tracing.ts [rounds=2] [seconds=10]
 */
const ROOT = resolve(import.meta.dirname, '..');
const CONNECTIONS = 16;
// The default per-token limit is 600/min with a burst of 120: enough tokens that it never bites.
const TOKENS = 200;

export async function runTracing(rounds: number, seconds: number, log: (m: string) => void): Promise<void> {
  await withApiStack(log, 4, async ({ pool, pg, redisUrl }) => {
    const dir = mkdtempSync(join(tmpdir(), 'gamemod-bench-tracing-'));
    let spans = 0;
    const otlp = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as {
          resourceSpans: Array<{ scopeSpans: Array<{ spans: unknown[] }> }>;
        };
        for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) spans += ss.spans.length;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    otlp.listen(0, '127.0.0.1');
    await once(otlp, 'listening');
    const otlpUrl = `http://127.0.0.1:${(otlp.address() as AddressInfo).port}`;
    let running: ChildProcess | undefined;

    try {
      const owner = await createUser(pool, { displayName: 'Bench owner' });
      const org = await createOrganization(
        pool,
        { name: 'Bench', slug: 'bench', ownerUserId: owner.id },
        SYSTEM,
      );
      const tokens = await withTenant(pool, org.id, async (tx) => {
        const out: string[] = [];
        for (let i = 0; i < TOKENS; i++) {
          out.push(
            (await createApiToken(tx, { name: `bench ${i}`, scopes: ['tickets:write'] }, SYSTEM)).plaintext,
          );
        }
        return out;
      });

      const secretKey = randomSecretKey();
      async function startApi(traced: boolean): Promise<{ child: ChildProcess; base: string }> {
        const port = await freePort();
        const child = spawn(process.execPath, ['--import', 'tsx', 'main.ts'], {
          cwd: ROOT,
          env: {
            PATH: process.env.PATH ?? '',
            NODE_ENV: 'test',
            ROLES: 'api',
            HOST: '127.0.0.1',
            PORT: String(port),
            DATABASE_URL: pg.appUrl,
            REDIS_URL: redisUrl,
            EMBEDDED_INSTALL: 'never',
            SEED_DEMO: 'false',
            DATA_DIR: join(dir, 'data'),
            SECRET_KEY: secretKey,
            COOKIE_SECURE: 'false',
            DATABASE_POOL_MAX: '16',
            LOG_LEVEL: 'warn',
            ...(traced ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl, OTEL_BSP_SCHEDULE_DELAY: '1000' } : {}),
          },
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        running = child;
        const base = `http://127.0.0.1:${port}`;
        for (let i = 0; ; i++) {
          if ((await fetch(`${base}/health`).catch(() => undefined))?.ok) break;
          if (i > 600) throw new Error('the API did not start');
          await sleep(100);
        }
        return { child, base };
      }

      let n = 0;
      const create = (base: string, duration: number) =>
        autocannon({
          url: base,
          connections: CONNECTIONS,
          duration,
          requests: [
            {
              method: 'POST',
              path: `/v1/orgs/${org.id}/tickets`,
              setupRequest: (req) => ({
                ...req,
                headers: {
                  ...req.headers,
                  authorization: `Bearer ${tokens[n++ % TOKENS]}`,
                  'content-type': 'application/json',
                },
                body: JSON.stringify({ subject: `Bench ticket ${n}` }),
              }),
            },
          ],
        });
      const health = (base: string, duration: number) =>
        autocannon({ url: `${base}/health`, connections: CONNECTIONS, duration });

      const results: Array<{
        mode: string;
        create: number;
        createP99: number;
        non2xx: number;
        health: number;
      }> = [];
      for (let r = 0; r < rounds; r++) {
        for (const traced of r % 2 === 0 ? [false, true] : [true, false]) {
          const { child, base } = await startApi(traced);
          await create(base, 3); // warm-up: JIT, pool connections, token cache
          const c = await create(base, seconds);
          const h = await health(base, Math.max(5, seconds / 2));
          child.kill('SIGTERM');
          await once(child, 'exit');
          running = undefined;
          const row = {
            mode: traced ? 'on' : 'off',
            create: c.requests.average,
            createP99: c.latency.p99,
            non2xx: c.non2xx,
            health: h.requests.average,
          };
          results.push(row);
          log(
            `round ${r + 1} tracing ${row.mode.padEnd(3)}  POST tickets ${row.create.toFixed(0)} req/s (p99 ${row.createP99} ms, non-2xx ${row.non2xx})  GET /health ${row.health.toFixed(0)} req/s`,
          );
        }
      }
      const mean = (mode: string, k: 'create' | 'health') => {
        const xs = results.filter((x) => x.mode === mode).map((x) => x[k]);
        return xs.reduce((a, b) => a + b, 0) / xs.length;
      };
      for (const k of ['create', 'health'] as const) {
        const off = mean('off', k);
        const on = mean('on', k);
        log(`${k}: off ${off.toFixed(0)} req/s, on ${on.toFixed(0)} req/s, on/off ${(on / off).toFixed(3)}`);
      }
      log(`spans received while on: ${spans}`);
    } finally {
      running?.kill('SIGKILL');
      otlp.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

export const tracing: Benchmark = {
  name: 'tracing',
  description: 'the API (main.ts) with tracing off and on: POST tickets and GET /health req/s, on/off',
  run: (log) => runTracing(2, 10, log),
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runTracing(Number(process.argv[2] ?? 2), Number(process.argv[3] ?? 10), (m) => console.log(m));
}
