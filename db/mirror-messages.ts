import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, emitEvent, recordChange, SYSTEM } from './changes.js';
import { readDiscordStanding } from './discord-standing.js';
import { ATTACHMENTS_ADDED, attachmentMeta } from './discord-sync.js';
import { messageSentiment, RESCORED, sentimentValues } from './message-sentiment.js';
import { upsertPlayer } from './players.js';
import { id, snowflake } from './schemas.js';
import type { Tx } from './tenant.js';
import { openTicket, reply, type Ticket } from './tickets.js';
import { parseInput } from './validate.js';

const EDITED_BODY = z.string().max(16_000);

/**
 * Messages of mirrored Discord channels (see discord-mirrors.ts): recorded once per Discord
 * message id, edited and deleted as on Discord, never delivered anywhere (their origin is
 * `discord`, and the outbox event says so), and turned into a ticket only when staff ask.
 */

/**
 * Who wrote a mirrored message: staff (a linked account that is a member or holds a mapped role),
 * a player, or a bot or webhook (an announcement crossposted from another server, say).
 */
export type MirrorAuthor = { type: 'user'; id: string } | { type: 'player'; id: string } | { type: 'bot' };

export async function mirrorAuthor(
  tx: Tx,
  guildId: string,
  person: { id: string; username: string; globalName: string | null; roleIds: readonly string[] },
): Promise<MirrorAuthor | null> {
  const standing = await readDiscordStanding(tx, guildId, person.id, person.roleIds);
  if (standing.userId && (standing.membership || standing.mappedPermissions.size > 0))
    return { type: 'user', id: standing.userId };
  // Staff by a mapped role who never signed in have no account yet: the caller makes one (a
  // global row, outside the tenant's transaction) and asks again.
  if (!standing.userId && standing.bestRoleId) return null;
  const player = await upsertPlayer(tx, {
    displayName: (person.globalName || person.username).slice(0, 100),
    discordUserId: person.id,
  });
  return { type: 'player', id: player.id };
}

export const mirroredMessageInput = z.object({
  /** The conversation: the mirror's, or its thread's (threadConversation). */
  channelId: id,
  /** The Discord message id: the idempotency key. */
  messageId: snowflake,
  body: z.string().max(16_000),
  attachments: z.array(attachmentMeta).max(10).default([]),
  /** When it was written on Discord (a backfill keeps the original order and times). */
  createdAt: z.coerce.date().optional(),
});

export interface MirroredMessage {
  id: string;
  channelId: string;
  authorType: string;
  authorUserId: string | null;
  authorPlayerId: string | null;
  origin: 'discord';
  body: string;
  createdAt: Date;
}

const COLUMNS = `id, channel_id as "channelId", author_type as "authorType", author_user_id as "authorUserId",
  author_player_id as "authorPlayerId", origin, body, created_at as "createdAt"`;

/**
 * Records one message of a mirrored channel, unless its Discord id is recorded already. The
 * outbox event carries `origin: 'discord'`, so no job posts it anywhere, and no ticket is made.
 * Attachments are kept as links and copied into storage by the workers, as for ticket threads.
 * A copy of what someone wrote on Discord, not an action in GameMod: an event (live updates,
 * attachment copies), no history or audit row (staff chatter would fill the audit log).
 */
