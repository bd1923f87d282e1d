import webpush from 'web-push';
import { z } from 'zod';
import type { SecretBox } from '../lib/secret-box.js';
import { mapDbError } from './errors.js';
import type { Pool } from './pool.js';

/**
 * The VAPID key pair (RFC 8292) this installation signs Web Push requests with. Push services tie
 * a browser's subscription to the public key it was made with, so the pair must stay the same
 * for the life of the installation: it is generated once, sealed with SECRET_KEY and kept in
 * `instance_secrets` (the app reaches that table only through `gm_instance_secret` and
 * `gm_add_instance_secret`). WEB_PUSH_VAPID_PUBLIC_KEY / _PRIVATE_KEY, when configured, are used
 * instead (an operator moving an installation keeps its subscriptions working).
 */
export interface VapidKeys {
  /** Uncompressed P-256 point, base64url (what the browser's `applicationServerKey` takes). */
  publicKey: string;
  privateKey: string;
}

const SECRET_NAME = 'web_push_vapid';
const b64url = z.string().regex(/^[A-Za-z0-9_-]+$/);
export const vapidKeysSchema = z.object({ publicKey: b64url.length(87), privateKey: b64url.length(43) });

// One look-up per pool and process: the pair never changes once made.
const cache = new WeakMap<Pool, Promise<VapidKeys>>();

export function vapidKeys(pool: Pool, box: SecretBox, configured?: VapidKeys): Promise<VapidKeys> {
  if (configured) return Promise.resolve(vapidKeysSchema.parse(configured));
  let keys = cache.get(pool);
  if (!keys) {
    keys = loadOrCreate(pool, box);
    // A failed look-up (database away) is asked again next time rather than remembered.
    keys.catch(() => cache.delete(pool));
    cache.set(pool, keys);
  }
  return keys;
}

async function loadOrCreate(pool: Pool, box: SecretBox): Promise<VapidKeys> {
  const q = (text: string, values: unknown[]) =>
    pool.query<{ sealed: string | null }>({ text, values }).catch((e) => {
      throw mapDbError(e);
    });
  let sealed = (await q('select gm_instance_secret($1::text) as sealed', [SECRET_NAME])).rows[0]?.sealed;
  if (!sealed) {
    const fresh = webpush.generateVAPIDKeys();
    // Another process may have made one meanwhile: the function keeps the first and returns it.
    sealed = (
      await q('select gm_add_instance_secret($1::text, $2::text) as sealed', [
        SECRET_NAME,
        box.seal(JSON.stringify(fresh)),
      ])
    ).rows[0]?.sealed;
  }
  if (!sealed) throw new Error('VAPID keys vanished after being stored');
  return vapidKeysSchema.parse(JSON.parse(box.open(sealed)));
}
