import { getCannedReply, renderCannedReply } from './canned-replies.js';
import { cannedVariablesToSend } from './canned-variables.js';
import { type Actor, recordChange } from './changes.js';
import { type Availability, assignInTeam } from './rule-assign.js';
import type { Action } from './rule-defs.js';
import { describeAction } from './rule-eval.js';
import type { Tx } from './tenant.js';
import { summary } from './ticket-rows.js';
import {
  addNote,
  assign,
  close,
  getTicket,
  reply,
  setPriority,
  setStatus,
  transfer,
  updateFields,
} from './tickets.js';

type RuleActor = Extract<Actor, { type: 'rule' }>;

/**
 * Carries out one action of a rule through the same db/ functions staff use, with the rule as the
 * actor: history, audit and outbox are written as for a person. Returns what it did, for the log.
 */
export async function executeAction(
  tx: Tx,
  ticketId: string,
  action: Action,
  actor: RuleActor,
  rule: { id: string; name: string },
  /** Who is at work, for assign_in_team; absent, working hours and capacity alone decide. */
  availability?: Availability,
): Promise<string> {
  const done = describeAction(action);
  switch (action.type) {
    case 'assign_member':
      await assign(tx, { ticketId, assigneeId: action.userId }, actor);
      return done;
    case 'assign_team':
      await transfer(tx, { ticketId, teamId: action.teamId, keepAssignee: action.keepAssignee }, actor);
      return done;
    case 'assign_in_team':
      return `${done}${await assignInTeam(tx, ticketId, action, actor, availability)}`;
    case 'set_priority':
      await setPriority(tx, { ticketId, priority: action.priority }, actor);
      return done;
    case 'set_status':
      await setStatus(tx, { ticketId, status: action.status }, actor);
      return done;
    case 'set_tags':
      await updateFields(tx, { ticketId, addTags: action.add, removeTags: action.remove }, actor);
      return done;
    case 'set_category':
      await updateFields(tx, { ticketId, categoryId: action.categoryId }, actor);
      return done;
    case 'note':
      await addNote(tx, { ticketId, body: action.body }, actor);
      return done;
    case 'canned_reply': {
      const canned = await getCannedReply(tx, action.cannedReplyId);
      const body = renderCannedReply(canned.body, await cannedVariablesToSend(tx, ticketId));
      await reply(tx, { ticketId, body, origin: 'api' }, actor);
      return done;
    }
    case 'close':
      await close(tx, { ticketId, reason: action.reason }, actor);
      return done;
    case 'notify':
    case 'webhook': {
      const ticket = await getTicket(tx, ticketId);
      const notify = action.type === 'notify';
      await recordChange(tx, actor, {
        ticketId,
        action: notify ? 'rule.notified' : 'rule.webhook_sent',
        data: notify ? { to: action.to, message: action.message } : { label: action.label },
        event: {
          type: notify ? 'rule.notify' : 'rule.event',
          aggregateType: 'ticket',
          aggregateId: ticketId,
          payload: {
            ticket: summary(ticket),
            rule: { id: rule.id, name: rule.name },
            ...(notify ? { to: action.to, message: action.message } : { label: action.label }),
          },
        },
      });
      return done;
    }
  }
}
