import { createHash, randomBytes } from 'node:crypto';
import type { Pool } from './pool.js';
import { withTenant } from './tenant.js';

/**
 * The shape shared by API tokens and game keys: `<kind>_<id>_<secret>`, where `<kind>_<id>` is the
 * visible prefix stored so staff can tell credentials apart, and the secret is 256 bits from the
 * CSPRNG. Only the SHA-256 of the whole string is stored.
 */
export interface IssuedCredential {
  /** The full credential, shown once. */
  plaintext: string;
  /** What is stored and shown afterwards, e.g. `gm_3fa85f64`. */
  prefix: string;
  hash: Buffer;
}

const ID_BYTES = 4;
const SECRET_BYTES = 32;

/** A new credential of `kind` (`gm` for API tokens, `gmk` for game keys). */
export function issueCredential(kind: string): IssuedCredential {
  const prefix = `${kind}_${randomBytes(ID_BYTES).toString('hex')}`;
  const plaintext = `${prefix}_${randomBytes(SECRET_BYTES).toString('base64url')}`;
  return { plaintext, prefix, hash: hashCredential(plaintext) };
}

/** What is stored and looked up: the SHA-256 of the whole plaintext. */
export const hashCredential = (plaintext: string): Buffer => createHash('sha256').update(plaintext).digest();

const patterns = new Map<string, RegExp>();

/**
 * Cheap shape check before any database work, so junk from the network costs no round trip.
 * A 256-bit secret is 43 base64url characters.
 */
export function looksLikeCredential(kind: string, value: unknown): value is string {
  let re = patterns.get(kind);
  if (!re) {
    re = new RegExp(`^${kind}_[0-9a-f]{${ID_BYTES * 2}}_[A-Za-z0-9_-]{43}$`);
    patterns.set(kind, re);
  }
  return typeof value === 'string' && value.length <= 128 && re.test(value);
}

/**
 * Remembers when this process last wrote `last_used_at` for a credential, so a busy token costs
 * one write a minute instead of one per request. The SQL guard covers other instances.
 */
export class UsageThrottle {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  /** True when `id` has not been marked in this interval; marks it. */
  due(id: string): boolean {
    const t = this.now();
    const last = this.seen.get(id);
    if (last !== undefined && t - last < this.intervalMs) return false;
    // A crude bound: forgetting everything only costs one extra (guarded) write per credential.
    if (this.seen.size >= this.maxEntries) this.seen.clear();
    this.seen.set(id, t);
    return true;
  }
}

/**
 * Stamps `last_used_at`, skipping the write when another instance did so within the minute.
 * Usage is not a change anyone acts on, so it is neither history nor audit.
 */
export async function touchLastUsed(
  pool: Pool,
  orgId: string,
  table: 'api_tokens' | 'game_keys' | 'oauth_tokens',
  rowId: string,
): Promise<void> {
  await withTenant(pool, orgId, (tx) =>
    tx.query(
      `update ${table} set last_used_at = now()
        where org_id = $1::uuid and id = $2::uuid
          and (last_used_at is null or last_used_at < now() - interval '1 minute')`,
      [tx.orgId, rowId],
    ),
  );
}
