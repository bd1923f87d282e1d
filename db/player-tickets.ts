import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import type { Actor } from './changes.js';
import { mapDbError } from './errors.js';
import { type GamePlayerInput, gamePlayerInput, sdkExternalId, upsertGamePlayer } from './game-players.js';
import type { AuthorKind } from './participants.js';
import { filesOfPlayerMessages } from './player-attachments.js';
import { id, jsonRecord } from './schemas.js';
import type { Tx } from './tenant.js';
import type { Status } from './ticket-rules.js';
import { getTicket, openTicket, reply, type Ticket } from './tickets.js';
import { parseInput } from './validate.js';

/**
 * A player's side of their tickets, as the game SDKs see it: open with the game's context,
 * list and read with `since` cursors, reply. Staff notes never appear; staff are "staff".
 */

const short = (n: number) => z.string().trim().min(1).max(n);

/** Where and how the player was playing; staff see it on the ticket (`customFields.game`). */
export const gameContextInput = z.object({
  platform: short(50).optional(),
  build: short(50).optional(),
  region: short(50).optional(),
  server: short(100).optional(),
  matchId: short(100).optional(),
  position: z
    .object({ x: z.number(), y: z.number(), z: z.number().optional(), map: short(100).optional() })
    .optional(),
  locale: z.string().trim().min(2).max(35).optional(),
  custom: jsonRecord.refine((r) => Object.keys(r).length <= 50, 'at most 50 custom fields').optional(),
  log: z.string().max(16_000).optional(),
});
export type GameContext = z.output<typeof gameContextInput>;

export const openGameTicketInput = z.object({
  player: gamePlayerInput,
  subject: short(200),
  body: z.string().trim().min(1).max(16_000),
  category: id.optional(),
  context: gameContextInput.default({}),
});

export interface SdkTicket {
  id: string;
  number: number;
  subject: string;
  status: Status;
  createdAt: Date;
  updatedAt: Date;
  /** Set once staff merged this ticket into another: the game follows it there. */
  mergedIntoId: string | null;
}

/** A file on a message, as the player sees it (the API adds where to download it). */
export interface SdkMessageFile {
  id: string;
  filename: string;
  contentType: string;
  sizeBytes: number;
}

/**
 * Who wrote a message, as the game shows it: its own player, someone else on the player's side
 * (a participant: a guildmate staff added, a bystander in a forum post), or the studio (staff,
 * rules and notices alike).
 */
export type SdkAuthor = 'player' | 'participant' | 'staff';

export interface SdkMessage {
  id: string;
  author: SdkAuthor;
  body: string;
  createdAt: Date;
  /** Fixed when the message is written (a reply's files go with it), so a poll's body is stable. */
  attachments: SdkMessageFile[];
}

export const sdkTicket = (t: Ticket): SdkTicket => ({
  id: t.id,
  number: t.number,
  subject: t.subject,
  status: t.status,
  createdAt: t.createdAt,
  updatedAt: t.updatedAt,
  mergedIntoId: t.mergedIntoId,
});

// A participant has a player profile like the player's, so `author_type` can't tell them apart.
const SDK_AUTHOR = `case author_kind when 'player' then 'player' when 'participant' then 'participant'
  else 'staff' end`;
const sdkAuthor = (kind: AuthorKind): SdkAuthor =>
  kind === 'player' || kind === 'participant' ? kind : 'staff';

/** The ticket's `customFields.game`: who, where and how, as the game sent it. */
export const gameFields = (player: { id: string; name: string }, context: GameContext) => ({
  game: { playerId: player.id, playerName: player.name, ...context },
});

/**
 * Opens a ticket for a game's player. With an idempotency key, a repeat (even a concurrent one)
 * returns the first ticket (`created: false`).
 */
export async function openGameTicket(
  tx: Tx,
  gameId: string,
  raw: z.input<typeof openGameTicketInput>,
  idempotencyKey?: string,
): Promise<{ ticket: SdkTicket; created: boolean }> {
  const input = parseInput(openGameTicketInput, raw);
  const externalId = idempotencyKey && sdkExternalId('ticket', gameId, input.player.id, idempotencyKey);
  const player = await upsertGamePlayer(tx, gameId, input.player, {
    ...(externalId ? { replayOf: { origin: 'game', externalId } } : {}),
  });
  if (player.replayId) return replayed(tx, player.replayId, player.id);
  const actor: Actor = { type: 'player', id: player.id };
  const { ticket, created } = await openTicket(
    tx,
    {
      subject: input.subject,
      body: input.body,
      origin: 'game',
      externalId,
      requesterId: player.id,
      categoryId: input.category,
      gameId,
      customFields: gameFields(input.player, input.context),
    },
    actor,
    { counterHeld: externalId !== undefined },
  ).catch((raw) => {
    // An unknown category (the foreign key) is the caller's mistake, not ours.
    const err = mapDbError(raw);
    if (err.code === 'not_found' && input.category)
      throw new AppError('validation_failed', 'category: no such category', {
        details: [{ path: 'body.category', message: 'no such category' }],
      });
    throw err;
  });
  if (!created) return replayed(tx, ticket, player.id);
  return { ticket: sdkTicket(ticket), created };
}

