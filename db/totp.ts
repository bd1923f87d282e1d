import { mapDbError } from './errors.js';
import type { Pool } from './pool.js';

/**
 * A staff member's second factor. `user_totp` is global (one person, many orgs), so these take
 * the pool. Single use and recovery codes are enforced by conditional updates, so two requests
 * racing with the same code can't both win.
 */
export interface TotpState {
  secretCiphertext: string;
  enabled: boolean;
  recoveryCodesLeft: number;
}

const q = async <R extends object>(pool: Pool, text: string, values: unknown[]) =>
  pool.query<R>({ text, values }).catch((e) => {
    throw mapDbError(e);
  });

export async function getTotp(pool: Pool, userId: string): Promise<TotpState | null> {
  const r = await q<TotpState>(
    pool,
    `select secret_ciphertext as "secretCiphertext", enabled_at is not null as enabled,
            cardinality(recovery_code_hashes) as "recoveryCodesLeft"
     from user_totp where user_id = $1::uuid`,
    [userId],
  );
  return r.rows[0] ?? null;
}

/** Starts (or restarts) an enrolment; refused while a confirmed one exists. Returns false then. */
export async function startTotpEnrolment(
  pool: Pool,
  userId: string,
  secretCiphertext: string,
): Promise<boolean> {
  const r = await q(
    pool,
    `insert into user_totp (user_id, secret_ciphertext) values ($1::uuid, $2::text)
     on conflict (user_id) do update set secret_ciphertext = excluded.secret_ciphertext, last_used_step = null
       where user_totp.enabled_at is null`,
    [userId, secretCiphertext],
  );
  return r.rowCount === 1;
}

/** Confirms a pending enrolment with its first accepted step and the recovery code hashes. */
export async function confirmTotp(
  pool: Pool,
  userId: string,
  step: number,
  recoveryHashes: string[],
): Promise<boolean> {
  const r = await q(
    pool,
    `update user_totp set enabled_at = now(), last_used_step = $2::bigint, recovery_code_hashes = $3::text[]
     where user_id = $1::uuid and enabled_at is null`,
    [userId, step, recoveryHashes],
  );
  return r.rowCount === 1;
}

/** Accepts a verified code's time step once: a step at or before the last one is refused. */
export async function useTotpStep(pool: Pool, userId: string, step: number): Promise<boolean> {
  const r = await q(
    pool,
    `update user_totp set last_used_step = $2::bigint
     where user_id = $1::uuid and enabled_at is not null and (last_used_step is null or last_used_step < $2::bigint)`,
    [userId, step],
  );
  return r.rowCount === 1;
}

/** Spends a recovery code (by hash); each works once. */
export async function useRecoveryCode(pool: Pool, userId: string, hash: string): Promise<boolean> {
  const r = await q(
    pool,
    `update user_totp set recovery_code_hashes = array_remove(recovery_code_hashes, $2::text)
     where user_id = $1::uuid and enabled_at is not null and $2::text = any(recovery_code_hashes)`,
    [userId, hash],
  );
  return r.rowCount === 1;
}

export async function disableTotp(pool: Pool, userId: string): Promise<void> {
  await q(pool, 'delete from user_totp where user_id = $1::uuid', [userId]);
}

/**
 * New recovery codes (by hash) for a person whose TOTP is on, replacing every earlier one: the
 * old ones may be on the paper that went missing with the phone. False when TOTP is not on.
 */
export async function replaceRecoveryCodes(pool: Pool, userId: string, hashes: string[]): Promise<boolean> {
  const r = await q(
    pool,
    `update user_totp set recovery_code_hashes = $2::text[]
     where user_id = $1::uuid and enabled_at is not null`,
    [userId, hashes],
  );
  return r.rowCount === 1;
}
