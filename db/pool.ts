import pg from 'pg';

export type Pool = pg.Pool;

export interface PoolOptions {
  url: string;
  max: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  applicationName?: string;
}

// bigint columns (ticket numbers, outbox ids) fit comfortably in a double for this project's
// ranges; parse them as numbers so callers don't juggle strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/**
 * The pool. Timeouts are set so a dead or stuck database fails a request within seconds instead
 * of hanging it: connecting, each statement, and a transaction left idle by a crashed caller.
 */
export function createPool(opts: PoolOptions): Pool {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max,
    connectionTimeoutMillis: opts.connectTimeoutMs,
    statement_timeout: opts.statementTimeoutMs,
    query_timeout: opts.statementTimeoutMs + 1_000,
    idle_in_transaction_session_timeout: Math.max(opts.statementTimeoutMs * 2, 10_000),
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: opts.applicationName ?? 'gamemod',
  });
  return guarded(pool);
}

/**
 * A pool of its own to the same database, with the same settings and timeouts and its own size:
 * for a part that must never wait for a connection behind everything else in the process (the
 * outbox relay behind the job processors and the API's requests).
 */
export function createSiblingPool(pool: Pool, opts: { max: number; applicationName: string }): Pool {
  // pg keeps a password option out of the enumerable ones: copied by name.
  const { password } = pool.options;
  return guarded(
    new pg.Pool({ ...pool.options, password, max: opts.max, application_name: opts.applicationName }),
  );
}

/** The connection settings of `pool` as plain data, for a pool made in another thread. */
export type PoolSettings = Record<string, string | number | boolean>;
export function poolSettings(pool: Pool): PoolSettings {
  const { password } = pool.options;
  const out: PoolSettings = {};
  for (const [k, v] of Object.entries({ ...pool.options, password })) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  return out;
}

/** A pool from settings `poolSettings` read (the relay's thread makes its own this way). */
export function poolFromSettings(settings: PoolSettings): Pool {
  return guarded(new pg.Pool(settings));
}

function guarded(pool: Pool): Pool {
  // An idle client that loses its connection emits here; without a listener it would crash the
  // process. The next checkout simply gets a fresh connection.
  pool.on('error', () => {});
  // The pool listens only while a client is idle. A checked-out one that the server ends between
  // two statements (a restart, pg_terminate_backend) emits 'error' too, and would crash the
  // process; its next statement fails instead and the caller releases it as broken.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}
