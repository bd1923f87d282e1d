import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedPlayerRollups } from '../../db/analytics-players.js';
import { foldReports } from '../../db/report-fold.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket as openStaffTicket } from '../../db/tickets.js';
import { foldAllCaughtUp } from '../support/analytics.js';
import { useTestDb } from '../support/db.js';
import { newSdkGame, type SdkGame, type SdkWorld, sdkCall, sdkWorld } from './sdk-support.js';
import { expectError } from './settings-support.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

/**
 * Identity linking across a studio's games: one Discord user with an account in each of two
 * games, the moderation a merge leaves, and staff undoing a link.
 */
const db = useTestDb();
let api: TestApi;
let w: SdkWorld;
let owner: Caller;
let quest: SdkGame;
let arena: SdkGame;

const GENEROUS = {
  key: { burst: 10_000, perMinute: 100_000 },
  player: { burst: 10_000, perMinute: 100_000 },
  address: { burst: 10_000, perMinute: 100_000 },
};
const BAN = '2031-01-01T00:00:00.000Z';

beforeAll(async () => {
  api = await startTestApi(db.app, { sdkRateLimits: GENEROUS });
  w = await sdkWorld(db, 'Linking');
  owner = await api.sessionFor(w.org.ownerId);
  quest = { gameId: w.gameId, clientKey: w.clientKey, serverSecret: w.serverSecret };
  arena = await newSdkGame(db, w.org, 'arena');
});
afterAll(() => api.close());

let next = 0;
const discordUser = () => `6660000000000${String(++next).padStart(5, '0')}`;
type Account = { id: string; name: string };

async function code(game: SdkGame, player: Account) {
  const res = await sdkCall(api, game.serverSecret, 'POST', '/link-codes', { player });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().code as string;
}
const redeem = (c: string, discordUserId: string) =>
  api.call(owner, {
    method: 'POST',
    url: `/v1/orgs/${w.org.orgId}/players/link`,
    payload: { code: c, discordUserId },
  });
async function link(game: SdkGame, player: Account, discordUserId: string) {
  const res = await redeem(await code(game, player), discordUserId);
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { playerId: string; merged: boolean };
}
async function openTicket(game: SdkGame, player: Account, subject: string) {
  const res = await sdkCall(api, game.clientKey, 'POST', '/tickets', { player, subject, body: 'help' });
  expect(res.statusCode, res.body).toBeLessThan(300);
  return res.json().ticket.id as string;
}
const requesterOf = async (ticketId: string) =>
  (await db.admin.query(`select requester_id from tickets where id = $1`, [ticketId])).rows[0]
    ?.requester_id as string;
const statusOf = async (game: SdkGame, accountId: string) =>
  (await sdkCall(api, game.serverSecret, 'GET', `/moderation/${encodeURIComponent(accountId)}`)).json();
async function moderate(playerId: string, payload: Record<string, unknown>) {
  const res = await api.call(owner, {
    method: 'PUT',
    url: `/v1/orgs/${w.org.orgId}/players/${playerId}/moderation`,
    payload,
  });
  expect(res.statusCode, res.body).toBe(200);
}
const events = async (type: string, playerId: string) =>
  (
    await db.admin.query<{ payload: Record<string, unknown> }>(
      `select payload from outbox where org_id = $1 and event_type = $2 and aggregate_id = $3 order by id`,
      [w.org.orgId, type, playerId],
    )
  ).rows.map((r) => r.payload);
const unlink = (playerId: string, gameId: string) =>
  api.call(owner, {
    method: 'POST',
    url: `/v1/orgs/${w.org.orgId}/players/${playerId}/unlink`,
    payload: { gameId },
  });

