import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { AppError } from '../errors.js';
import { findServerBinaries } from './binaries.js';
import { withStartLock } from './lock.js';
import { ensureTraversable, type OsUser, serverUser } from './os-user.js';
import { portAnswers } from './ports.js';
import { run } from './run.js';

/** Role names the migrations grant to; fixed so every cluster (embedded, CI, managed) agrees. */
export const OWNER_ROLE = 'gamemod_owner';
export const APP_ROLE = 'gamemod_app';

export interface PostgresOptions {
  /** Folder that holds the cluster (data/, run/, server.log, credentials.json). */
  dir: string;
  port: number;
  database: string;
  install: boolean;
  /** Throwaway clusters (tests, benchmarks) trade durability for speed. */
  durable: boolean;
  log: (msg: string) => void;
  /** Where to look for the binaries; tests use this to simulate a machine without them. */
  binDirs?: readonly string[];
  searchUsual?: boolean;
}

export interface PostgresHandle {
  port: number;
  /** Superuser: creates databases (tests clone a template per file). */
  superUrl: string;
  /** Owner role: runs migrations. */
  ownerUrl: string;
  /** App role: what the running system connects as. */
  appUrl: string;
  /** True when this call found the cluster already running and reused it. */
  reused: boolean;
  urlFor(role: 'super' | 'owner' | 'app', database?: string): string;
  stop(opts?: { immediate?: boolean }): Promise<void>;
}

interface Credentials {
  super: string;
  owner: string;
  app: string;
}

function chownTo(path: string, user: OsUser | undefined) {
  if (user) chownSync(path, user.uid, user.gid);
}

function loadOrCreateCredentials(file: string): Credentials {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Credentials;
  const creds: Credentials = {
    super: randomBytes(18).toString('hex'),
    owner: randomBytes(18).toString('hex'),
    app: randomBytes(18).toString('hex'),
  };
  writeFileSync(file, JSON.stringify(creds), { mode: 0o600 });
  return creds;
}

/**
 * Starts (or reuses) a private PostgreSQL cluster in `opts.dir`: initdb on first use, then
 * pg_ctl start on loopback, then the owner and app roles and the database. Idempotent.
 */
export async function startPostgres(opts: PostgresOptions): Promise<PostgresHandle> {
  const root = resolve(opts.dir);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  // Credentials, initdb, start and roles: one process at a time per cluster folder.
  return withStartLock(join(root, 'start.lock'), () => startLocked(opts));
}