/** A repeat of an open: the first ticket, when it is this player's. */
async function replayed(
  tx: Tx,
  first: Ticket | string,
  playerId: string,
): Promise<{ ticket: SdkTicket; created: false }> {
  const ticket = typeof first === 'string' ? await getTicket(tx, first) : first;
  if (ticket.requesterId !== playerId)
    throw new AppError('validation_failed', 'this Idempotency-Key was already used', {
      details: { reason: 'idempotency_key_reused' },
    });
  return { ticket: sdkTicket(ticket), created: false };
}

/**
 * Which of the player's tickets a game key reaches: the game id of a client key, whose holder may
 * name any player (the key ships inside the game), reaches only the tickets opened from that game;
 * null (a game server's secret, which vouches for its player) reaches all of the player's tickets.
 * A ticket out of reach reads as no ticket at all.
 */
export type TicketReach = string | null;
/** The condition on `tickets` (aliased `t`, or not) for a reach given as parameter `$n`. */
const IN_REACH = (n: number, alias = '') =>
  `($${n}::uuid is null or (${alias}game_id = $${n}::uuid and ${alias}origin = 'game'))`;

const cursorInput = z
  .string()
  .regex(/^\d{1,20}$/, 'a cursor from an earlier response')
  .optional();

const SDK_TICKET_COLUMNS = `id, number, subject, status, created_at as "createdAt", updated_at as "updatedAt",
  merged_into_id as "mergedIntoId"`;
// Microseconds since the epoch: PostgreSQL's own precision, so a cursor never skips a change.
const MICROS = (col: string) => `(extract(epoch from ${col}) * 1000000)::bigint::text`;
const FROM_MICROS = (n: string) => `(timestamptz 'epoch' + ${n}::bigint * interval '1 microsecond')`;
/**
 * How far a cursor may move: to just before the oldest transaction of the app still open. A row's
 * time is its transaction's start (`now()`), so a change that began before a poll and commits
 * after it has a time a cursor set at the newest row sent would already be past, and it would
 * never be sent. Rows are not held back (a player's own reply is in their next poll, whatever
 * else is being written); only the cursor is, so rows from the oldest open transaction's start on
 * may come again on the next poll, and clients keep what they are sent by id. A transaction open
 * for over a minute is not waited for, so one stuck session can't stall every game's feed. Every
 * role of the app connects as one database role, whose sessions it sees here.
 */
const HORIZON = `(select ${MICROS('coalesce(min(xact_start), now())')} from pg_stat_activity
                   where datname = current_database() and pid <> pg_backend_pid()
                     and xact_start > now() - interval '1 minute')`;
/** The cursor after a page: its newest row's time, held back to the horizon, never moved back. */
function cursorAfter(after: string | null, newest: string | undefined, horizon: string | undefined): string {
  if (newest === undefined || horizon === undefined) return after ?? '0';
  let next = BigInt(newest);
  const held = BigInt(horizon) - 1n;
  if (held < next) next = held;
  if (after !== null && next < BigInt(after)) return after;
  return String(next);
}
const strip = <T>({ micros: _, horizon: __, ...row }: T & { micros: string; horizon: string }): T => row as T;
/** Tickets and messages per answer (more only when a page would end among rows of one instant). */
const PAGE = 50;
const MESSAGES_PAGE = 200;

/**
 * The player's tickets: with no `since` the 50 changed last, newest first (what a game lists);
 * with `since`, the changes after it, oldest first, a page of 50 that never ends inside a run of
 * tickets changed at the same instant (a bulk close or merge stamps dozens with one time, and a
 * page cut among them would leave the rest behind the cursor for good). Poll again with the
 * cursor until the page comes back empty.
 */
export async function playerTickets(
  tx: Tx,
  playerId: string,
  reach: TicketReach,
  since?: string,
): Promise<{ tickets: SdkTicket[]; cursor: string }> {
  const after = parseInput(cursorInput, since) ?? null;
  if (after === null) {
    const r = await tx.query<SdkTicket & { micros: string; horizon: string }>(
      `select ${SDK_TICKET_COLUMNS}, ${MICROS('updated_at')} as micros, ${HORIZON} as horizon from tickets
        where org_id = $1::uuid and requester_id = $2::uuid and ${IN_REACH(3)}
        order by updated_at desc, id limit ${PAGE}`,
      [tx.orgId, playerId, reach],
    );
    return { tickets: r.rows.map(strip), cursor: cursorAfter(null, r.rows[0]?.micros, r.rows[0]?.horizon) };
  }
  const r = await tx.query<SdkTicket & { micros: string; horizon: string }>(
    `with changed as (
       select id, updated_at from tickets
        where org_id = $1::uuid and requester_id = $2::uuid and ${IN_REACH(4)}
          and updated_at > ${FROM_MICROS('$3')}
     ), page_end as (
       select max(updated_at) as at from (select updated_at from changed order by updated_at limit ${PAGE}) p
     )
     select ${SDK_TICKET_COLUMNS}, ${MICROS('updated_at')} as micros, ${HORIZON} as horizon from tickets
      where org_id = $1::uuid and id in (select id from changed where updated_at <= (select at from page_end))
      order by updated_at, id`,
    [tx.orgId, playerId, after, reach],
  );
  const last = r.rows.at(-1);
  return { tickets: r.rows.map(strip), cursor: cursorAfter(after, last?.micros, last?.horizon) };
}

