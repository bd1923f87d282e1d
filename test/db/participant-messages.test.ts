import { describe, expect, it } from 'vitest';
import { recomputedRollups } from '../../db/analytics-fold.js';
import { recordDiscordEdit, recordTicketAction } from '../../db/discord-sync.js';
import { upsertPlayer } from '../../db/players.js';
import { loadContext } from '../../db/rule-runs.js';
import { withTenant } from '../../db/tenant.js';
import { merge } from '../../db/ticket-merge.js';
import { setStatus } from '../../db/ticket-status.js';
import { openTicket, reply } from '../../db/tickets.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';

const db = useTestDb();

const PLAYER = '111111111111111111';
const FRIEND = '222222222222222222';
const BYSTANDER = '333333333333333333';

/**
 * A Discord ticket of a player, answered once by staff, with two other people on the player's
 * side: a friend staff added with /ticket add, and a bystander writing in a public forum post.
 */
async function world() {
  const org = await makeOrg(db.app, 'Participants');
  const tx = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(db.app, org.orgId, fn);
  const people = await tx(async (t) => {
    const one = async (discordUserId: string, displayName: string) => ({
      type: 'player' as const,
      id: (await upsertPlayer(t, { discordUserId, displayName })).id,
    });
    return {
      player: await one(PLAYER, 'Player'),
      friend: await one(FRIEND, 'Friend'),
      other: await one(BYSTANDER, 'Other'),
    };
  });
  const ticket = (
    await tx((t) =>
      openTicket(
        t,
        { subject: 'Lost my items', body: 'hello', origin: 'discord', requesterId: people.player.id },
        people.player,
      ),
    )
  ).ticket;
  await tx((t) => reply(t, { ticketId: ticket.id, body: 'Looking into it', origin: 'panel' }, org.owner));
  let seq = 100_000_000_000_000_000n;
  /** A message written in the ticket's Discord thread by someone other than its player. */
  const participantSays = (who: { type: 'player'; id: string }, body: string) =>
    tx((t) =>
      reply(
        t,
        { ticketId: ticket.id, body, origin: 'discord', externalId: String(++seq), participant: true },
        who,
      ),
    );
  const row = async () =>
    (
      await db.admin.query<{ status: string; sentiment: string | null }>(
        'select status, player_sentiment_label as sentiment from tickets where id = $1',
        [ticket.id],
      )
    ).rows[0];
  return { org, tx, people, ticket, participantSays, row, seq: () => String(seq) };
}

describe("a participant's message (someone on the player's side who is not the player)", () => {
  it('is flagged on the message row by who it speaks for', async () => {
    const w = await world();
    await w.participantSays(w.people.friend, 'I saw it happen too');
    const r = await db.admin.query<{ body: string; kind: string }>(
      'select body, author_kind as kind from messages where ticket_id = $1 order by created_at, id',
      [w.ticket.id],
    );
    expect(r.rows).toEqual([
      { body: 'hello', kind: 'player' },
      { body: 'Looking into it', kind: 'staff' },
      { body: 'I saw it happen too', kind: 'participant' },
    ]);
  });

  it('starts no next response wait in analytics: only the player waits for staff', async () => {
    const w = await world();
    await w.participantSays(w.people.other, 'same bug here');
    await w.tx((t) => reply(t, { ticketId: w.ticket.id, body: 'Noted', origin: 'panel' }, w.org.owner));
    const replies = (await w.tx((t) => recomputedRollups(t, 'daily'))).filter((r) => r.kind === 'reply');
    // Two staff replies: the first is the first response, the second answered no player message.
    expect(replies.map((r) => ({ n: Number(r.n), waits: Number(r.dur_n) }))).toEqual([{ n: 2, waits: 0 }]);
  });

  it("is not the rules' latest player message", async () => {
    const w = await world();
    await w.participantSays(w.people.other, 'refund me too');
    const ctx = await w.tx((t) => loadContext(t, w.ticket.id, null));
    expect(ctx?.message?.body).toBe('hello');
  });

  it("edited, does not become the ticket's player sentiment", async () => {
    const w = await world();
    await w.participantSays(w.people.other, 'ok');
    await w.tx((t) =>
      recordDiscordEdit(t, { messageId: w.seq(), body: 'This is broken and unfair' }, w.people.other),
    );
    expect((await w.row())?.sentiment).not.toBe('negative');
  });

  it('wakes a pending ticket when staff added them to it; a bystander does not', async () => {
    const w = await world();
    await w.tx((t) => setStatus(t, { ticketId: w.ticket.id, status: 'pending' }, w.org.owner));
    await w.participantSays(w.people.other, 'lol same');
    expect((await w.row())?.status).toBe('pending');
    await w.tx((t) =>
      recordTicketAction(t, w.ticket.id, 'ticket.member_added', { discordUserId: FRIEND }, w.org.owner),
    );
    await w.participantSays(w.people.friend, 'He still cannot log in');
    expect((await w.row())?.status).toBe('open');
    // Removed again, the friend is a bystander like anyone else.
    await w.tx((t) => setStatus(t, { ticketId: w.ticket.id, status: 'pending' }, w.org.owner));
    await w.tx((t) =>
      recordTicketAction(t, w.ticket.id, 'ticket.member_removed', { discordUserId: FRIEND }, w.org.owner),
    );
    await w.participantSays(w.people.friend, 'hello?');
    expect((await w.row())?.status).toBe('pending');
  });
});

/**
 * Staff merge the friend's own ticket into the player's: the friend is on the player's ticket
 * now, as someone staff brought in, not as its player. What they wrote on their ticket is theirs,
 * under their own profile, and a participant's there: the ticket's SLA, analytics, rules,
 * sentiment and the SDK's `author` stay the player's. (What they write later, from the game or by
 * email, is in player-tickets.test.ts and email/notifications-and-threads.test.ts.)
 */
describe("a merged ticket's player on the ticket it went into", () => {
  it('is a participant there and keeps their own messages', async () => {
    const w = await world();
    const theirs = (
      await w.tx((t) =>
        openTicket(
          t,
          {
            subject: 'Items gone',
            body: 'worst game, garbage, I hate it',
            origin: 'discord',
            requesterId: w.people.friend.id,
          },
          w.people.friend,
        ),
      )
    ).ticket;
    await w.tx((t) => merge(t, { sourceId: theirs.id, targetId: w.ticket.id }, w.org.owner));
    const r = await db.admin.query<{ body: string; kind: string; author: string | null }>(
      `select body, author_kind as kind, author_player_id as author from messages
        where ticket_id = $1 order by created_at, id`,
      [w.ticket.id],
    );
    expect(r.rows).toEqual([
      { body: 'hello', kind: 'player', author: w.people.player.id },
      { body: 'Looking into it', kind: 'staff', author: null },
      { body: 'worst game, garbage, I hate it', kind: 'participant', author: w.people.friend.id },
    ]);
    expect((await w.row())?.sentiment).not.toBe('negative');
    const ctx = await w.tx((t) => loadContext(t, w.ticket.id, null));
    expect(ctx?.message?.body).toBe('hello');
    // Staff wait on the player's word alone: the merged message starts no next response wait.
    await w.tx((t) => reply(t, { ticketId: w.ticket.id, body: 'Noted', origin: 'panel' }, w.org.owner));
    const replies = (await w.tx((t) => recomputedRollups(t, 'daily'))).filter((x) => x.kind === 'reply');
    expect(replies.map((x) => ({ n: Number(x.n), waits: Number(x.dur_n) }))).toEqual([{ n: 2, waits: 0 }]);
  });
});
