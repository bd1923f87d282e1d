import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from './errors.js';

/**
 * `SECRET_KEY` is the one root secret: it seals stored secrets (lib/secret-box.ts) and, through a
 * key derived from it, signs download links (lib/signed-url.ts). There is no built-in
 * fallback: production refuses to start without one (lib/config.ts), and development makes a
 * random one once and keeps it in the data folder, so links and sealed secrets survive restarts
 * and every process sharing that folder agrees on it.
 */
export const SECRET_KEY_BYTES = 32;
export const SECRET_KEY_HOWTO =
  "make one with `openssl rand -base64 32` or `node -e \"console.log(require('crypto').randomBytes(32).toString('base64'))\"`";

/**
 * Why `value` is not a usable key, or undefined when it is. It must decode from base64 to exactly
 * 32 bytes that look random: a key of a few repeated bytes (an all-zero key, a pasted pattern)
 * is refused, since a random key of this size essentially never has fewer than 16 distinct bytes.
 */
export function secretKeyProblem(value: string): string | undefined {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return `not base64; ${SECRET_KEY_HOWTO}`;
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length !== SECRET_KEY_BYTES) {
    return `${bytes.length} bytes after base64 decoding, ${SECRET_KEY_BYTES} needed; ${SECRET_KEY_HOWTO}`;
  }
  if (new Set(bytes).size < 16) return `not random enough (too few distinct bytes); ${SECRET_KEY_HOWTO}`;
  return undefined;
}

/** The 32 key bytes, or `config_invalid` naming SECRET_KEY. */
export function decodeSecretKey(value: string): Buffer {
  const problem = secretKeyProblem(value);
  if (problem) throw new AppError('config_invalid', `SECRET_KEY: ${problem}`);
  return Buffer.from(value, 'base64');
}

/** A new random key, base64 (the development key, and tests' and benchmarks' keys). */
export function randomSecretKey(): string {
  return randomBytes(SECRET_KEY_BYTES).toString('base64');
}

/** Where development keeps its generated key, beside the embedded PostgreSQL and Redis. */
export function devSecretKeyPath(dataDir: string): string {
  return join(dataDir, 'secret-key');
}

/**
 * The development key under `dataDir`, created (random, mode 0600) on first use. The new key is
 * written to a file of its own and then hard-linked into place, which fails if the key already
 * exists: two processes starting at once both end up with the first complete key, never a
 * half-written one.
 */
export async function loadOrCreateDevSecretKey(dataDir: string): Promise<{ key: string; created: boolean }> {
  const path = devSecretKeyPath(dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const draft = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(draft, `${randomSecretKey()}\n`, { mode: 0o600 });
  let created = true;
  try {
    await link(draft, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    created = false;
  } finally {
    await rm(draft, { force: true });
  }
  const key = (await readFile(path, 'utf8')).trim();
  const problem = secretKeyProblem(key);
  if (problem) {
    throw new AppError(
      'config_invalid',
      `the development key in ${path} is unusable (${problem}); delete the file to make a new one`,
    );
  }
  // The file may predate this check or have been copied in with looser permissions.
  await chmod(path, 0o600);
  return { key, created };
}
