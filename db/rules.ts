import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, changedAny, diffChanges, recordChange } from './changes.js';
import { heldBy, notHeld } from './grants.js';
import {
  type Action,
  actionPermissions,
  type Condition,
  type RuleTrigger,
  ruleChanges,
  ruleDefinition,
  type Wait,
  waitAgrees,
  waitMessage,
} from './rule-defs.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/** An organization's automation rules: stored, listed, ordered and switched on and off. */
export interface Rule {
  id: string;
  name: string;
  trigger: RuleTrigger;
  match: 'all' | 'any';
  conditions: Condition[];
  actions: Action[];
  /** Only for `ticket.waiting`: how long a ticket waits, and for what, before the rule runs. */
  wait: Wait | null;
  position: number;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = `id, name, trigger, match, conditions, actions, wait, position, enabled,
  created_at as "createdAt", updated_at as "updatedAt"`;

/** At most this many rules per organization: each event is checked against every enabled one. */
export const MAX_RULES = 200;

const target = (ruleId: string) => ({ type: 'rule', id: ruleId });

function nameTaken(err: unknown, name: string | undefined): never {
  if ((err as { constraint?: string }).constraint === 'rules_org_id_name_key')
    throw new AppError('conflict', `a rule named "${name}" already exists`);
  throw err;
}

/**
 * Refuses (403) unless `held` covers what every one of the actions needs (actionPermissions):
 * a rule acts as itself, on any ticket, so writing or running one is doing what it does.
 */
export function requireRuleActions(held: ReadonlySet<string>, actions: readonly Action[]): void {
  const lacking = notHeld(held, actions.flatMap(actionPermissions));
  if (!lacking.length) return;
  const list = lacking.join(', ');
  throw new AppError(
    'forbidden',
    `this rule's actions need ${list}, which you don't hold: a rule does only what its author may`,
    { details: { reason: 'missing_permission', permissions: lacking } },
  );
}

/** Adds a rule; the actor must hold what its actions need (requireRuleActions). */
export async function createRule(tx: Tx, raw: unknown, actor: Actor): Promise<Rule> {
  const input = parseInput(ruleDefinition, raw);
  requireRuleActions(await heldBy(tx, actor), input.actions);
  // Serialises creations in one org, so the count and the next position are exact.
  await tx.query('select pg_advisory_xact_lock(hashtext($1::text))', [`rules:${tx.orgId}`]);
  const count = await tx.query<{ n: number; next: number }>(
    `select count(*)::int as n, coalesce(max(position) + 1, 0)::int as next from rules where org_id = $1::uuid`,
    [tx.orgId],
  );
  const { n, next } = count.rows[0] as { n: number; next: number };
  if (n >= MAX_RULES)
    throw new AppError('limit_reached', `an organization may have at most ${MAX_RULES} rules`);
  const r = await tx
    .query<Rule>(
      `insert into rules (org_id, name, trigger, match, conditions, actions, position, enabled, wait)
       values ($1::uuid, $2::text, $3::text, $4::text, $5::jsonb, $6::jsonb, $7::int, $8::boolean, $9::jsonb)
       returning ${COLUMNS}`,
      [
        tx.orgId,
        input.name,
        input.trigger,
        input.match,
        JSON.stringify(input.conditions),
        JSON.stringify(input.actions),
        next,
        input.enabled,
        input.wait ? JSON.stringify(input.wait) : null,
      ],
    )
    .catch((err: unknown) => nameTaken(err, input.name));
  const rule = r.rows[0] as Rule;
  await recordChange(tx, actor, {
    action: 'rule.created',
    target: target(rule.id),
    data: { name: rule.name },
  });
  return rule;
}

export async function listRules(tx: Tx): Promise<Rule[]> {
  const r = await tx.query<Rule>(
    `select ${COLUMNS} from rules where org_id = $1::uuid order by position, id`,
    [tx.orgId],
  );
  return r.rows;
}

export async function getRule(tx: Tx, ruleId: string, forUpdate = false): Promise<Rule> {
  const lock = forUpdate ? ' for update' : '';
  const r = await tx.query<Rule>(
    `select ${COLUMNS} from rules where org_id = $1::uuid and id = $2::uuid${lock}`,
    [tx.orgId, parseInput(id, ruleId)],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'rule not found');
  return r.rows[0];
}

/**
 * Changes a rule. The actor must hold what its actions need once changed, whatever the change
 * (switching a rule on, or renaming one, is keeping what it does).
 */
export async function updateRule(tx: Tx, ruleId: string, raw: unknown, actor: Actor): Promise<Rule> {
  const input = parseInput(ruleChanges, raw);
  // Locked: the audit entry says what the rule was, and nobody changes it in between.
  const before = await getRule(tx, ruleId, true);
  requireRuleActions(await heldBy(tx, actor), input.actions ?? before.actions);
  const trigger = input.trigger ?? before.trigger;
  // A change to another trigger drops the wait unless it names one; checked on the result.
  const wait = input.wait !== undefined ? input.wait : trigger === before.trigger ? before.wait : null;
  if (!waitAgrees({ trigger, wait }))
    throw new AppError('validation_failed', waitMessage, {
      details: [{ path: 'wait', message: waitMessage }],
    });
  const r = await tx
    .query<Rule>(
      `update rules set name = coalesce($3::text, name), trigger = coalesce($4::text, trigger),
         match = coalesce($5::text, match), conditions = coalesce($6::jsonb, conditions),
         actions = coalesce($7::jsonb, actions), enabled = coalesce($8::boolean, enabled),
         wait = $9::jsonb
       where org_id = $1::uuid and id = $2::uuid returning ${COLUMNS}`,
      [
        tx.orgId,
        before.id,
        input.name ?? null,
        input.trigger ?? null,
        input.match ?? null,
        input.conditions ? JSON.stringify(input.conditions) : null,
        input.actions ? JSON.stringify(input.actions) : null,
        input.enabled ?? null,
        wait ? JSON.stringify(wait) : null,
      ],
    )
    .catch((err: unknown) => nameTaken(err, input.name));
  const rule = r.rows[0] as Rule;
  const changes = diffChanges(before, rule, [
    'name',
    'trigger',
    'match',
    'conditions',
    'actions',
    'wait',
    'enabled',
  ]);
  if (changedAny(changes)) {
    await recordChange(tx, actor, {
      action: 'rule.updated',
      target: target(rule.id),
      data: { name: rule.name, changes },
    });
  }
  return rule;
}

export async function deleteRule(tx: Tx, ruleId: string, actor: Actor): Promise<void> {
  const rule = await getRule(tx, ruleId);
  await tx.query('delete from rules where org_id = $1::uuid and id = $2::uuid', [tx.orgId, rule.id]);
  await recordChange(tx, actor, {
    action: 'rule.deleted',
    target: target(rule.id),
    data: { name: rule.name },
  });
}

export const reorderInput = z.object({
  ruleIds: z
    .array(id)
    .min(1)
    .max(MAX_RULES)
    .refine((a) => new Set(a).size === a.length, { message: 'a rule appears twice' }),
});

/** Sets the order of every rule at once: the list must name each of the org's rules exactly once. */
export async function reorderRules(tx: Tx, raw: unknown, actor: Actor): Promise<Rule[]> {
  const { ruleIds } = parseInput(reorderInput, raw);
  await tx.query('select pg_advisory_xact_lock(hashtext($1::text))', [`rules:${tx.orgId}`]);
  const current = await listRules(tx);
  const known = new Set(current.map((r) => r.id));
  if (ruleIds.length !== current.length || ruleIds.some((x) => !known.has(x)))
    throw new AppError('validation_failed', "ruleIds must list each of the organization's rules once", {
      details: [{ path: 'ruleIds', message: 'must list every rule once' }],
    });
  await tx.query(
    `update rules r set position = o.pos - 1
       from unnest($2::uuid[]) with ordinality as o(id, pos)
      where r.org_id = $1::uuid and r.id = o.id and r.position <> o.pos - 1`,
    [tx.orgId, ruleIds],
  );
  await recordChange(tx, actor, {
    action: 'rule.reordered',
    target: { type: 'rules', id: tx.orgId },
    data: { ruleIds },
  });
  return listRules(tx);
}
