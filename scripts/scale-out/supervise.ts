import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProcessSpec } from './plan.js';

/**
 * Starts the planned processes as children (`node --import tsx main.ts`), prefixes their output
 * with their name, waits until each is ready and stops them all together.
 */

export interface RunningChild {
  spec: ProcessSpec;
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

export interface StartOptions {
  /** The entry point and the node flags that run it. */
  main: string;
  execArgv: readonly string[];
  /** The environment every child starts from; each spec's env goes on top. */
  baseEnv: NodeJS.ProcessEnv;
  /** Where the API's readiness is asked (the address it listens on, loopback for 0.0.0.0). */
  host: string;
  readyTimeoutMs: number;
  /** One line of a child's output, already prefixed with its name. */
  out: (line: string) => void;
  /** Aborted (Ctrl-C during the start): the start gives up and stops what it started. */
  signal?: AbortSignal;
}

/**
 * What a role prints once it is up (workers/index.ts, bot/index.ts). The API is asked instead:
 * its /ready checks Postgres, Redis and the migrations.
 */
const READY_LINES: Record<'workers' | 'bot', readonly string[]> = {
  workers: ['workers running'],
  bot: ['the Discord bot started', 'the Discord bot is not enabled'],
};

function launch(spec: ProcessSpec, opts: StartOptions): RunningChild & { lines: string[] } {
  const child = spawn(process.execPath, [...opts.execArgv, opts.main], {
    env: { ...opts.baseEnv, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      // The last lines are kept to explain a failed start; the rest is only passed on.
      if (lines.length > 200) lines.shift();
      opts.out(`[${spec.name}] ${line}`);
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { spec, child, exited, lines };
}

async function apiReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

async function waitReady(c: RunningChild & { lines: string[] }, opts: StartOptions): Promise<void> {
  const until = Date.now() + opts.readyTimeoutMs;
  const { role, port } = c.spec;
  const readyUrl = `http://${opts.host}:${port}/ready`;
  while (Date.now() < until) {
    if (opts.signal?.aborted) throw new Error('stopped while starting');
    if (c.child.exitCode !== null || c.child.signalCode !== null) {
      throw new Error(
        `${c.spec.name} exited (${c.child.exitCode ?? c.child.signalCode}) before it was ready:\n${c.lines.slice(-15).join('\n')}`,
      );
    }
    const ready =
      role === 'api'
        ? await apiReady(readyUrl)
        : c.lines.some((l) => READY_LINES[role].some((marker) => l.includes(marker)));
    if (ready) return;
    await sleep(200);
  }
  throw new Error(
    `${c.spec.name} was not ready within ${opts.readyTimeoutMs} ms:\n${c.lines.slice(-15).join('\n')}`,
  );
}

/**
 * Starts every process at once and resolves when all are ready. If one fails to start, the
 * others are stopped before the error is thrown, so nothing is left running.
 */
export async function startProcesses(
  specs: readonly ProcessSpec[],
  opts: StartOptions,
): Promise<RunningChild[]> {
  const children = specs.map((s) => launch(s, opts));
  const results = await Promise.allSettled(children.map((c) => waitReady(c, opts)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stopProcesses(children, 10_000);
    throw failed.reason;
  }
  return children;
}

/**
 * SIGTERM to every child still running (each stops its roles cleanly, main.ts), then SIGKILL to
 * whichever has not exited after `graceMs`. Resolves once all have exited.
 */
export async function stopProcesses(children: readonly RunningChild[], graceMs: number): Promise<void> {
  const running = children.filter((c) => c.child.exitCode === null && c.child.signalCode === null);
  for (const c of running) c.child.kill('SIGTERM');
  const all = Promise.all(running.map((c) => c.exited));
  const grace = new AbortController();
  const timedOut = await Promise.race([
    all.then(() => false),
    sleep(graceMs, true, { signal: grace.signal }).catch(() => false),
  ]);
  grace.abort();
  if (timedOut) {
    for (const c of running)
      if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await all;
  }
}
