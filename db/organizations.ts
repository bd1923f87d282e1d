import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, changedAny, diffChanges, recordChange } from './changes.js';
import { mapDbError } from './errors.js';
import { DEFAULT_ROLES } from './permissions.js';
import type { Pool } from './pool.js';
import { id, jsonRecord } from './schemas.js';
import { type Tx, withTenant } from './tenant.js';
import { parseInput } from './validate.js';

export interface Organization {
  id: string;
  name: string;
  slug: string;
  settings: Record<string, unknown>;
  requireTotp: boolean;
  /** Business hours used by SLA timers when a policy counts business time. */
  businessCalendarId: string | null;
  /** Tickets waiting on the player this long are warned, then closed as inactive. */
  inactivityCloseHours: number | null;
  /** Solved tickets the player has not answered for this long are closed (db/solved-close.ts). */
  solvedCloseHours: number | null;
  /** An assignee offline this long has their open team tickets handed on (workers/reassign.ts). */
  reassignOfflineMinutes: number | null;
  createdAt: Date;
}

const COLUMNS = `id, name, slug, settings, require_totp as "requireTotp",
  business_calendar_id as "businessCalendarId", inactivity_close_hours as "inactivityCloseHours",
  solved_close_hours as "solvedCloseHours", reassign_offline_minutes as "reassignOfflineMinutes",
  created_at as "createdAt"`;

export const createOrganizationInput = z.object({
  name: z.string().trim().min(1).max(100),
  slug: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[a-z0-9][a-z0-9-]{1,49}$/, '2 to 50 lowercase letters, digits and dashes'),
  ownerUserId: id,
});

/**
 * Creates an organization with the default roles and its owner's membership, in one tenant
 * transaction on the new id (the insert itself passes the policy because the tenant is set).
 */
export async function createOrganization(
  pool: Pool,
  raw: z.input<typeof createOrganizationInput>,
  actor: Actor,
): Promise<Organization> {
  const input = parseInput(createOrganizationInput, raw);
  const orgId = randomUUID();
  return withTenant(pool, orgId, async (tx) => {
    const r = await tx.query<Organization>(
      `insert into organizations (id, name, slug) values ($1::uuid, $2::text, $3::text) returning ${COLUMNS}`,
      [orgId, input.name, input.slug],
    );
    const org = r.rows[0] as Organization;
    const keys = Object.keys(DEFAULT_ROLES);
    await tx.query(
      `with r as (
         insert into roles (org_id, key, name, is_system)
         select $1::uuid, k, n, true from unnest($2::text[], $3::text[]) as x(k, n)
         returning id, key
       )
       insert into role_permissions (org_id, role_id, permission_key)
       select $1::uuid, r.id, p.perm from r
       join unnest($4::text[], $5::text[]) as p(role_key, perm) on p.role_key = r.key`,
      [
        orgId,
        keys,
        keys.map((k) => DEFAULT_ROLES[k]?.name),
        keys.flatMap((k) => (DEFAULT_ROLES[k]?.permissions ?? []).map(() => k)),
        keys.flatMap((k) => DEFAULT_ROLES[k]?.permissions ?? []),
      ],
    );
    await tx.query(
      `insert into memberships (org_id, user_id, role_id)
       select $1::uuid, $2::uuid, id from roles where org_id = $1::uuid and key = 'owner'`,
      [orgId, input.ownerUserId],
    );
    await recordChange(tx, actor, {
      action: 'organization.created',
      target: { type: 'organization', id: orgId },
      data: { name: org.name, slug: org.slug, owner: input.ownerUserId },
    });
    return org;
  });
}

export async function getOrganization(tx: Tx): Promise<Organization> {
  const r = await tx.query<Organization>(`select ${COLUMNS} from organizations where id = $1::uuid`, [
    tx.orgId,
  ]);
  if (!r.rows[0]) throw new AppError('not_found', 'organization not found');
  return r.rows[0];
}

export const updateSettingsInput = z.object({
  name: z.string().trim().min(1).max(100).optional(),
  requireTotp: z.boolean().optional(),
  settings: jsonRecord.optional(),
  /** null clears it. */
  businessCalendarId: id.nullable().optional(),
  inactivityCloseHours: z.number().int().min(1).max(8760).nullable().optional(),
  /** Hours a solved ticket waits for the player before it closes; null keeps it solved. */
  solvedCloseHours: z.number().int().min(1).max(8760).nullable().optional(),
  /** Minutes an assignee may be offline before their open team tickets go to someone online; null: never. */
  reassignOfflineMinutes: z.number().int().min(5).max(10080).nullable().optional(),
});

