import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, recordChange } from './changes.js';
import { id, snowflake } from './schemas.js';
import type { Tx } from './tenant.js';
import type { Ticket } from './tickets.js';
import { parseInput } from './validate.js';

/**
 * What the bot needs beyond the ticket core: finding a ticket by its Discord channel, recording
 * the Discord side of a ticket, mirroring Discord messages (idempotent on the message id, with
 * attachment metadata, edits and deletions as events: discord-messages.ts, re-exported here),
 * limits and the /stats figures.
 */

export {
  ATTACHMENTS_ADDED,
  attachmentMeta,
  discordMessageInput,
  recordDiscordDelete,
  recordDiscordEdit,
  recordDiscordMessage,
} from './discord-messages.js';

export interface DiscordTicket {
  id: string;
  number: number;
  subject: string;
  status: Ticket['status'];
  priority: Ticket['priority'];
  requesterId: string | null;
  requesterDiscordId: string | null;
  requesterName: string | null;
  assigneeId: string | null;
  assigneeName: string | null;
  categoryId: string | null;
  teamId: string | null;
  tags: string[];
  rating: number | null;
  discordGuildId: string | null;
  discordChannelId: string | null;
  discordMode: 'thread' | 'forum' | 'channel' | null;
  discordWebhookId: string | null;
  discordSummaryMessageId: string | null;
  createdAt: Date;
}

const COLUMNS = `t.id, t.number, t.subject, t.status, t.priority, t.requester_id as "requesterId",
  p.discord_user_id as "requesterDiscordId", p.display_name as "requesterName", t.assignee_id as "assigneeId",
  (select u.display_name from users u where u.id = t.assignee_id) as "assigneeName", t.category_id as "categoryId", t.team_id as "teamId", t.tags, t.rating, t.discord_guild_id as "discordGuildId",
  t.discord_channel_id as "discordChannelId", t.discord_mode as "discordMode", t.discord_webhook_id as "discordWebhookId",
  t.discord_summary_message_id as "discordSummaryMessageId", t.created_at as "createdAt"`;

const FROM = 'tickets t left join player_profiles p on p.org_id = t.org_id and p.id = t.requester_id';

/** The ticket whose conversation lives in this Discord thread, post or channel (merged ones excluded). */
export async function ticketForChannel(tx: Tx, channelId: string): Promise<DiscordTicket | undefined> {
  const r = await tx.query<DiscordTicket>(ticketInChannelSql('$1', '$2'), [
    tx.orgId,
    parseInput(snowflake, channelId),
  ]);
  return r.rows[0];
}

/**
 * The statement ticketForChannel sends, with the org and channel as the given parameters, for a
 * read that joins it to another in one round trip (db/discord-standing.ts). The channel is
 * validated by the caller.
 */
export const ticketInChannelSql = (org: string, channel: string) =>
  `select ${COLUMNS} from ${FROM}
   where t.org_id = ${org}::uuid and t.discord_channel_id = ${channel}::text and t.merged_into_id is null
   order by t.created_at desc limit 1`;

export async function discordTicket(tx: Tx, ticketId: string): Promise<DiscordTicket> {
  const r = await tx.query<DiscordTicket>(`select ${COLUMNS} from ${FROM} where t.id = $1::uuid`, [
    parseInput(id, ticketId),
  ]);
  if (!r.rows[0]) throw new AppError('not_found', 'ticket not found');
  return r.rows[0];
}

export const discordSideInput = z.object({
  ticketId: id,
  guildId: snowflake.optional(),
  channelId: snowflake.optional(),
  mode: z.enum(['thread', 'forum', 'channel']).optional(),
  summaryMessageId: snowflake.optional(),
  webhookId: snowflake.optional(),
  webhookToken: z.string().min(1).max(200).optional(),
});

/**
 * Records where a ticket lives on Discord. Technical ids only, so no history entry; the webhook
 * token is a credential and never leaves db/ except for the workers that post through it.
 */
