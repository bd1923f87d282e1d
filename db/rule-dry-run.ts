import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { loadContext } from './rule-context.js';
import { type RuleDefinition, type RuleTrigger, ruleDefinition } from './rule-defs.js';
import { describeAction, evaluate } from './rule-eval.js';
import { describeWait, waitState } from './rule-timers.js';
import { getRule, listRules } from './rules.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * What rules would do on tickets as they are now, without changing or recording anything: the
 * same context loader and evaluator as the real run (rule-runs.ts), the same wait as the timer
 * sweep (rule-timers.ts, on the database's clock), and for a message trigger the message the real
 * run would check (a staff message for `message.staff`, not the player's).
 */

export const dryRunInput = z
  .object({
    /** A saved rule, or a definition being edited (not saved). */
    ruleId: id.optional(),
    rule: ruleDefinition.optional(),
    limit: z.number().int().min(1).max(200).default(20),
  })
  .refine((v) => (v.ruleId === undefined) !== (v.rule === undefined), {
    message: 'give either ruleId or rule',
  });

/** What a rule would do on one ticket: whether it matches, why, and its actions worded as the run log words them. */
interface Outcome {
  matched: boolean;
  reason: string;
  actions: string[];
}

export interface DryRunResult extends Outcome {
  ticketId: string;
  number: number;
}

type DryRule = Pick<RuleDefinition, 'trigger' | 'match' | 'conditions' | 'actions' | 'wait'> & {
  id?: string;
};

const MESSAGE_OF: Partial<Record<RuleTrigger, 'player' | 'staff'>> = {
  'message.player': 'player',
  'message.staff': 'staff',
};

/** One rule on one ticket (null when the ticket is gone or merged). */
async function dryRunRule(tx: Tx, rule: DryRule, ticketId: string): Promise<Outcome | null> {
  const no = (reason: string): Outcome => ({ matched: false, reason, actions: [] });
  let waited = '';
  if (rule.trigger === 'ticket.waiting' && rule.wait) {
    const state = await waitState(tx, ticketId, { id: rule.id ?? null, wait: rule.wait });
    const words = describeWait(state, rule.wait);
    if (!state.waiting || !state.due) return no(words);
    // The sweep fires a rule once per wait: this one is spent until the ticket waits anew.
    if (state.fired) return no(`already ran for this wait: ${words}`);
    waited = `${words}; `;
  }
  const kind = MESSAGE_OF[rule.trigger];
  const messageId = kind === 'staff' ? await latestStaffMessageId(tx, ticketId) : null;
  const loaded = await loadContext(tx, ticketId, messageId);
  if (!loaded) return null;
  // No staff message yet: the staff rule's message conditions see none, not the player's.
  const ctx = kind === 'staff' && !messageId ? { ...loaded, message: null } : loaded;
  const checked = readsMessage(rule)
    ? ` (message conditions checked against the latest ${kind ?? 'player'} message${ctx.message ? '' : ': there is none'})`
    : '';
  const v = evaluate(rule, ctx);
  return {
    matched: v.matched,
    reason: `${waited}${v.reason}${checked}`,
    actions: v.matched ? rule.actions.map(describeAction) : [],
  };
}

/** Whether a condition looks at the message (text beyond the subject, the message's sentiment). */
const readsMessage = (rule: DryRule) =>
  rule.conditions.some(
    (c) => (c.kind === 'text' && c.in !== 'subject') || (c.kind === 'sentiment' && c.of === 'message'),
  );

async function latestStaffMessageId(tx: Tx, ticketId: string): Promise<string | null> {
  const r = await tx.query<{ id: string }>(
    `select id from messages
      where org_id = $1::uuid and ticket_id = $2::uuid and deleted_at is null and author_kind = 'staff'
      order by created_at desc, id desc limit 1`,
    [tx.orgId, ticketId],
  );
  return r.rows[0]?.id ?? null;
}

/** What one rule would do on the org's last N tickets, as they are now (the API's dry run). */
export async function dryRun(tx: Tx, raw: unknown): Promise<DryRunResult[]> {
  const input = parseInput(dryRunInput, raw);
  const rule = input.ruleId ? await getRule(tx, input.ruleId) : input.rule;
  if (!rule) throw new AppError('validation_failed', 'give either ruleId or rule');
  // By number, not created_at: tickets opened in one transaction share their created_at.
  const recent = await tx.query<{ id: string; number: number }>(
    `select id, number from tickets where org_id = $1::uuid and merged_into_id is null
     order by number desc limit $2::int`,
    [tx.orgId, input.limit],
  );
  const out: DryRunResult[] = [];
  for (const t of recent.rows) {
    const outcome = await dryRunRule(tx, rule, t.id);
    if (outcome) out.push({ ticketId: t.id, number: t.number, ...outcome });
  }
  return out;
}

/** What one enabled rule would do on one ticket as it is now (`/ticket rules`' dry run). */
export interface TicketDryRun extends Outcome {
  ruleId: string;
  ruleName: string;
  trigger: RuleTrigger;
}

/** Every enabled rule of the org, in the order they run, on one ticket as it is now, whatever their trigger. */
export async function dryRunOnTicket(tx: Tx, ticketId: string): Promise<TicketDryRun[]> {
  const ticket = parseInput(id, ticketId);
  if (!(await loadContext(tx, ticket, null))) throw new AppError('not_found', 'ticket not found');
  const out: TicketDryRun[] = [];
  for (const rule of (await listRules(tx)).filter((r) => r.enabled)) {
    const outcome = await dryRunRule(tx, rule, ticket);
    if (outcome) out.push({ ruleId: rule.id, ruleName: rule.name, trigger: rule.trigger, ...outcome });
  }
  return out;
}
