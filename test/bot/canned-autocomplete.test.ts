import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCannedReply } from '../../db/canned-replies.js';
import { SYSTEM } from '../../db/changes.js';
import { withTenant } from '../../db/tenant.js';
import { type Harness, interact, startHarness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await withTenant(h.db.app, h.org.orgId, (tx) =>
    createCannedReply(
      tx,
      {
        shortcut: 'ban-appeal-deny',
        title: 'Appeal denied: cheating confirmed by anticheat',
        body: 'Sorry {player}.',
      },
      SYSTEM,
    ),
  );
}, 60_000);
afterAll(async () => {
  await h?.close();
});

describe('canned replies are staff-only', () => {
  it('a player is refused /tag, and autocomplete shows them nothing either', async () => {
    const channelId = h.guild.channels['support'] ?? '';
    const listed = await interact(h, {
      kind: 'chatInput',
      name: 'tag',
      guildId: h.guild.id,
      channelId,
      userId: h.users.player,
      options: [],
    });
    expect(listed.content).toContain('tickets.reply');
    for (const name of ['tag', 'reply']) {
      const focused = name === 'tag' ? 'name' : 'canned';
      const auto = h.fake.sendInteraction({
        kind: 'autocomplete',
        name,
        focused,
        guildId: h.guild.id,
        channelId,
        userId: h.users.player,
        options: [{ name: focused, value: '' }],
      });
      expect((await auto.response)?.data).toEqual({ choices: [] });
    }
  });

  it('a moderator still gets them suggested', async () => {
    const auto = h.fake.sendInteraction({
      kind: 'autocomplete',
      name: 'tag',
      focused: 'name',
      guildId: h.guild.id,
      channelId: h.guild.channels['support'] ?? '',
      userId: h.users.moderator,
      options: [{ name: 'name', value: 'ban' }],
    });
    expect((await auto.response)?.data).toEqual({
      choices: [
        {
          name: 'ban-appeal-deny · Appeal denied: cheating confirmed by anticheat',
          value: 'ban-appeal-deny',
        },
      ],
    });
  });
});
