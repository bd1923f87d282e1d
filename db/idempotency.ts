import type { Tx } from './tenant.js';

/**
 * `Idempotency-Key` records (api/plugins/idempotency.ts): a key is claimed by the first request,
 * holds its response once sent, and is forgotten after 24 hours or when the response was a 5xx.
 */

/** A key already claimed: the request it was claimed for and, once sent, its response. */
export interface IdempotencyRecord {
  requestHash: string;
  /** Null while the first request is still running. */
  status: number | null;
  body: unknown;
}

/**
 * Claims `key` for a request (its hash), clearing an expired claim first. Returns null when the
 * claim is ours, or the record that already holds the key.
 */
export async function claimIdempotencyKey(
  tx: Tx,
  key: string,
  requestHash: string,
): Promise<IdempotencyRecord | null> {
  await tx.query(
    `delete from idempotency_keys
     where org_id = $1::uuid and key = $2::text and created_at < now() - interval '24 hours'`,
    [tx.orgId, key],
  );
  const inserted = await tx.query(
    `insert into idempotency_keys (org_id, key, request_hash) values ($1::uuid, $2::text, $3::text)
     on conflict do nothing`,
    [tx.orgId, key, requestHash],
  );
  if (inserted.rowCount === 1) return null;
  const r = await tx.query<IdempotencyRecord>(
    `select request_hash as "requestHash", response_status as status, response_body as body
     from idempotency_keys where org_id = $1::uuid and key = $2::text`,
    [tx.orgId, key],
  );
  return r.rows[0] ?? null;
}

/** Stores the response sent for a claimed key, for replays. */
export async function storeIdempotentResponse(
  tx: Tx,
  key: string,
  status: number,
  body: unknown,
): Promise<void> {
  await tx.query(
    `update idempotency_keys set response_status = $3::int, response_body = $4::jsonb
     where org_id = $1::uuid and key = $2::text`,
    [tx.orgId, key, status, JSON.stringify(body)],
  );
}

/** Forgets a claimed key (its response was a 5xx: the client may retry with the same key). */
export async function releaseIdempotencyKey(tx: Tx, key: string): Promise<void> {
  await tx.query('delete from idempotency_keys where org_id = $1::uuid and key = $2::text', [tx.orgId, key]);
}
