import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, recordChange } from './changes.js';
import { messageSentiment, sentimentValues } from './message-sentiment.js';
import { body, externalId, id } from './schemas.js';
import type { Tx } from './tenant.js';
import { ORIGINS } from './ticket-rules.js';
import { parseInput } from './validate.js';

/**
 * The unified inbox beyond ticket conversations (those live in ticket-messages.ts): player DMs
 * and staff rooms, their messages, and each staff member's unread state.
 */
export interface Channel {
  id: string;
  kind: 'ticket' | 'player_dm' | 'staff_room' | 'discord_mirror';
  name: string | null;
  playerId: string | null;
  ticketId: string | null;
  lastMessageAt: Date | null;
  /** No longer fed (a mirror removed): kept for reading. */
  archivedAt: Date | null;
  /** The Discord mirror the conversation belongs to (its channel, or one of its threads). */
  mirrorId: string | null;
  /** For a thread of a mirrored channel: the channel's own conversation. */
  threadOf: string | null;
}

// Written against the table's own name (no alias), so every statement on message_channels can
// use it, the INSERT's RETURNING included.
const CHANNEL_COLUMNS = `id, kind, name, player_id as "playerId", ticket_id as "ticketId", last_message_at as "lastMessageAt",
  archived_at as "archivedAt", discord_mirror_id as "mirrorId",
  (select dm.channel_id from discord_mirrors dm
    where dm.org_id = message_channels.org_id and dm.id = message_channels.discord_mirror_id
      and dm.channel_id <> message_channels.id) as "threadOf"`;

export const createChannelInput = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('player_dm'), playerId: id }),
  z.object({ kind: z.literal('staff_room'), name: z.string().trim().min(1).max(100) }),
]);

/** A staff room, or the DM channel of a player (one per player: asking again returns it). */
export async function openChannel(
  tx: Tx,
  raw: z.input<typeof createChannelInput>,
  actor: Actor,
): Promise<Channel> {
  const input = parseInput(createChannelInput, raw);
  if (input.kind === 'player_dm') {
    const existing = await tx.query<Channel>(
      `select ${CHANNEL_COLUMNS} from message_channels where org_id = $1::uuid and kind = 'player_dm' and player_id = $2::uuid`,
      [tx.orgId, input.playerId],
    );
    if (existing.rows[0]) return existing.rows[0];
  }
  const r = await tx.query<Channel>(
    `insert into message_channels (org_id, kind, player_id, name) values ($1::uuid, $2::text, $3::uuid, $4::text)
     returning ${CHANNEL_COLUMNS}`,
    [
      tx.orgId,
      input.kind,
      input.kind === 'player_dm' ? input.playerId : null,
      input.kind === 'staff_room' ? input.name : null,
    ],
  );
  const channel = r.rows[0] as Channel;
  await recordChange(tx, actor, {
    action: 'channel.created',
    target: { type: 'channel', id: channel.id },
    data: input,
  });
  return channel;
}

export const postInput = z.object({
  channelId: id,
  body: body.min(1, 'a message needs some text'),
  origin: z.enum(ORIGINS),
  externalId: externalId.optional(),
});

export interface ChannelMessage {
  id: string;
  channelId: string;
  authorType: string;
  authorUserId: string | null;
  authorPlayerId: string | null;
  body: string;
  createdAt: Date;
}

const MESSAGE_COLUMNS = `id, channel_id as "channelId", author_type as "authorType", author_user_id as "authorUserId",
  author_player_id as "authorPlayerId", body, created_at as "createdAt"`;

