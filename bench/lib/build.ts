import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..', '..');
const run = promisify(execFile);

/**
 * The compiled build in a folder of its own, beside what it reads at run time (package.json,
 * db/migrations, panel/) as the image lays it out, with this checkout's node_modules linked in,
 * and `config-only.mjs` (imports the config and parses the environment, nothing else).
 * `npm run build` with another output folder, so the working tree's dist/ is left alone. The
 * caller removes the folder.
 */
export async function compiledBuild(log: (m: string) => void): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'gamemod-bench-build-'));
  const started = performance.now();
  try {
    await run('npm', ['run', 'build', '--', '--outDir', join(dir, 'dist')], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    // tsc still emits when a file fails to type-check; a build with no entry point is the failure.
    if (!existsSync(join(dir, 'dist', 'main.js'))) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    const out = String((err as { stdout?: unknown }).stdout ?? '').trim();
    log(`the build reported type errors (emitted anyway):\n${out.split('\n').slice(0, 10).join('\n')}`);
  }
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  cpSync(join(ROOT, 'db', 'migrations'), join(dir, 'db', 'migrations'), { recursive: true });
  symlinkSync(join(ROOT, 'panel'), join(dir, 'panel'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(
    join(dir, 'config-only.mjs'),
    "const { loadConfig } = await import('./dist/lib/config.js');\nloadConfig(process.env);\n",
  );
  log(`built with \`npm run build\` in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return dir;
}
