import { describe, expect, it } from 'vitest';
import { createCannedReply } from '../../db/canned-replies.js';
import { createCategory } from '../../db/categories.js';
import { changeRole } from '../../db/memberships.js';
import { executeAction } from '../../db/rule-actions.js';
import { setMemberCapacity } from '../../db/rule-assign.js';
import { dryRun } from '../../db/rule-dry-run.js';
import { listRuns } from '../../db/rule-runs.js';
import { listRules, reorderRules, updateRule } from '../../db/rules.js';
import { addTeamMember, createTeam } from '../../db/teams.js';
import { withTenant } from '../../db/tenant.js';
import * as tickets from '../../db/tickets.js';
import { LOCALES } from '../../lib/i18n/locales.js';
import type { Refusal } from '../../lib/i18n/refusal.js';
import { useTestDb } from '../support/db.js';
import { rulesOrg } from './rules-support.js';

const db = useTestDb();

describe('rules acting on tickets', () => {
  it('applies every action through db/ as the rule: history, audit and outbox name it', async () => {
    const s = await rulesOrg(db);
    const { category, canned, other } = await s.tx(async (tx) => ({
      category: await createCategory(tx, { name: 'Crashes' }, s.owner),
      canned: await createCannedReply(
        tx,
        { shortcut: 'crash', title: 'Crash', body: 'Hi {player}, ticket #{ticket}' },
        s.owner,
      ),
      other: await createTeam(tx, { name: 'Escalations' }, s.owner),
    }));
    const rule = await s.rule({
      trigger: 'ticket.created',
      conditions: [{ kind: 'text', contains: ['crash'] }],
      actions: [
        { type: 'set_priority', priority: 'high' },
        { type: 'set_tags', add: ['crash'], remove: [] },
        { type: 'set_category', categoryId: category.id },
        { type: 'assign_team', teamId: other.id },
        { type: 'assign_member', userId: s.agentIds[0] },
        { type: 'note', body: 'routed by the crash rule' },
        { type: 'canned_reply', cannedReplyId: canned.id },
        { type: 'set_status', status: 'pending' },
        { type: 'notify', to: 'assignee', message: 'a crash for you' },
        { type: 'webhook', label: 'crash.routed' },
      ],
    });
    const closer = await s.rule({
      trigger: 'ticket.created',
      conditions: [{ kind: 'tags', all: ['crash'] }],
      actions: [{ type: 'close', reason: 'auto' }],
    });
    const before = await s.lastOutboxId();
    const t = await s.open('Game crash at start');
    const created = (await s.events(before, t.id)).find((e) => e.type === 'ticket.created');
    const summary = await s.run(created?.id as number);
    expect(summary.ran).toEqual([
      { ruleId: rule.id, outcome: 'applied' },
      { ruleId: closer.id, outcome: 'applied' },
    ]);
    const after = await s.tx((tx) => tickets.getTicket(tx, t.id));
    expect(after).toMatchObject({
      priority: 'high',
      tags: ['crash'],
      categoryId: category.id,
      teamId: other.id,
      assigneeId: s.agentIds[0],
      status: 'closed',
    });
    const convo = await s.tx((tx) => tickets.conversation(tx, t.id));
    expect(convo.at(-1)).toMatchObject({ authorType: 'system', body: 'Hi Player, ticket #1' });
    const notes = await s.tx((tx) => tickets.listNotes(tx, t.id));
    expect(notes.map((n) => n.body)).toEqual(['routed by the crash rule']);
    const history = await db.admin.query<{ type: string; actor_type: string; actor_id: string }>(
      "select type, actor_type, actor_id from ticket_events where ticket_id = $1 and actor_type = 'rule' order by id",
      [t.id],
    );
    expect(history.rows.map((r) => r.type)).toEqual(
      expect.arrayContaining([
        'ticket.priority_changed',
        'ticket.transferred',
        'ticket.assigned',
        'note.created',
        'message.created',
        'rule.notified',
        'rule.webhook_sent',
        'ticket.closed',
      ]),
    );
    expect(new Set(history.rows.map((r) => r.actor_id))).toEqual(new Set([rule.id, closer.id]));
    const audit = await db.admin.query("select 1 from audit_logs where org_id = $1 and actor_type = 'rule'", [
      s.orgId,
    ]);
    expect(audit.rowCount).toBeGreaterThanOrEqual(history.rowCount ?? 0);
    const emitted = await s.events(created?.id as number);
    expect(emitted.map((e) => e.type)).toEqual(
      expect.arrayContaining(['rule.notify', 'rule.event', 'ticket.closed']),
    );
    expect(emitted.find((e) => e.type === 'rule.event')?.payload).toMatchObject({
      label: 'crash.routed',
      rule: { id: rule.id },
      actor: { type: 'rule', id: rule.id, depth: 1 },
    });
    // A replayed job changes nothing and logs nothing more.
    const rows = (
      await db.admin.query('select count(*)::int as n from ticket_events where ticket_id = $1', [t.id])
    ).rows[0];
    expect((await s.run(created?.id as number)).ran).toEqual([]);
    expect(
      (await db.admin.query('select count(*)::int as n from ticket_events where ticket_id = $1', [t.id]))
        .rows[0],
    ).toEqual(rows);
    expect(await s.runs(t.id)).toHaveLength(2);
  });

  it('logs rules that did not match with the reason, and a refused action as failed with nothing half-done', async () => {
    const s = await rulesOrg(db);
    const miss = await s.rule({
      trigger: 'message.player',
      conditions: [{ kind: 'priority', in: ['urgent'] }],
      actions: [{ type: 'close' }],
    });
    const broken = await s.rule({
      trigger: 'message.player',
      actions: [
        { type: 'set_priority', priority: 'urgent' },
        { type: 'canned_reply', cannedReplyId: s.team.id },
      ],
    });
    const t = await s.open('Refund');
    const before = await s.lastOutboxId();
    await s.tx((tx) =>
      tickets.reply(tx, { ticketId: t.id, body: 'any news?', origin: 'discord' }, s.playerActor),
    );
    const msg = (await s.events(before)).find((e) => e.type === 'message.created');
    await s.run(msg?.id as number);
    const runs = await s.runs(t.id);
    expect(runs.map((r) => [r.rule_id, r.outcome])).toEqual([
      [miss.id, 'not_matched'],
      [broken.id, 'failed'],
    ]);
    expect(runs[0]?.reason).toBe('condition 1 (priority) did not hold');
    expect(runs[1]?.reason).toMatch(/^action 2 \(reply with canned reply .*\) failed: /);
    // The first action was rolled back with the second.
    expect((await s.tx((tx) => tickets.getTicket(tx, t.id))).priority).toBe('normal');
    const log = await s.tx((tx) => listRuns(tx, { ticketId: t.id }));
    expect(log.map((r) => r.outcome)).toEqual(['failed', 'not_matched']);
  });

  it('runs rules in order, each seeing what the one before did; reordering changes the outcome', async () => {
    const s = await rulesOrg(db);
    const first = await s.rule({
      trigger: 'ticket.created',
      actions: [{ type: 'set_priority', priority: 'urgent' }],
    });
    const second = await s.rule({
      trigger: 'ticket.created',
      conditions: [{ kind: 'priority', in: ['urgent'] }],
      actions: [{ type: 'set_tags', add: ['escalated'], remove: [] }],
    });
    const before = await s.lastOutboxId();
    const a = await s.open('first');
    await s.run((await s.events(before, a.id))[0]?.id as number);
    expect((await s.tx((tx) => tickets.getTicket(tx, a.id))).tags).toEqual(['escalated']);

    await s.tx((tx) => reorderRules(tx, { ruleIds: [second.id, first.id] }, s.owner));
    expect((await s.tx(listRules)).map((r) => r.id)).toEqual([second.id, first.id]);
    const mid = await s.lastOutboxId();
    const b = await s.open('second');
    await s.run((await s.events(mid, b.id))[0]?.id as number);
    const bAfter = await s.tx((tx) => tickets.getTicket(tx, b.id));
    expect(bAfter).toMatchObject({ priority: 'urgent', tags: [] });
    await expect(s.tx((tx) => reorderRules(tx, { ruleIds: [first.id] }, s.owner))).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });

  it('never re-triggers a rule on its own change, and stops a chain of rules at the depth limit', async () => {
    const s = await rulesOrg(db);
    const self = await s.rule({
      trigger: 'ticket.updated',
      actions: [{ type: 'set_tags', add: ['touched'], remove: [] }],
    });
    const t = await s.open('loop');
    const start = await s.lastOutboxId();
    await s.tx((tx) => tickets.setPriority(tx, { ticketId: t.id, priority: 'high' }, s.owner));
    await s.drain(start);
    const runs = await s.runs(t.id);
    expect(runs.map((r) => [r.outcome, r.depth])).toEqual([
      ['applied', 1],
      ['skipped', 2],
    ]);
    expect(runs[1]?.reason).toBe('the event was caused by this rule');

    // Two rules that undo each other would loop forever without the depth limit.
    await s.tx((tx) => updateRule(tx, self.id, { enabled: false }, s.owner));
    await s.rule({
      trigger: 'ticket.updated',
      conditions: [{ kind: 'tags', none: ['ping'] }],
      actions: [{ type: 'set_tags', add: ['ping'], remove: ['pong'] }],
    });
    await s.rule({
      trigger: 'ticket.updated',
      conditions: [{ kind: 'tags', none: ['pong'] }],
      actions: [{ type: 'set_tags', add: ['pong'], remove: ['ping'] }],
    });
    const t2 = await s.open('ping pong');
    const from = await s.lastOutboxId();
    await s.tx((tx) => tickets.setPriority(tx, { ticketId: t2.id, priority: 'high' }, s.owner));
    await s.drain(from);
    const chain = await s.runs(t2.id);
    expect(Math.max(...chain.map((r) => r.depth))).toBe(4);
    const last = chain.filter((r) => r.depth === 4);
    expect(last.every((r) => r.outcome === 'skipped')).toBe(true);
    expect(last.some((r) => r.reason === 'chain stopped: rules already ran 3 deep')).toBe(true);
    expect(chain.filter((r) => r.outcome === 'applied').every((r) => r.depth <= 3)).toBe(true);
  });

  it('dry run over the last tickets equals the real run on the same tickets', async () => {
    const s = await rulesOrg(db);
    const start = await s.lastOutboxId();
    for (const subject of ['crash on boot', 'billing question', 'CRASH in menu', 'ban appeal'])
      await s.open(subject);
    await s.tx((tx) =>
      tickets.openTicket(tx, { subject: 'urgent crash', origin: 'panel', priority: 'urgent' }, s.owner),
    );
    const rule = await s.rule({
      trigger: 'ticket.created',
      match: 'all',
      conditions: [
        { kind: 'text', in: 'subject', contains: ['crash'] },
        { kind: 'priority', in: ['urgent'], negate: true },
      ],
      actions: [
        { type: 'set_tags', add: ['crash'], remove: [] },
        { type: 'note', body: 'crash triage' },
      ],
    });
    const dry = await s.tx((tx) => dryRun(tx, { ruleId: rule.id, limit: 5 }));
    expect(dry.filter((d) => d.matched)).toHaveLength(2);
    for (const e of (await s.events(start)).filter((x) => x.type === 'ticket.created')) await s.run(e.id);
    for (const d of dry) {
      const [run] = await s.runs(d.ticketId);
      expect({ matched: run?.outcome === 'applied', reason: run?.reason, actions: run?.actions }).toEqual({
        matched: d.matched,
        reason: d.reason,
        actions: d.actions,
      });
    }
  });

  it("dry run of a staff-message rule checks staff's latest message, not the player's, and says which", async () => {
    const s = await rulesOrg(db);
    const t = await s.open('refund please', 'I want a refund');
    const rule = await s.rule({
      trigger: 'message.staff',
      conditions: [{ kind: 'text', in: 'message', contains: ['refund'] }],
      actions: [{ type: 'set_tags', add: ['refund-promised'], remove: [] }],
    });
    const dry = async () => (await s.tx((tx) => dryRun(tx, { ruleId: rule.id, limit: 5 })))[0];
    expect(await dry()).toMatchObject({
      matched: false,
      reason:
        'condition 1 (text) did not hold (message conditions checked against the latest staff message: there is none)',
    });
    const start = await s.lastOutboxId();
    await s.tx((tx) =>
      tickets.reply(tx, { ticketId: t.id, body: 'Looking into it', origin: 'panel' }, s.owner),
    );
    await s.drain(start);
    const d = await dry();
    expect(d).toMatchObject({
      matched: false,
      reason: 'condition 1 (text) did not hold (message conditions checked against the latest staff message)',
    });
    // The real run on that staff message agrees.
    expect((await s.runs(t.id)).find((r) => r.rule_id === rule.id)?.outcome).toBe('not_matched');
  });

  it("fills a canned reply's {agent} with the member the rule assigned, else a neutral word in the player's language", async () => {
    const s = await rulesOrg(db, 1);
    const canned = await s.tx((tx) =>
      createCannedReply(
        tx,
        { shortcut: 'ack', title: 'Ack', body: 'Hi {player}, {agent} will help you.' },
        s.owner,
      ),
    );
    const start = await s.lastOutboxId();
    await s.rule({
      trigger: 'ticket.created',
      conditions: [{ kind: 'text', in: 'subject', contains: ['help'] }],
      actions: [
        { type: 'assign_in_team', teamId: s.team.id, strategy: 'round_robin' },
        { type: 'canned_reply', cannedReplyId: canned.id },
      ],
    });
    await s.rule({
      trigger: 'ticket.created',
      actions: [{ type: 'canned_reply', cannedReplyId: canned.id }],
    });
    const assigned = await s.open('help');
    const nobody = await s.open('hallo', 'hallo', { locale: 'de' });
    await s.drain(start);
    const last = async (ticketId: string) =>
      (await s.tx((tx) => tickets.conversation(tx, ticketId))).at(-1)?.body;
    expect(await last(assigned.id)).toBe('Hi Player, Agent 0 will help you.');
    expect(await last(nobody.id)).toBe('Hi Player, unser Team will help you.');
  });

  it('never sends the player a raw {player} or {category}: a ticket with no named player or no category reads neutral words in its language', async () => {
    const s = await rulesOrg(db, 1);
    const canned = await s.tx((tx) =>
      createCannedReply(
        tx,
        { shortcut: 'about', title: 'About', body: 'Hi {player}, about {category} #{ticket}: {agent}.' },
        s.owner,
      ),
    );
    await s.rule({
      trigger: 'ticket.created',
      actions: [{ type: 'canned_reply', cannedReplyId: canned.id }],
    });
    // Opened for a player not named yet (through the API, no requester), with no category.
    const said = new Map<string, string | undefined>();
    for (const locale of LOCALES) {
      const start = await s.lastOutboxId();
      const t = await s.tx(
        async (tx) =>
          (await tickets.openTicket(tx, { subject: 'Lag', origin: 'api', locale }, s.owner)).ticket,
      );
      await s.drain(start);
      const body = (await s.tx((tx) => tickets.conversation(tx, t.id))).at(-1)?.body;
      said.set(locale, body?.replace(`#${t.number}`, '#N'));
    }
    expect(Object.fromEntries(said)).toEqual({
      'en-US': 'Hi player, about general #N: our team.',
      de: 'Hi Spieler, about Allgemein #N: unser Team.',
      fr: 'Hi joueur, about général #N: notre équipe.',
      'es-ES': 'Hi jugador, about general #N: nuestro equipo.',
      'pt-BR': 'Hi jogador, about geral #N: nossa equipe.',
    });
  });

  it("cannot reach another organization's tickets, teams or events", async () => {
    const a = await rulesOrg(db, 1);
    const b = await rulesOrg(db, 1);
    const theirs = await b.open('their ticket');
    const start = await a.lastOutboxId();
    await a.rule({ trigger: 'ticket.created', actions: [{ type: 'assign_team', teamId: b.team.id }] });
    await a.rule({ trigger: 'ticket.created', actions: [{ type: 'assign_member', userId: b.agentIds[0] }] });
    const mine = await a.open('mine');
    await a.drain(start);
    const runs = await a.runs(mine.id);
    expect(runs.map((r) => r.outcome)).toEqual(['failed', 'failed']);
    expect((await a.tx((tx) => tickets.getTicket(tx, mine.id))).teamId).toBeNull();
    // Org a's rules run on org b's outbox id: the row is invisible, nothing runs.
    const bEvent = (await b.events(0, theirs.id))[0]?.id as number;
    expect(await a.run(bEvent)).toEqual({ trigger: null, ran: [] });
    expect(await b.runs(theirs.id)).toEqual([]);
    expect((await db.admin.query('select 1 from rule_runs where ticket_id = $1', [theirs.id])).rowCount).toBe(
      0,
    );
  });
});

