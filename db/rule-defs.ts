import { z } from 'zod';
import type { SentimentLabel } from '../lib/sentiment.js';
import type { Permission } from './permissions.js';
import { body, id, jsonValue, tag } from './schemas.js';
import { ORIGINS, PRIORITIES, STATUSES } from './ticket-rules.js';

/**
 * What an automation rule is made of, as data: the trigger it listens to, the conditions over the
 * ticket and the message that fired it, and the ordered actions. The API, the run log and the
 * evaluator (rule-eval.ts) all read these shapes; nothing in a rule is ever executed as code.
 */

export const RULE_TRIGGERS = [
  'ticket.created',
  'ticket.updated',
  'message.player',
  'message.staff',
  'sla.warning',
  'sla.breach',
  'player.reported',
  /** Time-based: fired by the sweep (workers/rule-timers.ts) once a ticket has waited `wait`. */
  'ticket.waiting',
] as const;
export type RuleTrigger = (typeof RULE_TRIGGERS)[number];

/** How many rule runs may follow one another (a rule's change firing another rule) before stopping. */
export const MAX_RULE_DEPTH = 3;

const negate = z.boolean().default(false);
export const SENTIMENT_LABELS = [
  'positive',
  'neutral',
  'negative',
] as const satisfies readonly SentimentLabel[];
const sentimentScore = z.number().int().min(-1000).max(1000);
const ids = z.array(id).min(1).max(50);
const tags = z.array(tag).max(20).default([]);

export const conditionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('status'), in: z.array(z.enum(STATUSES)).min(1), negate }),
  z.object({ kind: z.literal('priority'), in: z.array(z.enum(PRIORITIES)).min(1), negate }),
  /** Where the ticket came from (Discord, the game, email, the panel, the API). */
  z.object({ kind: z.literal('origin'), in: z.array(z.enum(ORIGINS)).min(1), negate }),
  z.object({ kind: z.literal('category'), in: ids, negate }),
  z.object({ kind: z.literal('team'), in: ids, negate }),
  z.object({ kind: z.literal('game'), in: ids, negate }),
  z.object({ kind: z.literal('assigned'), negate }),
  z
    .object({ kind: z.literal('tags'), any: tags, all: tags, none: tags, negate })
    .refine((c) => c.any.length + c.all.length + c.none.length > 0, {
      message: 'name at least one tag in any, all or none',
    }),
  /**
   * Case-insensitive substring match (no regular expressions: a rule's author must not be able
   * to make the workers spin on a pathological pattern).
   */
  z.object({
    kind: z.literal('text'),
    in: z.enum(['subject', 'message', 'either']).default('either'),
    contains: z.array(z.string().trim().min(1).max(200)).min(1).max(20),
    negate,
  }),
  /**
   * A player's sentiment (stored with each player message, lib/sentiment.ts): of `message`, the
   * message that fired the rule (for triggers without one, the ticket's latest player message),
   * or of `ticket`, its latest scored player message. Every part given must hold: a label in
   * `in`, the AFINN score (the sum of word scores, -5 to 5 each) at most `atMost`, at least
   * `atLeast`. An unscored message (staff, system, recorded before scoring) never holds.
   */
  z
    .object({
      kind: z.literal('sentiment'),
      of: z.enum(['message', 'ticket']).default('message'),
      in: z.array(z.enum(SENTIMENT_LABELS)).min(1).max(3).optional(),
      atMost: sentimentScore.optional(),
      atLeast: sentimentScore.optional(),
      negate,
    })
    .refine((c) => c.in !== undefined || c.atMost !== undefined || c.atLeast !== undefined, {
      message: 'name labels (in), a highest score (atMost) or a lowest score (atLeast)',
      path: ['in'],
    })
    .refine((c) => c.atMost === undefined || c.atLeast === undefined || c.atLeast <= c.atMost, {
      message: 'atLeast must not be above atMost',
      path: ['atLeast'],
    }),
  /** A custom field of the ticket (the game SDK's platform, build, region, a VIP flag...). */
  z.object({
    kind: z.literal('field'),
    key: z.string().min(1).max(64),
    equals: jsonValue,
    negate,
  }),
]);
export type Condition = z.output<typeof conditionSchema>;

const note = body.min(1, 'a note needs some text').max(4000);

