import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../lib/local-stack/ports.js';

const dataDir = mkdtempSync(join(tmpdir(), 'gamemod-start-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function start(env: Record<string, string>): Run {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'main.ts'], {
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function waitReady(
  port: number,
  run: Run,
  timeoutMs = 90_000,
): Promise<{ status: number; body: unknown }> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (run.child.exitCode !== null) throw new Error(`exited early:\n${run.output()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/ready`);
      if (res.status === 200) return { status: res.status, body: await res.json() };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not ready in time:\n${run.output()}`);
}

function runCli(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let output = '';
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString();
    output += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    output += b.toString();
  });
  return new Promise<{ code: number | null; stdout: string; output: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stdout, output })),
  );
}

describe('npm start (the whole process on the embedded stack)', () => {
  it('comes up with the demo, stops cleanly on SIGINT, and a second start reuses .data/', async () => {
    const [port, pgPort, redisPort] = [await freePort(), await freePort(), await freePort()];
    const env = {
      // What `npm start` runs as (vitest's own NODE_ENV=test would otherwise be inherited).
      NODE_ENV: 'development',
      DATA_DIR: dataDir,
      PORT: String(port),
      EMBEDDED_PG_PORT: String(pgPort),
      EMBEDDED_REDIS_PORT: String(redisPort),
    };

    const first = start(env);
    const ready = await waitReady(port, first);
    expect(ready.body).toMatchObject({
      status: 'ready',
      checks: { postgres: 'ok', redis: 'ok', migrations: 'ok' },
    });
    expect(first.output()).toContain('initialising a PostgreSQL cluster');
    expect(first.output()).toContain('loaded the demo workspace');
    // The api answers before the roles after it have started (each role's code loads as it starts).
    await expect.poll(() => first.output(), { timeout: 30_000 }).toContain('the Discord bot is not enabled');
    // The demo sign-in link it prints works: a session, then the API answers as that person.
    // Printed once every role is up, which can be a moment after /ready answers.
    await expect
      .poll(first.output, { timeout: 15_000 })
      .toContain(`http://localhost:${port}/auth/demo?as=admin`);
    const signIn = await fetch(`http://127.0.0.1:${port}/auth/demo?as=admin`, { redirect: 'manual' });
    expect(signIn.status).toBe(302);
    expect(signIn.headers.get('location')).toBe('/');
    const session = /gm_session=([^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')?.[1];
    expect(session).toBeTruthy();
    const me = await fetch(`http://127.0.0.1:${port}/v1/me`, {
      headers: { cookie: `gm_session=${session}` },
    });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ kind: 'user' });
    const key = readFileSync(join(dataDir, 'secret-key'), 'utf8');
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    // The embedded servers stopped with the app.
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();

    const second = start(env);
    await waitReady(port, second);
    expect(second.output()).not.toContain('initialising');
    expect(second.output()).not.toContain('loaded the demo workspace');
    const creds = JSON.parse(readFileSync(join(dataDir, 'postgres', 'credentials.json'), 'utf8')) as {
      super: string;
    };
    const c = new pg.Client({
      connectionString: `postgres://postgres:${creds.super}@127.0.0.1:${pgPort}/gamemod`,
    });
    await c.connect();
    const n = await c.query<{ orgs: number; tickets: number }>(
      'select (select count(*) from organizations)::int as orgs, (select count(*) from tickets)::int as tickets',
    );
    await c.end();
    expect(n.rows[0]).toEqual({ orgs: 1, tickets: 300 });
    // The development key made on the first start is the one the second start uses.
    expect(readFileSync(join(dataDir, 'secret-key'), 'utf8')).toBe(key);
    // The operator CLI, run beside the running process, uses its database: its token works there.
    const cli = await runCli(['token', 'create', '--org', 'demo', '--scopes', 'tickets:read'], env);
    expect(cli.code, cli.output).toBe(0);
    const token = cli.stdout.trim().split('\n').at(-1) as string;
    const asToken = await fetch(`http://127.0.0.1:${port}/v1/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(asToken.status).toBe(200);
    expect(await asToken.json()).toMatchObject({ kind: 'token', scopes: ['tickets:read'] });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 240_000);
});
