import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { AppError } from '../errors.js';
import { run } from './run.js';

export interface FindOptions {
  /** Directories searched before the usual ones; tests pass an empty list plus `usual: false`. */
  extraDirs?: readonly string[];
  /** Search PATH and the usual Debian locations (default true). */
  usual?: boolean;
  /** PATH to search; defaults to the process's. */
  path?: string;
}

export interface InstallOptions {
  /** Allowed to install the OS package when it is missing (root on Debian/Ubuntu only). */
  install: boolean;
  log: (msg: string) => void;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function pathDirs(path: string | undefined): string[] {
  return (path ?? '').split(delimiter).filter(Boolean);
}

/** Debian keeps server binaries out of PATH, one directory per major version; newest first. */
function debianPostgresDirs(): string[] {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(root, v, 'bin'));
}

function searchDirs(kind: 'postgres' | 'redis', opts: FindOptions): string[] {
  const dirs = [...(opts.extraDirs ?? [])];
  if (opts.usual !== false) {
    if (kind === 'postgres') dirs.push(...debianPostgresDirs(), '/usr/local/pgsql/bin');
    dirs.push(...pathDirs(opts.path ?? process.env.PATH), '/usr/bin', '/usr/sbin', '/usr/local/bin');
  }
  return dirs;
}

/** The directory that holds every one of `names`, or undefined. */
function findDirWith(names: readonly string[], dirs: readonly string[]): string | undefined {
  return dirs.find((d) => names.every((n) => isExecutable(join(d, n))));
}

const packages = {
  postgres: { names: ['initdb', 'pg_ctl', 'postgres'], pkg: 'postgresql', what: 'PostgreSQL server' },
  redis: { names: ['redis-server'], pkg: 'redis-server', what: 'Redis server' },
} as const;

function missingMessage(kind: 'postgres' | 'redis', why: string): string {
  const p = packages[kind];
  return (
    `${p.what} binaries (${p.names.join(', ')}) were not found on PATH or in the usual Debian locations` +
    ` and ${why}. Install the OS package \`${p.pkg}\` (Debian/Ubuntu: apt-get install ${p.pkg}),` +
    ` or point ${kind === 'postgres' ? 'DATABASE_URL' : 'REDIS_URL'} at a server you run,` +
    ' or start the whole stack with `docker-compose up`.'
  );
}

const isDebianLike = () => existsSync('/etc/debian_version');
const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

async function aptInstall(pkg: string, log: (m: string) => void): Promise<void> {
  log(`installing the OS package ${pkg} with apt-get (set EMBEDDED_INSTALL=never to forbid this)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let res = await run('apt-get', ['install', '-y', '-q', pkg], { env, inherit: true });
  if (res.code !== 0) {
    // A fresh machine has empty package lists; refresh them once and try again.
    await run('apt-get', ['update', '-q'], { env, inherit: true });
    res = await run('apt-get', ['install', '-y', '-q', pkg], { env, inherit: true });
  }
  if (res.code !== 0) throw new AppError('local_stack', `apt-get install ${pkg} failed (exit ${res.code})`);
}

/**
 * Finds the directory holding the server binaries of `kind`; installs the OS package when it is
 * missing and that is permitted, else throws an AppError that names the package to install.
 */
export async function findServerBinaries(
  kind: 'postgres' | 'redis',
  find: FindOptions,
  install: InstallOptions,
): Promise<string> {
  const p = packages[kind];
  const found = findDirWith(p.names, searchDirs(kind, find));
  if (found) return found;
  if (!install.install)
    throw new AppError('local_stack', missingMessage(kind, 'installing is not permitted'));
  if (!isRoot() || !isDebianLike()) {
    throw new AppError(
      'local_stack',
      missingMessage(kind, 'this process cannot install it (needs root on Debian)'),
    );
  }
  await aptInstall(p.pkg, install.log);
  const after = findDirWith(p.names, searchDirs(kind, { ...find, usual: true }));
  if (!after)
    throw new AppError('local_stack', missingMessage(kind, 'installing the package did not provide them'));
  return after;
}
