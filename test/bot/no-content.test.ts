import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, interact, openThroughPanel, settle, startHarness, theTicket } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ messageContent: false });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('without the privileged MessageContent intent', () => {
  it('interactions work; thread messages arrive without text and are not mirrored, mentions of the bot are', async () => {
    const identify = h.fake.frames({ direction: 'in', op: 2 }).at(-1);
    expect((((identify?.d ?? { intents: 0 }) as { intents: number }).intents & (1 << 15)) === 0).toBe(true);
    const { submit } = await openThroughPanel(h);
    expect(submit.content).toMatch(/^Your ticket #1 is open/);
    const { ticketId, thread } = await theTicket(h);
    const claim = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'claim',
      guildId: h.guild.id,
      channelId: thread,
      userId: h.users.moderator,
    });
    expect(claim.content).toBe('You claimed ticket #1.');
    const hidden = h.fake.userMessage(thread, h.users.player, 'text the bot cannot read');
    const mention = h.fake.userMessage(thread, h.users.player, `<@${h.fake.applicationId}> still there?`);
    await settle(
      h,
      async () =>
        (await h.db.admin.query('select 1 from messages where external_id = $1', [mention.id])).rowCount ===
        1,
    );
    const rows = await h.db.admin.query(
      'select external_id, body from messages where ticket_id = $1 and external_id is not null',
      [ticketId],
    );
    expect(rows.rows).toEqual([{ external_id: mention.id, body: `<@${h.fake.applicationId}> still there?` }]);
    expect(rows.rows.map((r) => r.external_id)).not.toContain(hidden.id);
  });
});