describe("linking accounts of two of the studio's games", () => {
  it('joins both games into one history, idempotently, and refuses another Discord user', async () => {
    const d = discordUser();
    const q = { id: 'steam:7001', name: 'Questor' };
    const a = { id: 'arena:7001', name: 'Arenor' };
    const qt = await openTicket(quest, q, 'Quest ticket');
    const at = await openTicket(arena, a, 'Arena ticket');
    const first = await link(quest, q, d);
    const second = await redeem(await code(arena, a), d);
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json()).toEqual({ playerId: first.playerId, merged: true });
    const pid = first.playerId;
    expect(await requesterOf(qt)).toBe(pid);
    expect(await requesterOf(at)).toBe(pid);
    // The game keeps speaking for its account: a new arena ticket lands in the same history.
    expect(await requesterOf(await openTicket(arena, a, 'Arena again'))).toBe(pid);
    const view = await api.call(owner, { method: 'GET', url: `/v1/orgs/${w.org.orgId}/players/${pid}` });
    expect(view.json().history.tickets).toHaveLength(3);
    expect(view.json().gameAccounts).toEqual([
      { gameId: quest.gameId, gameAccountId: q.id },
      { gameId: arena.gameId, gameAccountId: a.id },
    ]);
    // One moderation record: both game servers enforce the player's ban.
    await moderate(pid, { bannedUntil: BAN, reason: 'cheating' });
    expect((await statusOf(arena, a.id)).banned).toBe(true);
    expect((await statusOf(quest, q.id)).banned).toBe(true);
    await moderate(pid, {});
    // A report from the arena about its account is a report about the player, whose name stays theirs.
    const rep = await sdkCall(api, arena.clientKey, 'POST', '/reports', {
      reporter: { id: 'arena:7999', name: 'Witness' },
      reported: { id: a.id, name: 'Arenor renamed' },
      reason: 'cheating',
    });
    expect(rep.statusCode, rep.body).toBeLessThan(300);
    const reported = await db.admin.query(
      `select r.reported_id, p.display_name from player_reports r join player_profiles p on p.id = r.reported_id
        where r.org_id = $1 and r.reporter_id = (select id from player_profiles where game_account_id = 'arena:7999')`,
      [w.org.orgId],
    );
    expect(reported.rows).toEqual([{ reported_id: pid, display_name: 'Questor' }]);

    // Linking the same account again changes nothing.
    expect((await redeem(await code(arena, a), d)).json()).toEqual({ playerId: pid, merged: false });
    // Someone else can't take it.
    const other = await redeem(await code(arena, a), discordUser());
    expectError(other, 409, 'conflict');
    expect(other.json().error.message).toMatch(/already linked to another Discord account/);
    // A second account of the same game is still refused.
    const alt = await redeem(await code(arena, { id: 'arena:7002', name: 'Alt' }), d);
    expectError(alt, 409, 'conflict');
    expect(alt.json().error.details.reason).toBe('discord_linked_elsewhere');
    const search = await api.call(owner, {
      method: 'GET',
      url: `/v1/orgs/${w.org.orgId}/players?q=${encodeURIComponent(a.id)}`,
    });
    expect(search.json().players.map((p: { id: string }) => p.id)).toEqual([pid]);
  });
});

describe('a code minted for a game account while its link commits', () => {
  it("can't link the account, now another Discord user's, to a second one", async () => {
    const d = discordUser();
    const q = { id: 'steam:7111', name: 'Racer' };
    const a = { id: 'arena:7111', name: 'Racer A' };
    const early = await code(arena, a);
    const { playerId } = await link(quest, q, d);
    await link(arena, a, d);
    // The link moves the account's codes to the player; one minted in a transaction the link's
    // commit could not see still names the account's own row, now pointing at the player.
    await db.admin.query(
      `update player_link_codes set player_id = (select id from player_profiles where org_id = $1 and game_account_id = $2)
        where org_id = $1 and player_id = $3 and used_at is null`,
      [w.org.orgId, a.id, playerId],
    );
    const taken = await redeem(early, discordUser());
    expectError(taken, 409, 'conflict');
    expect(taken.json().error.details.reason).toBe('game_account_linked_elsewhere');
    const view = await api.call(owner, { method: 'GET', url: `/v1/orgs/${w.org.orgId}/players/${playerId}` });
    expect(view.json().gameAccounts.map((g: { gameAccountId: string }) => g.gameAccountId)).toEqual([
      q.id,
      a.id,
    ]);
  });
});

