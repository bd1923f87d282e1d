import { randomUUID } from 'node:crypto';
import { Routes } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWithoutLock } from '../../bot/tickets.js';
import { SYSTEM } from '../../db/changes.js';
import { updateGuildSettings } from '../../db/guilds.js';
import { withTenant } from '../../db/tenant.js';
import { type Harness, interact, settle, startHarness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const count = async () =>
  Number(
    (await h.db.admin.query('select count(*) from tickets where org_id = $1', [h.org.orgId])).rows[0].count,
  );

const openCmd = (subject: string, userId = h.users.player) =>
  interact(h, {
    kind: 'chatInput',
    name: 'ticket',
    subcommand: 'open',
    guildId: h.guild.id,
    channelId: h.guild.channels['support'] ?? '',
    userId,
    options: [{ name: 'subject', value: subject }],
  });

const threadCreate = { method: 'POST', route: '/channels/:channel_id/threads' } as const;

describe('failures reach the user as clear ephemeral messages', () => {
  it('an unknown command still gets an answer, with a request id', async () => {
    const a = await interact(h, {
      kind: 'chatInput',
      name: 'nope',
      guildId: h.guild.id,
      channelId: h.guild.channels['support'] ?? '',
      userId: h.users.player,
    });
    expect(a.content).toMatch(/^Something went wrong on our side\. .*request id: `[0-9a-f-]{36}`$/);
    expect(a.handle.record.callback).toMatchObject({ type: 5, data: { flags: 64 } });
  });

  it('Discord 5xx on thread creation: retried, then a clear message and nothing in the database', async () => {
    const before = await count();
    h.fake.failNext(threadCreate, 502, { count: 20 });
    const a = await openCmd('during an outage');
    h.fake.faults.clear();
    expect(a.content).toMatch(
      /^Discord is having trouble right now; please try again\. \(request id `[0-9a-f-]{36}`\)$/,
    );
    expect(await count()).toBe(before);
    expect(h.fake.requests({ ...threadCreate, status: 502 }).length).toBeGreaterThan(1);
  });

  it('a 429 with Retry-After is waited out and the ticket is made once', async () => {
    const before = await count();
    h.fake.rateLimitNext(threadCreate, 1);
    const a = await openCmd('while rate limited');
    expect(a.content).toMatch(/^Your ticket #\d+ is open/);
    expect(await count()).toBe(before + 1);
    expect(h.fake.requests({ ...threadCreate, status: 429 })).toHaveLength(1);
  });

  it('a database failure after the thread was made deletes the thread again', async () => {
    await h.db.admin.query(`alter table tickets add constraint test_no_boom check (subject <> 'boom')`);
    try {
      const before = await count();
      const a = await openCmd('boom', h.users.other);
      expect(a.content).toMatch(/^invalid value/);
      expect(await count()).toBe(before);
      const made = h.fake.requests({ ...threadCreate, status: 201 }).at(-1);
      const id = ((made?.response ?? {}) as { id?: string }).id ?? '';
      const del = h.fake.requests({ method: 'DELETE', path: `/channels/${id}` });
      expect(del).toHaveLength(1);
      expect(del[0]?.headers['x-audit-log-reason']).toBe('GameMod: the ticket could not be recorded');
      expect(h.fake.state.channels.has(id)).toBe(false);
    } finally {
      await h.db.admin.query('alter table tickets drop constraint test_no_boom');
    }
  });

  it('Discord failing after the ticket is saved: the player is told where it is, can see it, and the workers repair it', async () => {
    // The repair is the workers' discord.ticket_sync job, not a timer in the bot.
    await h.startWorkers();
    const before = await count();
    const late = h.fake.addUser({ username: 'late' }).id;
    h.fake.addMember(h.guild.id, late);
    // Every message post into a new thread (the summary) fails for now.
    const summaryPost = (r: { method: string; route: string; path: string }) =>
      r.method === 'POST' &&
      r.route === '/channels/:channel_id/messages' &&
      !r.path.includes(h.guild.channels['support'] ?? '-');
    h.fake.failNext(summaryPost as never, 500, { count: 50 });
    const a = await openCmd('summary fails', late);
    h.fake.faults.clear();
    expect(a.content).toMatch(/^Your ticket #\d+ is open: <#\d+>/);
    expect(await count()).toBe(before + 1);
    const t = (
      await h.db.admin.query('select id, discord_channel_id from tickets where external_id = $1', [
        a.handle.id,
      ])
    ).rows[0];
    expect(h.fake.state.channels.has(t.discord_channel_id)).toBe(true);
    expect(h.fake.state.threadMembers.get(t.discord_channel_id)?.has(late)).toBe(true);
    expect(
      h.fake.requests({ method: 'POST', route: '/channels/:channel_id/messages', status: 500 }).length,
    ).toBeGreaterThan(0);
    await settle(
      h,
      async () => {
        const r = await h.db.admin.query('select discord_summary_message_id from tickets where id = $1', [
          t.id,
        ]);
        return r.rows[0].discord_summary_message_id !== null;
      },
      15_000,
    );
    await h.workers?.stop();
    h.workers = undefined;
  });

  it('two opens by one player racing past the lock still respect the open-ticket limit', async () => {
    await withTenant(h.db.app, h.org.orgId, (tx) =>
      updateGuildSettings(tx, h.guild.id, { maxOpenPerPlayer: 1 }, SYSTEM),
    );
    try {
      const racer = h.fake.addUser({ username: 'limitracer' }).id;
      h.fake.addMember(h.guild.id, racer);
      const ctx = { deps: h.bot.deps, requestId: randomUUID(), log: h.bot.deps.logger };
      const req = (interactionId: string) => ({
        guildId: h.guild.id,
        channelId: h.guild.channels['support'] ?? '',
        interactionId,
        requester: { id: racer, username: 'limitracer', globalName: null, avatar: null, roleIds: [] },
        categoryId: null,
        subject: 'Racing the limit',
        answers: [{ key: 'subject', label: 'Subject', value: 'Racing the limit' }],
      });
      const results = await Promise.allSettled([
        openWithoutLock(ctx, req('2234567890123456781')),
        openWithoutLock(ctx, req('2234567890123456782')),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const refused = results.find((r) => r.status === 'rejected');
      expect(refused?.status === 'rejected' && refused.reason).toMatchObject({ code: 'limit_reached' });
      const n = await h.db.admin.query(
        `select count(*)::int as n from tickets t join player_profiles p on p.id = t.requester_id
         where p.discord_user_id = $1`,
        [racer],
      );
      expect(n.rows[0].n).toBe(1);
    } finally {
      await withTenant(h.db.app, h.org.orgId, (tx) =>
        updateGuildSettings(tx, h.guild.id, { maxOpenPerPlayer: 3 }, SYSTEM),
      );
    }
  });

  it('missing Discord permissions are explained', async () => {
    h.fake.failNext(threadCreate, 403, { count: 1 });
    const a = await openCmd('no perms', h.users.other);
    expect(a.content).toMatch(
      /^I am missing a Discord permission for this \(.*\)\. An admin can fix my role's permissions\. \(request id `[0-9a-f-]{36}`\)$/,
    );
  });

  it('the cooldown between two tickets is enforced with the remaining wait', async () => {
    await withTenant(h.db.app, h.org.orgId, (tx) =>
      updateGuildSettings(tx, h.guild.id, { cooldownSeconds: 3600 }, SYSTEM),
    );
    const fresh = h.fake.addUser({ username: 'fresh' }).id;
    h.fake.addMember(h.guild.id, fresh);
    expect((await openCmd('first', fresh)).content).toMatch(/is open/);
    const second = await openCmd('second', fresh);
    expect(second.content).toMatch(/^Please wait (3600|359\d) s before opening another ticket\.$/);
  });

  it('a second open by the same player while the first is still being made is refused', async () => {
    const quick = h.fake.addUser({ username: 'quick' }).id;
    h.fake.addMember(h.guild.id, quick);
    await withTenant(h.db.app, h.org.orgId, (tx) =>
      updateGuildSettings(tx, h.guild.id, { cooldownSeconds: 0 }, SYSTEM),
    );
    const before = await count();
    // The first open waits out a 429 on its thread, holding the per-player lock meanwhile.
    h.fake.rateLimitNext(threadCreate, 1);
    // Only a 429 from this open counts: earlier tests left 429s of their own in the log.
    const earlier = new Set(h.fake.requests({ ...threadCreate, status: 429 }));
    const first = openCmd('first click', quick);
    await h.fake.waitForRequest(
      (r) => r.method === 'POST' && r.route === threadCreate.route && r.status === 429 && !earlier.has(r),
    );
    const second = await openCmd('second click', quick);
    expect(second.content).toBe('Your previous ticket is still being opened; give it a moment.');
    expect((await first).content).toMatch(/is open/);
    expect(await count()).toBe(before + 1);
  });

  it('a deleted support channel is explained, nothing is recorded', async () => {
    const gone = h.fake.state.createChannel(h.guild.id, { name: 'old-support', type: 0 });
    await withTenant(h.db.app, h.org.orgId, (tx) =>
      updateGuildSettings(tx, h.guild.id, { supportChannelId: gone.id }, SYSTEM),
    );
    h.fake.deleteChannel(gone.id);
    const before = await count();
    const a = await openCmd('where did it go', h.users.agent);
    expect(a.content).toBe(
      'The channel this category opens tickets in no longer exists. A server admin sets a new one with `/setup channels` or `/setup category`.',
    );
    expect(await count()).toBe(before);
    await withTenant(h.db.app, h.org.orgId, (tx) =>
      updateGuildSettings(tx, h.guild.id, { supportChannelId: h.guild.channels['support'] }, SYSTEM),
    );
  });

  it('a blocked player is told so and gets no ticket', async () => {
    const blocked = h.fake.addUser({ username: 'blocked' }).id;
    h.fake.addMember(h.guild.id, blocked);
    expect((await openCmd('before the block', blocked)).content).toMatch(/is open/);
    await h.db.admin.query(
      `update player_profiles set blocked_at = now(), blocked_reason = 'spamming tickets' where discord_user_id = $1`,
      [blocked],
    );
    const before = await count();
    const a = await openCmd('after the block', blocked);
    expect(a.content).toBe(
      "You cannot open tickets here: spamming tickets. Contact the server's staff if you think this is a mistake.",
    );
    expect(await count()).toBe(before);
  });
});

describe("answers are not held to the bot's global request budget", () => {
  it("deferred answers (the interaction token's webhook) pass a spent global budget; bot requests wait for it", async () => {
    // Discord does not count interaction endpoints against the global 50 requests/s. The budget
    // is lowered to 1 for this test, so any answer counted against it would wait for the next
    // second and be reported as globally rate limited.
    const rest = h.bot.client.rest;
    const options = rest.options as { globalRequestsPerSecond: number };
    const saved = options.globalRequestsPerSecond;
    const limited: { global: boolean; route: string }[] = [];
    const onLimit = (d: { global: boolean; route: string }) => limited.push(d);
    rest.on('rateLimited', onLimit);
    options.globalRequestsPerSecond = 1;
    rest.globalRemaining = 0;
    rest.globalReset = Date.now() + 1_000;
    try {
      const answers = await Promise.all(
        Array.from({ length: 4 }, () =>
          interact(h, {
            kind: 'chatInput',
            name: 'stats',
            guildId: h.guild.id,
            channelId: h.guild.channels['support'] ?? '',
            userId: h.users.moderator,
          }),
        ),
      );
      for (const a of answers) expect(a.content).toMatch(/^\*\*You\*\*: \d+ open/);
      expect(limited).toEqual([]);
      // The budget is live: two of the bot's own requests in the same second, one waits.
      rest.globalRemaining = 0;
      rest.globalReset = Date.now() + 1_000;
      await rest.get(Routes.user('@me'));
      expect(limited.map((l) => l.global)).toContain(true);
    } finally {
      options.globalRequestsPerSecond = saved;
      rest.off('rateLimited', onLimit);
    }
  });
});
