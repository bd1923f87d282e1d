import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, changedAny, diffChanges, recordChange } from './changes.js';
import { heldBy } from './grants.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/** What a retention policy can apply to, and what it does once rows are older than `days`. */
export const RETENTION_TARGETS = [
  'tickets',
  'messages',
  'audit_logs',
  'player_sessions',
  'attachments',
] as const;
export const RETENTION_ACTIONS = ['purge', 'anonymise'] as const;
export type RetentionTarget = (typeof RETENTION_TARGETS)[number];
export type RetentionAction = (typeof RETENTION_ACTIONS)[number];

export interface RetentionPolicy {
  id: string;
  target: RetentionTarget;
  days: number;
  action: RetentionAction;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = 'id, target, days, action, created_at as "createdAt", updated_at as "updatedAt"';

const target = z.enum(RETENTION_TARGETS);

/**
 * The shortest audit log policy. The audit log is how an organization finds out what its staff
 * and tokens did; a short policy lets whoever sets it wipe that record, its own change included,
 * at the next retention run. A year covers an annual review and the usual incident-investigation
 * windows. gm_purge_audit_logs keeps the same floor (migration 208), so a policy stored before
 * the minimum existed purges nothing younger either.
 */
export const AUDIT_LOG_MIN_DAYS = 365;

/**
 * The audit log policy is the owner's (org.manage) to set or remove: not an admin's, and not a
 * token's (no scope reaches org.manage), since both are among those it records.
 */
async function requireAuditTrailOwner(tx: Tx, actor: Actor): Promise<void> {
  if ((await heldBy(tx, actor)).has('org.manage')) return;
  throw new AppError('forbidden', 'only an owner (org.manage) can change how long the audit log is kept', {
    details: { reason: 'missing_permission', permission: 'org.manage', anyOf: ['org.manage'] },
  });
}

export const retentionPolicyInput = z
  .object({
    target,
    days: z.coerce.number().int().min(1).max(36_500, 'at most 36,500 days (100 years)'),
    action: z.enum(RETENTION_ACTIONS),
  })
  // Audit entries are evidence: they expire whole, never rewritten (the schema says so too).
  .refine((v) => v.target !== 'audit_logs' || v.action === 'purge', {
    path: ['action'],
    message: 'audit logs can only be purged, not anonymised',
  });

/** Sets the organization's policy for a target, replacing the one it had (one policy per target). */
export async function setRetentionPolicy(
  tx: Tx,
  raw: z.input<typeof retentionPolicyInput>,
  actor: Actor,
): Promise<RetentionPolicy> {
  const input = parseInput(retentionPolicyInput, raw);
  if (input.target === 'audit_logs') {
    // Who first, then how long: a caller who may not set it learns nothing about the minimum.
    await requireAuditTrailOwner(tx, actor);
    if (input.days < AUDIT_LOG_MIN_DAYS) {
      const message = `audit logs are kept at least ${AUDIT_LOG_MIN_DAYS} days`;
      throw new AppError('validation_failed', `invalid input: days: ${message}`, {
        details: [{ path: 'days', message, minimum: AUDIT_LOG_MIN_DAYS }],
      });
    }
  }
  // The policy it replaces, locked, so the entry says what it was (3,650 days anonymised, then
  // one day purged, is not the same decision as one day purged from scratch).
  const old = await tx.query<RetentionPolicy>(
    `select ${COLUMNS} from retention_policies where org_id = $1::uuid and target = $2::text for update`,
    [tx.orgId, input.target],
  );
  const r = await tx.query<RetentionPolicy>(
    `insert into retention_policies (org_id, target, days, action) values ($1::uuid, $2::text, $3::int, $4::text)
     on conflict (org_id, target) do update set days = excluded.days, action = excluded.action
     returning ${COLUMNS}`,
    [tx.orgId, input.target, input.days, input.action],
  );
  const policy = r.rows[0] as RetentionPolicy;
  const changes = diffChanges(old.rows[0], policy, ['days', 'action']);
  if (changedAny(changes)) {
    await recordChange(tx, actor, {
      action: 'retention.set',
      target: { type: 'retention_policy', id: policy.id },
      data: { target: policy.target, changes },
    });
  }
  return policy;
}

/** The organization's policies by target. */
export async function listRetentionPolicies(tx: Tx): Promise<RetentionPolicy[]> {
  const r = await tx.query<RetentionPolicy>(
    `select ${COLUMNS} from retention_policies where org_id = $1::uuid order by target`,
    [tx.orgId],
  );
  return r.rows;
}

/** Removes the policy for a target: its rows are then kept for ever. */
export async function deleteRetentionPolicy(tx: Tx, rawTarget: string, actor: Actor): Promise<void> {
  const t = parseInput(target, rawTarget);
  if (t === 'audit_logs') await requireAuditTrailOwner(tx, actor);
  const r = await tx.query<{ id: string; days: number; action: RetentionAction }>(
    'delete from retention_policies where org_id = $1::uuid and target = $2::text returning id, days, action',
    [tx.orgId, t],
  );
  const gone = r.rows[0];
  if (!gone) throw new AppError('not_found', `no retention policy for ${t}`);
  await recordChange(tx, actor, {
    action: 'retention.deleted',
    target: { type: 'retention_policy', id: gone.id },
    data: { target: t, changes: diffChanges(gone, {}, ['days', 'action']) },
  });
}