export const actionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('assign_member'), userId: id.nullable() }),
  z.object({
    type: z.literal('assign_team'),
    teamId: id.nullable(),
    keepAssignee: z.boolean().default(false),
  }),
  /** Auto-assignment to a member of the team (rule-assign.ts), within each member's capacity. */
  z.object({
    type: z.literal('assign_in_team'),
    teamId: id,
    strategy: z.enum(['round_robin', 'least_loaded']),
  }),
  z.object({ type: z.literal('set_priority'), priority: z.enum(PRIORITIES) }),
  z.object({ type: z.literal('set_status'), status: z.enum(STATUSES).exclude(['closed']) }),
  z
    .object({ type: z.literal('set_tags'), add: tags, remove: tags })
    .refine((a) => a.add.length + a.remove.length > 0, { message: 'add or remove at least one tag' }),
  z.object({ type: z.literal('set_category'), categoryId: id.nullable() }),
  z.object({ type: z.literal('note'), body: note }),
  z.object({ type: z.literal('canned_reply'), cannedReplyId: id }),
  z.object({ type: z.literal('close'), reason: z.string().trim().min(1).max(500).optional() }),
  /** Recorded on the ticket and emitted as `rule.notify` for whoever delivers staff notifications. */
  z.object({
    type: z.literal('notify'),
    to: z.enum(['assignee', 'team']),
    message: z.string().trim().min(1).max(500),
  }),
  /** Emits `rule.event` to the org's webhook subscribers, with the ticket and this label. */
  z.object({
    type: z.literal('webhook'),
    label: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'lowercase letters, digits, dot, dash or underscore'),
  }),
]);
export type Action = z.output<typeof actionSchema>;

/**
 * The permissions an action needs: what the API's routes for the same change ask
 * (api/routes/ticket-actions.ts; solving is closing there too). Whoever writes or runs a rule
 * must hold them, so a rule never does what its author may not (db/grants.ts's rule). A
 * notification or a webhook event changes no ticket and needs none.
 */
export function actionPermissions(action: Action): Permission[] {
  switch (action.type) {
    case 'assign_member':
    case 'assign_team':
    case 'assign_in_team':
      return ['tickets.assign'];
    case 'set_status':
      return action.status === 'solved' ? ['tickets.update', 'tickets.close'] : ['tickets.update'];
    case 'set_priority':
    case 'set_tags':
    case 'set_category':
      return ['tickets.update'];
    case 'note':
      return ['tickets.note'];
    case 'canned_reply':
      return ['tickets.reply'];
    case 'close':
      return ['tickets.close'];
    case 'notify':
    case 'webhook':
      return [];
  }
}

/**
 * What a `ticket.waiting` rule waits for: the ticket pending for `hours`, no player message for
 * `hours` (since the last one, or the opening), or a player's last message unanswered by staff
 * for `hours`. A ticket fires the rule once per wait: a new one starts when it goes pending again
 * or the awaited side writes.
 */
export const waitSchema = z.object({
  for: z.enum(['pending', 'player_reply', 'staff_reply']),
  hours: z
    .number()
    .int()
    .min(1)
    .max(24 * 90),
});
export type Wait = z.output<typeof waitSchema>;

const fields = {
  name: z.string().trim().min(1).max(100),
  trigger: z.enum(RULE_TRIGGERS),
  match: z.enum(['all', 'any']),
  conditions: z.array(conditionSchema).max(20),
  actions: z.array(actionSchema).min(1, 'a rule needs at least one action').max(10),
  enabled: z.boolean(),
  wait: waitSchema.nullable(),
};

const WAITING = 'ticket.waiting';
const waitMessage = 'a ticket.waiting rule needs `wait`, and only it may have one';

export const ruleDefinition = z
  .object({
    ...fields,
    match: fields.match.default('all'),
    conditions: fields.conditions.default([]),
    enabled: fields.enabled.default(true),
    wait: fields.wait.default(null),
  })
  .refine((r) => (r.trigger === WAITING) === (r.wait !== null), { message: waitMessage, path: ['wait'] });

/** A change to a rule: only what is given changes (no defaults filled in). */
export const ruleChanges = z
  .object({
    name: fields.name.optional(),
    trigger: fields.trigger.optional(),
    match: fields.match.optional(),
    conditions: fields.conditions.optional(),
    actions: fields.actions.optional(),
    enabled: fields.enabled.optional(),
    wait: fields.wait.optional(),
  })
  .refine((v) => Object.values(v).some((x) => x !== undefined), { message: 'nothing to change' });
export type RuleDefinition = z.output<typeof ruleDefinition>;

/** Whether a rule's trigger and wait agree once a change is applied (the change may name either). */
export function waitAgrees(rule: { trigger: RuleTrigger; wait: Wait | null }): boolean {
  return (rule.trigger === WAITING) === (rule.wait !== null);
}
export { waitMessage };
