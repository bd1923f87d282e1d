import { describe, expect, it } from 'vitest';
import { type Condition, conditionSchema, ruleDefinition } from '../../db/rule-defs.js';
import { applyToTicket, evaluate, type RuleContext } from '../../db/rule-eval.js';
import { ruleEventOf } from '../../db/rule-runs.js';

const T = '00000000-0000-4000-8000-000000000001';
const U = '00000000-0000-4000-8000-000000000002';

const ctx: RuleContext = {
  ticket: {
    subject: 'Game crashes on start',
    status: 'open',
    priority: 'normal',
    origin: 'game',
    categoryId: T,
    teamId: null,
    assigneeId: null,
    gameId: T,
    tags: ['crash', 'pc'],
    customFields: { platform: 'pc', player: { vip: true, level: 3 } },
    playerSentiment: { label: 'positive', score: 3 },
  },
  message: {
    body: 'It CRASHES with FiveM build 2802',
    authorType: 'player',
    sentiment: { label: 'negative', score: -2 },
  },
};

const holds = (raw: Record<string, unknown>) =>
  evaluate({ match: 'all', conditions: [conditionSchema.parse(raw) as Condition] }, ctx).matched;

describe('rule conditions', () => {
  it.each([
    [
      { kind: 'status', in: ['open', 'pending'] },
      { kind: 'status', in: ['closed'] },
    ],
    [
      { kind: 'priority', in: ['normal'] },
      { kind: 'priority', in: ['urgent'] },
    ],
    [
      { kind: 'origin', in: ['game'] },
      { kind: 'origin', in: ['email'] },
    ],
    [
      { kind: 'category', in: [T] },
      { kind: 'category', in: [U] },
    ],
    [
      { kind: 'game', in: [T] },
      { kind: 'game', in: [U] },
    ],
    [
      { kind: 'team', in: [U], negate: true },
      { kind: 'team', in: [U] },
    ],
    [{ kind: 'assigned', negate: true }, { kind: 'assigned' }],
    [
      { kind: 'tags', any: ['crash', 'x'], all: ['pc'], none: ['vip'] },
      { kind: 'tags', none: ['pc'] },
    ],
    [
      { kind: 'text', contains: ['fivem'] },
      { kind: 'text', in: 'subject', contains: ['fivem'] },
    ],
    [
      { kind: 'text', in: 'subject', contains: ['CRASHES ON'] },
      { kind: 'text', in: 'message', contains: ['refund'] },
    ],
    [
      { kind: 'field', key: 'player', equals: { level: 3, vip: true } },
      { kind: 'field', key: 'platform', equals: 'ps5' },
    ],
    [
      { kind: 'sentiment', in: ['negative'] },
      { kind: 'sentiment', in: ['neutral', 'positive'] },
    ],
    [
      { kind: 'sentiment', atMost: -2 },
      { kind: 'sentiment', atMost: -3 },
    ],
    [
      { kind: 'sentiment', in: ['negative'], atLeast: -2 },
      { kind: 'sentiment', in: ['negative'], atLeast: -1 },
    ],
    [
      { kind: 'sentiment', of: 'ticket', in: ['positive'], atLeast: 3 },
      { kind: 'sentiment', of: 'ticket', in: ['negative'] },
    ],
  ])('%j holds and %j does not', (yes, no) => {
    expect(holds(yes)).toBe(true);
    expect(holds(no)).toBe(false);
  });

  it('never holds a sentiment condition on a message or ticket that was not scored', () => {
    const unscored: RuleContext = {
      ticket: { ...ctx.ticket, playerSentiment: null },
      message: { body: 'Sorry for the wait', authorType: 'user', sentiment: null },
    };
    for (const raw of [
      { kind: 'sentiment', in: ['negative', 'neutral', 'positive'] },
      { kind: 'sentiment', of: 'ticket', atLeast: -1000 },
    ])
      expect(evaluate({ match: 'all', conditions: [conditionSchema.parse(raw)] }, unscored).matched).toBe(
        false,
      );
    expect(evaluate({ match: 'all', conditions: [] }, { ...unscored, message: null }).matched).toBe(true);
  });

  it('refuses a sentiment condition that tests nothing or an empty range, naming the field', () => {
    const paths = (raw: Record<string, unknown>) =>
      conditionSchema.safeParse(raw).error?.issues.map((i) => i.path.join('.'));
    expect(paths({ kind: 'sentiment', of: 'message' })).toEqual(['in']);
    expect(paths({ kind: 'sentiment', atLeast: 2, atMost: -2 })).toEqual(['atLeast']);
    expect(paths({ kind: 'sentiment', in: ['angry'] })).toEqual(['in.0']);
    expect(paths({ kind: 'sentiment', atMost: 1.5 })).toEqual(['atMost']);
  });

  it('needs every condition for "all" and one for "any", and says which decided', () => {
    const conditions = [
      conditionSchema.parse({ kind: 'priority', in: ['urgent'] }),
      conditionSchema.parse({ kind: 'origin', in: ['game'] }),
    ];
    expect(evaluate({ match: 'all', conditions }, ctx)).toEqual({
      matched: false,
      reason: 'condition 1 (priority) did not hold',
    });
    expect(evaluate({ match: 'any', conditions }, ctx)).toEqual({
      matched: true,
      reason: 'condition 2 (origin) held',
    });
  });

  it('refuses definitions that are not data it knows, naming the field', () => {
    const bad = ruleDefinition.safeParse({
      name: 'x',
      trigger: 'ticket.created',
      conditions: [{ kind: 'regex', pattern: '(a+)+$' }],
      actions: [{ type: 'eval', code: 'process.exit()' }],
    });
    expect(bad.success).toBe(false);
    const paths = bad.error?.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['conditions.0.kind', 'actions.0.type']));
    expect(ruleDefinition.safeParse({ name: 'x', trigger: 'ticket.created', actions: [] }).success).toBe(
      false,
    );
    expect(
      ruleDefinition.safeParse({ name: 'x', trigger: 'nope', actions: [{ type: 'close' }] }).success,
    ).toBe(false);
  });

  it('shows later rules what earlier actions changed', () => {
    const a = ruleDefinition.parse({
      name: 'a',
      trigger: 'ticket.created',
      actions: [
        { type: 'set_priority', priority: 'urgent' },
        { type: 'set_tags', add: ['vip'], remove: ['pc'] },
        { type: 'assign_in_team', teamId: U, strategy: 'least_loaded' },
      ],
    });
    const t = a.actions.reduce(applyToTicket, ctx.ticket);
    expect(t).toMatchObject({ priority: 'urgent', tags: ['crash', 'vip'], teamId: U });
    expect(t.assigneeId).not.toBeNull();
  });
});