/** Posts into a DM or staff room; idempotent on the external id. Ticket replies go through tickets.reply. */
export async function postMessage(
  tx: Tx,
  raw: z.input<typeof postInput>,
  actor: Actor,
): Promise<{ message: ChannelMessage; created: boolean }> {
  const input = parseInput(postInput, raw);
  const ch = await tx.query<Channel>(
    `select ${CHANNEL_COLUMNS} from message_channels where id = $1::uuid for update`,
    [input.channelId],
  );
  const channel = ch.rows[0];
  if (!channel) throw new AppError('not_found', 'channel not found');
  if (channel.kind === 'ticket') throw new AppError('bad_request', 'post to a ticket with a ticket reply');
  // A mirror copies Discord one way: what staff wrote here would reach nobody on Discord.
  if (channel.kind === 'discord_mirror')
    throw new AppError('bad_request', 'a mirrored Discord channel is read-only; reply on Discord');
  if (channel.kind === 'staff_room' && actor.type === 'player')
    throw new AppError('not_found', 'channel not found');
  if (actor.type === 'player' && channel.playerId !== actor.id)
    throw new AppError('not_found', 'channel not found');
  if (input.externalId) {
    const dup = await tx.query<ChannelMessage>(
      `select ${MESSAGE_COLUMNS} from messages where org_id = $1::uuid and origin = $2::text and external_id = $3::text`,
      [tx.orgId, input.origin, input.externalId],
    );
    if (dup.rows[0]) return { message: dup.rows[0], created: false };
  }
  const authorType = actor.type === 'player' ? 'player' : actor.type === 'user' ? 'user' : 'system';
  const r = await tx.query<ChannelMessage>(
    `with m as (
       insert into messages (org_id, channel_id, author_type, author_user_id, author_player_id, origin, external_id, body,
         created_at, sentiment_score, sentiment_comparative, sentiment_label, sentiment_language)
       values ($1::uuid, $2::uuid, $3::text, $4::uuid, $5::uuid, $6::text, $7::text, $8::text, clock_timestamp(),
         $9::int, $10::real, $11::text, $12::text)
       returning *
     ), touched as (
       update message_channels set last_message_at = (select created_at from m) where id = $2::uuid
     )
     select ${MESSAGE_COLUMNS} from m`,
    [
      tx.orgId,
      channel.id,
      authorType,
      actor.type === 'user' ? actor.id : null,
      actor.type === 'player' ? actor.id : null,
      input.origin,
      input.externalId ?? null,
      input.body,
      ...sentimentValues(messageSentiment(authorType, input.body)),
    ],
  );
  const message = r.rows[0] as ChannelMessage;
  await recordChange(tx, actor, {
    action: 'message.created',
    target: { type: 'channel', id: channel.id },
    data: { messageId: message.id, kind: channel.kind },
    event: {
      type: 'message.created',
      aggregateType: 'channel',
      aggregateId: channel.id,
      payload: { channel, message },
    },
  });
  return { message, created: true };
}

/**
 * A channel's latest messages, oldest first, with who wrote them by name. Messages copied from
 * Discord in one millisecond keep Discord's order (their ids are snowflakes, in time order).
 */
export async function channelMessages(
  tx: Tx,
  channelId: string,
  limit = 100,
): Promise<(ChannelMessage & { authorName: string | null })[]> {
  const r = await tx.query<ChannelMessage & { authorName: string | null }>(
    `select m.id, m.channel_id as "channelId", m.author_type as "authorType", m.author_user_id as "authorUserId",
            m.author_player_id as "authorPlayerId", m.body, m.created_at as "createdAt",
            coalesce(u.display_name, p.display_name) as "authorName"
       from messages m
       left join users u on u.id = m.author_user_id
       left join player_profiles p on p.org_id = m.org_id and p.id = m.author_player_id
      where m.org_id = $1::uuid and m.channel_id = $2::uuid and m.deleted_at is null
      order by m.created_at desc,
               case when m.origin = 'discord' then lpad(m.external_id, 20, '0') end desc nulls last,
               m.id desc
      limit $3::int`,
    [tx.orgId, parseInput(id, channelId), Math.min(Math.max(limit, 1), 500)],
  );
  return r.rows.reverse();
}

/** Marks a channel read up to now for one staff member. */
export async function markRead(tx: Tx, channelId: string, userId: string): Promise<void> {
  await tx.query(
    `insert into channel_reads (org_id, channel_id, user_id, last_read_at) values ($1::uuid, $2::uuid, $3::uuid, clock_timestamp())
     on conflict (channel_id, user_id) do update set last_read_at = excluded.last_read_at`,
    [tx.orgId, parseInput(id, channelId), parseInput(id, userId)],
  );
}

/** Unread message counts per channel for one staff member (their own messages never count). */
export async function unreadCounts(tx: Tx, userId: string): Promise<Map<string, number>> {
  const r = await tx.query<{ channelId: string; n: number }>(
    `select m.channel_id as "channelId", count(*)::int as n
     from messages m
     left join channel_reads cr on cr.channel_id = m.channel_id and cr.user_id = $2::uuid
     where m.org_id = $1::uuid and m.deleted_at is null and m.author_user_id is distinct from $2::uuid
       and (cr.last_read_at is null or m.created_at > cr.last_read_at)
     group by m.channel_id`,
    [tx.orgId, parseInput(id, userId)],
  );
  return new Map(r.rows.map((x) => [x.channelId, x.n]));
}