export async function recordMirroredMessage(
  tx: Tx,
  raw: z.input<typeof mirroredMessageInput>,
  author: MirrorAuthor,
): Promise<{ message: MirroredMessage | null; created: boolean }> {
  const input = parseInput(mirroredMessageInput, raw);
  const text =
    input.body.trim() ||
    (input.attachments.length ? input.attachments.map((a) => a.filename).join(', ') : '');
  if (!text) return { message: null, created: false };
  const r = await tx.query<MirroredMessage>(
    `with c as (
       select id from message_channels where org_id = $1::uuid and id = $2::uuid and kind = 'discord_mirror'
     ), m as (
       insert into messages (org_id, channel_id, author_type, author_user_id, author_player_id, origin, external_id,
         body, created_at, sentiment_score, sentiment_comparative, sentiment_label, sentiment_language)
       select $1::uuid, c.id, $3::text, $4::uuid, $5::uuid, 'discord', $6::text, $7::text,
         coalesce($8::timestamptz, clock_timestamp()), $9::int, $10::real, $11::text, $12::text
       from c
       where not exists (select 1 from messages where org_id = $1::uuid
                         and ((origin = 'discord' and external_id = $6::text) or discord_message_id = $6::text))
       on conflict (org_id, origin, external_id) do nothing
       returning *
     ), touched as (
       update message_channels set last_message_at = greatest(last_message_at, (select created_at from m))
       where id = $2::uuid and exists (select 1 from m)
     )
     select ${COLUMNS} from m`,
    [
      tx.orgId,
      input.channelId,
      author.type,
      author.type === 'user' ? author.id : null,
      author.type === 'player' ? author.id : null,
      input.messageId,
      text,
      input.createdAt ?? null,
      // The text itself only: file names standing in for an attachment-only message say nothing of a mood.
      ...sentimentValues(messageSentiment(author.type, input.body.trim())),
    ],
  );
  const message = r.rows[0];
  if (!message) return { message: null, created: false };
  await emitEvent(tx, {
    type: 'message.created',
    aggregateType: 'channel',
    aggregateId: input.channelId,
    payload: { channel: { id: input.channelId, kind: 'discord_mirror' }, message },
  });
  if (input.attachments.length) {
    const inserted = await tx.query<{ id: string }>(
      `insert into attachments (org_id, message_id, filename, content_type, size_bytes, external_url)
       select $1::uuid, $2::uuid, f, c, s, u
       from unnest($3::text[], $4::text[], $5::bigint[], $6::text[]) as x(f, c, s, u)
       returning id`,
      [
        tx.orgId,
        message.id,
        input.attachments.map((a) => a.filename),
        input.attachments.map((a) => a.contentType),
        input.attachments.map((a) => a.sizeBytes),
        input.attachments.map((a) => a.url),
      ],
    );
    await emitEvent(tx, {
      type: ATTACHMENTS_ADDED,
      aggregateType: 'channel',
      aggregateId: input.channelId,
      payload: { messageId: message.id, attachmentIds: inserted.rows.map((x) => x.id) },
    });
  }
  return { message, created: true };
}

const MIRRORED = `origin = 'discord' and external_id = $2::text
  and channel_id in (select id from message_channels where org_id = $1::uuid and kind = 'discord_mirror')`;

/** An edit on Discord of a mirrored message: the body follows; nothing when it did not change. */
export async function recordMirrorEdit(tx: Tx, messageId: string, body: string): Promise<boolean> {
  const text = parseInput(EDITED_BODY, body);
  const r = await tx.query<{ id: string; channelId: string }>(
    `update messages set body = $3::text, edited_at = now(), ${RESCORED}
     where org_id = $1::uuid and ${MIRRORED} and deleted_at is null and body <> $3::text and $3::text <> ''
     returning id, channel_id as "channelId"`,
    [tx.orgId, parseInput(snowflake, messageId), text, ...sentimentValues(messageSentiment('player', text))],
  );
  const row = r.rows[0];
  if (!row) return false;
  await emitEvent(tx, {
    type: 'message.updated',
    aggregateType: 'channel',
    aggregateId: row.channelId,
    payload: { messageId: row.id, channelId: row.channelId, body: text },
  });
  return true;
}

