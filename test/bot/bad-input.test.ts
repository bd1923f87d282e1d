import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, interact, startHarness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const tickets = async () =>
  Number(
    (await h.db.admin.query('select count(*) from tickets where org_id = $1', [h.org.orgId])).rows[0]
      .count as string,
  );
const threadsMade = () => h.fake.requests({ method: 'POST', route: '/channels/:channel_id/threads' }).length;

describe('the NUL character from Discord', () => {
  it('in a ticket form field gets an ephemeral message naming the problem, and opens nothing', async () => {
    const [before, threadsBefore] = [await tickets(), threadsMade()];
    const a = await interact(h, {
      kind: 'modalSubmit',
      guildId: h.guild.id,
      channelId: h.guild.channels['support'] ?? '',
      userId: h.users.player,
      customId: `gm:form:${h.category.id}`,
      fields: { summary: 'crash\u0000on start' },
    });
    expect(a.content).toMatch(/NUL character/);
    expect(a.handle.record.callback?.data).toMatchObject({ flags: 64 });
    expect(await tickets()).toBe(before);
    expect(threadsMade()).toBe(threadsBefore);
  });

  it('in a slash command option gets an ephemeral message naming the problem, and opens nothing', async () => {
    const [before, threadsBefore] = [await tickets(), threadsMade()];
    const a = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'open',
      guildId: h.guild.id,
      channelId: h.guild.channels['support'] ?? '',
      userId: h.users.player,
      options: [{ name: 'subject', value: 'help\u0000me' }],
    });
    expect(a.content).toMatch(/NUL character/);
    expect(a.handle.record.callback?.data).toMatchObject({ flags: 64 });
    expect(await tickets()).toBe(before);
    expect(threadsMade()).toBe(threadsBefore);
  });
});
