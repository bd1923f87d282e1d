import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { ruleDefinition } from './rule-defs.js';
import { describeAction, evaluate } from './rule-eval.js';
import { loadContext } from './rule-runs.js';
import { getRule } from './rules.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

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

export interface DryRunResult {
  ticketId: string;
  number: number;
  matched: boolean;
  reason: string;
  /** What the rule would do, worded as the run log words what it did. */
  actions: string[];
}

/**
 * What one rule would do on the org's last N tickets, as they are now: the same context loader
 * and evaluator as the real run (rule-runs.ts), with the ticket's latest player message. Changes
 * nothing and records nothing.
 */
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
    const ctx = await loadContext(tx, t.id, null);
    if (!ctx) continue;
    const v = evaluate(rule, ctx);
    out.push({
      ticketId: t.id,
      number: t.number,
      matched: v.matched,
      reason: v.reason,
      actions: v.matched ? rule.actions.map(describeAction) : [],
    });
  }
  return out;
}
