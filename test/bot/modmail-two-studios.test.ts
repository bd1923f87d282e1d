import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relayedMessageTicket } from '../../db/dm-routing.js';
import { updateOrganization } from '../../db/organizations.js';
import { upsertPlayer } from '../../db/players.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket, reply } from '../../db/tickets.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
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

type Select = { custom_id: string; options: { label: string; value: string }[] };
const selectOf = (msg: { components: unknown[] } | undefined) =>
  ((msg?.components ?? []) as { components: Select[] }[])[0]?.components[0];

const landedIn = async (externalId: string) =>
  (
    await h.db.admin.query<{ org_id: string; ticket_id: string }>(
      'select org_id, ticket_id from messages where external_id = $1',
      [externalId],
    )
  ).rows;

describe('a player talking to two studios by DM', () => {
  let orgB: OrgFixture;
  let ticketB: string;
  let relayedId: string;

  it("an answer to studio B's DM never lands in studio A's ticket: the player is asked which", async () => {
    const player = h.users.player;
    h.fake.userDm(player, 'My game crashes on the title screen');
    await settle(h, async () => m.botDms(player).some((x) => /is open/.test(x.content)), 15_000);
    const ticketA = await m.dmTicket(player);
    expect(ticketA?.org_id).toBe(h.org.orgId);

    orgB = await makeOrg(h.db.app, 'Beta');
    ticketB = await withTenant(h.db.app, orgB.orgId, async (tx) => {
      await updateOrganization(tx, { settings: { discordDmReplies: true } }, orgB.owner);
      const p = await upsertPlayer(tx, { displayName: 'Player One', discordUserId: player });
      const opened = await openTicket(
        tx,
        { subject: 'Refund', body: 'Charged twice', origin: 'game', requesterId: p.id },
        { type: 'player', id: p.id },
      );
      await reply(
        tx,
        { ticketId: opened.ticket.id, body: 'Please send the last 4 digits of your card', origin: 'panel' },
        orgB.owner,
      );
      return opened.ticket.id;
    });
    await settle(h, async () => m.botDms(player).some((x) => x.content.includes('last 4 digits')), 15_000);
    relayedId = m.botDms(player).find((x) => x.content.includes('last 4 digits'))?.id ?? '';
    // The relay records what it posted once Discord has answered.
    await settle(
      h,
      async () =>
        (
          await h.db.admin.query('select 1 from discord_dm_relayed_messages where discord_message_id = $1', [
            relayedId,
          ])
        ).rowCount === 1,
      15_000,
    );

    // Not a Discord reply, and open tickets with two organizations: nothing is recorded yet.
    const answer = h.fake.userDm(player, 'Card ending 4242, billing address 1 Main St');
    await settle(h, async () => selectOf(m.botDms(player).at(-1))?.custom_id === 'gm:dmticket', 15_000);
    const prompt = m.botDms(player).at(-1);
    expect(prompt?.content).toMatch(/^You have open tickets with more than one team here/);
    const options = selectOf(prompt)?.options ?? [];
    expect(options.map((o) => o.label).sort()).toEqual([
      // Named as the relayed replies name them: the organization, the ticket's number and subject.
      'Alpha · #1 My game crashes on the title screen',
      'Beta · #1 Refund',
    ]);
    expect(await landedIn(answer.id)).toEqual([]);

    const pick = await interact(h, {
      kind: 'stringSelect',
      channelId: m.dmOf(player),
      userId: player,
      customId: 'gm:dmticket',
      values: [`${orgB.orgId}:${ticketB}`],
      messageId: prompt?.id,
    });
    expect(pick.type).toBe(6);
    expect((await m.editedPrompt(pick.handle.token)).content).toBe('Sent to ticket #1 with **Beta**.');
    expect(await landedIn(answer.id)).toEqual([{ org_id: orgB.orgId, ticket_id: ticketB }]);
    // Nothing of it in studio A: not on its ticket, not in its thread.
    expect((await m.messages(ticketA?.id ?? '')).map((x) => x.body).join('\n')).not.toContain('4242');
    expect(
      m
        .botPosts(ticketA?.discord_channel_id ?? '')
        .map((x) => x.content)
        .join('\n'),
    ).not.toContain('4242');
    await settle(h, async () => h.fake.botReactions(m.dmOf(player), answer.id).includes('✅'));
  });

  it("a Discord reply to studio B's relayed message goes straight to B's ticket", async () => {
    const player = h.users.player;
    const asked = m.botDms(player).length;
    const answer = h.fake.userDm(player, 'Sorry, it is 4243', { replyTo: relayedId });
    await settle(h, async () => (await landedIn(answer.id)).length === 1, 15_000);
    expect(await landedIn(answer.id)).toEqual([{ org_id: orgB.orgId, ticket_id: ticketB }]);
    await settle(h, async () => h.fake.botReactions(m.dmOf(player), answer.id).includes('✅'));
    // No question this time.
    expect(m.botDms(player)).toHaveLength(asked);
  });

  it('a relayed message leads only its own recipient to its ticket', async () => {
    expect(await relayedMessageTicket(h.db.app, relayedId, h.users.player)).toEqual({
      orgId: orgB.orgId,
      ticketId: ticketB,
    });
    expect(await relayedMessageTicket(h.db.app, relayedId, h.users.owner)).toBeUndefined();
  });

  it('a reply to a message that was not relayed from a ticket is asked about like any other DM', async () => {
    const player = h.users.player;
    const before = m.botDms(player).length;
    const opened = m.botDms(player).find((x) => /is open/.test(x.content));
    const answer = h.fake.userDm(player, 'Which one was this again?', { replyTo: opened?.id ?? '' });
    await settle(h, async () => m.botDms(player).length > before, 15_000);
    expect(selectOf(m.botDms(player).at(-1))?.custom_id).toBe('gm:dmticket');
    expect(await landedIn(answer.id)).toEqual([]);
  });
});