export async function setDiscordSide(tx: Tx, raw: z.input<typeof discordSideInput>): Promise<void> {
  const input = parseInput(discordSideInput, raw);
  const r = await tx.query(
    `update tickets set discord_guild_id = coalesce($2::text, discord_guild_id),
       discord_channel_id = coalesce($3::text, discord_channel_id), discord_mode = coalesce($4::text, discord_mode),
       discord_summary_message_id = coalesce($5::text, discord_summary_message_id),
       discord_webhook_id = coalesce($6::text, discord_webhook_id),
       discord_webhook_token = coalesce($7::text, discord_webhook_token)
     where id = $1::uuid`,
    [
      input.ticketId,
      input.guildId ?? null,
      input.channelId ?? null,
      input.mode ?? null,
      input.summaryMessageId ?? null,
      input.webhookId ?? null,
      input.webhookToken ?? null,
    ],
  );
  if (!r.rowCount) throw new AppError('not_found', 'ticket not found');
}

/** The webhook the workers post staff replies through (id and token), when the ticket has one. */
export async function ticketWebhook(tx: Tx, ticketId: string): Promise<{ id: string; token: string } | null> {
  const r = await tx.query<{ id: string | null; token: string | null }>(
    'select discord_webhook_id as id, discord_webhook_token as token from tickets where id = $1::uuid',
    [parseInput(id, ticketId)],
  );
  const row = r.rows[0];
  return row?.id && row.token ? { id: row.id, token: row.token } : null;
}
/** A player's open tickets, when they last opened one, and whether staff blocked them: for the limits. */
export async function playerTicketLoad(
  tx: Tx,
  playerId: string,
  opts: { lock?: boolean } = {},
): Promise<{ open: number; lastCreatedAt: Date | null; blocked: boolean; blockedReason: string | null }> {
  // With `lock`, two opens by one player queue on the profile row until the first commits, so
  // the second counts the first's ticket (the Redis lock alone can expire mid-open).
  if (opts.lock)
    await tx.query('select 1 from player_profiles where org_id = $1::uuid and id = $2::uuid for update', [
      tx.orgId,
      parseInput(id, playerId),
    ]);
  const r = await tx.query<{
    open: number;
    last: Date | null;
    blockedAt: Date | null;
    blockedReason: string | null;
  }>(
    `select count(t.id) filter (where t.status in ('open', 'pending', 'on_hold'))::int as open, max(t.created_at) as last,
       p.blocked_at as "blockedAt", p.blocked_reason as "blockedReason"
     from player_profiles p left join tickets t on t.org_id = p.org_id and t.requester_id = p.id
     where p.org_id = $1::uuid and p.id = $2::uuid group by p.id`,
    [tx.orgId, parseInput(id, playerId)],
  );
  const row = r.rows[0];
  return {
    open: row?.open ?? 0,
    lastCreatedAt: row?.last ?? null,
    blocked: !!row?.blockedAt,
    blockedReason: row?.blockedReason ?? null,
  };
}

export interface DeskStats {
  open: number;
  /** Median seconds from creation to first staff response, over the period; null without data. */
  firstResponseMedianS: number | null;
  /** Median seconds from creation to solved/closed, over the period. */
  resolutionMedianS: number | null;
  closedInPeriod: number;
}

