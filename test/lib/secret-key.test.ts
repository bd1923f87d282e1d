import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { devSecretKeyPath, loadOrCreateDevSecretKey, secretKeyProblem } from '../../lib/secret-key.js';

const dirs: string[] = [];
function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'gamemod-key-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('the development secret key', () => {
  it('is made once, random and private, and read back on the next start', async () => {
    const dataDir = join(tempDir(), 'data');
    const first = await loadOrCreateDevSecretKey(dataDir);
    expect(first.created).toBe(true);
    expect(secretKeyProblem(first.key)).toBeUndefined();
    expect(statSync(devSecretKeyPath(dataDir)).mode & 0o777).toBe(0o600);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    const second = await loadOrCreateDevSecretKey(dataDir);
    expect(second).toEqual({ key: first.key, created: false });
    // Another data folder, another key: nothing is a constant.
    expect((await loadOrCreateDevSecretKey(tempDir())).key).not.toBe(first.key);
  });

  it('agrees on one key when several processes start at once, and leaves no drafts', async () => {
    const dataDir = tempDir();
    const results = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateDevSecretKey(dataDir)));
    expect(new Set(results.map((r) => r.key)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(readdirSync(dataDir)).toEqual(['secret-key']);
  });

  it('refuses a damaged key file instead of using it', async () => {
    const dataDir = tempDir();
    writeFileSync(devSecretKeyPath(dataDir), 'short\n');
    await expect(loadOrCreateDevSecretKey(dataDir)).rejects.toMatchObject({
      code: 'config_invalid',
      message: expect.stringMatching(/delete the file/),
    });
  });
});

describe('a production start without SECRET_KEY', () => {
  it('exits non-zero naming SECRET_KEY before starting or installing anything', async () => {
    const dataDir = join(tempDir(), 'never-made');
    const child = spawn(process.execPath, ['--import', 'tsx', 'main.ts'], {
      env: { PATH: process.env.PATH, NODE_ENV: 'production', DATA_DIR: dataDir, EMBEDDED_INSTALL: 'never' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).not.toBe(0);
    expect(output).toMatch(/SECRET_KEY: required in production/);
    expect(output).toContain('openssl rand -base64 32');
    // Nothing was started: no embedded cluster, no key, not even the data folder.
    expect(() => statSync(dataDir)).toThrow();
  });
});
