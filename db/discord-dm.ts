import { z } from 'zod';
import { type Actor, emitEvent, recordChange, SYSTEM } from './changes.js';
import {
  ATTACHMENTS_ADDED,
  attachmentMeta,
  type discordMessageInput,
  recordDiscordMessage,
} from './discord-sync.js';
import { mapDbError } from './errors.js';
import type { Pool } from './pool.js';
import { id, snowflake } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

const GUILD_IDS = z.array(snowflake).max(10_000);

/**
 * Modmail: tickets whose player writes to the bot by direct message (`discord_dm_tickets`), and
 * the record of each message relayed between that DM and the ticket's staff-only thread
 * (`discord_dm_relays`), which makes the workers' relay job idempotent.
 */

/** Asks the workers to post a player's DM into the ticket's thread (the first one has no message.created). */
export const DM_RECEIVED = 'message.dm_received';

/** A DM carries no guild: the user's most recent DM tickets, in any organization (ids only). */
export async function dmTicketsForUser(
  pool: Pool,
  discordUserId: string,
): Promise<{ orgId: string; ticketId: string }[]> {
  const r = await pool
    .query<{ orgId: string; ticketId: string }>({
      text: 'select org_id as "orgId", ticket_id as "ticketId" from gm_dm_tickets_for_user($1::text)',
      values: [parseInput(snowflake, discordUserId)],
    })
    .catch((e) => {
      throw mapDbError(e);
    });
  return r.rows;
}

/** Which of these guilds are linked, and to which organization, in one round trip. */
export async function linkedGuilds(pool: Pool, guildIds: readonly string[]): Promise<Map<string, string>> {
  if (!guildIds.length) return new Map();
  const ids = parseInput(GUILD_IDS, [...guildIds]);
  const r = await pool
    .query<{ guildId: string; orgId: string }>({
      text: 'select guild_id as "guildId", org_id as "orgId" from gm_linked_guilds($1::text[])',
      values: [ids],
    })
    .catch((e) => {
      throw mapDbError(e);
    });
  return new Map(r.rows.map((x) => [x.guildId, x.orgId]));
}

/**
 * The language last seen for a Discord user in this organization: their player profile's, else
 * the one their latest ticket was opened in (their client's). Null for someone never seen here.
 */
export async function playerLocale(tx: Tx, discordUserId: string): Promise<string | null> {
  const r = await tx.query<{ locale: string | null }>(
    `select coalesce(p.locale,
       (select t.locale from tickets t
        where t.org_id = p.org_id and t.requester_id = p.id and t.locale is not null
        order by t.created_at desc limit 1)) as locale
     from player_profiles p
     where p.org_id = $1::uuid and p.discord_user_id = $2::text
     limit 1`,
    [tx.orgId, parseInput(snowflake, discordUserId)],
  );
  return r.rows[0]?.locale ?? null;
}

export interface OpenDmTicket {
  id: string;
  number: number;
  lastActivityAt: Date;
}

/** The ticket if it is this user's DM ticket and still open (not closed, not merged away). */
export async function openDmTicket(
  tx: Tx,
  ticketId: string,
  discordUserId: string,
): Promise<OpenDmTicket | undefined> {
  const r = await tx.query<OpenDmTicket>(
    `select t.id, t.number, greatest(t.updated_at, t.created_at) as "lastActivityAt"
     from discord_dm_tickets d join tickets t on t.org_id = d.org_id and t.id = d.ticket_id
     where d.org_id = $1::uuid and d.ticket_id = $2::uuid and d.discord_user_id = $3::text
       and t.status <> 'closed' and t.merged_into_id is null`,
    [tx.orgId, parseInput(id, ticketId), parseInput(snowflake, discordUserId)],
  );
  return r.rows[0];
}

export const dmOpeningInput = z.object({
  ticketId: id,
  discordUserId: snowflake,
  /** The DM that opened the ticket: its text is the ticket's first message, external id this. */
  messageId: snowflake,
  attachments: z.array(attachmentMeta).max(10).default([]),
});

