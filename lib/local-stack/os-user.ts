import { chmodSync, chownSync, lchownSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AppError } from '../errors.js';

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function lookupUser(name: string): OsUser | undefined {
  let passwd: string;
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid && gid) return { name, uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

/**
 * The user the embedded servers run as. PostgreSQL refuses to run as root, so as root we drop to
 * the `postgres` user the Debian package creates; Redis drops to the same user, so a flaw in it
 * (or a client that gets in) holds no more than that user does. Not root: we stay who we are.
 */
export function serverUser(server: 'PostgreSQL' | 'Redis' = 'PostgreSQL'): OsUser | undefined {
  if (!isRoot()) return undefined;
  const pg = lookupUser('postgres');
  if (!pg) {
    const why =
      server === 'PostgreSQL' ? 'PostgreSQL refuses to run as root' : 'Redis is not run as root here';
    throw new AppError(
      'local_stack',
      `${why} and there is no \`postgres\` user to run it as.` +
        ' Install the OS package `postgresql` (it creates the user), or run GameMod as an ordinary user.',
    );
  }
  return pg;
}

/** Gives `dir` and everything in it to `user`: a folder a root-run server left behind included. */
export function chownTree(dir: string, user: OsUser): void {
  chownSync(dir, user.uid, user.gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) chownTree(path, user);
    else lchownSync(path, user.uid, user.gid);
  }
}

/**
 * Makes every ancestor of `dir` searchable (execute bit only, never readable) by `user`, so a
 * server running as that user can reach a data folder inside, say, a 0700 checkout under /root.
 * Returns the folders it changed, so the caller can say so.
 */
export function ensureTraversable(dir: string, user: OsUser): string[] {
  const changed: string[] = [];
  let d = dirname(resolve(dir));
  const chain: string[] = [];
  while (true) {
    chain.push(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  for (const folder of chain.reverse()) {
    const st = statSync(folder);
    const ownerCan = st.uid === user.uid && (st.mode & 0o100) !== 0;
    const groupCan = st.gid === user.gid && (st.mode & 0o010) !== 0;
    const otherCan = (st.mode & 0o001) !== 0;
    if (!ownerCan && !groupCan && !otherCan) {
      chmodSync(folder, (st.mode & 0o7777) | 0o001);
      changed.push(folder);
    }
  }
  return changed;
}
