import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordChange, SYSTEM } from '../../db/changes.js';
import { setRoleMapping } from '../../db/guild-roles.js';
import { runRulesForEvent } from '../../db/rule-runs.js';
import { createRule } from '../../db/rules.js';
import { withTenant } from '../../db/tenant.js';
import type { InteractionInput } from '../support/fake-discord/index.js';
import { makeOrg } from '../support/fixtures.js';
import { type Harness, openThroughPanel, startHarness, theTicket } from './harness.js';

/**
 * `/ticket rules` against the fake Discord: the ticket's run log, the dry run of the enabled
 * rules, a run by hand for staff who may edit rules, the refusals, and Discord's limits with a
 * long log (the fake refuses an embed, a select or a row over them, as Discord does).
 */

let h: Harness;
let ticketId: string;
let thread: string;
const rules: Record<string, string> = {};

interface Drawn {
  /** The first response's type: 5 a deferred reply, 6 a deferred update of the pressed message. */
  type: number;
  content: string;
  embeds: { title?: string; description?: string; footer?: { text: string } }[];
  components: { type: number; components: Record<string, unknown>[] }[];
  /** The ephemeral message the answer is in, for pressing its buttons. */
  messageId: string;
}

/** Sends an interaction and returns what it finally shows; fails when Discord refused the edit. */
async function send(input: InteractionInput): Promise<Drawn> {
  const handle = h.fake.sendInteraction(input);
  const first = await handle.response;
  if (!first) throw new Error('not acknowledged in time');
  if (first.type !== 5 && first.type !== 6) throw new Error(`unexpected response type ${first.type}`);
  const edit = await h.fake.waitForRequest(
    { method: 'PATCH', path: `/webhooks/${h.fake.applicationId}/${handle.token}/messages/@original` },
    15_000,
  );
  expect(edit.status, JSON.stringify(edit.body).slice(0, 500)).toBe(200);
  const body = edit.body as Partial<Drawn>;
  return {
    type: first.type,
    content: body.content ?? '',
    embeds: body.embeds ?? [],
    components: body.components ?? [],
    messageId: handle.record.originalMessageId ?? '',
  };
}

const command = (userId: string) =>
  send({
    kind: 'chatInput',
    name: 'ticket',
    subcommand: 'rules',
    guildId: h.guild.id,
    channelId: thread,
    userId,
  });
const press = (userId: string, customId: string, messageId: string) =>
  send({ kind: 'button', guildId: h.guild.id, channelId: thread, userId, customId, messageId });
const choose = (userId: string, ruleId: string, messageId: string) =>
  send({
    kind: 'stringSelect',
    guildId: h.guild.id,
    channelId: thread,
    userId,
    customId: 'gm:rulesrun',
    values: [ruleId],
    messageId,
  });

const buttons = (d: Drawn) =>
  d.components.flatMap((r) => r.components).filter((c) => c.type === 2) as {
    label: string;
    custom_id: string;
  }[];
const select = (d: Drawn) =>
  d.components.flatMap((r) => r.components).find((c) => c.type === 3) as
    | { options: { label: string; value: string }[] }
    | undefined;

async function rule(name: string, body: Record<string, unknown>, orgId = h.org.orgId, actor = h.org.owner) {
  return withTenant(h.db.app, orgId, async (tx) =>
    createRule(tx, { name, trigger: 'ticket.updated', ...body }, actor),
  );
}

/** A ticket.updated event on the ticket, committed, then its rules run as the worker runs them. */
async function touch(times = 1) {
  for (let n = 0; n < times; n++) {
    const id = await withTenant(h.db.app, h.org.orgId, async (tx) => {
      await recordChange(tx, h.org.owner, {
        ticketId,
        action: 'test.touched',
        event: { type: 'ticket.updated', aggregateType: 'ticket', aggregateId: ticketId, payload: {} },
      });
      const r = await tx.query<{ id: string }>('select max(id) as id from outbox where org_id = $1', [
        tx.orgId,
      ]);
      return Number(r.rows[0]?.id);
    });
    await runRulesForEvent(h.db.app, h.org.orgId, id);
  }
}

async function ticketRow() {
  return (await h.db.admin.query('select priority, tags from tickets where id = $1', [ticketId])).rows[0];
}

