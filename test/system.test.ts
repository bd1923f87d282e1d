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

describe('npm start (the whole process on the embedded stack)', () => {
  it('comes up with the demo, stops cleanly on SIGINT, and a second start reuses .data/', async () => {
    const [port, pgPort, redisPort] = [await freePort(), await freePort(), await freePort()];
    const env = {
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
    expect(first.output()).toContain('the Discord bot is not enabled');
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
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 240_000);
});