/**
 * Inside the opening's transaction: marks the ticket as a DM ticket, records the first DM's
 * files on the ticket's first message (copied by the workers like thread attachments) and asks
 * the workers to post that message into the staff thread.
 */
export async function recordDmOpening(tx: Tx, raw: z.input<typeof dmOpeningInput>): Promise<void> {
  const input = parseInput(dmOpeningInput, raw);
  await tx.query(
    `insert into discord_dm_tickets (org_id, ticket_id, discord_user_id) values ($1::uuid, $2::uuid, $3::text)
     on conflict do nothing`,
    [tx.orgId, input.ticketId, input.discordUserId],
  );
  const m = await tx.query<{ id: string }>(
    `select id from messages where org_id = $1::uuid and ticket_id = $2::uuid and origin = 'discord'
       and external_id = $3::text`,
    [tx.orgId, input.ticketId, input.messageId],
  );
  const messageId = m.rows[0]?.id;
  if (!messageId) return;
  if (input.attachments.length) {
    const inserted = await tx.query<{ id: string }>(
      `insert into attachments (org_id, ticket_id, message_id, filename, content_type, size_bytes, external_url)
       select $1::uuid, $2::uuid, $3::uuid, f, c, s, u
       from unnest($4::text[], $5::text[], $6::bigint[], $7::text[]) as x(f, c, s, u)
       returning id`,
      [
        tx.orgId,
        input.ticketId,
        messageId,
        input.attachments.map((a) => a.filename),
        input.attachments.map((a) => a.contentType),
        input.attachments.map((a) => a.sizeBytes),
        input.attachments.map((a) => a.url),
      ],
    );
    await emitEvent(tx, {
      type: ATTACHMENTS_ADDED,
      aggregateType: 'ticket',
      aggregateId: input.ticketId,
      payload: { ticketId: input.ticketId, messageId, attachmentIds: inserted.rows.map((x) => x.id) },
    });
  }
  await emitEvent(tx, {
    type: DM_RECEIVED,
    aggregateType: 'ticket',
    aggregateId: input.ticketId,
    payload: { ticketId: input.ticketId, messageId },
  });
}

/** A later DM: a message on the ticket, idempotent on the DM's id (its message.created relays it). */
export function recordDm(
  tx: Tx,
  raw: z.input<typeof discordMessageInput>,
  actor: Actor,
): ReturnType<typeof recordDiscordMessage> {
  return recordDiscordMessage(tx, raw, actor);
}

export interface RelayFile {
  id: string;
  filename: string;
  contentType: string;
  sizeBytes: number;
  storageKey: string | null;
  externalUrl: string | null;
}

/** Everything the relay job needs about one message, in one round trip. */
export interface RelayPlan {
  messageId: string;
  ticketId: string;
  authorType: 'player' | 'user' | 'system';
  origin: string;
  body: string;
  deleted: boolean;
  author: string;
  orgName: string;
  number: number;
  ticketOrigin: string;
  threadId: string | null;
  /** The ticket's server: whose language the warning to its staff is in. */
  guildId: string | null;
  requesterDiscordId: string | null;
  /** A modmail ticket (opened by DM), with its refusal state. */
  dm: { refusedAt: Date | null; noticedAt: Date | null } | null;
  /** The organization relays staff replies of game, email and API tickets to a linked player's DM. */
  repliesToLinkedDm: boolean;
  relayed: boolean;
  files: RelayFile[];
}

