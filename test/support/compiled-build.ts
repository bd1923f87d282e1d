import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { inject } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * `tsc -p tsconfig.build.json` of this checkout, made once per test run in the run's folder and
 * shared by the files that start the compiled build (a build is 15-25 s of CPU on two cores).
 * The first caller makes it; the others, in this process or another, wait for it. Callers copy
 * it beside their own package.json: run from there, the compiled code finds their node_modules.
 */
export async function compiledDist(): Promise<string> {
  const out = join(inject('runDir'), 'dist');
  const done = `${out}.done`;
  const failed = `${out}.failed`;
  try {
    mkdirSync(`${out}.lock`);
  } catch {
    for (;;) {
      if (existsSync(done)) return out;
      if (existsSync(failed)) throw new Error(`the compiled build failed: ${readFileSync(failed, 'utf8')}`);
      await sleep(200);
    }
  }
  try {
    await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', out], { cwd: ROOT });
  } catch (err) {
    writeFileSync(failed, err instanceof Error ? err.message : String(err));
    throw err;
  }
  writeFileSync(done, '');
  return out;
}