/** A deletion on Discord: the mirrored message is kept, marked deleted, and leaves the conversation. */
export async function recordMirrorDelete(tx: Tx, messageId: string): Promise<boolean> {
  const r = await tx.query<{ id: string; channelId: string }>(
    `update messages set deleted_at = now() where org_id = $1::uuid and ${MIRRORED} and deleted_at is null
     returning id, channel_id as "channelId"`,
    [tx.orgId, parseInput(snowflake, messageId)],
  );
  const row = r.rows[0];
  if (!row) return false;
  await emitEvent(tx, {
    type: 'message.deleted',
    aggregateType: 'channel',
    aggregateId: row.channelId,
    payload: { messageId: row.id, channelId: row.channelId },
  });
  return true;
}

/** The mirrored message recorded for a Discord message id, if any. */
export async function mirroredMessageId(tx: Tx, discordMessageId: string): Promise<string | null> {
  const r = await tx.query<{ id: string }>(
    `select id from messages where org_id = $1::uuid and ${MIRRORED}`,
    [tx.orgId, parseInput(snowflake, discordMessageId)],
  );
  return r.rows[0]?.id ?? null;
}

/**
 * Staff turn a mirrored message into a ticket (the bot's "Create ticket from message", the panel's
 * action): its author is the requester, its text the first message, a link back to it on Discord.
 * Once per message, whichever door asks first: the ticket's external id is the message's.
 */
export async function ticketFromMirroredMessage(
  tx: Tx,
  messageId: string,
  actor: Actor,
): Promise<{ ticket: Ticket; created: boolean }> {
  const r = await tx.query<{
    id: string;
    body: string;
    discordMessageId: string;
    authorUserId: string | null;
    authorPlayerId: string | null;
    guildId: string | null;
    discordChannelId: string | null;
    name: string | null;
  }>(
    `select m.id, m.body, m.external_id as "discordMessageId", m.author_user_id as "authorUserId",
       m.author_player_id as "authorPlayerId", dm.guild_id as "guildId", c.discord_channel_id as "discordChannelId", c.name
     from messages m
     join message_channels c on c.org_id = m.org_id and c.id = m.channel_id and c.kind = 'discord_mirror'
     left join discord_mirrors dm on dm.org_id = c.org_id and dm.id = c.discord_mirror_id
     where m.org_id = $1::uuid and m.id = $2::uuid and m.deleted_at is null and m.origin = 'discord'`,
    [tx.orgId, parseInput(id, messageId)],
  );
  const m = r.rows[0];
  if (!m) throw new AppError('not_found', 'mirrored message not found');
  const firstLine = m.body.split('\n')[0]?.trim() ?? '';
  const { ticket, created } = await openTicket(
    tx,
    {
      subject: `${m.name ? `#${m.name}: ` : ''}${firstLine || 'a message from Discord'}`.slice(0, 200),
      origin: 'discord',
      externalId: `mirror-${m.discordMessageId}`,
      ...(m.authorPlayerId ? { requesterId: m.authorPlayerId } : {}),
      ...(m.guildId ? { discordGuildId: m.guildId } : {}),
      customFields: { mirroredMessageId: m.id, discordMessageId: m.discordMessageId },
    },
    actor,
  );
  if (!created) return { ticket, created };
  const link =
    m.guildId && m.discordChannelId
      ? `https://discord.com/channels/${m.guildId}/${m.discordChannelId}/${m.discordMessageId}`
      : null;
  const writer: Actor = m.authorPlayerId
    ? { type: 'player', id: m.authorPlayerId }
    : m.authorUserId
      ? { type: 'user', id: m.authorUserId }
      : SYSTEM;
  // The first message is the mirrored one, by its author; origin discord, so nothing posts it back.
  await reply(
    tx,
    {
      ticketId: ticket.id,
      body: `${m.body}${link ? `\n\n(from Discord: ${link})` : ''}`.slice(0, 16_000),
      origin: 'discord',
    },
    writer,
  );
  await recordChange(tx, actor, {
    ticketId: ticket.id,
    action: 'ticket.created_from_message',
    data: { messageId: m.id, discordMessageId: m.discordMessageId },
  });
  return { ticket, created };
}
