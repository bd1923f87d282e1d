import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { AppError } from '../errors.js';

export function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function alive(pid: number | undefined): pid is number {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` holding `file` (created exclusively, holding our pid): two roles started together on
 * one data folder (`npm start -- api` and `npm start -- bot`) would otherwise both see the server
 * down and both start it, and the loser failed. A lock left by a process that died is taken over.
 */
export async function withStartLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 300_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // An empty file is a lock being written right now, not a stale one.
      const holder = readPid(file);
      if (holder !== undefined && !alive(holder)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > until)
        throw new AppError(
          'local_stack',
          `${file} is held by process ${holder ?? '?'}; is another start stuck?`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}
