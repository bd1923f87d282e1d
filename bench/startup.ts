import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { startRedis } from '../lib/local-stack/index.js';
import { freePort } from '../lib/local-stack/ports.js';
import { randomSecretKey } from '../lib/secret-key.js';
import { type FakeDiscord, startFakeDiscord } from '../test/support/fake-discord/index.js';
import type { Benchmark } from './lib/benchmark.js';
import { compiledBuild } from './lib/build.js';
import { withCluster } from './lib/cluster.js';

/**
 * How long each role takes to start from the compiled build, as the image starts it
 * (`node dist/main.js`, NODE_ENV=production): spawn → the role's own ready signal, against two
 * baselines taken in the same run, in the same rounds: `node -e ''` (what any Node process
 * costs) and a script of the build that imports only the config and parses it (Node plus the
 * entry point's first import: zod and lib/config.js). Every role runs against the same bench
 * PostgreSQL and Redis, and the bot against the fake Discord on loopback, so the figures are the
 * process's own work: module loading, connections, checks, listeners, the gateway handshake.
 *
 * Ready means: `api`, GET /health answers 200 (polled every 5 ms); `workers`, its "workers
 * running" log line (printed once the relay, the processors and the schedulers are up); `bot`,
 * "connected to the Discord gateway" (every shard identified and its guilds received);
 * all-in-one (`api,bot,workers`, what `npm start` runs), all three. Each started process is then
 * stopped with SIGTERM and the time to its exit is printed too. DESIGN.md sets no target for
 * start-up, so the figures are information.
 *
 * `npm run bench -- startup` builds once and takes 10 rounds; alone, with another count:
 *
 *   npx tsx bench/startup.ts [rounds=10]
 */

type Kind = 'node -e' | 'config only' | 'api' | 'workers' | 'bot' | 'all-in-one';
const KINDS: readonly Kind[] = ['node -e', 'config only', 'api', 'workers', 'bot', 'all-in-one'];
const ROLES: Partial<Record<Kind, string>> = {
  api: 'api',
  workers: 'workers',
  bot: 'bot',
  'all-in-one': 'api,bot,workers',
};
const READY_MS = 60_000;

interface Sample {
  readyMs: number;
  stopMs: number | null;
  /** When each signal of a process with several roles came, from the spawn. */
  signals: Record<string, number>;
}

