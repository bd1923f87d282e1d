import { Events } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerOf, type Harness, startHarness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('shutting down', () => {
  it('an interaction that arrives while the bot drains gets an ephemeral "try again", and the running one finishes', async () => {
    const stats = () =>
      h.fake.sendInteraction({
        kind: 'chatInput',
        name: 'stats',
        guildId: h.guild.id,
        channelId: h.guild.channels['support'] ?? '',
        userId: h.users.moderator,
      });
    // Hold the first handler on a table lock, so it is still running when the stop begins.
    const blocker = await h.db.admin.connect();
    let stopped: Promise<void> | undefined;
    try {
      await blocker.query('begin');
      await blocker.query('lock table discord_accounts in access exclusive mode');
      // Acknowledged by the gateway thread, then running on the main thread once it has the event.
      const received = new Promise<string>((resolve) =>
        h.bot.client.on(Events.Raw, (p: { t?: string; d?: { id: string } }) => {
          if (p.t === 'INTERACTION_CREATE' && p.d) resolve(p.d.id);
        }),
      );
      const running = stats();
      expect((await running.response)?.type).toBe(5);
      expect(await received).toBe(running.record.id);
      stopped = h.bot.stop(10_000);
      const late = stats();
      // The gateway thread acknowledges it as it comes (ephemeral); the draining bot answers it.
      expect(await late.response).toMatchObject({ type: 5, data: { flags: 64 } });
      expect((await answerOf(h, late)).content).toMatch(/restarting/);
      await blocker.query('commit');
      const a = await answerOf(h, running);
      expect(a.content).toMatch(/^\*\*You\*\*: \d+ open/);
    } finally {
      await blocker.query('rollback').catch(() => {});
      blocker.release();
      await stopped;
    }
  });
});
