import type { SentimentLabel } from '../lib/sentiment.js';
import type { Action, Condition, RuleDefinition } from './rule-defs.js';
import type { Priority, Status } from './ticket-rules.js';

/**
 * The pure half of the rules engine: whether a rule's conditions hold for a ticket, and what its
 * actions do to the ticket as far as later rules can see. The worker's real run and the API's
 * dry run both go through here, so a dry run shows what the real run would do.
 */

export interface RuleTicket {
  subject: string;
  status: Status;
  priority: Priority;
  origin: string;
  categoryId: string | null;
  teamId: string | null;
  assigneeId: string | null;
  gameId: string | null;
  tags: string[];
  customFields: Record<string, unknown>;
  /** The latest scored player message's sentiment (tickets.player_sentiment_*). */
  playerSentiment: Mood | null;
}

export interface Mood {
  label: SentimentLabel;
  score: number;
}

export interface RuleContext {
  ticket: RuleTicket;
  /** The message that fired the rule, or for other triggers the ticket's latest player message. */
  message: { body: string; authorType: string; sentiment: Mood | null } | null;
}

export interface Verdict {
  matched: boolean;
  /** Why it did or did not match, for the run log. */
  reason: string;
}

const inList = <T>(list: readonly T[], v: T | null) => v !== null && list.includes(v);

function holds(c: Condition, ctx: RuleContext): boolean {
  const t = ctx.ticket;
  switch (c.kind) {
    case 'status':
      return c.in.includes(t.status);
    case 'priority':
      return c.in.includes(t.priority);
    case 'origin':
      return c.in.includes(t.origin as never);
    case 'category':
      return inList(c.in, t.categoryId);
    case 'team':
      return inList(c.in, t.teamId);
    case 'game':
      return inList(c.in, t.gameId);
    case 'assigned':
      return t.assigneeId !== null;
    case 'tags':
      return (
        (c.any.length === 0 || c.any.some((x) => t.tags.includes(x))) &&
        c.all.every((x) => t.tags.includes(x)) &&
        !c.none.some((x) => t.tags.includes(x))
      );
    case 'text': {
      const hay = [c.in !== 'message' ? t.subject : '', c.in !== 'subject' ? (ctx.message?.body ?? '') : '']
        .join('\n')
        .toLowerCase();
      return c.contains.some((needle) => hay.includes(needle.toLowerCase()));
    }
    case 'field':
      return sameJson(t.customFields[c.key], c.equals);
    case 'sentiment': {
      const mood = c.of === 'ticket' ? t.playerSentiment : (ctx.message?.sentiment ?? null);
      if (!mood) return false;
      return (
        (c.in === undefined || c.in.includes(mood.label)) &&
        (c.atMost === undefined || mood.score <= c.atMost) &&
        (c.atLeast === undefined || mood.score >= c.atLeast)
      );
    }
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .sort(([x], [y]) => (x < y ? -1 : 1))
        .map(([k, x]) => [k, sortKeys(x)]),
    );
  return v;
}

const describeCondition = (c: Condition, i: number) =>
  `condition ${i + 1} (${c.negate ? 'not ' : ''}${c.kind})`;

export function evaluate(rule: Pick<RuleDefinition, 'match' | 'conditions'>, ctx: RuleContext): Verdict {
  if (rule.conditions.length === 0) return { matched: true, reason: 'no conditions' };
  const results = rule.conditions.map((c) => holds(c, ctx) !== c.negate);
  if (rule.match === 'all') {
    const failed = results.indexOf(false);
    if (failed === -1) return { matched: true, reason: 'all conditions held' };
    return {
      matched: false,
      reason: `${describeCondition(rule.conditions[failed] as Condition, failed)} did not hold`,
    };
  }
  const held = results.indexOf(true);
  if (held === -1) return { matched: false, reason: 'none of the conditions held' };
  return {
    matched: true,
    reason: `${describeCondition(rule.conditions[held] as Condition, held)} held`,
  };
}

/** One line per action, the same in the dry run and the run log. */
export function describeAction(a: Action): string {
  switch (a.type) {
    case 'assign_member':
      return a.userId ? `assign to member ${a.userId}` : 'unassign';
    case 'assign_team':
      return a.teamId ? `move to team ${a.teamId}` : 'remove from its team';
    case 'assign_in_team':
      return `assign within team ${a.teamId} (${a.strategy.replace('_', '-')})`;
    case 'set_priority':
      return `set priority ${a.priority}`;
    case 'set_status':
      return `set status ${a.status}`;
    case 'set_tags':
      return `tags +[${a.add.join(', ')}] -[${a.remove.join(', ')}]`;
    case 'set_category':
      return a.categoryId ? `set category ${a.categoryId}` : 'clear category';
    case 'note':
      return 'add internal note';
    case 'canned_reply':
      return `reply with canned reply ${a.cannedReplyId}`;
    case 'close':
      return 'close';
    case 'notify':
      return `notify ${a.to}`;
    case 'webhook':
      return `webhook event rule.event (${a.label})`;
  }
}

/**
 * What an action leaves on the ticket as later rules see it, without touching the database. An
 * auto-assignment's member is only known when it runs; the dry run marks the ticket assigned.
 */
export function applyToTicket(t: RuleTicket, a: Action): RuleTicket {
  switch (a.type) {
    case 'assign_member':
      return { ...t, assigneeId: a.userId };
    case 'assign_team':
      return { ...t, teamId: a.teamId, assigneeId: a.keepAssignee ? t.assigneeId : null };
    case 'assign_in_team':
      return { ...t, teamId: a.teamId, assigneeId: t.assigneeId ?? 'auto' };
    case 'set_priority':
      return { ...t, priority: a.priority };
    case 'set_status':
      return { ...t, status: a.status };
    case 'set_tags':
      return {
        ...t,
        tags: [...new Set([...t.tags.filter((x) => !a.remove.includes(x)), ...a.add])],
      };
    case 'set_category':
      return { ...t, categoryId: a.categoryId };
    case 'close':
      return { ...t, status: 'closed' };
    default:
      return t;
  }
}