describe('rule triggers from outbox events', () => {
  const row = (eventType: string, payload: Record<string, unknown> = {}, aggregateType = 'ticket') => ({
    eventType,
    aggregateType,
    aggregateId: T,
    payload,
  });
  it.each([
    ['ticket.created', {}, 'ticket.created'],
    ['ticket.updated', {}, 'ticket.updated'],
    ['ticket.status_changed', {}, 'ticket.updated'],
    ['ticket.priority_changed', {}, 'ticket.updated'],
    ['ticket.assigned', {}, 'ticket.updated'],
    ['ticket.closed', {}, 'ticket.updated'],
    ['message.created', { message: { id: U, authorType: 'player' } }, 'message.player'],
    ['message.created', { message: { id: U, authorType: 'user' } }, 'message.staff'],
    ['ticket.sla_warning', {}, 'sla.warning'],
    ['ticket.sla_breached', {}, 'sla.breach'],
  ])('%s %j is %s', (type, payload, trigger) => {
    expect(ruleEventOf(row(type, payload))?.trigger).toBe(trigger);
  });

  it('finds the ticket of a player report, the message and the rule that caused an event', () => {
    expect(ruleEventOf(row('player.reported', { report: { ticketId: U } }, 'player'))).toMatchObject({
      trigger: 'player.reported',
      ticketId: U,
    });
    expect(
      ruleEventOf(
        row('message.created', {
          message: { id: U, authorType: 'player' },
          actor: { type: 'rule', id: U, depth: 2 },
        }),
      ),
    ).toMatchObject({ messageId: U, causedBy: { ruleId: U, depth: 2 } });
    expect(ruleEventOf(row('note.created'))).toBeNull();
    expect(ruleEventOf(row('rule.event'))).toBeNull();
    // Someone other than the ticket's player writing in a public forum post triggers nothing.
    expect(
      ruleEventOf(row('message.created', { message: { id: U, authorType: 'player' }, participant: true })),
    ).toBeNull();
  });
});