/** Figures for /stats: the whole desk (optionally one guild), or one assignee's tickets. */
export async function deskStats(
  tx: Tx,
  opts: { assigneeId?: string; guildId?: string; days?: number } = {},
): Promise<DeskStats> {
  const r = await tx.query<DeskStats>(
    `select count(*) filter (where status in ('open', 'pending', 'on_hold'))::int as open,
       percentile_cont(0.5) within group (order by extract(epoch from first_response_at - created_at))
         filter (where first_response_at is not null and created_at > now() - make_interval(days => $4::int))
         as "firstResponseMedianS",
       percentile_cont(0.5) within group (order by extract(epoch from coalesce(solved_at, closed_at) - created_at))
         filter (where coalesce(solved_at, closed_at) is not null and created_at > now() - make_interval(days => $4::int))
         as "resolutionMedianS",
       count(*) filter (where closed_at > now() - make_interval(days => $4::int))::int as "closedInPeriod"
     from tickets where org_id = $1::uuid and ($2::uuid is null or assignee_id = $2::uuid)
       and ($3::text is null or discord_guild_id = $3::text) and merged_into_id is null`,
    [tx.orgId, opts.assigneeId ?? null, opts.guildId ?? null, opts.days ?? 30],
  );
  const row = r.rows[0] as DeskStats;
  return {
    open: row.open,
    firstResponseMedianS: row.firstResponseMedianS === null ? null : Number(row.firstResponseMedianS),
    resolutionMedianS: row.resolutionMedianS === null ? null : Number(row.resolutionMedianS),
    closedInPeriod: row.closedInPeriod,
  };
}

/** A ticket opened from a Discord interaction, found by that interaction's id (replays). */
export async function ticketByInteraction(tx: Tx, interactionId: string): Promise<DiscordTicket | undefined> {
  const r = await tx.query<DiscordTicket>(
    `select ${COLUMNS} from ${FROM} where t.org_id = $1::uuid and t.origin = 'discord' and t.external_id = $2::text`,
    [tx.orgId, interactionId],
  );
  return r.rows[0];
}

export async function findTeamByName(
  tx: Tx,
  name: string,
): Promise<{ id: string; name: string } | undefined> {
  const r = await tx.query<{ id: string; name: string }>(
    'select id, name from teams where org_id = $1::uuid and lower(name) = lower($2::text)',
    [tx.orgId, name.trim()],
  );
  return r.rows[0];
}

/**
 * A Discord-side action on a ticket that changes no ticket column (a member added to or removed
 * from the thread, a reply posted through a canned reply...): history and audit only.
 */
export async function recordTicketAction(
  tx: Tx,
  ticketId: string,
  action: string,
  data: Record<string, unknown>,
  actor: Actor,
): Promise<void> {
  await recordChange(tx, actor, { ticketId: parseInput(id, ticketId), action, data });
}

/**
 * A ticket's thread, post or channel was deleted on Discord: the ticket forgets it (nothing posts
 * into it any more; a channel-mode webhook died with its channel), keeps its conversation, and
 * says so in its history, the audit log and the outbox. Returns whether a ticket had that channel.
 */
export async function recordDiscordChannelDeleted(tx: Tx, channelId: string, actor: Actor): Promise<boolean> {
  const r = await tx.query<{ id: string }>(
    `update tickets set discord_channel_id = null, discord_summary_message_id = null,
       discord_webhook_id = case when discord_mode = 'channel' then null else discord_webhook_id end,
       discord_webhook_token = case when discord_mode = 'channel' then null else discord_webhook_token end
     where org_id = $1::uuid and discord_channel_id = $2::text
     returning id`,
    [tx.orgId, parseInput(snowflake, channelId)],
  );
  for (const t of r.rows) {
    await recordChange(tx, actor, {
      ticketId: t.id,
      action: 'ticket.discord_channel_deleted',
      data: { discordChannelId: channelId },
      event: {
        type: 'ticket.discord_channel_deleted',
        aggregateType: 'ticket',
        aggregateId: t.id,
        payload: { ticketId: t.id, discordChannelId: channelId },
      },
    });
  }
  return r.rows.length > 0;
}

/** Discord ids of a team's members who linked their Discord account: a category's own staff. */
export async function teamDiscordIds(tx: Tx, teamId: string): Promise<string[]> {
  const r = await tx.query<{ id: string }>(
    `select d.discord_user_id as id from team_members tm join discord_accounts d on d.user_id = tm.user_id
     where tm.org_id = $1::uuid and tm.team_id = $2::uuid order by 1 limit 25`,
    [tx.orgId, parseInput(id, teamId)],
  );
  return r.rows.map((x) => x.id);
}
