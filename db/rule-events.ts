import type { OutboxRow } from './outbox.js';
import { MAX_RULE_DEPTH, type RuleTrigger, type Wait, waitSchema } from './rule-defs.js';

/** What an outbox event is to the rules: its trigger, ticket and message, and what caused it. */

export interface RuleEvent {
  trigger: RuleTrigger;
  ticketId: string;
  messageId: string | null;
  /** The rule whose change caused the event (it is never re-run on it) and the chain's depth. */
  causedBy: { ruleId: string; depth: number } | null;
  /** A timer's event (`rule.timer_due`) is for the one rule whose wait is over. */
  onlyRuleId?: string;
  /** A timer's wait, and when the episode it fired for started (the fire row's `since`). */
  timer?: { wait: Wait; since: string };
}

const UPDATES = new Set([
  'ticket.updated',
  'ticket.status_changed',
  'ticket.priority_changed',
  'ticket.assigned',
  'ticket.closed',
  'ticket.reopened',
]);

const rec = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
const str = (v: unknown) => (typeof v === 'string' ? v : null);

/** The trigger an outbox event is, if any (pure: the relay uses it to decide on a job). */
export function ruleEventOf(
  row: Pick<OutboxRow, 'eventType' | 'aggregateType' | 'aggregateId' | 'payload'>,
): RuleEvent | null {
  const type = row.eventType;
  const onTicket = row.aggregateType === 'ticket' ? row.aggregateId : null;
  let trigger: RuleTrigger | null = null;
  let ticketId = onTicket;
  let messageId: string | null = null;
  if (type === 'ticket.created') trigger = 'ticket.created';
  else if (UPDATES.has(type)) trigger = 'ticket.updated';
  else if (type === 'ticket.sla_warning') trigger = 'sla.warning';
  else if (type === 'ticket.sla_breached') trigger = 'sla.breach';
  else if (type === 'message.created') {
    const message = rec(row.payload.message);
    // A participant (not staff, not the ticket's player: someone in a public forum post) is
    // neither trigger: rules on the player's messages must not answer a bystander.
    if (row.payload.participant === true) return null;
    trigger = message.authorType === 'player' ? 'message.player' : 'message.staff';
    messageId = str(message.id);
  } else if (type === 'rule.timer_due') {
    const ruleId = str(rec(row.payload.rule).id);
    const wait = waitSchema.safeParse(row.payload.wait);
    const since = str(row.payload.since);
    if (!ruleId || !onTicket) return null;
    return {
      trigger: 'ticket.waiting',
      ticketId: onTicket,
      messageId: null,
      causedBy: null,
      onlyRuleId: ruleId,
      ...(wait.success && since ? { timer: { wait: wait.data, since } } : {}),
    };
  } else if (type === 'player.reported') {
    trigger = 'player.reported';
    ticketId = str(rec(row.payload.report).ticketId);
  }
  if (!trigger || !ticketId) return null;
  const actor = rec(row.payload.actor);
  const causedBy =
    actor.type === 'rule' && typeof actor.id === 'string'
      ? { ruleId: actor.id, depth: typeof actor.depth === 'number' ? actor.depth : MAX_RULE_DEPTH }
      : null;
  return { trigger, ticketId, messageId, causedBy };
}