export const listChannelsInput = z.object({
  kind: z.enum(['ticket', 'player_dm', 'staff_room', 'discord_mirror']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** The inbox's channels, most recent activity first, with the reader's unread count. */
export async function listChannels(
  tx: Tx,
  readerId: string | null,
  raw: z.input<typeof listChannelsInput> = {},
): Promise<(Channel & { unread: number })[]> {
  const f = parseInput(listChannelsInput, raw);
  const r = await tx.query<Channel & { unread: number }>(
    `select ${CHANNEL_COLUMNS},
       case when $2::uuid is null then 0 else (
         select count(*)::int from messages m
         where m.org_id = message_channels.org_id and m.channel_id = message_channels.id and m.deleted_at is null
           and m.author_user_id is distinct from $2::uuid
           and m.created_at > coalesce((select cr.last_read_at from channel_reads cr
                                        where cr.channel_id = message_channels.id and cr.user_id = $2::uuid), '-infinity')
       ) end as unread
     from message_channels
     where org_id = $1::uuid and ($3::text is null or kind = $3::text)
     order by last_message_at desc nulls last, id limit $4::int`,
    [tx.orgId, readerId, f.kind ?? null, f.limit],
  );
  return r.rows;
}

export async function getChannel(tx: Tx, channelId: string): Promise<Channel> {
  const r = await tx.query<Channel>(
    `select ${CHANNEL_COLUMNS} from message_channels where org_id = $1::uuid and id = $2::uuid`,
    [tx.orgId, parseInput(id, channelId)],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'channel not found');
  return r.rows[0];
}

export interface Reaction {
  messageId: string;
  emoji: string;
  count: number;
  userIds: string[];
}

/** Reactions on the given messages, grouped per emoji. */
export async function reactionsOn(tx: Tx, messageIds: string[]): Promise<Reaction[]> {
  if (messageIds.length === 0) return [];
  const r = await tx.query<Reaction>(
    `select message_id as "messageId", emoji, count(*)::int as count,
       coalesce(array_agg(user_id) filter (where user_id is not null), '{}') as "userIds"
     from message_reactions where org_id = $1::uuid and message_id = any($2::uuid[])
     group by message_id, emoji order by message_id, min(created_at)`,
    [tx.orgId, messageIds],
  );
  return r.rows;
}

export const reactionInput = z.object({
  messageId: id,
  emoji: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .regex(/^[^\s<>]+$/u, 'one emoji or :name:'),
});

/** Adds (or with `remove`, takes back) the actor's reaction; doing it twice changes nothing. */
export async function react(
  tx: Tx,
  raw: z.input<typeof reactionInput>,
  actor: Actor,
  remove = false,
): Promise<void> {
  const input = parseInput(reactionInput, raw);
  if (actor.type !== 'user' && actor.type !== 'player') throw new AppError('forbidden', 'only people react');
  const msg = await tx.query<{ channelId: string }>(
    'select channel_id as "channelId" from messages where org_id = $1::uuid and id = $2::uuid and deleted_at is null',
    [tx.orgId, input.messageId],
  );
  const channelId = msg.rows[0]?.channelId;
  if (!channelId) throw new AppError('not_found', 'message not found');
  const who = actor.type === 'user' ? [actor.id, null] : [null, actor.id];
  const r = remove
    ? await tx.query(
        `delete from message_reactions where org_id = $1::uuid and message_id = $2::uuid
         and user_id is not distinct from $3::uuid and player_id is not distinct from $4::uuid and emoji = $5::text`,
        [tx.orgId, input.messageId, ...who, input.emoji],
      )
    : await tx.query(
        `insert into message_reactions (org_id, message_id, user_id, player_id, emoji)
         values ($1::uuid, $2::uuid, $3::uuid, $4::uuid, $5::text) on conflict do nothing`,
        [tx.orgId, input.messageId, ...who, input.emoji],
      );
  if (r.rowCount === 0) return;
  const type = remove ? 'message.reaction_removed' : 'message.reaction_added';
  await recordChange(tx, actor, {
    action: type,
    target: { type: 'channel', id: channelId },
    data: { messageId: input.messageId, emoji: input.emoji },
    event: {
      type,
      aggregateType: 'channel',
      aggregateId: channelId,
      payload: { channelId, messageId: input.messageId, emoji: input.emoji },
    },
  });
}
