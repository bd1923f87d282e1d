import type { Tx } from './tenant.js';

/**
 * `Idempotency-Key` records (api/plugins/idempotency.ts): a key is claimed by the first request,
 * holds its response once sent, and is forgotten after 24 hours, when the response was not a final
 * one (a 5xx, a 429, a "try again" 409), or when the claim's lease lapses without its response.
 * A claim is leased, not timed: the instance running the request renews the lease while it runs
 * (`renewIdempotencyClaim`), however long that takes, so a retry never runs beside it; a claim
 * whose process died stops being renewed and is taken over within one lease. The maintenance
 * sweep deletes records past their 24 hours (`pruneExpiredIdempotencyKeys`), and erasing a player
 * the answers that name them or their tickets (`forgetIdempotentAnswers`).
 */

/** A key already claimed: the request it was claimed for and, once sent, its response. */
export interface IdempotencyRecord {
  requestHash: string;
  /** Null while the first request is still running. */
  status: number | null;
  body: unknown;
}

/** The claim a request holds on a key: only that claim may store or release it. */
export interface IdempotencyClaim {
  key: string;
  /** When it was claimed, as Postgres wrote it (microseconds kept): the claim's identity. */
  claimedAt: string;
}

/**
 * Claims `key` for a request (its hash), leased for `leaseMs`, clearing first an expired record
 * and a claim whose lease lapsed with no response (nobody renewed it: its process died). Returns
 * our claim, or the record that already holds the key.
 */
export async function claimIdempotencyKey(
  tx: Tx,
  key: string,
  requestHash: string,
  leaseMs: number,
): Promise<{ claim: IdempotencyClaim } | { existing: IdempotencyRecord }> {
  await tx.query(
    `delete from idempotency_keys
     where org_id = $1::uuid and key = $2::text
       and (created_at < now() - interval '24 hours'
            or (response_status is null and (lease_until is null or lease_until < now())))`,
    [tx.orgId, key],
  );
  const inserted = await tx.query<{ claimedAt: string }>(
    `insert into idempotency_keys (org_id, key, request_hash, lease_until)
     values ($1::uuid, $2::text, $3::text, now() + make_interval(secs => $4::float8 / 1000))
     on conflict do nothing returning created_at::text as "claimedAt"`,
    [tx.orgId, key, requestHash, leaseMs],
  );
  const mine = inserted.rows[0];
  if (mine) return { claim: { key, claimedAt: mine.claimedAt } };
  const r = await tx.query<IdempotencyRecord>(
    `select request_hash as "requestHash", response_status as status, response_body as body
     from idempotency_keys where org_id = $1::uuid and key = $2::text`,
    [tx.orgId, key],
  );
  const existing = r.rows[0];
  // Gone between the insert and the select (released by its request): claim it again.
  if (!existing) return claimIdempotencyKey(tx, key, requestHash, leaseMs);
  return { existing };
}

/**
 * Extends a claim's lease by `leaseMs` from now, while its request still runs. False when the
 * claim is not ours any more (its lease lapsed, a renewal having failed, and a retry took it over).
 */
export async function renewIdempotencyClaim(
  tx: Tx,
  claim: IdempotencyClaim,
  leaseMs: number,
): Promise<boolean> {
  const r = await tx.query(
    `update idempotency_keys set lease_until = now() + make_interval(secs => $4::float8 / 1000)
     where org_id = $1::uuid and key = $2::text and created_at = $3::timestamptz and response_status is null`,
    [tx.orgId, claim.key, claim.claimedAt, leaseMs],
  );
  return r.rowCount === 1;
}

/**
 * Whether the request may commit under its claim: the claim is still its own and its lease runs
 * for at least `marginMs` more, long enough for its answer to be stored. Locks the claim until
 * the caller's transaction ends, so a retry can't take it over while that transaction commits.
 * False when a renewal failed long enough for the lease to run (nearly) out: a retry may have
 * taken the key over already, or may at any moment, and would run beside it.
 */
export async function holdsIdempotencyClaim(
  tx: Tx,
  claim: IdempotencyClaim,
  marginMs: number,
): Promise<boolean> {
  const r = await tx.query(
    `select 1 from idempotency_keys
      where org_id = $1::uuid and key = $2::text and created_at = $3::timestamptz and response_status is null
        and lease_until > now() + make_interval(secs => $4::float8 / 1000)
      for update`,
    [tx.orgId, claim.key, claim.claimedAt, marginMs],
  );
  return r.rowCount === 1;
}

/**
 * Stores the response sent for a claimed key, for replays, ending its lease. A claim whose lease
 * lapsed (and maybe claimed again by a retry) is not ours any more: it is left alone.
 */
export async function storeIdempotentResponse(
  tx: Tx,
  claim: IdempotencyClaim,
  status: number,
  body: unknown,
): Promise<void> {
  await tx.query(
    `update idempotency_keys set response_status = $4::int, response_body = $5::jsonb, lease_until = null
     where org_id = $1::uuid and key = $2::text and created_at = $3::timestamptz and response_status is null`,
    [tx.orgId, claim.key, claim.claimedAt, status, JSON.stringify(body)],
  );
}

/** Forgets a claimed key (its response was not a final one: the client may retry with the same key). */
export async function releaseIdempotencyKey(tx: Tx, claim: IdempotencyClaim): Promise<void> {
  await tx.query(
    `delete from idempotency_keys
     where org_id = $1::uuid and key = $2::text and created_at = $3::timestamptz and response_status is null`,
    [tx.orgId, claim.key, claim.claimedAt],
  );
}

/**
 * Forgets the answers that name any of `ids` (a player erased, their tickets), whatever their
 * age: an answer is a copy of what the request made (a ticket with its subject and fields, a
 * message), and a replay would hand it back after the erase.
 */
export async function forgetIdempotentAnswers(tx: Tx, ids: readonly string[]): Promise<number> {
  if (!ids.length) return 0;
  const r = await tx.query(
    `delete from idempotency_keys
      where org_id = $1::uuid and response_body is not null
        and response_body::text like any (select '%' || i || '%' from unnest($2::text[]) i)`,
    [tx.orgId, ids],
  );
  return r.rowCount ?? 0;
}

/**
 * Deletes the organization's records past their 24 hours. A claim clears an expired record of
 * its own key only, so without this sweep every answer (a copy of what the request made) would
 * stay for good.
 */
export async function pruneExpiredIdempotencyKeys(tx: Tx): Promise<number> {
  const r = await tx.query(
    `delete from idempotency_keys where org_id = $1::uuid and created_at < now() - interval '24 hours'`,
    [tx.orgId],
  );
  return r.rowCount ?? 0;
}