describe('auto-assignment within a team', () => {
  it('round-robin rotates through members and skips those at capacity', async () => {
    const s = await rulesOrg(db, 3);
    await s.rule({
      trigger: 'ticket.created',
      actions: [{ type: 'assign_in_team', teamId: s.team.id, strategy: 'round_robin' }],
    });
    await s.tx((tx) => setMemberCapacity(tx, s.team.id, s.agentIds[2] as string, 0, s.owner));
    const start = await s.lastOutboxId();
    const opened = [];
    for (let i = 0; i < 4; i++) opened.push(await s.open(`t${i}`));
    await s.drain(start);
    const assignees = [];
    for (const t of opened) assignees.push((await s.tx((tx) => tickets.getTicket(tx, t.id))).assigneeId);
    const two = [s.agentIds[0], s.agentIds[1]].sort();
    expect([...assignees.slice(0, 2)].sort()).toEqual(two);
    expect(assignees.slice(2)).toEqual(assignees.slice(0, 2));
    expect(assignees).not.toContain(s.agentIds[2]);
  });

  it('least-loaded picks the member with the fewest open tickets, and leaves it in the team when all are full', async () => {
    const s = await rulesOrg(db, 2);
    const [busy, free] = s.agentIds as [string, string];
    for (let i = 0; i < 2; i++) {
      const t = await s.open(`busy ${i}`);
      await s.tx((tx) => tickets.assign(tx, { ticketId: t.id, assigneeId: busy }, s.owner));
    }
    await s.rule({
      trigger: 'ticket.created',
      actions: [{ type: 'assign_in_team', teamId: s.team.id, strategy: 'least_loaded' }],
    });
    let start = await s.lastOutboxId();
    const t1 = await s.open('new');
    await s.drain(start);
    expect((await s.tx((tx) => tickets.getTicket(tx, t1.id))).assigneeId).toBe(free);
    await s.tx(async (tx) => {
      await setMemberCapacity(tx, s.team.id, busy, 2, s.owner);
      await setMemberCapacity(tx, s.team.id, free, 1, s.owner);
    });
    start = await s.lastOutboxId();
    const t2 = await s.open('overflow');
    await s.drain(start);
    expect(await s.tx((tx) => tickets.getTicket(tx, t2.id))).toMatchObject({
      teamId: s.team.id,
      assigneeId: null,
    });
    expect((await s.runs(t2.id))[0]?.actions[0]).toMatch(/every member is at capacity/);
  });

  it('gives tickets only to members who can work them: not demoted or disabled; staff through a Discord role count', async () => {
    const s = await rulesOrg(db, 4);
    const [working, demoted, disabled, mapped] = s.agentIds as [string, string, string, string];
    // The one who can still work tickets is the busiest, so least-loaded would pick any other.
    for (let i = 0; i < 2; i++) {
      const t = await s.open(`busy ${i}`);
      await s.tx((tx) => tickets.assign(tx, { ticketId: t.id, assigneeId: working }, s.owner));
    }
    await s.tx((tx) => changeRole(tx, { userId: demoted, role: 'viewer' }, s.owner));
    await db.admin.query('update users set disabled_at = now() where id = $1', [disabled]);
    // A membership the bot made from a Discord role mapping (its grant still names its role).
    await db.admin.query(
      `insert into discord_staff_grants (org_id, user_id, role_id, guild_id)
       select org_id, user_id, role_id, '123456789012345678' from memberships where org_id = $1 and user_id = $2`,
      [s.orgId, mapped],
    );
    await s.rule({
      trigger: 'ticket.created',
      actions: [{ type: 'assign_in_team', teamId: s.team.id, strategy: 'least_loaded' }],
    });
    const start = await s.lastOutboxId();
    const opened = [];
    for (let i = 0; i < 4; i++) opened.push(await s.open(`new ${i}`));
    await s.drain(start);
    const assignees = [];
    for (const t of opened) assignees.push((await s.tx((tx) => tickets.getTicket(tx, t.id))).assigneeId);
    // Least loaded first: the Discord-mapped moderator (none open) twice, then in turn; never the
    // demoted or the disabled member, who have none open either.
    expect(assignees).toEqual([mapped, mapped, working, mapped]);

    // Nobody left who can work tickets: the ticket stays in the team, unassigned.
    await s.tx((tx) => changeRole(tx, { userId: working, role: 'viewer' }, s.owner));
    await s.tx((tx) => changeRole(tx, { userId: mapped, role: 'viewer' }, s.owner));
    const next = await s.lastOutboxId();
    const last = await s.open('nobody');
    await s.drain(next);
    expect(await s.tx((tx) => tickets.getTicket(tx, last.id))).toMatchObject({
      teamId: s.team.id,
      assigneeId: null,
    });
  });

  it('refuses an explicit assignee who cannot work tickets, naming why', async () => {
    const s = await rulesOrg(db, 3);
    const [ok, demoted, disabled] = s.agentIds as [string, string, string];
    await s.tx((tx) => changeRole(tx, { userId: demoted, role: 'viewer' }, s.owner));
    await db.admin.query('update users set disabled_at = now() where id = $1', [disabled]);
    const t = await s.open('who takes it');
    await expect(
      s.tx((tx) => tickets.assign(tx, { ticketId: t.id, assigneeId: demoted }, s.owner)),
    ).rejects.toMatchObject({ code: 'validation_failed', message: expect.stringMatching(/tickets\.reply/) });
    const refused = await s
      .tx((tx) => tickets.assign(tx, { ticketId: t.id, assigneeId: disabled }, s.owner))
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'validation_failed', message: expect.stringMatching(/disabled/) });
    // A moderator assigning from Discord reads it in their own language.
    expect((refused as Refusal).text('de')).toMatch(/deaktiviert/);
    // A rule naming the member fails the same way and is logged with the reason.
    await s.rule({ trigger: 'ticket.updated', actions: [{ type: 'assign_member', userId: demoted }] });
    const start = await s.lastOutboxId();
    await s.tx((tx) => tickets.setPriority(tx, { ticketId: t.id, priority: 'high' }, s.owner));
    await s.drain(start);
    expect((await s.runs(t.id)).find((r) => r.outcome === 'failed')?.reason).toMatch(/tickets\.reply/);
    expect((await s.tx((tx) => tickets.getTicket(tx, t.id))).assigneeId).toBeNull();
    await s.tx((tx) => tickets.assign(tx, { ticketId: t.id, assigneeId: ok }, s.owner));
  });

  it("two teams sharing a member never both fill the member's last slot", async () => {
    const s = await rulesOrg(db, 1);
    const [shared] = s.agentIds as [string];
    const other = await s.tx(async (tx) => {
      const team = await createTeam(tx, { name: 'Billing' }, s.owner);
      await addTeamMember(tx, { teamId: team.id, userId: shared }, s.owner);
      await setMemberCapacity(tx, s.team.id, shared, 1, s.owner);
      await setMemberCapacity(tx, team.id, shared, 1, s.owner);
      return team;
    });
    const rule = await s.rule({
      trigger: 'ticket.created',
      enabled: false,
      actions: [{ type: 'assign_in_team', teamId: s.team.id, strategy: 'least_loaded' }],
    });
    const actor = { type: 'rule' as const, id: rule.id, depth: 1 };
    const t1 = await s.open('first');
    const t2 = await s.open('second');
    const action = (teamId: string) => ({
      type: 'assign_in_team' as const,
      teamId,
      strategy: 'least_loaded' as const,
    });
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let firstDone = () => {};
    const firstAssigned = new Promise<void>((r) => {
      firstDone = r;
    });
    // The first assignment stays uncommitted while the second, for the other team, runs.
    const first = withTenant(db.app, s.orgId, async (tx) => {
      const did = await executeAction(tx, t1.id, action(s.team.id), actor, rule);
      firstDone();
      await held;
      return did;
    });
    await firstAssigned;
    let secondSettled = false;
    const second = withTenant(db.app, s.orgId, (tx) =>
      executeAction(tx, t2.id, action(other.id), actor, rule),
    ).finally(() => {
      secondSettled = true;
    });
    await new Promise((r) => setTimeout(r, 300));
    const waited = !secondSettled;
    release();
    expect(await first).toMatch(shared);
    expect(await second).toMatch(/every member is at capacity/);
    expect(waited).toBe(true);
    expect((await s.tx((tx) => tickets.getTicket(tx, t2.id))).assigneeId).toBeNull();
  });
});