/** One of the player's tickets in reach and its public messages after `since`; any other is not found. */
export async function playerTicket(
  tx: Tx,
  playerId: string,
  reach: TicketReach,
  ticketId: string,
  since?: string,
): Promise<{ ticket: SdkTicket; messages: SdkMessage[]; cursor: string }> {
  const tid = parseInput(id, ticketId);
  const after = parseInput(cursorInput, since) ?? null;
  const t = await tx.query<SdkTicket>(
    `select ${SDK_TICKET_COLUMNS} from tickets
      where org_id = $1::uuid and id = $2::uuid and requester_id = $3::uuid and ${IN_REACH(4)}`,
    [tx.orgId, tid, playerId, reach],
  );
  const ticket = t.rows[0];
  if (!ticket) throw new AppError('not_found', 'ticket not found');
  // Oldest first, 200 at a time, a page never ending among messages of the same instant (as above).
  const m = await tx.query<Omit<SdkMessage, 'attachments'> & { micros: string; horizon: string }>(
    `with shown as (
       select id, created_at from messages
        where org_id = $1::uuid and ticket_id = $2::uuid and deleted_at is null
          and ($3::text is null or created_at > ${FROM_MICROS('$3')})
     ), page_end as (
       select max(created_at) as at from (select created_at from shown order by created_at limit ${MESSAGES_PAGE}) p
     )
     select id, ${SDK_AUTHOR} as author, body,
            created_at as "createdAt", ${MICROS('created_at')} as micros, ${HORIZON} as horizon
       from messages
      where org_id = $1::uuid and id in (select id from shown where created_at <= (select at from page_end))
      order by created_at, id`,
    [tx.orgId, tid, after],
  );
  const files = await filesOfPlayerMessages(
    tx,
    tid,
    m.rows.map((row) => row.id),
  );
  const byMessage = new Map<string, SdkMessageFile[]>();
  for (const { messageId, ...f } of files) byMessage.set(messageId, [...(byMessage.get(messageId) ?? []), f]);
  const messages = m.rows.map(
    (row): SdkMessage => ({ ...strip(row), attachments: byMessage.get(row.id) ?? [] }),
  );
  const last = m.rows.at(-1);
  return { ticket, messages, cursor: cursorAfter(after, last?.micros, last?.horizon) };
}

export const playerReplyInput = z.object({
  player: gamePlayerInput,
  body: z.string().trim().min(1).max(16_000),
});

/** Merges can chain (A into B, B later into C); a cycle cannot form, this bound is only a guard. */
const MAX_MERGE_HOPS = 10;

/**
 * The player replies on their own ticket in reach (any other is not found); idempotent on the key. A ticket staff merged into
 * another takes the reply on the ticket it went into, as a Discord or email reply does: the game
 * still holds the old id, and the player's words must not be refused for staff's tidying. There,
 * on another player's ticket, the reply is a participant's (participants.ts), and still the
 * player's own in the answer their game gets.
 */
export async function playerReply(
  tx: Tx,
  gameId: string,
  reach: TicketReach,
  ticketId: string,
  raw: { player: GamePlayerInput; body: string },
  idempotencyKey?: string,
): Promise<{ message: SdkMessage; ticket: SdkTicket; created: boolean }> {
  const tid = parseInput(id, ticketId);
  const input = parseInput(playerReplyInput, raw);
  const player = await upsertGamePlayer(tx, gameId, input.player);
  const own = await tx.query(
    `select 1 from tickets where org_id = $1::uuid and id = $2::uuid and requester_id = $3::uuid and ${IN_REACH(4)}`,
    [tx.orgId, tid, player.id, reach],
  );
  if (own.rowCount === 0) throw new AppError('not_found', 'ticket not found');
  let target = await getTicket(tx, tid);
  for (let hop = 0; target.mergedIntoId && hop < MAX_MERGE_HOPS; hop++)
    target = await getTicket(tx, target.mergedIntoId);
  const r = await reply(
    tx,
    {
      ticketId: target.id,
      body: input.body,
      origin: 'game',
      externalId: idempotencyKey && sdkExternalId('reply', gameId, player.accountId, idempotencyKey),
      ...(target.requesterId && target.requesterId !== player.id ? { participant: true } : {}),
    },
    { type: 'player', id: player.id },
  );
  return {
    message: {
      id: r.message.id,
      author: r.message.authorPlayerId === player.id ? 'player' : sdkAuthor(r.message.authorKind),
      body: r.message.body,
      createdAt: r.message.createdAt,
      // A reply from the game carries no files.
      attachments: [],
    },
    ticket: sdkTicket(r.ticket),
    created: r.created,
  };
}