async function startLocked(opts: PostgresOptions): Promise<PostgresHandle> {
  const bin = await findServerBinaries(
    'postgres',
    { extraDirs: opts.binDirs, usual: opts.searchUsual },
    { install: opts.install, log: opts.log },
  );
  const user = serverUser();
  const root = resolve(opts.dir);
  const data = join(root, 'data');
  const sockets = join(root, 'run');
  mkdirSync(sockets, { recursive: true, mode: 0o700 });
  chownTo(root, user);
  chownTo(sockets, user);
  if (user) {
    const opened = ensureTraversable(root, user);
    if (opened.length)
      opts.log(`let the ${user.name} user pass through ${opened.join(', ')} (search bit only)`);
  }
  const creds = loadOrCreateCredentials(join(root, 'credentials.json'));
  const as = { uid: user?.uid, gid: user?.gid, env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' } };

  if (!existsSync(join(data, 'PG_VERSION'))) {
    opts.log(`initialising a PostgreSQL cluster in ${data}`);
    rmSync(data, { recursive: true, force: true });
    const pwfile = join(root, 'initdb.pw');
    writeFileSync(pwfile, `${creds.super}\n`, { mode: 0o600 });
    chownTo(pwfile, user);
    const res = await run(
      join(bin, 'initdb'),
      [
        '-D',
        data,
        '-U',
        'postgres',
        '--pwfile',
        pwfile,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '-E',
        'UTF8',
        '--no-instructions',
      ],
      { ...as, timeoutMs: 120_000 },
    );
    rmSync(pwfile, { force: true });
    if (res.code !== 0)
      throw new AppError('local_stack', `initdb failed: ${res.stderr.trim() || res.stdout.trim()}`);
  }

  const status = await run(join(bin, 'pg_ctl'), ['-D', data, 'status'], as);
  const reused = status.code === 0;
  if (!reused) {
    if (await portAnswers(opts.port)) throw portTaken(opts.port);
    // pg_ctl hands -o to postgres through /bin/sh, so a path in it is quoted for the shell.
    const settings = [
      `-p ${opts.port}`,
      '-c listen_addresses=127.0.0.1',
      `-c ${shellWord(`unix_socket_directories=${sockets}`)}`,
      '-c max_connections=300',
      '-c shared_buffers=256MB',
      ...(opts.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
    ].join(' ');
    const res = await run(
      join(bin, 'pg_ctl'),
      ['-D', data, '-l', join(root, 'server.log'), '-w', '-t', '60', '-o', settings, 'start'],
      { ...as, timeoutMs: 90_000 },
    );
    if (res.code !== 0) {
      const tail = existsSync(join(root, 'server.log'))
        ? readFileSync(join(root, 'server.log'), 'utf8').split('\n').slice(-8).join('\n')
        : '';
      throw new AppError(
        'local_stack',
        `PostgreSQL did not start on port ${opts.port}:\n${res.stderr}${tail}`,
      );
    }
  }
  const port = reused ? portFromPidFile(data, opts.port) : opts.port;

  const urlFor = (role: 'super' | 'owner' | 'app', database = opts.database) => {
    const [name, pw] =
      role === 'super'
        ? ['postgres', creds.super]
        : role === 'owner'
          ? [OWNER_ROLE, creds.owner]
          : [APP_ROLE, creds.app];
    return `postgres://${name}:${pw}@127.0.0.1:${port}/${database}`;
  };
  await bootstrapRoles(urlFor('super', 'postgres'), creds, opts.database, data, port);

  return {
    port,
    superUrl: urlFor('super', 'postgres'),
    ownerUrl: urlFor('owner'),
    appUrl: urlFor('app'),
    reused,
    urlFor,
    async stop({ immediate = false } = {}) {
      await run(join(bin, 'pg_ctl'), ['-D', data, '-m', immediate ? 'immediate' : 'fast', '-w', 'stop'], {
        ...as,
        timeoutMs: 60_000,
      });
    },
  };
}

function portFromPidFile(data: string, fallback: number): number {
  try {
    const line = readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[3];
    const p = Number(line);
    return Number.isInteger(p) && p > 0 ? p : fallback;
  } catch {
    return fallback;
  }
}

const portTaken = (port: number) =>
  new AppError(
    'local_stack',
    `port ${port} in use (EMBEDDED_PG_PORT): another program's server answers there; stop it, or choose another port`,
  );

/** One word for /bin/sh, whatever it holds (spaces, quotes). */
const shellWord = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

const ident = (s: string) => `"${s.replaceAll('"', '""')}"`;
const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * The owner role owns the database and runs migrations; the app role logs in, owns nothing and
 * cannot bypass row-level security. Both are cluster-wide, so this runs once per cluster.
 */
async function bootstrapRoles(
  superUrl: string,
  creds: Credentials,
  database: string,
  dataDir: string,
  port: number,
): Promise<void> {
  const client = new pg.Client({ connectionString: superUrl });
  await client.connect();
  try {
    // A stale postmaster.pid or a lost race for the port can put a stranger's cluster there:
    // roles and databases are made only in the cluster whose files are ours.
    const where = await client.query<{ dir: string }>("select current_setting('data_directory') as dir");
    const dir = where.rows[0]?.dir;
    if (!dir || !existsSync(dir) || realpathSync(dir) !== realpathSync(dataDir)) throw portTaken(port);
    const roles = [
      [OWNER_ROLE, creds.owner, 'login createdb nosuperuser nobypassrls'],
      [APP_ROLE, creds.app, 'login nosuperuser nobypassrls nocreatedb nocreaterole'],
    ] as const;
    for (const [name, pw, attrs] of roles) {
      const exists = await client.query({
        text: 'select 1 from pg_roles where rolname = $1',
        values: [name],
      });
      const verb = exists.rowCount ? 'alter' : 'create';
      await client.query(`${verb} role ${ident(name)} with ${attrs} password ${literal(pw)}`);
    }
    const db = await client.query({
      text: 'select 1 from pg_database where datname = $1',
      values: [database],
    });
    if (!db.rowCount) await client.query(`create database ${ident(database)} owner ${ident(OWNER_ROLE)}`);
  } finally {
    await client.end();
  }
}
