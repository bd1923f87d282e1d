import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { lookupSlot } from '../../bot/dm-open.js';
import { readPending } from '../../bot/dm-store.js';
import { recordAttachment } from '../../db/attachments.js';
import { createCategory } from '../../db/categories.js';
import { SYSTEM } from '../../db/changes.js';
import { requestClose } from '../../db/close-requests.js';
import { createGuildLinkCode, redeemGuildLinkCode } from '../../db/guild-links.js';
import { updateGuildSettings } from '../../db/guilds.js';
import { updateOrganization } from '../../db/organizations.js';
import { upsertPlayer } from '../../db/players.js';
import { withTenant } from '../../db/tenant.js';
import { addNote } from '../../db/ticket-actions.js';
import { setStatus } from '../../db/ticket-status.js';
import { openTicket, reply } from '../../db/tickets.js';
import { autoCloseSweep } from '../../workers/auto-close.js';
import { jobIds } from '../../workers/jobs.js';
import { READ_ONLY_EVERYONE } from '../support/fake-discord/index.js';
import { makeOrg } from '../support/fixtures.js';
import { type Harness, interact, settle, startHarness } from './harness.js';
import { modmail } from './modmail-support.js';

let h: Harness;
let m: ReturnType<typeof modmail>;

beforeAll(async () => {
  h = await startHarness({ workers: true });
  m = modmail(h);
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const PNG = { filename: 'crash.png', contentType: 'image/png', data: Buffer.from('png bytes of the crash') };

describe('modmail: a conversation by DM', () => {
  let ticket: { id: string; number: number; discord_channel_id: string };

  it('opens a ticket from a first DM (one server, one category) and posts it with its file into a staff thread', async () => {
    const first = h.fake.userDm(h.users.player, 'My game crashes on the title screen', {
      attachments: [PNG],
    });
    await settle(h, async () => m.botDms(h.users.player).some((x) => /is open/.test(x.content)), 10_000);
    expect(m.botDms(h.users.player).at(-1)?.content).toMatch(
      /^Your ticket #1 with \*\*Alpha Studio\*\* is open\. Staff will answer here/,
    );
    ticket = (await m.dmTicket(h.users.player)) as typeof ticket;
    const row = (
      await h.db.admin.query('select origin, external_id, subject, status from tickets where id = $1', [
        ticket.id,
      ])
    ).rows[0];
    expect(row).toEqual({
      origin: 'discord',
      external_id: first.id,
      subject: 'My game crashes on the title screen',
      status: 'open',
    });
    // A private thread the player is not in and was not pinged into.
    const thread = h.fake.state.channels.get(ticket.discord_channel_id);
    expect(thread?.type).toBe(12);
    expect(thread?.parent_id).toBe(h.guild.channels['support']);
    expect(h.fake.state.threadMembers.get(ticket.discord_channel_id)?.has(h.users.player)).toBe(false);
    // The first message, with its file, recorded once and posted into the thread by the workers.
    expect((await m.messages(ticket.id)).map((x) => [x.body, x.external_id])).toEqual([
      ['My game crashes on the title screen', first.id],
    ]);
    const att = await h.db.admin.query(
      'select filename, external_url from attachments where ticket_id = $1',
      [ticket.id],
    );
    expect(att.rows).toEqual([expect.objectContaining({ filename: 'crash.png' })]);
    await settle(
      h,
      async () => m.botPosts(ticket.discord_channel_id).some((x) => x.content.includes('title screen')),
      15_000,
    );
    const echo = m.botPosts(ticket.discord_channel_id).find((x) => x.content.includes('title screen'));
    expect(echo?.content).toMatch(/^\*\*Player One\*\* \(by direct message\):\nMy game crashes/);
    expect(echo && m.fileNames(echo)).toEqual(['crash.png']);
  });

  it('records each later DM once, marks it ✅ and posts it into the thread', async () => {
    const dm = h.fake.userDm(h.users.player, 'Here is my log', {
      attachments: [{ filename: 'game.log', contentType: 'text/plain', data: Buffer.from('line 1\nline 2') }],
    });
    await settle(h, async () => h.fake.botReactions(m.dmOf(h.users.player), dm.id).includes('✅'));
    await settle(
      h,
      async () => m.botPosts(ticket.discord_channel_id).some((x) => x.content.includes('Here is my log')),
      15_000,
    );
    const echo = m.botPosts(ticket.discord_channel_id).find((x) => x.content.includes('Here is my log'));
    expect(echo && m.fileNames(echo)).toEqual(['game.log']);
    // The same MESSAGE_CREATE delivered again (a gateway replay) changes nothing.
    h.fake.dispatch(null, 'MESSAGE_CREATE', h.fake.state.messagePayload(dm));
    const marker = h.fake.userDm(h.users.player, 'marker');
    await settle(h, async () => (await m.messages(ticket.id)).some((x) => x.external_id === marker.id));
    const rows = await m.messages(ticket.id);
    expect(rows.filter((x) => x.external_id === dm.id)).toHaveLength(1);
    expect(rows.filter((x) => x.body === 'Here is my log')).toHaveLength(1);
    const replayedTickets = await h.db.admin.query('select count(*)::int as n from discord_dm_tickets');
    expect(replayedTickets.rows[0].n).toBe(1);
  });

  it('sends staff replies from the thread and the panel to the DM, with files, and never a note', async () => {
    h.fake.userMessage(ticket.discord_channel_id, h.users.moderator, 'Thanks, try this fix', {
      attachments: [{ filename: 'fix.zip', contentType: 'application/zip', data: Buffer.from('zip') }],
    });
    await settle(
      h,
      async () => m.botDms(h.users.player).some((x) => x.content.includes('try this fix')),
      15_000,
    );
    const fromThread = m.botDms(h.users.player).find((x) => x.content.includes('try this fix'));
    expect(fromThread?.content).toMatch(/^\*\*Mod Erator\*\* · Alpha, ticket #1:\nThanks, try this fix$/);
    expect(fromThread && m.fileNames(fromThread)).toEqual(['fix.zip']);
    await withTenant(h.db.app, h.org.orgId, async (tx) => {
      await addNote(tx, { ticketId: ticket.id, body: 'internal: he is on an old build' }, h.org.owner);
      await reply(tx, { ticketId: ticket.id, body: 'Reply from the panel', origin: 'panel' }, h.org.owner);
    });
    await settle(
      h,
      async () => m.botDms(h.users.player).some((x) => x.content.includes('Reply from the panel')),
      15_000,
    );
    expect(
      m
        .botDms(h.users.player)
        .map((x) => x.content)
        .join('\n'),
    ).not.toContain('old build');
    // The player's own DMs are never sent back to them.
    expect(
      m
        .botDms(h.users.player)
        .map((x) => x.content)
        .join('\n'),
    ).not.toContain('Here is my log');
    // Jobs run side by side (and record after posting): compare the outcomes as a set of lines.
    await settle(h, async () => (await m.relays(ticket.id)).length === 5, 15_000);
    expect((await m.relays(ticket.id)).map((r) => `${r.target} ${r.outcome} ${r.body}`).sort()).toEqual([
      'dm posted Reply from the panel',
      'dm posted Thanks, try this fix',
      'thread posted Here is my log',
      'thread posted My game crashes on the title screen',
      'thread posted marker',
    ]);
  });

  it('sends the files staff send with a panel reply to the DM and the staff thread', async () => {
    h.objects.set('orgs/test/reply-file', Buffer.from('{"fov":90}'));
    await withTenant(h.db.app, h.org.orgId, async (tx) => {
      const file = await recordAttachment(
        tx,
        {
          ticketId: ticket.id,
          filename: 'settings.json',
          contentType: 'application/json',
          sizeBytes: 10,
          storageKey: 'orgs/test/reply-file',
          origin: 'panel',
        },
        h.org.owner,
      );
      await reply(
        tx,
        { ticketId: ticket.id, body: 'Your settings file', origin: 'panel', attachmentIds: [file.id] },
        h.org.owner,
      );
    });
    const inDm = () => m.botDms(h.users.player).find((x) => x.content.includes('Your settings file'));
    // In the thread the reply is posted through the ticket's channel webhook (the staff member's name).
    const inThread = () =>
      [...(h.fake.state.messages.get(ticket.discord_channel_id)?.values() ?? [])].find((x) =>
        x.content.includes('Your settings file'),
      );
    await settle(h, async () => Boolean(inDm() && inThread()), 15_000);
    expect(m.fileNames(inDm() as { attachments: unknown[] })).toEqual(['settings.json']);
    expect(m.fileNames(inThread() as { attachments: unknown[] })).toEqual(['settings.json']);
  });

  it('a second player DMing the bot gets a ticket of their own, never a message on this one', async () => {
    const before = (await m.messages(ticket.id)).length;
    const dm = h.fake.userDm(h.users.other, 'I want in on that ticket');
    await settle(h, async () => m.botDms(h.users.other).some((x) => /is open/.test(x.content)), 10_000);
    const theirs = await m.dmTicket(h.users.other);
    expect(theirs?.id).not.toBe(ticket.id);
    expect((await m.messages(theirs?.id ?? '')).map((x) => x.external_id)).toEqual([dm.id]);
    expect((await m.messages(ticket.id)).length).toBe(before);
  });

  it('when the player closes their DMs, the reply is recorded as refused and staff are told once', async () => {
    h.fake.state.dmsClosed.add(h.users.player);
    h.fake.userMessage(ticket.discord_channel_id, h.users.moderator, 'Did the fix work?');
    const notices = () =>
      m.botPosts(ticket.discord_channel_id).filter((x) => x.content.startsWith('⚠️ Replies are not reaching'));
    await settle(h, async () => notices().length === 1, 15_000);
    h.fake.userMessage(ticket.discord_channel_id, h.users.moderator, 'Hello?');
    await settle(
      h,
      async () => (await m.relays(ticket.id)).filter((r) => r.outcome === 'refused').length === 2,
      15_000,
    );
    expect(notices()).toHaveLength(1);
    const history = await h.db.admin.query(
      "select count(*)::int as n from ticket_events where ticket_id = $1 and type = 'ticket.dm_refused'",
      [ticket.id],
    );
    expect(history.rows[0].n).toBe(1);
    // Open again: the next reply arrives, and a later refusal would be told once more.
    h.fake.state.dmsClosed.delete(h.users.player);
    h.fake.userMessage(ticket.discord_channel_id, h.users.moderator, 'Back again');
    await settle(
      h,
      async () => m.botDms(h.users.player).some((x) => x.content.includes('Back again')),
      15_000,
    );
    const state = async () =>
      (
        await h.db.admin.query(
          'select dm_refused_at, refusal_noticed_at from discord_dm_tickets where ticket_id = $1',
          [ticket.id],
        )
      ).rows[0];
    await settle(h, async () => (await state()).dm_refused_at === null, 15_000);
    expect(await state()).toEqual({ dm_refused_at: null, refusal_noticed_at: null });
  });

  it("auto-close's warning reaches the player's DM once, in their language, and staff's thread", async () => {
    const deps = h.workers?.deps;
    if (!deps) throw new Error('workers not running');
    await h.db.admin.query("update tickets set locale = 'de' where id = $1", [ticket.id]);
    await h.db.admin.query('update organizations set inactivity_close_hours = 48 where id = $1', [
      h.org.orgId,
    ]);
    try {
      await withTenant(h.db.app, h.org.orgId, (tx) =>
        setStatus(tx, { ticketId: ticket.id, status: 'pending' }, h.org.owner),
      );
      // Waiting on the player for 49 hours, as the sweep measures it (on the database's clock).
      await h.db.admin.query(
        `update tickets set created_at = created_at - interval '49 hours',
           last_staff_message_at = last_staff_message_at - interval '49 hours',
           last_player_message_at = last_player_message_at - interval '49 hours',
           pending_since = pending_since - interval '49 hours' where id = $1`,
        [ticket.id],
      );
      expect(await autoCloseSweep(deps)).toMatchObject({ warned: 1 });
      // In any language first: whether it arrives at all, then whether it speaks the player's.
      const warned = /24 (hours|Stunden)/;
      const inThread = () =>
        [...(h.fake.state.messages.get(ticket.discord_channel_id)?.values() ?? [])].filter((x) =>
          warned.test(x.content),
        );
      const inDm = () => m.botDms(h.users.player).filter((x) => warned.test(x.content));
      await settle(h, async () => inThread().length === 1, 15_000);
      await settle(h, async () => inDm().length > 0, 10_000).catch(() => {});
      expect(inDm()).toHaveLength(1);
      const german = 'Dieses Ticket wird in 24 Stunden geschlossen, wenn du nicht antwortest.';
      expect(inDm()[0]?.content).toContain(german);
      expect(inThread()[0]?.content).toContain(german);
      // A second pass (another worker, a restart) warns nobody twice.
      expect(await autoCloseSweep(deps)).toMatchObject({ warned: 0 });
      expect(inThread()).toHaveLength(1);
    } finally {
      await h.db.admin.query('update organizations set inactivity_close_hours = null where id = $1', [
        h.org.orgId,
      ]);
      await h.db.admin.query('update tickets set locale = null where id = $1', [ticket.id]);
    }
  });

  it("a close request reaches the player's DM with its buttons and never pings them into the staff thread; once answered the DM says how it ended, buttons gone", async () => {
    // The player speaks German: the request and how it ended are in their language.
    await h.db.admin.query("update tickets set locale = 'de' where id = $1", [ticket.id]);
    onTestFinished(async () => {
      await h.db.admin.query('update tickets set locale = null where id = $1', [ticket.id]);
    });
    const request = await withTenant(h.db.app, h.org.orgId, (tx) =>
      requestClose(tx, { ticketId: ticket.id, reason: 'Fixed in 1.2' }, h.org.owner),
    );
    const asked = () =>
      m
        .botDms(h.users.player)
        .find((x) => JSON.stringify(x.components).includes(`gm:closereq:${request.id}`));
    // Staff see the request in their thread (its outcome is shown there once answered).
    await settle(
      h,
      async () => m.botPosts(ticket.discord_channel_id).some((x) => x.content.includes('Fixed in 1.2')),
      15_000,
    );
    await settle(h, async () => Boolean(asked()), 10_000).catch(() => {});
    expect(h.fake.state.threadMembers.get(ticket.discord_channel_id)?.has(h.users.player)).toBe(false);
    const dm = asked();
    expect(dm?.content).toContain('Fixed in 1.2');
    const no = await interact(h, {
      kind: 'button',
      channelId: m.dmOf(h.users.player),
      userId: h.users.player,
      customId: `gm:closereq:${request.id}:no:${h.guild.id}`,
      messageId: dm?.id,
    });
    expect(no.content).toBe(
      `Got it: ticket #${ticket.number} stays open, and staff have been told you still need help.`,
    );
    const row = await h.db.admin.query('select status from close_requests where id = $1', [request.id]);
    expect(row.rows[0]?.status).toBe('declined');
    // The DM's buttons go with the answer, and it says how it ended (a later press has nothing
    // left to press); staff's thread shows the outcome too.
    const answered = () => m.botDms(h.users.player).find((x) => x.id === dm?.id);
    await settle(h, async () => (answered()?.components.length ?? 1) === 0, 15_000).catch(() => {});
    expect(answered()?.components).toEqual([]);
    expect(answered()?.content).toContain(`ticket #${ticket.number}`);
    expect(answered()?.content).toContain('Du brauchst noch Hilfe');
    expect(m.botPosts(ticket.discord_channel_id).some((x) => x.content.includes('braucht noch Hilfe'))).toBe(
      true,
    );
  });

  it("the player's DM withdraws a close request: the request in their DM says so, buttons gone", async () => {
    const request = await withTenant(h.db.app, h.org.orgId, (tx) =>
      requestClose(tx, { ticketId: ticket.id, reason: 'Patched' }, h.org.owner),
    );
    const asked = () =>
      m
        .botDms(h.users.player)
        .find((x) => x.content.includes('Patched') || x.content.includes('you replied'));
    await settle(h, async () => Boolean(asked()?.components.length), 15_000);
    h.fake.userDm(h.users.player, 'Still broken for me');
    await settle(h, async () => asked()?.components.length === 0, 15_000).catch(() => {});
    expect(asked()?.content).toContain(
      `ticket #${ticket.number}:\nClose request withdrawn: you replied, so the ticket stays open.`,
    );
    expect(asked()?.components).toEqual([]);
    const row = await h.db.admin.query('select cancel_reason from close_requests where id = $1', [
      request.id,
    ]);
    expect(row.rows[0]?.cancel_reason).toBe('player_replied');
  });

  it('closing sends the closing DM; a DM after the close opens a new ticket', async () => {
    await withTenant(h.db.app, h.org.orgId, (tx) =>
      setStatus(tx, { ticketId: ticket.id, status: 'closed', reason: 'fixed' }, h.org.owner),
    );
    await settle(h, async () => m.botDms(h.users.player).some((x) => /was closed/.test(x.content)), 15_000);
    // The closing message in the staff thread does not ping the player into it.
    await settle(
      h,
      async () => m.botPosts(ticket.discord_channel_id).some((x) => /This ticket was closed/.test(x.content)),
      15_000,
    );
    expect(h.fake.state.threadMembers.get(ticket.discord_channel_id)?.has(h.users.player)).toBe(false);
    h.fake.userDm(h.users.player, 'It broke again');
    await settle(h, async () => (await m.dmTicket(h.users.player))?.id !== ticket.id, 10_000);
    const next = await m.dmTicket(h.users.player);
    expect((await m.messages(next?.id ?? '')).map((x) => x.body)).toEqual(['It broke again']);
  });
});

describe('modmail: choosing among servers', () => {
  it('asks for the server, then the category, keeps what was typed meanwhile, and opens there', async () => {
    const user = h.fake.addUser({ username: 'chooser', globalName: 'Chooser' }).id;
    h.fake.addMember(h.guild.id, user);
    const beta = h.fake.addGuild({
      name: 'Beta Guild',
      ownerId: h.users.owner,
      everyonePermissions: READ_ONLY_EVERYONE,
      channels: [{ name: 'help' }],
      members: [user],
    });
    const org2 = await makeOrg(h.db.app, 'Beta');
    const { code } = await withTenant(h.db.app, org2.orgId, (tx) => createGuildLinkCode(tx, org2.owner));
    await redeemGuildLinkCode(h.db.app, { code, guildId: beta.id, guildName: 'Beta Guild' }, org2.owner);
    const billing = await withTenant(h.db.app, org2.orgId, async (tx) => {
      await updateGuildSettings(
        tx,
        beta.id,
        { supportChannelId: beta.channels['help'], cooldownSeconds: 0 },
        SYSTEM,
      );
      await createCategory(tx, { name: 'Bugs', questions: [] }, SYSTEM);
      return createCategory(tx, { name: 'Billing', questions: [] }, SYSTEM);
    });

    const first = h.fake.userDm(user, 'I was charged twice');
    await settle(h, async () => m.botDms(user).some((x) => x.components.length > 0), 10_000);
    const prompt = m.botDms(user).at(-1);
    const options = (
      (prompt?.components ?? []) as {
        components: { custom_id: string; options: { label: string; value: string }[] }[];
      }[]
    )[0]?.components[0];
    expect(options?.custom_id).toBe('gm:dmguild');
    expect(options?.options.map((o) => o.label)).toEqual(['Alpha Studio', 'Beta Guild']);
    // Typed while choosing: kept with the first message, not a ticket of its own.
    const second = h.fake.userDm(user, 'Order 1234');
    await settle(h, async () => h.fake.botReactions(m.dmOf(user), second.id).includes('📝'));

    const pickServer = await interact(h, {
      kind: 'stringSelect',
      channelId: m.dmOf(user),
      userId: user,
      customId: 'gm:dmguild',
      values: [beta.id],
      messageId: prompt?.id,
    });
    expect(pickServer.type).toBe(6);
    const catPrompt = await m.editedPrompt(pickServer.handle.token);
    expect(catPrompt.content).toBe('What is your message to **Beta Guild** about?');
    expect(catPrompt.components?.[0]?.components[0]?.custom_id).toBe(`gm:dmcat:${beta.id}`);

    const pickCategory = await interact(h, {
      kind: 'stringSelect',
      channelId: m.dmOf(user),
      userId: user,
      customId: `gm:dmcat:${beta.id}`,
      values: [billing.id],
      messageId: prompt?.id,
    });
    expect((await m.editedPrompt(pickCategory.handle.token)).content).toMatch(
      /^Your ticket #1 with \*\*Beta Guild\*\* is open/,
    );
    const t = await m.dmTicket(user);
    expect(t?.org_id).toBe(org2.orgId);
    const row = (await h.db.admin.query('select category_id from tickets where id = $1', [t?.id])).rows[0];
    expect(row.category_id).toBe(billing.id);
    expect((await m.messages(t?.id ?? '')).map((x) => [x.body, x.external_id])).toEqual([
      ['I was charged twice', first.id],
      ['Order 1234', second.id],
    ]);
    // The thread is in the chosen server, and both messages reach it.
    expect(h.fake.state.channels.get(t?.discord_channel_id ?? '')?.parent_id).toBe(beta.channels['help']);
    await settle(
      h,
      async () => m.botPosts(t?.discord_channel_id ?? '').some((x) => x.content.includes('Order 1234')),
      15_000,
    );
  });

  it('a pick behind a burst of look-ups is told to choose again at once, and what was written still opens the ticket', async () => {
    const user = h.fake.addUser({ username: 'picker', globalName: 'Picker' }).id;
    h.fake.addMember(h.guild.id, user);
    const gamma = h.fake.addGuild({
      name: 'Gamma Guild',
      ownerId: h.users.owner,
      everyonePermissions: READ_ONLY_EVERYONE,
      channels: [{ name: 'help' }],
      members: [user],
    });
    const org3 = await makeOrg(h.db.app, 'Gamma');
    const { code } = await withTenant(h.db.app, org3.orgId, (tx) => createGuildLinkCode(tx, org3.owner));
    await redeemGuildLinkCode(h.db.app, { code, guildId: gamma.id, guildName: 'Gamma Guild' }, org3.owner);
    await withTenant(h.db.app, org3.orgId, (tx) =>
      updateGuildSettings(
        tx,
        gamma.id,
        { supportChannelId: gamma.channels['help'], cooldownSeconds: 0 },
        SYSTEM,
      ),
    );
    await settle(h, async () => h.bot.client.guilds.cache.has(gamma.id), 10_000);
    const first = h.fake.userDm(user, 'My save is gone');
    await settle(h, async () => m.botDms(user).some((x) => x.components.length > 0), 10_000);
    const prompt = m.botDms(user).at(-1);
    const pick = () =>
      interact(h, {
        kind: 'stringSelect',
        channelId: m.dmOf(user),
        userId: user,
        customId: 'gm:dmguild',
        values: [gamma.id],
        messageId: prompt?.id,
      });
    const deps = h.bot.deps;
    const before = deps.dmSearchMaxWaitMs;
    deps.dmSearchMaxWaitMs = 300;
    try {
      // Other players' look-ups fill the next 1.4 s of this process's look-up budget (25 a second).
      for (let n = 0; n < 60; n++) void lookupSlot(Number.POSITIVE_INFINITY);
      const asked = Date.now();
      const busy = await m.editedPrompt((await pick()).handle.token);
      expect(busy.content).toBe(
        'Lots of players are writing right now, please choose again in a minute. What you wrote is kept.',
      );
      expect(Date.now() - asked).toBeLessThan(1_000);
      // The select stays, to choose again.
      expect(busy.components?.[0]?.components[0]?.custom_id).toBe('gm:dmguild');
      expect(await readPending(deps, user)).toHaveLength(1);
    } finally {
      deps.dmSearchMaxWaitMs = before;
    }
    await new Promise((r) => setTimeout(r, 1_500));
    const opened = await m.editedPrompt((await pick()).handle.token);
    expect(opened.content).toMatch(/^Your ticket #1 with \*\*Gamma Guild\*\* is open/);
    const t = await m.dmTicket(user);
    expect((await m.messages(t?.id ?? '')).map((x) => [x.body, x.external_id])).toEqual([
      ['My save is gone', first.id],
    ]);
  });

  it('tells a user who shares no linked server with the bot where to go instead', async () => {
    const stranger = h.fake.addUser({ username: 'stranger' }).id;
    const lonely = h.fake.addGuild({
      name: 'Unlinked',
      ownerId: stranger,
      everyonePermissions: READ_ONLY_EVERYONE,
    });
    expect(lonely.id).toBeTruthy();
    h.fake.userDm(stranger, 'hello?');
    await settle(h, async () => m.botDms(stranger).length > 0, 10_000);
    expect(m.botDms(stranger)[0]?.content).toMatch(/^I could not find a server we share/);
    expect(await m.dmTicket(stranger)).toBeUndefined();
  });
});

describe('modmail: replies on tickets from outside Discord', () => {
  it("reach a linked player's DM only once the organization turns it on", async () => {
    const gamer = h.fake.addUser({ username: 'gamer', globalName: 'Gamer' }).id;
    h.fake.addMember(h.guild.id, gamer);
    const { ticketId, offId } = await withTenant(h.db.app, h.org.orgId, async (tx) => {
      const player = await upsertPlayer(tx, { displayName: 'Gamer', discordUserId: gamer });
      const opened = await openTicket(
        tx,
        { subject: 'Stuck in a wall', body: 'From the game', origin: 'game', requesterId: player.id },
        { type: 'player', id: player.id },
      );
      const off = await reply(
        tx,
        { ticketId: opened.ticket.id, body: 'Off by default', origin: 'panel' },
        h.org.owner,
      );
      return { ticketId: opened.ticket.id, offId: off.message.id };
    });
    // The relay reads the setting when it runs: let that job finish before the setting changes.
    await settle(
      h,
      async () =>
        (await h.workers?.queues.get('discord').getJob(jobIds.dmRelay(offId)))?.finishedOn !== undefined,
      15_000,
    );
    await withTenant(h.db.app, h.org.orgId, async (tx) => {
      await updateOrganization(tx, { settings: { discordDmReplies: true } }, h.org.owner);
      await reply(tx, { ticketId, body: 'Now it reaches you', origin: 'panel' }, h.org.owner);
    });
    await settle(
      h,
      async () => m.botDms(gamer).some((x) => x.content.includes('Now it reaches you')),
      15_000,
    );
    expect(
      m
        .botDms(gamer)
        .map((x) => x.content)
        .join('\n'),
    ).not.toContain('Off by default');
    // The player's own message from the game is not sent back to them.
    await withTenant(h.db.app, h.org.orgId, async (tx) => {
      const player = await upsertPlayer(tx, { displayName: 'Gamer', discordUserId: gamer });
      await reply(
        tx,
        { ticketId, body: 'Player from the game', origin: 'game' },
        { type: 'player', id: player.id },
      );
      await reply(tx, { ticketId, body: 'marker reply', origin: 'panel' }, h.org.owner);
    });
    await settle(h, async () => m.botDms(gamer).some((x) => x.content.includes('marker reply')), 15_000);
    expect(
      m
        .botDms(gamer)
        .map((x) => x.content)
        .join('\n'),
    ).not.toContain('Player from the game');
  });
});
