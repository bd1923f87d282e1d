import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createTestDb } from './support/db.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
/** Debian's unprivileged account, used when the tests run as root (as CI does). */
const NOBODY = 65_534;

/** A port free on loopback right now (the config wants a real port, not 0). */
async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as { port: number };
  s.close();
  await once(s, 'close');
  return port;
}

let dir: string | undefined;
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// What the Dockerfile's stages do, without a Docker daemon: the compiled build, production
// dependencies only, the files read at run time, started as an unprivileged user.
describe('the compiled production build', () => {
  it('installs without dev dependencies, starts from dist/ as an unprivileged user and answers /health', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gamemod-image-'));
    chmodSync(dir, 0o755);
    const app = join(dir, 'app');
    mkdirSync(app);
    await run('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', join(app, 'dist')], { cwd: ROOT });
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
    const port = await freePort();
    const started = performance.now();
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: app,
      ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        ROLES: 'api',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: db.appUrl,
        REDIS_URL: redisUrl,
        EMBEDDED_INSTALL: 'never',
        DATA_DIR: data,
        SECRET_KEY: Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 1)).toString('base64'),
        LOG_LEVEL: 'info',
      },
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c;
    });
    try {
      let health: Response | undefined;
      for (let i = 0; i < 600 && !health && child.exitCode === null; i++) {
        health = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
        if (!health) await sleep(100);
      }
      expect(health?.status, out).toBe(200);
      const ready = performance.now() - started;
      const panel = await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: 'text/html' } });
      expect(panel.status, out).toBe(200);
      expect(await panel.text()).toContain('importmap');
      console.log(
        `compiled build: ${size.stdout.split('\t')[0]} KiB installed; api answered /health ${Math.round(ready)} ms after start`,
      );
    } finally {
      // A child that already exited would never emit 'exit' again.
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      await db.drop();
    }
    expect(child.exitCode === 0 || child.signalCode === 'SIGTERM', out).toBe(true);
  }, 900_000);
});