/** Starts one process of `kind` and waits for its ready signal; then stops it. */
async function sample(kind: Kind, dir: string, env: Record<string, string>): Promise<Sample> {
  const roles = ROLES[kind];
  const port = roles?.includes('api') ? await freePort() : undefined;
  const args =
    kind === 'node -e' ? ['-e', ''] : kind === 'config only' ? ['config-only.mjs'] : ['dist/main.js'];
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: dir,
    env: { ...env, ...(roles ? { ROLES: roles } : {}), ...(port ? { PORT: String(port) } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const wanted: string[] = [];
  if (roles?.includes('workers')) wanted.push('workers running:');
  if (roles?.includes('bot')) wanted.push('connected to the Discord gateway');
  let logged = wanted.length === 0;
  const signals: Record<string, number> = {};
  const logReady = new Promise<void>((resolveReady) => {
    if (logged) resolveReady();
    const onData = (c: Buffer) => {
      out += c;
      for (const w of wanted) if (!(w in signals) && out.includes(w)) signals[w] = performance.now() - t0;
      if (!logged && wanted.every((w) => out.includes(w))) {
        logged = true;
        resolveReady();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  try {
    if (!roles) {
      // A baseline is done when it exits.
      const [code] = await exited;
      if (code !== 0) throw new Error(`${kind} exited with ${code}: ${out.slice(-2000)}`);
      return { readyMs: performance.now() - t0, stopMs: null, signals };
    }
    const healthy = async () => {
      if (!port) return;
      const url = `http://127.0.0.1:${port}/health`;
      for (;;) {
        if ((await fetch(url).catch(() => undefined))?.ok) break;
        await sleep(5);
      }
      signals['/health'] = performance.now() - t0;
    };
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([healthy(), logReady]),
      exited.then(([code]) => {
        throw new Error(`${kind} exited with ${code} before it was ready:\n${out.slice(-3000)}`);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${kind} not ready in ${READY_MS} ms:\n${out.slice(-3000)}`)),
          READY_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    const readyMs = performance.now() - t0;
    const t1 = performance.now();
    child.kill('SIGTERM');
    const [code] = await exited;
    if (code !== 0) throw new Error(`${kind} stopped with ${code}:\n${out.slice(-3000)}`);
    return { readyMs, stopMs: performance.now() - t1, signals };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** Nearest-rank percentile of `xs` (p in 0..100). */
function percentile(xs: readonly number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[at] as number;
}

const ms = (v: number) => `${v.toFixed(v < 100 ? 1 : 0)} ms`;

export async function runStartup(rounds: number, log: (m: string) => void): Promise<void> {
  log(
    `${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const dir = await compiledBuild(log);
  let fake: FakeDiscord | undefined;
  try {
    await withCluster(log, async (pg) => {
      const redisDir = mkdtempSync(join(tmpdir(), 'gamemod-bench-startup-redis-'));
      const redis = await startRedis({
        dir: redisDir,
        port: await freePort(),
        install: true,
        durable: false,
        log,
      });
      try {
        fake = await startFakeDiscord();
        // A guild for the bot to receive, as a real bot has at least one.
        fake.addGuild({ name: 'Studio', channels: [{ name: 'support' }] });
        const env: Record<string, string> = {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'production',
          HOST: '127.0.0.1',
          PUBLIC_URL: 'http://127.0.0.1',
          DATABASE_URL: pg.appUrl,
          REDIS_URL: redis.url,
          EMBEDDED_INSTALL: 'never',
          SEED_DEMO: 'false',
          DATA_DIR: join(dir, 'data'),
          SECRET_KEY: randomSecretKey(),
          LOG_LEVEL: 'info',
          DISCORD_TOKEN: fake.botToken,
          DISCORD_APPLICATION_ID: fake.applicationId,
          DISCORD_API_URL: `${fake.url}/api`,
        };
        // Each start on a Redis database of its own, in turn: the bot holds Discord's identify
        // window (5 s, bot/identify-throttler.ts) in Redis, so a bot started right after another
        // on the same database would wait out the previous one's window, which a lone start never
        // does. 15 databases in turn leave several rounds between two uses of one.
        let starts = 0;
        const base = redis.url.replace(/\/\d*$/, '');
        const sampleOf = (kind: Kind) =>
          sample(kind, dir, { ...env, REDIS_URL: `${base}/${1 + (starts++ % 15)}` });
        // One untimed start of each: the OS file cache, and any first-run work, for all alike.
        for (const kind of KINDS) await sampleOf(kind);
        const samples = new Map<Kind, Sample[]>(KINDS.map((k) => [k, []]));
        for (let r = 0; r < rounds; r++) {
          // Each round starts with another kind, so a machine's drift weighs on all of them.
          const order = KINDS.map((_, i) => KINDS[(i + r) % KINDS.length] as Kind);
          const line: string[] = [];
          for (const kind of order) {
            const s = await sampleOf(kind);
            samples.get(kind)?.push(s);
            line.push(`${kind} ${ms(s.readyMs)}`);
          }
          log(`round ${r + 1}: ${line.join(', ')}`);
        }
        const stat = (kind: Kind) => {
          const xs = (samples.get(kind) ?? []).map((s) => s.readyMs);
          const stops = (samples.get(kind) ?? []).flatMap((s) => (s.stopMs === null ? [] : [s.stopMs]));
          return {
            median: percentile(xs, 50),
            p90: percentile(xs, 90),
            stop: stops.length ? percentile(stops, 50) : null,
          };
        };
        const bare = stat('node -e').median;
        const config = stat('config only').median;
        log(`\nspawn → ready over ${rounds} rounds (median, p90; ratio of the medians to each baseline):`);
        log(
          `${'what'.padEnd(12)} ${'median'.padStart(9)} ${'p90'.padStart(9)}  ×node -e  ×config  stop (median)`,
        );
        for (const kind of KINDS) {
          const s = stat(kind);
          log(
            `${kind.padEnd(12)} ${ms(s.median).padStart(9)} ${ms(s.p90).padStart(9)}  ${(s.median / bare).toFixed(1).padStart(8)}  ${(s.median / config).toFixed(1).padStart(7)}  ${s.stop === null ? '' : ms(s.stop)}`,
          );
        }
        // Roles start one after the other in one process (system.ts): where the time went.
        const all = samples.get('all-in-one') ?? [];
        const at = (signal: string) =>
          percentile(
            all.map((s) => s.signals[signal] ?? Number.NaN),
            50,
          );
        log(
          `all-in-one, median time of each signal: /health ${ms(at('/health'))}, bot connected ${ms(at('connected to the Discord gateway'))}, workers running ${ms(at('workers running:'))}`,
        );
        log('no start-up target in DESIGN.md: information only');
      } finally {
        await fake?.close();
        await redis.stop({ kill: true }).catch(() => {});
        rmSync(redisDir, { recursive: true, force: true });
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const startup: Benchmark = {
  name: 'startup',
  description:
    'each role started from the compiled build, spawn → ready, against node -e and the config alone',
  run: (log) => runStartup(10, log),
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runStartup(Number(process.argv[2] ?? 10), (m) => console.log(m));
}