describe('erasing a player with linked game accounts', () => {
  it("erases every game account linked to the player, not only its own row's", async () => {
    const d = discordUser();
    const { playerId: pid } = await link(quest, { id: 'steam:7401', name: 'Gone' }, d);
    await link(arena, { id: 'arena:7401', name: 'Gone too' }, d);
    const res = await api.call(owner, {
      method: 'POST',
      url: `/v1/orgs/${w.org.orgId}/players/${pid}/erase`,
      payload: { confirm: 'erase' },
    });
    expect(res.statusCode, res.body).toBeLessThan(300);
    const left = await db.admin.query(
      `select id from player_profiles where org_id = $1 and game_account_id in ('steam:7401', 'arena:7401')`,
      [w.org.orgId],
    );
    expect(left.rows).toEqual([]);
  });
});

describe('moderation when a link merges two profiles', () => {
  it('keeps a banned game account banned on a clean Discord profile and emits player.moderated', async () => {
    const d = discordUser();
    const dp = (
      await db.admin.query<{ id: string }>(
        `insert into player_profiles (org_id, display_name, discord_user_id) values ($1, 'Clean', $2) returning id`,
        [w.org.orgId, d],
      )
    ).rows[0]?.id as string;
    const account = { id: 'steam:7101', name: 'Banned later' };
    const c = await code(quest, account);
    const gp = (
      await db.admin.query<{ id: string }>(`select id from player_profiles where game_account_id = $1`, [
        account.id,
      ])
    ).rows[0]?.id as string;
    await moderate(gp, { bannedUntil: BAN, reason: 'cheating' });
    const done = await redeem(c, d);
    expect(done.json()).toEqual({ playerId: dp, merged: true });
    expect((await statusOf(quest, account.id)).banned).toBe(true);
    const moderated = await events('player.moderated', dp);
    expect(moderated).toHaveLength(1);
    expect(moderated[0]).toMatchObject({ playerId: dp, bannedUntil: BAN, reason: 'cheating' });

    // A merge of two clean profiles changes no status and says nothing.
    const d2 = discordUser();
    const dp2 = (
      await db.admin.query<{ id: string }>(
        `insert into player_profiles (org_id, display_name, discord_user_id) values ($1, 'Clean2', $2) returning id`,
        [w.org.orgId, d2],
      )
    ).rows[0]?.id as string;
    await link(quest, { id: 'steam:7102', name: 'Clean game' }, d2);
    expect(await events('player.moderated', dp2)).toEqual([]);
  });
});

describe('staff unlinking a game account', () => {
  it("splits a further game's account off with its tickets, keeping its restrictions; audited", async () => {
    const d = discordUser();
    const q = { id: 'steam:7201', name: 'Q' };
    const a = { id: 'arena:7201', name: 'A' };
    const qt = await openTicket(quest, q, 'Quest');
    const at = await openTicket(arena, a, 'Arena');
    const { playerId: pid } = await link(quest, q, d);
    await link(arena, a, d);
    await moderate(pid, { mutedUntil: BAN, reason: 'spam' });

    const res = await unlink(pid, arena.gameId);
    expect(res.statusCode, res.body).toBe(200);
    const { splitInto } = res.json();
    expect(splitInto).not.toBe(pid);
    expect(await requesterOf(at)).toBe(splitInto);
    expect(await requesterOf(qt)).toBe(pid);
    expect(await requesterOf(await openTicket(arena, a, 'Arena after'))).toBe(splitInto);
    expect((await statusOf(arena, a.id)).muted).toBe(true);
    expect((await events('player.unlinked', pid))[0]).toMatchObject({
      playerId: pid,
      gameId: arena.gameId,
      splitInto,
    });
    const audit = await db.admin.query(
      `select data from audit_logs where org_id = $1 and action = 'player.unlinked' and target_id = $2`,
      [w.org.orgId, pid],
    );
    expect(audit.rows[0]?.data).toMatchObject({ gameId: arena.gameId, gameAccountId: a.id, splitInto });
    // The account is free: another Discord user may now link it.
    expect((await link(arena, a, discordUser())).playerId).toBe(splitInto);
    expectError(await unlink(pid, arena.gameId), 404, 'not_found');
  });

  it("splits the player's first game account into a profile of its own; refuses its only identity", async () => {
    const d = discordUser();
    const q = { id: 'steam:7301', name: 'Q3' };
    const qt = await openTicket(quest, q, 'Quest');
    const { playerId: pid } = await link(quest, q, d);
    const res = await unlink(pid, quest.gameId);
    expect(res.statusCode, res.body).toBe(200);
    const { splitInto } = res.json();
    expect(await requesterOf(qt)).toBe(splitInto);
    const p = await db.admin.query(
      `select id, discord_user_id, game_account_id from player_profiles where id = any($1) order by id = $2 desc`,
      [[pid, splitInto], pid],
    );
    expect(p.rows).toEqual([
      { id: pid, discord_user_id: d, game_account_id: null },
      { id: splitInto, discord_user_id: null, game_account_id: q.id },
    ]);
    const only = await unlink(splitInto, quest.gameId);
    expectError(only, 409, 'conflict');
    expect(only.json().error.details.reason).toBe('only_identity');
  });
});

