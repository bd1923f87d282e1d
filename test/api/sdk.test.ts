import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeGameKey } from '../../db/games.js';
import { upsertPlayer } from '../../db/players.js';
import { foldReports } from '../../db/report-fold.js';
import { withTenant } from '../../db/tenant.js';
import { reply } from '../../db/tickets.js';
import { useTestDb } from '../support/db.js';
import { alice, bob, type SdkWorld, sdkCall, sdkWorld } from './sdk-support.js';
import { expectError } from './settings-support.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let w: SdkWorld;
let owner: Caller;

const GENEROUS = {
  key: { burst: 10_000, perMinute: 100_000 },
  player: { burst: 10_000, perMinute: 100_000 },
  address: { burst: 10_000, perMinute: 100_000 },
};

beforeAll(async () => {
  api = await startTestApi(db.app, { sdkRateLimits: GENEROUS });
  w = await sdkWorld(db, 'Sdk');
  owner = await api.sessionFor(w.org.ownerId);
});
afterAll(() => api.close());

const context = {
  platform: 'windows',
  build: '1.4.2',
  region: 'eu-west',
  server: 'eu-3',
  matchId: 'm-77',
  position: { x: 10.5, y: -3, z: 2, map: 'harbour' },
  locale: 'de-DE',
  custom: { guild: 'Red' },
  log: 'NullReferenceException at Inventory.cs:42',
};

async function openTicket(player = alice, key?: string) {
  const res = await sdkCall(
    api,
    w.clientKey,
    'POST',
    '/tickets',
    { player, subject: 'Lost my sword', body: 'It vanished after the match', context },
    key ? { 'idempotency-key': key } : {},
  );
  expect(res.statusCode, res.body).toBeLessThan(300);
  return res;
}

