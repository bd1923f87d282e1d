import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, recordChange } from './changes.js';
import { hashCredential, issueCredential, looksLikeCredential } from './credentials.js';
import { mapDbError } from './errors.js';
import type { Pool } from './pool.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * An organization's side of the email bridge: the addresses it receives mail at (one of them
 * the sender of its replies) and the secret of its HTTP intake. Mail arrives with no tenant, so
 * two narrow cross-tenant look-ups find the organization: by address, and by slug plus secret.
 */
export interface InboundAddress {
  id: string;
  address: string;
  senderName: string | null;
  isDefault: boolean;
  createdAt: Date;
}

const COLUMNS = `id, address, sender_name as "senderName", is_default as "isDefault", created_at as "createdAt"`;

export const inboundAddressInput = z.object({
  address: z
    .email()
    .max(254)
    .toLowerCase()
    .refine((a) => !a.split('@')[0]?.includes('+'), 'no plus part: replies use address+token'),
  senderName: z.string().trim().min(1).max(100).optional(),
  isDefault: z.boolean().default(false),
});

/** Adds an inbound address (audited). The first one, or one marked default, sends the replies. */
export async function addInboundAddress(
  tx: Tx,
  raw: z.input<typeof inboundAddressInput>,
  actor: Actor,
): Promise<InboundAddress> {
  const input = parseInput(inboundAddressInput, raw);
  if (input.isDefault) {
    await tx.query(
      'update email_inbound_addresses set is_default = false where org_id = $1::uuid and is_default',
      [tx.orgId],
    );
  }
  const r = await tx.query<InboundAddress>(
    `insert into email_inbound_addresses (org_id, address, sender_name, is_default)
     values ($1::uuid, $2::text, $3::text,
       $4::boolean or not exists (select 1 from email_inbound_addresses where org_id = $1::uuid))
     returning ${COLUMNS}`,
    [tx.orgId, input.address, input.senderName ?? null, input.isDefault],
  );
  const a = r.rows[0] as InboundAddress;
  await recordChange(tx, actor, {
    action: 'email.address_added',
    data: { address: a.address, isDefault: a.isDefault },
    target: { type: 'email_address', id: a.id },
  });
  return a;
}

export async function listInboundAddresses(tx: Tx): Promise<InboundAddress[]> {
  const r = await tx.query<InboundAddress>(
    `select ${COLUMNS} from email_inbound_addresses where org_id = $1::uuid order by is_default desc, address`,
    [tx.orgId],
  );
  return r.rows;
}

/** The address replies are sent from: the default one, or null when the org has none. */
export async function senderAddress(tx: Tx): Promise<InboundAddress | null> {
  const r = await tx.query<InboundAddress>(
    `select ${COLUMNS} from email_inbound_addresses where org_id = $1::uuid order by is_default desc, created_at
     limit 1`,
    [tx.orgId],
  );
  return r.rows[0] ?? null;
}

/** The organization that receives mail at `address` (its plus part already removed), or null. */
export async function orgForEmailAddress(pool: Pool, address: string): Promise<string | null> {
  if (address.length > 254) return null;
  const r = await pool
    .query<{ org_id: string | null }>({
      text: 'select gm_org_for_email_address($1::text) as org_id',
      values: [address.toLowerCase()],
    })
    .catch((err) => {
      throw mapDbError(err);
    });
  return r.rows[0]?.org_id ?? null;
}

const SECRET_KIND = 'gmi';

/**
 * Makes (or replaces) the HTTP intake secret; the plaintext is returned once and only its
 * SHA-256 is kept. Audited without the secret.
 */
export async function rotateIntakeSecret(tx: Tx, actor: Actor): Promise<{ secret: string; prefix: string }> {
  const c = issueCredential(SECRET_KIND);
  await tx.query(
    `insert into email_intake_secrets (org_id, secret_hash, prefix) values ($1::uuid, $2::bytea, $3::text)
     on conflict (org_id) do update set secret_hash = excluded.secret_hash, prefix = excluded.prefix,
       created_at = now()`,
    [tx.orgId, c.hash, c.prefix],
  );
  await recordChange(tx, actor, {
    action: 'email.intake_secret_rotated',
    data: { prefix: c.prefix },
    target: { type: 'organization', id: tx.orgId },
  });
  return { secret: c.plaintext, prefix: c.prefix };
}

/**
 * The organization a posted mail is for: the slug's, when the secret is its intake secret. A
 * malformed secret costs no query; an unknown slug and a wrong secret both give null.
 */
export async function resolveIntakeSecret(
  pool: Pool,
  orgSlug: string,
  secret: string,
): Promise<string | null> {
  if (!looksLikeCredential(SECRET_KIND, secret) || orgSlug.length > 100) return null;
  const r = await pool
    .query<{ org_id: string | null }>({
      text: 'select gm_resolve_email_intake($1::text, $2::bytea) as org_id',
      values: [orgSlug, hashCredential(secret)],
    })
    .catch((err) => {
      throw mapDbError(err);
    });
  return r.rows[0]?.org_id ?? null;
}

export const intakeRefused = () =>
  new AppError('unauthenticated', 'unknown organization or wrong intake secret', {
    details: { reason: 'intake_secret' },
  });
