import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { createPool } from '../db/pool.js';
import { loadConfig } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { LocalStorage } from '../lib/storage/index.js';
import { buildApp } from './app.js';
import { describeProblem, lintOpenApi } from './openapi-lint.js';

// `npm run openapi:lint [file]`: builds the API the way it serves (servers from PUBLIC_URL), writes
// its OpenAPI document to `file` (default openapi.json) and lints it with Redocly's recommended
// rules; exits 1 on any error. Needs no database or Redis: the document comes from the routes
// alone, and the pool and the Redis client below only connect when first used, which never happens.
const config = loadConfig();
const out = resolve(process.argv[2] ?? 'openapi.json');
const storageDir = mkdtempSync(join(tmpdir(), 'gamemod-openapi-'));
const redis = new Redis({ lazyConnect: true });
const app = await buildApp({
  pool: createPool({ url: 'postgres://unused', max: 1, statementTimeoutMs: 1_000, connectTimeoutMs: 1_000 }),
  redis,
  logger: createLogger('silent'),
  storage: new LocalStorage(storageDir),
  // Links are never signed here; the key only has to be well-formed.
  settings: { publicUrl: config.http.publicUrl, secretKey: randomBytes(32).toString('base64') },
});
try {
  await app.ready();
  const document = app.swagger();
  writeFileSync(out, `${JSON.stringify(document, null, 2)}\n`);
  const { errors, warnings } = await lintOpenApi(document);
  for (const problem of [...errors, ...warnings]) process.stdout.write(`${describeProblem(problem)}\n`);
  const operations = Object.values(document.paths ?? {}).flatMap((item) => Object.keys(item ?? {}));
  process.stdout.write(
    `${out}: ${operations.length} operations, ${errors.length} errors, ${warnings.length} warnings\n`,
  );
  process.exitCode = errors.length > 0 ? 1 : 0;
} finally {
  await app.close();
  redis.disconnect();
  rmSync(storageDir, { recursive: true, force: true });
}