describe('a client key reaches only the tickets opened from its own game', () => {
  const ids = (res: { json: () => { tickets: Array<{ id: string }> } }) =>
    res.json().tickets.map((t) => t.id);
  const messagesOn = async (ticketId: string) =>
    Number(
      (await db.admin.query(`select count(*)::int as n from messages where ticket_id = $1`, [ticketId]))
        .rows[0]?.n,
    );
  const staffReply = (ticketId: string, payload: Record<string, unknown>) =>
    api.call(owner, { method: 'POST', url: `/v1/orgs/${w.org.orgId}/tickets/${ticketId}/replies`, payload });

  it("lists, polls, reads, downloads and replies on its game's tickets; the rest is a 404 naming nothing", async () => {
    const d = discordUser();
    const q = { id: 'steam:7501', name: 'Scoped' };
    const a = { id: 'arena:7501', name: 'Scoped A' };
    const questTicket = await openTicket(quest, q, 'Quest ticket');
    const arenaTicket = await openTicket(arena, a, 'Arena ticket');
    const { playerId: pid } = await link(quest, q, d);
    await link(arena, a, d);
    // The same player's tickets from Discord and by email, a staff reply with a file on the first.
    const [discordTicket, emailTicket] = await withTenant(db.app, w.org.orgId, async (tx) => [
      (
        await openStaffTicket(
          tx,
          { subject: 'From Discord', body: 'hi', origin: 'discord', requesterId: pid },
          w.org.owner,
        )
      ).ticket.id,
      (
        await openStaffTicket(
          tx,
          { subject: 'By email', body: 'hi', origin: 'email', requesterId: pid },
          w.org.owner,
        )
      ).ticket.id,
    ]);
    const upload = await api.call(owner, {
      method: 'POST',
      url: `/v1/orgs/${w.org.orgId}/tickets/${discordTicket}/attachments?filename=notes.txt`,
      headers: { 'content-type': 'application/json' },
      payload: Buffer.from('{"private":true}'),
    });
    expect(upload.statusCode, upload.body).toBe(201);
    const fileId = upload.json().id as string;
    expect(
      (await staffReply(discordTicket, { body: 'About Discord', attachmentIds: [fileId] })).statusCode,
    ).toBe(201);

    const asArena = (
      method: 'GET' | 'POST',
      path: string,
      payload?: unknown,
      headers?: Record<string, string>,
    ) => sdkCall(api, arena.clientKey, method, path, payload, headers);
    const list = await asArena('GET', `/tickets?playerId=${a.id}`);
    expect(ids(list)).toEqual([arenaTicket]);
    expect(ids(await asArena('GET', `/tickets?playerId=${a.id}&since=0`))).toEqual([arenaTicket]);
    // A change on another door's ticket is no change for this game: its poll stays 304.
    expect((await staffReply(emailTicket, { body: 'About email' })).statusCode).toBe(201);
    const etag = String(list.headers.etag);
    expect(
      (await asArena('GET', `/tickets?playerId=${a.id}`, undefined, { 'if-none-match': etag })).statusCode,
    ).toBe(304);

    const unknown = (await asArena('GET', `/tickets/${randomUUID()}?playerId=${a.id}`)).json();
    for (const other of [questTicket, discordTicket, emailTicket]) {
      const before = await messagesOn(other);
      for (const path of [
        `/tickets/${other}?playerId=${a.id}`,
        `/tickets/${other}?playerId=${a.id}&since=0`,
      ]) {
        const res = await asArena('GET', path);
        expectError(res, 404, 'not_found');
        expect(res.json().error.message).toBe(unknown.error.message);
      }
      const wrote = await asArena('POST', `/tickets/${other}/replies`, { player: a, body: 'Is this mine?' });
      expectError(wrote, 404, 'not_found');
      expect(wrote.json().error.message).toBe(unknown.error.message);
      expect(await messagesOn(other)).toBe(before);
    }
    expectError(
      await asArena('GET', `/tickets/${discordTicket}/attachments/${fileId}?playerId=${a.id}`),
      404,
      'not_found',
    );

    // Its own game's ticket works as before, staff replies included.
    expect((await staffReply(arenaTicket, { body: 'About the arena' })).statusCode).toBe(201);
    const own = await asArena('GET', `/tickets/${arenaTicket}?playerId=${a.id}`);
    expect(own.statusCode, own.body).toBe(200);
    expect(own.json().messages.map((m: { author: string }) => m.author)).toEqual(['player', 'staff']);
    expect(
      (await asArena('POST', `/tickets/${arenaTicket}/replies`, { player: a, body: 'Thanks' })).statusCode,
    ).toBe(201);
    // The other game's key sees its own ticket alone, and the game server, which vouches for its
    // player, still reads the player's whole history.
    expect(ids(await sdkCall(api, quest.clientKey, 'GET', `/tickets?playerId=${q.id}`))).toEqual([
      questTicket,
    ]);
    const server = await sdkCall(api, arena.serverSecret, 'GET', `/tickets?playerId=${a.id}`);
    expect(ids(server).sort()).toEqual([questTicket, arenaTicket, discordTicket, emailTicket].sort());
  });
});

