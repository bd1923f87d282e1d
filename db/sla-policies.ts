import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, changedAny, diffChanges, recordChange } from './changes.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { PRIORITIES, type Priority } from './ticket-rules.js';
import { parseInput } from './validate.js';

/**
 * SLA policies: the targets (first response, next response, resolution) a ticket's clocks run to,
 * matched by priority, category and team; the first enabled match by position applies
 * (sla-clocks.ts reads it with the ticket).
 */

/**
 * Emitted when policies or calendars change in a way that moves due times: the workers then
 * recompute the clocks of the organization's open tickets (`sla.recompute_org`).
 */
export const SLA_SETTINGS_CHANGED = 'sla.settings_changed';
export const slaChanged = (orgId: string) => ({
  type: SLA_SETTINGS_CHANGED,
  aggregateType: 'organization',
  aggregateId: orgId,
  payload: {},
});

const target = z.number().int().min(1).max(525_600).nullable().optional();
export const policyInput = z
  .object({
    name: z.string().trim().min(1).max(100),
    /** Null or absent matches any priority (likewise category and team). */
    priority: z.enum(PRIORITIES).nullable().optional(),
    categoryId: id.nullable().optional(),
    teamId: id.nullable().optional(),
    firstResponseMinutes: target,
    nextResponseMinutes: target,
    resolutionMinutes: target,
    /** Null: the organization's default calendar, or calendar time when it has none. */
    businessCalendarId: id.nullable().optional(),
    warnBeforeMinutes: z.number().int().min(0).max(525_600).nullable().optional(),
    /** On breach: raise the priority one step. */
    escalatePriority: z.boolean().default(false),
    /** On breach: move the ticket to this team. */
    escalationTeamId: id.nullable().optional(),
    /** Lower first; the first enabled policy that matches a ticket applies. */
    position: z.number().int().min(0).max(10_000).default(0),
    enabled: z.boolean().default(true),
  })
  .refine(
    (p) => p.firstResponseMinutes || p.nextResponseMinutes || p.resolutionMinutes,
    'set at least one of firstResponseMinutes, nextResponseMinutes, resolutionMinutes',
  );
const updatePolicyInput = z.object({ id, policy: policyInput });

export interface SlaPolicy {
  id: string;
  name: string;
  priority: Priority | null;
  categoryId: string | null;
  teamId: string | null;
  firstResponseMinutes: number | null;
  nextResponseMinutes: number | null;
  resolutionMinutes: number | null;
  businessCalendarId: string | null;
  warnBeforeMinutes: number | null;
  escalatePriority: boolean;
  escalationTeamId: string | null;
  position: number;
  enabled: boolean;
}

export const policyColumns = (p = '') => `${p}id, ${p}name, ${p}priority, ${p}category_id as "categoryId",
  ${p}team_id as "teamId", ${p}first_response_minutes as "firstResponseMinutes",
  ${p}next_response_minutes as "nextResponseMinutes", ${p}resolution_minutes as "resolutionMinutes",
  ${p}business_calendar_id as "businessCalendarId", ${p}warn_before_minutes as "warnBeforeMinutes",
  ${p}escalate_priority as "escalatePriority", ${p}escalation_team_id as "escalationTeamId", ${p}position, ${p}enabled`;
const POLICY_COLUMNS = policyColumns();

const policyValues = (p: z.output<typeof policyInput>) => [
  p.name,
  p.priority ?? null,
  p.categoryId ?? null,
  p.teamId ?? null,
  p.firstResponseMinutes ?? null,
  p.nextResponseMinutes ?? null,
  p.resolutionMinutes ?? null,
  p.businessCalendarId ?? null,
  p.warnBeforeMinutes ?? null,
  p.escalatePriority,
  p.escalationTeamId ?? null,
  p.position,
  p.enabled,
];
const policyTarget = (pid: string) => ({ type: 'sla_policy', id: pid });

export async function createPolicy(
  tx: Tx,
  raw: z.input<typeof policyInput>,
  actor: Actor,
): Promise<SlaPolicy> {
  const p = parseInput(policyInput, raw);
  const r = await tx.query<SlaPolicy>(
    `insert into sla_policies (org_id, name, priority, category_id, team_id, first_response_minutes,
       next_response_minutes, resolution_minutes, business_calendar_id, warn_before_minutes, escalate_priority,
       escalation_team_id, position, enabled)
     values ($1::uuid, $2::text, $3::text, $4::uuid, $5::uuid, $6::int, $7::int, $8::int, $9::uuid, $10::int,
       $11::boolean, $12::uuid, $13::int, $14::boolean)
     returning ${POLICY_COLUMNS}`,
    [tx.orgId, ...policyValues(p)],
  );
  const policy = r.rows[0] as SlaPolicy;
  await recordChange(tx, actor, {
    action: 'sla.policy_created',
    data: { ...p },
    target: policyTarget(policy.id),
    event: slaChanged(tx.orgId),
  });
  return policy;
}

/** Replaces a policy's settings (the whole policy is sent, as a form would). */
export async function updatePolicy(
  tx: Tx,
  raw: z.input<typeof updatePolicyInput>,
  actor: Actor,
): Promise<SlaPolicy> {
  const input = parseInput(updatePolicyInput, raw);
  const b = await tx.query<SlaPolicy>(
    `select ${POLICY_COLUMNS} from sla_policies where org_id = $1::uuid and id = $2::uuid for update`,
    [tx.orgId, input.id],
  );
  const before = b.rows[0];
  if (!before) throw new AppError('not_found', 'SLA policy not found');
  const r = await tx.query<SlaPolicy>(
    `update sla_policies set name = $3::text, priority = $4::text, category_id = $5::uuid, team_id = $6::uuid,
       first_response_minutes = $7::int, next_response_minutes = $8::int, resolution_minutes = $9::int,
       business_calendar_id = $10::uuid, warn_before_minutes = $11::int, escalate_priority = $12::boolean,
       escalation_team_id = $13::uuid, position = $14::int, enabled = $15::boolean
     where org_id = $1::uuid and id = $2::uuid returning ${POLICY_COLUMNS}`,
    [tx.orgId, input.id, ...policyValues(input.policy)],
  );
  const policy = r.rows[0] as SlaPolicy;
  // The whole policy is sent; the entry names only what it changed. Saved unchanged, no due
  // time moves: no entry and no recompute.
  const { id: _id, ...fields } = policy;
  const changes = diffChanges(before, policy, Object.keys(fields));
  if (changedAny(changes)) {
    await recordChange(tx, actor, {
      action: 'sla.policy_updated',
      data: { changes },
      target: policyTarget(policy.id),
      event: slaChanged(tx.orgId),
    });
  }
  return policy;
}

export async function deletePolicy(tx: Tx, policyId: string, actor: Actor): Promise<void> {
  const r = await tx.query('delete from sla_policies where org_id = $1::uuid and id = $2::uuid', [
    tx.orgId,
    parseInput(id, policyId),
  ]);
  if (!r.rowCount) throw new AppError('not_found', 'SLA policy not found');
  await recordChange(tx, actor, {
    action: 'sla.policy_deleted',
    target: policyTarget(policyId),
    event: slaChanged(tx.orgId),
  });
}

export async function listPolicies(tx: Tx): Promise<SlaPolicy[]> {
  const r = await tx.query<SlaPolicy>(
    `select ${POLICY_COLUMNS} from sla_policies where org_id = $1::uuid order by position, created_at, id`,
    [tx.orgId],
  );
  return r.rows;
}
