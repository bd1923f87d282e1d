import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { compiledDist } from './support/compiled-build.js';
import { createTestDb } from './support/db.js';
import { startFakeDiscord } from './support/fake-discord/index.js';
import { childPort } from './support/ports.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
/** Debian's unprivileged account, used when the tests run as root (as CI does). */
const NOBODY = 65_534;

let dir: string | undefined;
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// What the Dockerfile's stages do, without a Docker daemon: the compiled build, production
// dependencies only, the files read at run time, started as an unprivileged user.
describe('the compiled production build', () => {
  it('installs without dev dependencies and starts the api, the workers and the bot from dist/ as an unprivileged user', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gamemod-image-'));
    chmodSync(dir, 0o755);
    const app = join(dir, 'app');
    mkdirSync(app);
    cpSync(await compiledDist(), join(app, 'dist'), { recursive: true });
    for (const f of ['package.json', 'package-lock.json']) cpSync(join(ROOT, f), join(app, f));
    await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: app,
      env: { ...process.env, NODE_ENV: 'production' },
    });
    cpSync(join(ROOT, 'panel'), join(app, 'panel'), { recursive: true });
    cpSync(join(ROOT, 'db', 'migrations'), join(app, 'db', 'migrations'), { recursive: true });
    // No TypeScript runtime in the image: tsx is a development dependency now.
    await expect(run('node', ['-e', "import('tsx')"], { cwd: app })).rejects.toThrow();
    const size = await run('du', ['-sk', app]);
    const data = join(dir, 'data');
    mkdirSync(data);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) await run('chown', [String(NOBODY), data]);

    const db = await createTestDb(2);
    const { redisUrl } = inject('services');
    const metricsToken = 'build-test-metrics-token';
    /**
     * Starts `node dist/main.js` with `roles` as the unprivileged user and waits until `ready`
     * answers 200 (the api's /health, or the metrics listener, which opens once every role of
     * the process has started). Resolves with the milliseconds that took and the process.
     */
    const start = async (
      roles: string,
      ready: (ports: { api: number; metrics: number }) => Promise<Response>,
      env: Record<string, string> = {},
    ) => {
      const ports = { api: await childPort(), metrics: await childPort() };
      const started = performance.now();
      const child = spawn(process.execPath, ['dist/main.js'], {
        cwd: app,
        ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
        env: {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'production',
          ROLES: roles,
          HOST: '127.0.0.1',
          PORT: String(ports.api),
          METRICS_PORT: String(ports.metrics),
          METRICS_TOKEN: metricsToken,
          DATABASE_URL: db.appUrl,
          REDIS_URL: redisUrl,
          EMBEDDED_INSTALL: 'never',
          DATA_DIR: data,
          SECRET_KEY: Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 1)).toString('base64'),
          LOG_LEVEL: 'info',
          ...env,
        },
      });
      const proc = { child, out: '', ports, ms: 0 };
      child.stdout.on('data', (c: Buffer) => {
        proc.out += c;
      });
      child.stderr.on('data', (c: Buffer) => {
        proc.out += c;
      });
      children.push(proc);
      let answer: Response | undefined;
      for (let i = 0; i < 600 && answer?.status !== 200 && child.exitCode === null; i++) {
        answer = await ready(ports).catch(() => undefined);
        if (answer?.status !== 200) await sleep(100);
      }
      expect(answer?.status, proc.out).toBe(200);
      proc.ms = performance.now() - started;
      return proc;
    };
    const children: { child: ChildProcess; out: string }[] = [];
    try {
      const api = await start('api', ({ api }) => fetch(`http://127.0.0.1:${api}/health`));
      const panel = await fetch(`http://127.0.0.1:${api.ports.api}/`, { headers: { accept: 'text/html' } });
      expect(panel.status, api.out).toBe(200);
      expect(await panel.text()).toContain('importmap');
      const workers = await start('workers', ({ metrics }) =>
        fetch(`http://127.0.0.1:${metrics}/metrics`, {
          headers: { authorization: `Bearer ${metricsToken}` },
        }),
      );
      // Run alone, the workers put their job processors (the main thread) below the relay's
      // thread, unprivileged as they are here (lib/priority.ts).
      for (let i = 0; i < 50 && !workers.out.includes('job processors run below the outbox relay'); i++)
        await sleep(100);
      expect(workers.out).toMatch(/"nice":0,[^\n]*outbox relay thread relaying/);
      expect(workers.out).toMatch(/"nice":5,[^\n]*job processors run below the outbox relay/);
      const nice = (pid: number | undefined) => {
        const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16];
      };
      expect(nice(workers.child.pid)).toBe('5');

      // The bot: its gateway thread starts from the compiled dist/bot/gateway-thread.js and
      // acknowledges a deferred command itself; the handlers' thread then runs below it.
      const fake = await startFakeDiscord();
      try {
        const guild = fake.addGuild({ name: 'Compiled', channels: [{ name: 'support' }] });
        const player = fake.addUser({ username: 'player' }).id;
        fake.addMember(guild.id, player);
        const bot = await start(
          'bot',
          ({ metrics }) =>
            fetch(`http://127.0.0.1:${metrics}/metrics`, {
              headers: { authorization: `Bearer ${metricsToken}` },
            }),
          { DISCORD_TOKEN: fake.botToken, DISCORD_API_URL: `${fake.url}/api` },
        );
        const stats = fake.sendInteraction({
          kind: 'chatInput',
          name: 'stats',
          guildId: guild.id,
          channelId: guild.channels['support'] ?? '',
          userId: player,
        });
        expect(await stats.response, bot.out).toMatchObject({ type: 5, data: { flags: 64 } });
        const callback = await fake.waitForRequest(
          (r) =>
            r.route === '/interactions/:interaction_id/:interaction_token/callback' &&
            r.path.includes(stats.record.id),
        );
        expect(callback?.headers['user-agent'], bot.out).toContain('GameMod-gateway-thread');
        await fake.waitForRequest(
          { method: 'PATCH', path: `/webhooks/${fake.applicationId}/${stats.token}/messages/@original` },
          15_000,
        );
        expect(bot.out).toMatch(/"nice":5,[^\n]*bot handlers run below the gateway thread/);
        expect(nice(bot.child.pid)).toBe('5');
      } finally {
        await fake.close();
      }
      console.log(
        `compiled build: ${size.stdout.split('\t')[0]} KiB installed; ready after start: ` +
          `api ${Math.round(api.ms)} ms (/health), workers ${Math.round(workers.ms)} ms (metrics listener)`,
      );
    } finally {
      for (const { child } of children) {
        // A child that already exited would never emit 'exit' again.
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await once(child, 'exit');
        }
      }
      await db.drop();
    }
    for (const { child, out } of children)
      expect(child.exitCode === 0 || child.signalCode === 'SIGTERM', out).toBe(true);
  }, 900_000);
});