export async function relayPlan(tx: Tx, messageId: string): Promise<RelayPlan | undefined> {
  const r = await tx.query<Omit<RelayPlan, 'files'>>(
    `select m.id as "messageId", t.id as "ticketId", m.author_type as "authorType", m.origin, m.body,
       m.deleted_at is not null as deleted, coalesce(u.display_name, p.display_name, o.name, 'Support') as author,
       o.name as "orgName", t.number, t.origin as "ticketOrigin", t.discord_channel_id as "threadId",
       t.discord_guild_id as "guildId", rp.discord_user_id as "requesterDiscordId",
       case when d.ticket_id is null then null
            else json_build_object('refusedAt', d.dm_refused_at, 'noticedAt', d.refusal_noticed_at) end as dm,
       coalesce((o.settings ->> 'discordDmReplies')::boolean, false) as "repliesToLinkedDm",
       exists (select 1 from discord_dm_relays x where x.org_id = m.org_id and x.message_id = m.id) as relayed
     from messages m
     join tickets t on t.org_id = m.org_id and t.id = m.ticket_id
     join organizations o on o.id = m.org_id
     left join player_profiles rp on rp.org_id = t.org_id and rp.id = t.requester_id
     left join discord_dm_tickets d on d.org_id = t.org_id and d.ticket_id = t.id
     left join users u on u.id = m.author_user_id
     left join player_profiles p on p.org_id = m.org_id and p.id = m.author_player_id
     where m.org_id = $1::uuid and m.id = $2::uuid`,
    [tx.orgId, parseInput(id, messageId)],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  const files = await tx.query<RelayFile>(
    `select id, filename, content_type as "contentType", size_bytes::int as "sizeBytes",
       storage_key as "storageKey", external_url as "externalUrl"
     from attachments where org_id = $1::uuid and message_id = $2::uuid order by created_at, id limit 10`,
    [tx.orgId, row.messageId],
  );
  const dm = row.dm as { refusedAt: string | null; noticedAt: string | null } | null;
  return {
    ...row,
    dm: dm
      ? {
          refusedAt: dm.refusedAt ? new Date(dm.refusedAt) : null,
          noticedAt: dm.noticedAt ? new Date(dm.noticedAt) : null,
        }
      : null,
    files: files.rows,
  };
}

/** Records what became of a message's relay; a second record of the same message is a no-op. */
export async function recordRelay(
  tx: Tx,
  messageId: string,
  target: 'dm' | 'thread',
  outcome: 'posted' | 'refused' | 'skipped',
  discordMessageId: string | null,
): Promise<void> {
  await tx.query(
    `insert into discord_dm_relays (org_id, message_id, target, outcome, discord_message_id)
     values ($1::uuid, $2::uuid, $3::text, $4::text, $5::text) on conflict do nothing`,
    [tx.orgId, parseInput(id, messageId), target, outcome, discordMessageId],
  );
}

/**
 * Discord refused a DM to the player (50007). Returns true when staff have not been told yet in
 * this run of refusals: the first refusal is also in the ticket's history and the audit log.
 */
export async function recordDmRefused(tx: Tx, ticketId: string): Promise<boolean> {
  const r = await tx.query<{ first: boolean }>(
    `update discord_dm_tickets set dm_refused_at = coalesce(dm_refused_at, now())
     where org_id = $1::uuid and ticket_id = $2::uuid
     returning refusal_noticed_at is null as first`,
    [tx.orgId, parseInput(id, ticketId)],
  );
  const first = r.rows[0]?.first ?? false;
  if (first) await recordChange(tx, SYSTEM, { ticketId, action: 'ticket.dm_refused', data: {} });
  return first;
}

/** Staff were told in the thread that the player's DMs are closed. */
export async function recordRefusalNoticed(tx: Tx, ticketId: string): Promise<void> {
  await tx.query(
    'update discord_dm_tickets set refusal_noticed_at = now() where org_id = $1::uuid and ticket_id = $2::uuid',
    [tx.orgId, parseInput(id, ticketId)],
  );
}

/** A DM went through again: a later refusal is news to staff once more. */
export async function clearDmRefused(tx: Tx, ticketId: string): Promise<void> {
  await tx.query(
    `update discord_dm_tickets set dm_refused_at = null, refusal_noticed_at = null
     where org_id = $1::uuid and ticket_id = $2::uuid and dm_refused_at is not null`,
    [tx.orgId, parseInput(id, ticketId)],
  );
}
