import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '../../db/migrate.js';
import { type PostgresHandle, startPostgres } from '../../lib/local-stack/index.js';
import { freePort } from '../../lib/local-stack/ports.js';

const DATABASE = 'gm_bench';

/**
 * Runs `fn` against a private, non-durable PostgreSQL cluster in a fresh temporary folder, with
 * the schema migrated. The cluster is stopped (immediately) and the folder removed afterwards,
 * whether `fn` succeeds, throws, or the process is interrupted. `fn` also gets the cluster's
 * folder, so a fault benchmark can stop and start the same cluster again.
 */
export async function withCluster<T>(
  log: (msg: string) => void,
  fn: (pg: PostgresHandle, dir: string) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'gamemod-bench-'));
  let pg: PostgresHandle | undefined;
  // Shared by the normal exit and a signal, so whichever comes second waits for the first.
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      if (pg) await pg.stop({ immediate: true }).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    })();
    return cleaning;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    // Connections still in use error out as the server goes away; the process is exiting anyway.
    process.on('uncaughtException', () => {});
    process.on('unhandledRejection', () => {});
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const port = await freePort();
    const started = Date.now();
    pg = await startPostgres({
      dir: join(dir, 'pg'),
      port,
      database: DATABASE,
      install: true,
      durable: false,
      log,
    });
    await migrate(pg.ownerUrl);
    log(`PostgreSQL on 127.0.0.1:${port}, migrated in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return await fn(pg, join(dir, 'pg'));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}