beforeAll(async () => {
  h = await startHarness();
  await openThroughPanel(h);
  ({ ticketId, thread } = await theTicket(h));
  // Agents of this server act as the org's admins here: they hold rules.manage, moderators do not.
  await withTenant(h.db.app, h.org.orgId, (tx) =>
    setRoleMapping(
      tx,
      { guildId: h.guild.id, discordRoleId: h.guild.roles['Agent'] ?? '', roleKey: 'admin' },
      SYSTEM,
    ),
  );
  rules.refunds = (
    await rule('Refunds to billing', {
      conditions: [{ kind: 'text', in: 'subject', contains: ['refund'] }],
      actions: [{ type: 'set_tags', add: ['billing'], remove: [] }],
    })
  ).id;
  rules.crash = (
    await rule('Crashes are high', {
      conditions: [{ kind: 'text', in: 'subject', contains: ['crash'] }],
      actions: [{ type: 'set_priority', priority: 'high' }],
    })
  ).id;
  await touch();
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('/ticket rules', () => {
  it("shows the ticket's run log, newest first, to staff only, ephemeral", async () => {
    const log = await command(h.users.moderator);
    expect(log.type).toBe(5);
    expect(log.embeds).toHaveLength(1);
    expect(log.embeds[0]?.title).toBe('Rule runs on ticket #1');
    const text = log.embeds[0]?.description ?? '';
    expect(text).toMatch(/^Event \*\*ticket\.updated\*\* · <t:\d+:R>\n/);
    expect(text).toContain('✅ **Crashes are high** did: set priority high');
    expect(text).toContain('▫️ **Refunds to billing** did not match: condition 1 (text) did not hold');
    expect(log.embeds[0]?.footer?.text).toBe('Newest first · page 1');
    expect(buttons(log).map((b) => b.label)).toEqual(['Dry run']);
    const message = h.fake.state.messages.get(thread)?.get(log.messageId);
    expect((message?.flags ?? 0) & 64).toBe(64);
  });

  it('refuses members who are not staff, and players, naming the permission', async () => {
    for (const userId of [h.users.other, h.users.player]) {
      const a = await command(userId);
      expect(a.content).toMatch(/^You need the `tickets\.read` permission for this\./);
      expect(a.embeds).toEqual([]);
    }
  });

  it('dry-runs every enabled rule on the ticket as it is now, changing nothing; only rules.manage gets the run select', async () => {
    const before = await ticketRow();
    const log = await command(h.users.moderator);
    const dry = await press(h.users.moderator, 'gm:rulesdry:1', log.messageId);
    expect(dry.type).toBe(6);
    expect(dry.embeds[0]?.title).toBe('What the rules would do on ticket #1 now');
    const text = dry.embeds[0]?.description ?? '';
    expect(text).toContain('✅ **Crashes are high** (ticket.updated) would: set priority high');
    expect(text).toContain(
      '▫️ **Refunds to billing** (ticket.updated) would not match: condition 1 (text) did not hold',
    );
    expect(dry.embeds[0]?.footer?.text).toBe(
      '1 of 2 enabled rules match · page 1 of 1 · nothing was changed',
    );
    expect(select(dry)).toBeUndefined();
    expect(buttons(dry).map((b) => b.label)).toEqual(['Run log']);

    const asAdmin = await press(h.users.agent, 'gm:rulesdry:1', log.messageId);
    expect(select(asAdmin)?.options.map((o) => [o.label, o.value])).toEqual([
      ['Crashes are high', rules.crash],
    ]);
    expect(await ticketRow()).toEqual(before);
    // Back to the log from the dry run.
    const back = await press(h.users.moderator, buttons(dry)[0]?.custom_id ?? '', log.messageId);
    expect(back.embeds[0]?.title).toBe('Rule runs on ticket #1');
  });

  it('runs a chosen rule now through db/ as the rule, logged and audited as the moderator', async () => {
    const tag = await rule('Tag crashes', {
      conditions: [{ kind: 'text', in: 'subject', contains: ['crash'] }],
      actions: [{ type: 'set_tags', add: ['crash'], remove: [] }],
    });
    const log = await command(h.users.agent);
    const ran = await choose(h.users.agent, tag.id, log.messageId);
    expect(ran.type).toBe(5);
    expect(ran.content).toBe('Ran **Tag crashes** on ticket #1: tags +[crash] -[].');
    expect(ran.embeds[0]?.description).toMatch(
      /^Event \*\*ticket\.updated\*\* · <t:\d+:R>\n✅ \*\*Tag crashes\*\* did: tags/,
    );
    expect((await ticketRow()).tags).toEqual(['crash']);
    const agentUser = await h.db.admin.query(
      `select u.id from users u join discord_accounts d on d.user_id = u.id where d.discord_user_id = $1`,
      [h.users.agent],
    );
    const audit = await h.db.admin.query(
      `select actor_type, actor_id, data from audit_logs where org_id = $1 and action = 'rule.run' and target_id = $2`,
      [h.org.orgId, ticketId],
    );
    expect(audit.rows).toEqual([
      {
        actor_type: 'user',
        actor_id: agentUser.rows[0]?.id,
        data: { ruleId: tag.id, ruleName: 'Tag crashes', outcome: 'applied', actions: ['tags +[crash] -[]'] },
      },
    ]);
    const run = await h.db.admin.query(
      'select outcome, depth, reason from rule_runs where org_id = $1 and rule_id = $2',
      [h.org.orgId, tag.id],
    );
    expect(run.rows).toEqual([{ outcome: 'applied', depth: 1, reason: 'run by hand: all conditions held' }]);
    // The tag change is the rule's: its event never runs this rule again.
    const ev = await h.db.admin.query(
      `select payload -> 'actor' as actor from outbox where org_id = $1 and aggregate_id = $2 and event_type = 'ticket.updated'
        order by id desc limit 1`,
      [h.org.orgId, ticketId],
    );
    expect(ev.rows[0]?.actor).toEqual({ type: 'rule', id: tag.id, depth: 1 });

    // A moderator without rules.manage is refused, even with a crafted select.
    const refused = await choose(h.users.moderator, tag.id, log.messageId);
    expect(refused.content).toMatch(/^You need the `rules\.manage` permission for this\./);
    const stillOne = await h.db.admin.query('select 1 from rule_runs where org_id = $1 and rule_id = $2', [
      h.org.orgId,
      tag.id,
    ]);
    expect(stillOne.rowCount).toBe(1);
  });

  it("cannot run another organization's rule, nor a value that is no rule", async () => {
    const beta = await makeOrg(h.db.app, 'Beta');
    const foreign = await rule(
      'Beta urgent',
      { actions: [{ type: 'set_priority', priority: 'urgent' }] },
      beta.orgId,
      beta.owner,
    );
    const before = await ticketRow();
    const log = await command(h.users.agent);
    for (const value of [foreign.id, 'not-a-rule']) {
      const a = await choose(h.users.agent, value, log.messageId);
      expect(a.content).toBe(
        'That rule was not found in this organization. It may have been deleted: open the dry run again.',
      );
    }
    expect(await ticketRow()).toEqual(before);
    const runs = await h.db.admin.query('select 1 from rule_runs where rule_id = $1', [foreign.id]);
    expect(runs.rowCount).toBe(0);
  });

  it("keeps within Discord's limits with a long log and many rules, and pages through all of it", async () => {
    for (let i = 0; i < 99; i++)
      await rule(`Never matches ${String(i).padStart(2, '0')} ${'x'.repeat(70)}`, {
        conditions: [
          { kind: 'priority', in: ['low'] },
          { kind: 'text', contains: [`no-such-word-${i}`] },
        ],
        actions: [{ type: 'set_priority', priority: 'urgent' }],
      });
    await touch(4);
    const total = await h.db.admin.query<{ n: number }>(
      `select sum(case when rule_name is null then 0 else 1 end + coalesce(jsonb_array_length(misses), 0))::int as n
         from rule_runs where org_id = $1 and ticket_id = $2`,
      [h.org.orgId, ticketId],
    );
    const expected = total.rows[0]?.n ?? 0;
    expect(expected).toBeGreaterThan(400);

    let page = await command(h.users.moderator);
    const messageId = page.messageId;
    let seen = 0;
    let pages = 0;
    for (;;) {
      pages++;
      const d = page.embeds[0]?.description ?? '';
      expect(d.length).toBeLessThanOrEqual(4096);
      seen += (d.match(/^(✅|▫️|⏭️|⚠️) /gmu) ?? []).length;
      expect(page.embeds[0]?.footer?.text).toMatch(new RegExp(`page ${pages}\\b`));
      const older = buttons(page).find((b) => b.label === 'Older');
      if (!older) break;
      expect(pages).toBeLessThan(60);
      page = await press(h.users.moderator, older.custom_id, messageId);
    }
    expect(pages).toBeGreaterThan(3);
    expect(seen).toBe(expected);
    const newest = buttons(page).find((b) => b.label === 'Newest');
    expect(
      (await press(h.users.moderator, newest?.custom_id ?? '', messageId)).embeds[0]?.footer?.text,
    ).toMatch(/page 1\b/);

    // The dry run: 102 enabled rules, at most 25 a page, every one listed once.
    let dry = await press(h.users.agent, 'gm:rulesdry:1', messageId);
    const listed: string[] = [];
    for (;;) {
      const d = dry.embeds[0]?.description ?? '';
      expect(d.length).toBeLessThanOrEqual(4096);
      const lines = d.split('\n');
      expect(lines.length).toBeLessThanOrEqual(25);
      listed.push(...lines);
      const opts = select(dry)?.options ?? [];
      expect(opts.length).toBeLessThanOrEqual(25);
      const next = buttons(dry).find((b) => b.label === 'Next');
      if (!next) break;
      dry = await press(h.users.agent, next.custom_id, messageId);
    }
    expect(listed).toHaveLength(102);
    expect(dry.embeds[0]?.footer?.text).toMatch(
      /^2 of 102 enabled rules match · page (\d+) of \1 · nothing was changed$/,
    );
  });
});