describe('/sdk/v1 keys', () => {
  it('refuses no key and a wrong key with 401 before looking at the body', async () => {
    expectError(await sdkCall(api, null, 'POST', '/tickets', { nonsense: true }), 401, 'unauthenticated');
    expectError(
      await sdkCall(api, 'gmk_00000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'POST', '/tickets', {}),
      401,
      'unauthenticated',
    );
    expectError(await sdkCall(api, 'not a key', 'GET', '/tickets?playerId=x'), 401, 'unauthenticated');
    // With a good key the same bad body is a 422 naming the field.
    const bad = await sdkCall(api, w.clientKey, 'POST', '/tickets', { player: alice });
    expectError(bad, 422, 'validation_failed');
    expect(bad.body).toContain('subject');
  });

  it('keeps server routes to the server secret', async () => {
    const res = await sdkCall(api, w.clientKey, 'POST', '/announcements', { title: 'x', body: 'y' });
    expectError(res, 403, 'forbidden');
    expect(res.json().error.details.reason).toBe('server_secret_required');
    expect((await sdkCall(api, w.serverSecret, 'GET', `/moderation/${alice.id}`)).statusCode).toBe(200);
  });

  it('stops a revoked key, and a rotated key keeps working for its overlap beside its replacement', async () => {
    const made = await api.call(owner, {
      method: 'POST',
      url: `/v1/orgs/${w.org.orgId}/games/${w.gameId}/keys`,
      payload: { name: 'rotating' },
    });
    expect(made.statusCode, made.body).toBe(201);
    const first = made.json() as { key: { id: string; kind: string }; plaintext: string };
    expect(first.key.kind).toBe('client');
    const rotated = await api.call(owner, {
      method: 'POST',
      url: `/v1/orgs/${w.org.orgId}/games/${w.gameId}/keys/${first.key.id}/rotate`,
      payload: { overlapHours: 1 },
    });
    expect(rotated.statusCode, rotated.body).toBe(201);
    const next = rotated.json() as { plaintext: string; previous: { expiresAt: string } };
    expect(new Date(next.previous.expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect((await sdkCall(api, first.plaintext, 'GET', '/online')).statusCode).toBe(200);
    expect((await sdkCall(api, next.plaintext, 'GET', '/online')).statusCode).toBe(200);
    // Rotating the old one again is refused: its replacement is the one to rotate.
    expect(
      (
        await api.call(owner, {
          method: 'POST',
          url: `/v1/orgs/${w.org.orgId}/games/${w.gameId}/keys/${first.key.id}/rotate`,
        })
      ).statusCode,
    ).toBe(409);

    // Expired overlap: the old key is refused once the cache lets go of it (a fresh app here).
    await db.admin.query(`update game_keys set expires_at = now() - interval '1 second' where id = $1`, [
      first.key.id,
    ]);
    const fresh = await startTestApi(db.app, { sdkRateLimits: GENEROUS });
    try {
      expectError(await sdkCall(fresh, first.plaintext, 'GET', '/online'), 401, 'unauthenticated');
      const revokedKey = next.plaintext;
      const keys = await api.call(owner, {
        method: 'GET',
        url: `/v1/orgs/${w.org.orgId}/games/${w.gameId}/keys`,
      });
      const newest = (
        keys.json().keys as Array<{ id: string; expiresAt: string | null; revokedAt: string | null }>
      )
        .filter((k) => k.expiresAt === null && k.revokedAt === null)
        .map((k) => k.id);
      for (const id of newest)
        await withTenant(db.app, w.org.orgId, (tx) => revokeGameKey(tx, id, w.org.owner));
      expectError(await sdkCall(fresh, revokedKey, 'GET', '/online'), 401, 'unauthenticated');
    } finally {
      await fresh.close();
      // The world's own keys were revoked above with the rest: issue new ones for the tests below.
      w = await sdkWorld(db, 'Sdk again');
      owner = await api.sessionFor(w.org.ownerId);
    }
  });

  it('answers CORS preflights on /sdk/v1 and puts the CORS header on SDK answers only', async () => {
    const pre = await sdkCall(api, null, 'OPTIONS', '/tickets', undefined, {
      origin: 'https://game.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'x-game-key, content-type',
    });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    expect(String(pre.headers['access-control-allow-headers'])).toContain('x-game-key');
    const denied = await sdkCall(api, null, 'GET', '/online');
    expect(denied.headers['access-control-allow-origin']).toBe('*');
    const health = await api.app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://x' } });
    expect(health.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('/sdk/v1 tickets', () => {
  it('opens a ticket with the player context staff see, once per idempotency key', async () => {
    const first = await openTicket(alice, 'idem-1');
    expect(first.statusCode).toBe(201);
    const again = await openTicket(alice, 'idem-1');
    expect(again.statusCode).toBe(200);
    expect(again.json().ticket.id).toBe(first.json().ticket.id);
    const id = first.json().ticket.id;
    const staff = await api.call(owner, { method: 'GET', url: `/v1/orgs/${w.org.orgId}/tickets/${id}` });
    expect(staff.statusCode, staff.body).toBe(200);
    const t = staff.json().ticket;
    expect(t.origin).toBe('game');
    expect(t.gameId).toBe(w.gameId);
    expect(t.customFields.game).toMatchObject({ playerId: alice.id, playerName: 'Alice', ...context });
    const n = await db.admin.query(
      `select count(*)::int as n from tickets where org_id = $1 and subject = $2`,
      [w.org.orgId, 'Lost my sword'],
    );
    expect(n.rows[0].n).toBe(1);
  });

  it('opens one ticket for concurrent repeats of one idempotency key', async () => {
    const same = () => openTicket(alice, 'idem-concurrent');
    const answers = await Promise.all([same(), same(), same(), same()]);
    const ids = new Set(answers.map((a) => a.json().ticket.id));
    expect(ids.size).toBe(1);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 200, 200, 201]);
  });

  it('lists the player’s tickets with ETag/304 and a since cursor, shows staff replies, hides notes', async () => {
    const opened = (await openTicket(bob)).json().ticket;
    const list = await sdkCall(api, w.clientKey, 'GET', `/tickets?playerId=${encodeURIComponent(bob.id)}`);
    expect(list.statusCode).toBe(200);
    expect(list.json().tickets.map((t: { id: string }) => t.id)).toEqual([opened.id]);
    const etag = String(list.headers.etag);
    const cursor = list.json().cursor as string;
    const same = await sdkCall(
      api,
      w.clientKey,
      'GET',
      `/tickets?playerId=${encodeURIComponent(bob.id)}`,
      undefined,
      {
        'if-none-match': etag,
      },
    );
    expect(same.statusCode).toBe(304);
    expect(same.body).toBe('');
    const nothingNew = await sdkCall(
      api,
      w.clientKey,
      'GET',
      `/tickets?playerId=${encodeURIComponent(bob.id)}&since=${cursor}`,
    );
    expect(nothingNew.json()).toEqual({ tickets: [], cursor });

    const staffUrl = `/v1/orgs/${w.org.orgId}/tickets/${opened.id}`;
    const r = await api.call(owner, {
      method: 'POST',
      url: `${staffUrl}/replies`,
      payload: { body: 'Restored it!' },
    });
    expect(r.statusCode, r.body).toBeLessThan(300);
    const note = await api.call(owner, {
      method: 'POST',
      url: `${staffUrl}/notes`,
      payload: { body: 'secret note' },
    });
    expect(note.statusCode, note.body).toBeLessThan(300);

    const changed = await sdkCall(
      api,
      w.clientKey,
      'GET',
      `/tickets?playerId=${encodeURIComponent(bob.id)}&since=${cursor}`,
    );
    expect(changed.json().tickets.map((t: { id: string }) => t.id)).toEqual([opened.id]);
    expect(changed.json().cursor).not.toBe(cursor);

    const detail = await sdkCall(
      api,
      w.clientKey,
      'GET',
      `/tickets/${opened.id}?playerId=${encodeURIComponent(bob.id)}`,
    );
    const msgs = detail.json().messages as Array<{ author: string; body: string }>;
    expect(msgs.map((m) => [m.author, m.body])).toEqual([
      ['player', 'It vanished after the match'],
      ['staff', 'Restored it!'],
    ]);
    expect(detail.body).not.toContain('secret note');
    const after = await sdkCall(
      api,
      w.clientKey,
      'GET',
      `/tickets/${opened.id}?playerId=${encodeURIComponent(bob.id)}&since=${detail.json().cursor}`,
    );
    expect(after.json().messages).toEqual([]);

    // Another player, another org's key: the ticket does not exist for them.
    expectError(
      await sdkCall(
        api,
        w.clientKey,
        'GET',
        `/tickets/${opened.id}?playerId=${encodeURIComponent(alice.id)}`,
      ),
      404,
      'not_found',
    );
    expectError(
      await sdkCall(
        api,
        w.otherOrgKey,
        'GET',
        `/tickets/${opened.id}?playerId=${encodeURIComponent(bob.id)}`,
      ),
      404,
      'not_found',
    );
  });

  it("tells the player's own messages from a participant's and staff's", async () => {
    const t = (await openTicket(alice)).json().ticket;
    await api.call(owner, {
      method: 'POST',
      url: `/v1/orgs/${w.org.orgId}/tickets/${t.id}/replies`,
      payload: { body: 'Who saw it?' },
    });
    // A guildmate staff added to the ticket's Discord thread answers there (the bot records it so).
    await withTenant(db.app, w.org.orgId, async (tx) => {
      const friend = await upsertPlayer(tx, { discordUserId: '444444444444444444', displayName: 'Friend' });
      await reply(
        tx,
        { ticketId: t.id, body: 'I did, it fell through the floor', origin: 'discord', participant: true },
        { type: 'player', id: friend.id },
      );
    });
    const mine = await sdkCall(api, w.clientKey, 'POST', `/tickets/${t.id}/replies`, {
      player: alice,
      body: 'Thanks!',
    });
    expect(mine.json().message.author).toBe('player');
    const read = await sdkCall(api, w.clientKey, 'GET', `/tickets/${t.id}?playerId=${alice.id}`);
    expect(read.json().messages.map((m: { author: string; body: string }) => [m.author, m.body])).toEqual([
      ['player', 'It vanished after the match'],
      ['staff', 'Who saw it?'],
      ['participant', 'I did, it fell through the floor'],
      ['player', 'Thanks!'],
    ]);
  });

  it('lets the player reply to their own ticket only, once per key, and reopens a pending one', async () => {
    const t = (await openTicket(alice)).json().ticket;
    const staffUrl = `/v1/orgs/${w.org.orgId}/tickets/${t.id}`;
    await api.call(owner, {
      method: 'POST',
      url: `${staffUrl}/replies`,
      payload: { body: 'Which server?', status: 'pending' },
    });
    const body = { player: alice, body: 'eu-3' };
    const r1 = await sdkCall(api, w.clientKey, 'POST', `/tickets/${t.id}/replies`, body, {
      'idempotency-key': 'r1',
    });
    expect(r1.statusCode, r1.body).toBe(201);
    expect(r1.json().ticket.status).toBe('open');
    const r2 = await sdkCall(api, w.clientKey, 'POST', `/tickets/${t.id}/replies`, body, {
      'idempotency-key': 'r1',
    });
    expect(r2.statusCode).toBe(200);
    expect(r2.json().message.id).toBe(r1.json().message.id);
    expectError(
      await sdkCall(api, w.clientKey, 'POST', `/tickets/${t.id}/replies`, { player: bob, body: 'me too' }),
      404,
      'not_found',
    );
  });

  it('follows a merge: a reply to the merged ticket lands on the one it went into, and its read says where', async () => {
    const a = (await openTicket(alice)).json().ticket;
    const b = (await openTicket(alice)).json().ticket;
    const merged = await api.call(owner, {
      method: 'POST',
      url: `/v1/orgs/${w.org.orgId}/tickets/${a.id}/merge`,
      payload: { targetId: b.id },
    });
    expect(merged.statusCode, merged.body).toBe(200);
    // The game still holds the first ticket's id.
    const r = await sdkCall(api, w.clientKey, 'POST', `/tickets/${a.id}/replies`, {
      player: alice,
      body: 'Still no sword',
    });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().ticket).toMatchObject({ id: b.id, mergedIntoId: null });
    const onB = await sdkCall(api, w.clientKey, 'GET', `/tickets/${b.id}?playerId=${alice.id}`);
    expect(onB.json().messages.map((m: { body: string }) => m.body)).toContain('Still no sword');
    const readA = await sdkCall(api, w.clientKey, 'GET', `/tickets/${a.id}?playerId=${alice.id}`);
    expect(readA.statusCode).toBe(200);
    expect(readA.json().ticket).toMatchObject({ status: 'closed', mergedIntoId: b.id });
  });
});

describe('/sdk/v1 reports, sessions, link codes, announcements, moderation', () => {
  it('turns a report into a moderation-queue ticket and a player.reported event, once per key', async () => {
    const payload = {
      reporter: alice,
      reported: { id: 'steam:666', name: 'Griefer' },
      reason: 'cheating',
      message: 'aimbot in match m-77',
      matchId: 'm-77',
      evidence: { demo: 'https://example.com/demo/77' },
    };
    const r1 = await sdkCall(api, w.clientKey, 'POST', '/reports', payload, { 'idempotency-key': 'rep-1' });
    expect(r1.statusCode, r1.body).toBe(201);
    const r2 = await sdkCall(api, w.clientKey, 'POST', '/reports', payload, { 'idempotency-key': 'rep-1' });
    expect(r2.statusCode).toBe(200);
    expect(r2.json().report).toEqual(r1.json().report);
    const { ticketId, id } = r1.json().report;
    // The answer promises the moderation ticket; the workers' fold opens it.
    expect(await withTenant(db.app, w.org.orgId, (tx) => foldReports(tx))).toEqual({ reports: 1, opened: 1 });
    const t = await api.call(owner, { method: 'GET', url: `/v1/orgs/${w.org.orgId}/tickets/${ticketId}` });
    expect(t.json().ticket.tags).toContain('report');
    expect(t.json().ticket.customFields.report).toMatchObject({
      reason: 'cheating',
      reportedPlayerId: 'steam:666',
    });
    const ev = await db.admin.query(
      `select payload from outbox where org_id = $1 and event_type = 'player.reported'`,
      [w.org.orgId],
    );
    expect(ev.rows.map((r) => r.payload.report.id)).toEqual([id]);
    expectError(
      await sdkCall(api, w.clientKey, 'POST', '/reports', { ...payload, reason: 'bad vibes' }),
      422,
      'validation_failed',
    );
    expectError(
      await sdkCall(api, w.clientKey, 'POST', '/reports', { ...payload, reported: alice }),
      422,
      'validation_failed',
    );
  });

  it('counts players online from sessions that start, beat and end', async () => {
    const before = (await sdkCall(api, w.clientKey, 'GET', '/online')).json().online as number;
    const s = await sdkCall(api, w.clientKey, 'POST', '/sessions', {
      player: bob,
      platform: 'linux',
      build: '2.0',
    });
    expect(s.statusCode, s.body).toBe(201);
    expect(s.json().heartbeatSeconds).toBe(60);
    const sid = s.json().session.id;
    expect((await sdkCall(api, w.clientKey, 'GET', '/online')).json().online).toBe(before + 1);
    expect((await sdkCall(api, w.clientKey, 'POST', `/sessions/${sid}/heartbeat`)).statusCode).toBe(200);
    expect((await sdkCall(api, w.clientKey, 'POST', `/sessions/${sid}/end`)).statusCode).toBe(200);
    expect((await sdkCall(api, w.clientKey, 'POST', `/sessions/${sid}/end`)).statusCode).toBe(200);
    expectError(await sdkCall(api, w.clientKey, 'POST', `/sessions/${sid}/heartbeat`), 404, 'not_found');
    expect((await sdkCall(api, w.clientKey, 'GET', '/online')).json().online).toBe(before);
    // Another org's key can't touch this game's session.
    expectError(await sdkCall(api, w.otherOrgKey, 'POST', `/sessions/${sid}/end`), 404, 'not_found');
  });

  it('links a game account to a Discord account with a one-time code, joining the histories', async () => {
    const player = { id: 'steam:2002', name: 'Linker' };
    const gameTicket = (await openTicket(player)).json().ticket;
    // The same person already opened a ticket in Discord.
    const discordUserId = '123456789012345678';
    const discordTicket = await db.admin.query<{ pid: string }>(
      `with p as (insert into player_profiles (org_id, display_name, discord_user_id) values ($1, 'Linker#1', $2) returning id)
       select id as pid from p`,
      [w.org.orgId, discordUserId],
    );
    const discordPlayer = discordTicket.rows[0]?.pid as string;
    const code = await sdkCall(api, w.serverSecret, 'POST', '/link-codes', { player });
    expect(code.statusCode, code.body).toBe(201);
    expect(code.json().code).toMatch(/^[A-Z2-9]{8}$/);
    const redeem = (c: string) =>
      api.call(owner, {
        method: 'POST',
        url: `/v1/orgs/${w.org.orgId}/players/link`,
        payload: { code: c, discordUserId },
      });
    const done = await redeem(code.json().code.toLowerCase());
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json()).toEqual({ playerId: discordPlayer, merged: true });
    expectError(await redeem(code.json().code), 404, 'not_found');
    const t = await db.admin.query(`select requester_id from tickets where id = $1`, [gameTicket.id]);
    expect(t.rows[0].requester_id).toBe(discordPlayer);
    // The game keeps finding the player's tickets under the same game account id.
    const list = await sdkCall(api, w.clientKey, 'GET', `/tickets?playerId=${encodeURIComponent(player.id)}`);
    expect(list.json().tickets.map((x: { id: string }) => x.id)).toEqual([gameTicket.id]);
  });

  it('publishes announcements from the server secret and the API, and serves them with ETag', async () => {
    const pub = await sdkCall(api, w.serverSecret, 'POST', '/announcements', {
      title: 'Maintenance',
      body: 'Servers restart at 06:00 UTC',
    });
    expect(pub.statusCode, pub.body).toBe(201);
    const staff = await api.call(owner, {
      method: 'POST',
      url: `/v1/orgs/${w.org.orgId}/games/${w.gameId}/announcements`,
      payload: { title: 'Season 2', body: 'Out now' },
    });
    expect(staff.statusCode, staff.body).toBe(201);
    const got = await sdkCall(api, w.clientKey, 'GET', '/announcements');
    expect(got.json().announcements.map((a: { title: string }) => a.title)).toEqual([
      'Season 2',
      'Maintenance',
    ]);
    const etag = String(got.headers.etag);
    expect(
      (await sdkCall(api, w.clientKey, 'GET', '/announcements', undefined, { 'if-none-match': etag }))
        .statusCode,
    ).toBe(304);
    const del = await api.call(owner, {
      method: 'DELETE',
      url: `/v1/orgs/${w.org.orgId}/games/${w.gameId}/announcements/${staff.json().id}`,
    });
    expect(del.statusCode).toBe(200);
    const after = await sdkCall(api, w.clientKey, 'GET', '/announcements', undefined, {
      'if-none-match': etag,
    });
    expect(after.statusCode).toBe(200);
    expect(after.json().announcements).toHaveLength(1);
    const audit = await db.admin.query(
      `select action from audit_logs where org_id = $1 and action like 'announcement.%' order by id`,
      [w.org.orgId],
    );
    expect(audit.rows.map((r) => r.action)).toEqual([
      'announcement.published',
      'announcement.published',
      'announcement.deleted',
    ]);
  });

  it('gives game servers the moderation status staff set from a report', async () => {
    const rep = await sdkCall(api, w.clientKey, 'POST', '/reports', {
      reporter: bob,
      reported: { id: 'steam:777', name: 'Spammer' },
      reason: 'spam',
    });
    const reportId = rep.json().report.id;
    const pid = (
      await db.admin.query(
        `select id from player_profiles where org_id = $1 and game_account_id = 'steam:777'`,
        [w.org.orgId],
      )
    ).rows[0].id;
    const set = await api.call(owner, {
      method: 'PUT',
      url: `/v1/orgs/${w.org.orgId}/players/${pid}/moderation`,
      payload: { warned: true, mutedUntil: '2030-01-01T00:00:00Z', reason: 'spam in chat', reportId },
    });
    expect(set.statusCode, set.body).toBe(200);
    const seen = await sdkCall(api, w.serverSecret, 'GET', '/moderation/steam:777');
    expect(seen.json()).toEqual({
      playerId: 'steam:777',
      warned: true,
      banned: false,
      muted: true,
      mutedUntil: '2030-01-01T00:00:00.000Z',
      bannedUntil: null,
      reason: 'spam in chat',
    });
    const status = await db.admin.query(`select status from player_reports where id = $1`, [reportId]);
    expect(status.rows[0].status).toBe('actioned');
    const unknown = await sdkCall(api, w.serverSecret, 'GET', '/moderation/nobody');
    expect(unknown.json()).toMatchObject({ warned: false, banned: false, muted: false, bannedUntil: null });
  });

  it("tells game servers whether a ban holds now by the server's clock, an ended one kept on record", async () => {
    await sdkCall(api, w.clientKey, 'POST', '/reports', {
      reporter: bob,
      reported: { id: 'steam:778', name: 'Griefer' },
      reason: 'griefing',
    });
    const pid = (
      await db.admin.query(
        `select id from player_profiles where org_id = $1 and game_account_id = 'steam:778'`,
        [w.org.orgId],
      )
    ).rows[0].id;
    const hour = 3_600_000;
    const now = api.clock.now();
    const set = await api.call(owner, {
      method: 'PUT',
      url: `/v1/orgs/${w.org.orgId}/players/${pid}/moderation`,
      payload: {
        bannedUntil: new Date(now + hour).toISOString(),
        mutedUntil: new Date(now - hour).toISOString(),
      },
    });
    expect(set.statusCode, set.body).toBe(200);
    const during = await sdkCall(api, w.serverSecret, 'GET', '/moderation/steam:778');
    expect(during.json()).toMatchObject({
      banned: true,
      muted: false,
      mutedUntil: new Date(now - hour).toISOString(),
    });
    // The ban runs out with nothing changed in the database: the answer, and so its ETag, changes.
    api.clock.ms = now + 2 * hour;
    try {
      const after = await sdkCall(api, w.serverSecret, 'GET', '/moderation/steam:778', undefined, {
        'if-none-match': during.headers.etag as string,
      });
      expect(after.statusCode).toBe(200);
      expect(after.json()).toMatchObject({ banned: false, bannedUntil: new Date(now + hour).toISOString() });
    } finally {
      api.clock.ms = now;
    }
  });
});

describe('/sdk/v1 link codes: who may link, and what a link keeps', () => {
  let next = 0;
  // A fresh Discord user per call, so the tests share no profiles.
  const discordUser = () => `5550000000000${String(++next).padStart(5, '0')}`;
  const mint = (player: { id: string; name: string }, key = w.serverSecret) =>
    sdkCall(api, key, 'POST', '/link-codes', { player });
  async function code(player: { id: string; name: string }) {
    const res = await mint(player);
    expect(res.statusCode, res.body).toBe(201);
    return res.json().code as string;
  }
  const redeem = (c: string, discordUserId: string) =>
    api.call(owner, {
      method: 'POST',
      url: `/v1/orgs/${w.org.orgId}/players/link`,
      payload: { code: c, discordUserId },
    });
  async function link(player: { id: string; name: string }, discordUserId: string) {
    const res = await redeem(await code(player), discordUserId);
    expect(res.statusCode, res.body).toBe(200);
    return res.json().playerId as string;
  }
  const profile = async (accountId: string) =>
    (
      await db.admin.query<{ id: string; discord_user_id: string | null; blocked_at: Date | null }>(
        `select id, discord_user_id, blocked_at from player_profiles where org_id = $1 and game_account_id = $2`,
        [w.org.orgId, accountId],
      )
    ).rows[0];
  async function moderate(playerId: string, payload: Record<string, unknown>) {
    const res = await api.call(owner, {
      method: 'PUT',
      url: `/v1/orgs/${w.org.orgId}/players/${playerId}/moderation`,
      payload,
    });
    expect(res.statusCode, res.body).toBe(200);
  }
  const statusOf = async (accountId: string) =>
    (await sdkCall(api, w.serverSecret, 'GET', `/moderation/${encodeURIComponent(accountId)}`)).json();
  const BAN = '2031-01-01T00:00:00.000Z';

  it('mints codes only for the game server: a client key can name any player', async () => {
    const res = await mint({ id: 'steam:4001', name: 'Anyone' }, w.clientKey);
    expectError(res, 403, 'forbidden');
    expect(res.json().error.details.reason).toBe('server_secret_required');
    expect((await mint({ id: 'steam:4001', name: 'Anyone' })).statusCode).toBe(201);
  });

  it('issues no code to a blocked or currently banned player', async () => {
    const banned = { id: 'steam:4101', name: 'Banned' };
    await openTicket(banned);
    const p = (await profile(banned.id)) as { id: string };
    await moderate(p.id, { bannedUntil: BAN, reason: 'cheating' });
    const refused = await mint(banned);
    expectError(refused, 403, 'forbidden');
    expect(refused.json().error.details.reason).toBe('player_banned');
    // A ban that ran out is no bar.
    await moderate(p.id, { bannedUntil: '2020-01-01T00:00:00Z', reason: 'cheating' });
    expect((await mint(banned)).statusCode).toBe(201);

    const blocked = { id: 'steam:4102', name: 'Blocked' };
    await code(blocked);
    await db.admin.query(
      `update player_profiles set blocked_at = now(), blocked_reason = 'abuse' where org_id = $1 and game_account_id = $2`,
      [w.org.orgId, blocked.id],
    );
    const no = await mint(blocked);
    expectError(no, 403, 'forbidden');
    expect(no.json().error.details.reason).toBe('player_blocked');
  });

  it('never cuts loose the game account a Discord user already linked (its ban stays)', async () => {
    const d = discordUser();
    const main = { id: 'steam:5001', name: 'Main' };
    const pid = await link(main, d);
    await moderate(pid, { bannedUntil: BAN, reason: 'cheating' });
    const before = await statusOf(main.id);
    expect(before.bannedUntil).toBe(BAN);
    const junk = { id: 'steam:5999', name: 'Junk' };
    const refused = await redeem(await code(junk), d);
    expectError(refused, 409, 'conflict');
    expect(refused.json().error.message).toMatch(/already linked to another game account/);
    expect(await statusOf(main.id)).toEqual(before);
    expect((await profile(main.id))?.id).toBe(pid);
    expect((await profile(junk.id))?.discord_user_id).toBeNull();
  });

  it('keeps the stricter of both moderation records and the block when histories merge', async () => {
    const d = discordUser();
    const account = { id: 'steam:6001', name: 'Merged' };
    // The Discord side: a warning and a mute running later than the game side's.
    const dp = (
      await db.admin.query<{ id: string }>(
        `insert into player_profiles (org_id, display_name, discord_user_id) values ($1, 'D', $2) returning id`,
        [w.org.orgId, d],
      )
    ).rows[0]?.id as string;
    await moderate(dp, { warned: true, mutedUntil: '2030-06-01T00:00:00Z', reason: 'rude in chat' });
    // The game side: a code asked for in good standing, then a ban and a block before it is redeemed.
    const c = await code(account);
    const gp = (await profile(account.id))?.id as string;
    await moderate(gp, { mutedUntil: '2030-01-01T00:00:00Z', bannedUntil: BAN, reason: 'cheating' });
    await db.admin.query(
      `update player_profiles set blocked_at = now(), blocked_reason = 'abuse' where id = $1`,
      [gp],
    );
    const ticket = (p: typeof account) =>
      sdkCall(api, w.clientKey, 'POST', '/tickets', { player: p, subject: 'Unban me', body: 'please' });
    expectError(await ticket(account), 403, 'forbidden');

    const done = await redeem(c, d);
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json()).toEqual({ playerId: dp, merged: true });
    const s = await statusOf(account.id);
    expect(s).toMatchObject({ warned: true, mutedUntil: '2030-06-01T00:00:00.000Z', bannedUntil: BAN });
    expect(s.reason).toContain('cheating');
    expect(s.reason).toContain('rude in chat');
    expect((await profile(account.id))?.blocked_at).not.toBeNull();
    const after = await ticket(account);
    expectError(after, 403, 'forbidden');
    expect(after.json().error.details.reason).toBe('player_blocked');
  });

  it("doesn't let a linked account take over another player's game account", async () => {
    const attackerDiscord = discordUser();
    const attacker = { id: 'steam:8001', name: 'Attacker' };
    const victim = { id: 'steam:8002', name: 'Victim' };
    const apid = await link(attacker, attackerDiscord);
    await moderate(apid, { bannedUntil: BAN, reason: 'cheating' });
    const victimTicket = (await openTicket(victim)).json().ticket;
    const vpid = (await profile(victim.id))?.id as string;
    expectError(await redeem(await code(victim), attackerDiscord), 409, 'conflict');
    expect((await statusOf(attacker.id)).bannedUntil).toBe(BAN);
    expect((await statusOf(victim.id)).bannedUntil).toBeNull();
    const t = await db.admin.query(`select requester_id from tickets where id = $1`, [victimTicket.id]);
    expect(t.rows[0].requester_id).toBe(vpid);
  });

  it('never moves a linked game account to another Discord user', async () => {
    const owner1 = discordUser();
    const victim = { id: 'steam:8101', name: 'Victim' };
    await link(victim, owner1);
    // Someone with no profile yet, then someone with a Discord-only profile.
    const stranger = discordUser();
    const refused = await redeem(await code(victim), stranger);
    expectError(refused, 409, 'conflict');
    expect(refused.json().error.message).toMatch(/already linked to another Discord account/);
    const withProfile = discordUser();
    await db.admin.query(
      `insert into player_profiles (org_id, display_name, discord_user_id) values ($1, 'S', $2)`,
      [w.org.orgId, withProfile],
    );
    expectError(await redeem(await code(victim), withProfile), 409, 'conflict');
    expect((await profile(victim.id))?.discord_user_id).toBe(owner1);
    // The owner redeeming a fresh code for their own account is fine.
    expect((await redeem(await code(victim), owner1)).statusCode).toBe(200);
  });
});

describe('/sdk/v1 rate limits', () => {
  it('answers 429 with Retry-After per player, per key and per address', async () => {
    const tight = await startTestApi(db.app, {
      sdkRateLimits: {
        key: { burst: 1000, perMinute: 60 },
        player: { burst: 2, perMinute: 1 },
        address: { burst: 4, perMinute: 1 },
      },
    });
    try {
      const list = (p: string) =>
        sdkCall(tight, w.clientKey, 'GET', `/tickets?playerId=${encodeURIComponent(p)}`);
      expect((await list('rl:1')).statusCode).toBe(200);
      expect((await list('rl:1')).statusCode).toBe(200);
      const limited = await list('rl:1');
      expectError(limited, 429, 'rate_limited');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(limited.json().error.details.scope).toBe('player');
      // Another player from the same address still gets in until the address runs out.
      expect((await list('rl:2')).statusCode).toBe(200);
      expect((await list('rl:3')).statusCode).toBe(200);
      const byAddress = await list('rl:4');
      expectError(byAddress, 429, 'rate_limited');
      expect(byAddress.json().error.details.scope).toBe('address');
      // The server secret is not limited per address.
      expect((await sdkCall(tight, w.serverSecret, 'GET', '/moderation/rl:9')).statusCode).toBe(200);
    } finally {
      await tight.close();
    }
  });
});

describe('/sdk/v1 routes as registered', () => {
  it('every game route refuses a missing key (401) and server routes a client key (403), before the body', async () => {
    const routes = api.app.registeredRoutes.filter(
      (r) => (r.access === 'game-client' || r.access === 'game-server') && r.method !== 'HEAD',
    );
    expect(routes.length).toBeGreaterThanOrEqual(12);
    for (const r of routes) {
      const url = r.url
        .replace(':ticketId', '00000000-0000-4000-8000-000000000000')
        .replace(':sessionId', '00000000-0000-4000-8000-000000000000')
        .replace(':playerId', 'p1');
      const method = r.method as 'GET' | 'POST';
      const none = await api.app.inject({ method, url, payload: method === 'POST' ? '{"junk":' : undefined });
      expect([r.url, none.statusCode]).toEqual([r.url, 401]);
      if (r.access === 'game-server') {
        const client = await api.app.inject({ method, url, headers: { 'x-game-key': w.clientKey } });
        expect([r.url, client.statusCode]).toEqual([r.url, 403]);
      }
    }
  });
});