describe("a report from a linked second game's account", () => {
  const reportsPerGame = async () => {
    await foldAllCaughtUp(db.app, w.org.orgId);
    const rows = await withTenant(db.app, w.org.orgId, (tx) => storedPlayerRollups(tx, 'player_daily'));
    const per = new Map<string, number>();
    for (const r of rows.filter((x) => x.dim === 'game_id'))
      per.set(String(r.value), (per.get(String(r.value)) ?? 0) + Number(r.reports));
    return (gameId: string) => per.get(gameId) ?? 0;
  };

  it('is filed under the game whose key sent it: its ticket, its event and the analytics', async () => {
    const d = discordUser();
    const q = { id: 'steam:7601', name: 'Witness Q' };
    const a = { id: 'arena:7601', name: 'Witness A' };
    await link(quest, q, d);
    await link(arena, a, d);
    const earlier = await reportsPerGame();
    const rep = await sdkCall(api, arena.clientKey, 'POST', '/reports', {
      reporter: a,
      reported: { id: 'arena:7699', name: 'Cheater' },
      reason: 'cheating',
    });
    expect(rep.statusCode, rep.body).toBe(201);
    const { id: reportId, ticketId } = rep.json().report as { id: string; ticketId: string };
    await withTenant(db.app, w.org.orgId, (tx) => foldReports(tx));
    const ticket = await db.admin.query(`select game_id, custom_fields from tickets where id = $1`, [
      ticketId,
    ]);
    expect(ticket.rows[0]?.game_id).toBe(arena.gameId);
    expect(ticket.rows[0]?.custom_fields.game).toMatchObject({ playerId: a.id, playerName: a.name });
    const event = await db.admin.query(
      `select payload from outbox where org_id = $1 and event_type = 'player.reported' and payload #>> '{report,id}' = $2`,
      [w.org.orgId, reportId],
    );
    expect(event.rows[0]?.payload).toMatchObject({
      report: { gameId: arena.gameId },
      reporter: { gameAccountId: a.id },
      reported: { gameAccountId: 'arena:7699' },
    });
    const later = await reportsPerGame();
    const added = (gameId: string) => later(gameId) - earlier(gameId);
    expect([added(arena.gameId), added(quest.gameId)]).toEqual([1, 0]);
  });
});
