import type { RuleTrigger } from './rule-defs.js';
import { listRules, type Rule } from './rules.js';
import type { Tx } from './tenant.js';

/**
 * The enabled rules of an organization, kept between events. The rules job runs on every ticket
 * event, and reading an org's whole rule set (conditions and actions as JSON) each time was a
 * large part of an event's cost with 100 rules; instead it reads the org's rule-set version
 * (one row, bumped by a trigger on any change to its rules, migration 130) and reloads only when
 * the version moved. The version and the rules are read in the caller's transaction, so the
 * rules used always belong to the version seen.
 */

interface Entry {
  version: string;
  byTrigger: Map<RuleTrigger, Rule[]>;
}

/** Orgs kept at once; the least recently used goes first. */
const MAX_ORGS = 500;
const cache = new Map<string, Entry>();

/** The org's (`$1`) rule-set version as text, for a statement that reads it along with something else. */
export const RULES_VERSION_SQL = '(select version::text from rule_sets where org_id = $1::uuid)';

export async function enabledRulesFor(tx: Tx, trigger: RuleTrigger): Promise<Rule[]> {
  const r = await tx.query<{ version: string | null }>(`select ${RULES_VERSION_SQL} as version`, [tx.orgId]);
  return enabledRulesAt(tx, r.rows[0]?.version ?? null, trigger);
}

/** The enabled rules for `trigger` of the version the caller read in this transaction. */
export async function enabledRulesAt(tx: Tx, read: string | null, trigger: RuleTrigger): Promise<Rule[]> {
  // No row: the org never had a rule (the first one creates the row).
  const version = read ?? '0';
  let entry = cache.get(tx.orgId);
  if (entry?.version !== version) {
    const byTrigger = new Map<RuleTrigger, Rule[]>();
    for (const rule of await listRules(tx)) {
      if (!rule.enabled) continue;
      const list = byTrigger.get(rule.trigger) ?? [];
      list.push(rule);
      byTrigger.set(rule.trigger, list);
    }
    entry = { version, byTrigger };
  }
  // Re-inserted on every use, so the map's order is the order of last use.
  cache.delete(tx.orgId);
  cache.set(tx.orgId, entry);
  if (cache.size > MAX_ORGS) cache.delete(cache.keys().next().value as string);
  return entry.byTrigger.get(trigger) ?? [];
}