export async function updateOrganization(
  tx: Tx,
  raw: z.input<typeof updateSettingsInput>,
  actor: Actor,
): Promise<Organization> {
  const input = parseInput(updateSettingsInput, raw);
  // Read and locked first: the audit entry says what each setting was before.
  const b = await tx.query<Organization>(
    `select ${COLUMNS} from organizations where id = $1::uuid for update`,
    [tx.orgId],
  );
  const before = b.rows[0];
  if (!before) throw new AppError('not_found', 'organization not found');
  const r = await tx.query<Organization>(
    `update organizations set name = coalesce($2::text, name), require_totp = coalesce($3::boolean, require_totp),
       settings = case when $4::jsonb is null then settings else jsonb_strip_nulls(settings || $4::jsonb) end,
       business_calendar_id = case when $5::boolean then $6::uuid else business_calendar_id end,
       inactivity_close_hours = case when $7::boolean then $8::int else inactivity_close_hours end,
       solved_close_hours = case when $9::boolean then $10::int else solved_close_hours end,
       reassign_offline_minutes = case when $11::boolean then $12::int else reassign_offline_minutes end,
       updated_at = now()
     where id = $1::uuid returning ${COLUMNS}`,
    [
      tx.orgId,
      input.name ?? null,
      input.requireTotp ?? null,
      input.settings ? JSON.stringify(input.settings) : null,
      input.businessCalendarId !== undefined,
      input.businessCalendarId ?? null,
      input.inactivityCloseHours !== undefined,
      input.inactivityCloseHours ?? null,
      input.solvedCloseHours !== undefined,
      input.solvedCloseHours ?? null,
      input.reassignOfflineMinutes !== undefined,
      input.reassignOfflineMinutes ?? null,
    ],
  );
  const org = r.rows[0] as Organization;
  // Free-form settings are compared key by key, so one changed key does not log them all.
  const changes = {
    ...diffChanges(before, org, [
      'name',
      'requireTotp',
      'businessCalendarId',
      'inactivityCloseHours',
      'solvedCloseHours',
      'reassignOfflineMinutes',
    ]),
    ...diffChanges(before.settings, org.settings, undefined, 'settings.'),
  };
  if (changedAny(changes)) {
    await recordChange(tx, actor, {
      action: 'organization.updated',
      target: { type: 'organization', id: org.id },
      data: { changes },
    });
  }
  return org;
}

/**
 * Every organization's id, a page at a time, through the gm_list_orgs definer function: for
 * maintenance that visits each tenant in turn (sweeps, pruning). Each visit then opens its own
 * tenant transaction.
 */
export function allOrgIds(pool: Pool, page = 500): AsyncGenerator<string> {
  return orgIdPages(pool, 'gm_list_orgs', page);
}

/** The definer functions that list organizations by keyset, `(after_id uuid, batch int)` → `org_id`. */
export type OrgListing =
  | 'gm_list_orgs'
  | 'gm_analytics_orgs_to_fold'
  | 'gm_player_activity_orgs_to_fold'
  | 'gm_privacy_orgs_pending'
  | 'gm_report_orgs_to_fold'
  | 'gm_sentiment_orgs_to_fold';

/**
 * Organization ids from one of the definer functions that list them across tenants, a page at a
 * time (keyset on the id), so a sweep over many tenants never holds them all.
 */
export async function* orgIdPages(pool: Pool, listing: OrgListing, page = 500): AsyncGenerator<string> {
  let after: string | null = null;
  for (;;) {
    const r: { rows: Array<{ org_id: string }> } = await pool
      .query<{ org_id: string }>({
        text: `select org_id from ${listing}($1::uuid, $2::int)`,
        values: [after, page],
      })
      .catch((e) => {
        throw mapDbError(e);
      });
    for (const row of r.rows) yield row.org_id;
    const last = r.rows.at(-1);
    if (!last || r.rows.length < page) return;
    after = last.org_id;
  }
}
