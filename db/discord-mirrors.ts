import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, recordChange } from './changes.js';
import { getGuild } from './guilds.js';
import { id, snowflake } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * Discord channels an org mirrors read-only into the inbox: one `discord_mirror` conversation per
 * channel (and one per thread in it, made when the thread first speaks). The messages themselves
 * are recorded by `mirror-messages.ts`; the backfill of the last 100 by the workers.
 */

export interface DiscordMirror {
  id: string;
  guildId: string;
  discordChannelId: string;
  /** The inbox conversation the channel's own messages land in. */
  channelId: string;
  name: string | null;
  createdAt: Date;
  backfillState: 'pending' | 'done' | 'refused';
  backfilledCount: number | null;
  /** Why the backfill could not read the channel (what the bot lacks there). */
  backfillProblem: string | null;
  backfilledAt: Date | null;
}

const COLUMNS = `m.id, m.guild_id as "guildId", m.discord_channel_id as "discordChannelId", m.channel_id as "channelId",
  c.name, m.created_at as "createdAt", m.backfill_state as "backfillState", m.backfilled_count as "backfilledCount",
  m.backfill_problem as "backfillProblem", m.backfilled_at as "backfilledAt"`;
const FROM = 'discord_mirrors m join message_channels c on c.org_id = m.org_id and c.id = m.channel_id';

export const addMirrorInput = z.object({
  guildId: snowflake,
  discordChannelId: snowflake,
  /** How the conversation is named in the inbox (the channel's name, say); none leaves it unnamed. */
  name: z.string().trim().min(1).max(100).optional(),
});

export const MIRROR_CREATED = 'discord_mirror.created';
/** A staff member asked for the backfill again (after giving the bot what it lacked, say). */
export const MIRROR_BACKFILL_REQUESTED = 'discord_mirror.backfill_requested';

/**
 * How long the bot trusts its list of an org's mirrored channels, and how long the workers wait
 * before the backfill of a new mirror: longer, so a message the bot let pass before it saw the
 * mirror is among the last 100 the backfill copies.
 */
export const MIRROR_LOOKUP_TTL_MS = 5_000;
export const MIRROR_BACKFILL_DELAY_MS = MIRROR_LOOKUP_TTL_MS + 1_000;

/**
 * Starts mirroring a channel of a linked guild. Its conversation is the one it had before when it
 * was mirrored already (kept when the mirror was removed), so earlier messages stay where they were
 * and a backfill over them records nothing twice. The outbox event asks the workers to backfill.
 */
export async function addMirror(
  tx: Tx,
  raw: z.input<typeof addMirrorInput>,
  actor: Actor,
): Promise<DiscordMirror> {
  const input = parseInput(addMirrorInput, raw);
  await getGuild(tx, input.guildId);
  const taken = await tx.query(
    'select 1 from discord_mirrors where org_id = $1::uuid and discord_channel_id = $2::text',
    [tx.orgId, input.discordChannelId],
  );
  if (taken.rowCount) throw new AppError('conflict', 'this channel is mirrored already');
  const earlier = await tx.query<{ id: string }>(
    `update message_channels set archived_at = null, name = coalesce($3::text, name)
     where org_id = $1::uuid and kind = 'discord_mirror' and discord_channel_id = $2::text
       and id = (select id from message_channels where org_id = $1::uuid and kind = 'discord_mirror'
                 and discord_channel_id = $2::text order by created_at limit 1)
     returning id`,
    [tx.orgId, input.discordChannelId, input.name ?? null],
  );
  const channelId =
    earlier.rows[0]?.id ??
    (
      await tx.query<{ id: string }>(
        `insert into message_channels (org_id, kind, name, discord_channel_id)
         values ($1::uuid, 'discord_mirror', $3::text, $2::text) returning id`,
        [tx.orgId, input.discordChannelId, input.name ?? null],
      )
    ).rows[0]?.id;
  const r = await tx.query<{ id: string }>(
    `insert into discord_mirrors (org_id, guild_id, discord_channel_id, channel_id, created_by)
     values ($1::uuid, $2::text, $3::text, $4::uuid, $5::uuid) returning id`,
    [tx.orgId, input.guildId, input.discordChannelId, channelId, actor.type === 'user' ? actor.id : null],
  );
  const mirrorId = r.rows[0]?.id as string;
  // Its threads' conversations kept from an earlier mirror come back when they next speak.
  await tx.query(
    'update message_channels set discord_mirror_id = $2::uuid where org_id = $1::uuid and id = $3::uuid',
    [tx.orgId, mirrorId, channelId],
  );
  const mirror = await getMirror(tx, mirrorId);
  await recordChange(tx, actor, {
    action: MIRROR_CREATED,
    target: { type: 'discord_mirror', id: mirrorId },
    data: { guildId: input.guildId, discordChannelId: input.discordChannelId },
    event: {
      type: MIRROR_CREATED,
      aggregateType: 'discord_mirror',
      aggregateId: mirrorId,
      payload: { mirrorId, guildId: input.guildId, discordChannelId: input.discordChannelId, channelId },
    },
  });
  return mirror;
}

export async function getMirror(tx: Tx, mirrorId: string): Promise<DiscordMirror> {
  const r = await tx.query<DiscordMirror>(
    `select ${COLUMNS} from ${FROM} where m.org_id = $1::uuid and m.id = $2::uuid`,
    [tx.orgId, parseInput(id, mirrorId)],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'mirror not found');
  return r.rows[0];
}

export async function listMirrors(tx: Tx): Promise<DiscordMirror[]> {
  const r = await tx.query<DiscordMirror>(
    `select ${COLUMNS} from ${FROM} where m.org_id = $1::uuid order by m.created_at, m.id`,
    [tx.orgId],
  );
  return r.rows;
}

/** Stops mirroring: the conversations stay in the inbox, archived; nothing more lands in them. */
export async function removeMirror(tx: Tx, mirrorId: string, actor: Actor): Promise<void> {
  const mirror = await getMirror(tx, mirrorId);
  await tx.query(
    `update message_channels set archived_at = coalesce(archived_at, now())
     where org_id = $1::uuid and discord_mirror_id = $2::uuid`,
    [tx.orgId, mirror.id],
  );
  await tx.query('delete from discord_mirrors where org_id = $1::uuid and id = $2::uuid', [
    tx.orgId,
    mirror.id,
  ]);
  await recordChange(tx, actor, {
    action: 'discord_mirror.removed',
    target: { type: 'discord_mirror', id: mirror.id },
    data: { guildId: mirror.guildId, discordChannelId: mirror.discordChannelId },
    event: {
      type: 'discord_mirror.removed',
      aggregateType: 'discord_mirror',
      aggregateId: mirror.id,
      payload: { mirrorId: mirror.id, discordChannelId: mirror.discordChannelId },
    },
  });
}

/**
 * Asks the workers to copy the channel's last messages (and its threads') again: after a refusal
 * once the bot can read the channel, or to pick up what was missed. Nothing is recorded twice.
 * One backfill waits at a time (409 while one is pending).
 */
export async function requestBackfill(tx: Tx, mirrorId: string, actor: Actor): Promise<DiscordMirror> {
  const r = await tx.query<{ id: string }>(
    `update discord_mirrors set backfill_state = 'pending', backfill_problem = null
      where org_id = $1::uuid and id = $2::uuid and backfill_state <> 'pending'
      returning id`,
    [tx.orgId, parseInput(id, mirrorId)],
  );
  const mirror = await getMirror(tx, mirrorId);
  if (!r.rowCount) throw new AppError('conflict', 'a backfill of this mirror is already waiting');
  await recordChange(tx, actor, {
    action: MIRROR_BACKFILL_REQUESTED,
    target: { type: 'discord_mirror', id: mirror.id },
    data: { guildId: mirror.guildId, discordChannelId: mirror.discordChannelId },
    event: {
      type: MIRROR_BACKFILL_REQUESTED,
      aggregateType: 'discord_mirror',
      aggregateId: mirror.id,
      payload: { mirrorId: mirror.id, discordChannelId: mirror.discordChannelId },
    },
  });
  return mirror;
}

/** Discord channel id → mirror, for the bot's short-lived cache of an org's mirrored channels. */
export async function mirroredChannels(
  tx: Tx,
): Promise<Map<string, { mirrorId: string; guildId: string; channelId: string }>> {
  const r = await tx.query<{ d: string; mirrorId: string; guildId: string; channelId: string }>(
    `select discord_channel_id as d, id as "mirrorId", guild_id as "guildId", channel_id as "channelId"
     from discord_mirrors where org_id = $1::uuid`,
    [tx.orgId],
  );
  return new Map(r.rows.map(({ d, ...rest }) => [d, rest]));
}

/**
 * The conversation a thread of a mirrored channel speaks in, made on its first message (named
 * after the thread). A thread is a conversation of its own so that its messages read in order.
 */
export async function threadConversation(
  tx: Tx,
  mirrorId: string,
  thread: { id: string; name: string },
): Promise<string> {
  const threadId = parseInput(snowflake, thread.id);
  const found = await tx.query<{ id: string; current: boolean }>(
    `select id, (discord_mirror_id is not distinct from $3::uuid and archived_at is null) as current
     from message_channels where org_id = $1::uuid and kind = 'discord_mirror' and discord_channel_id = $2::text
     order by created_at limit 1`,
    [tx.orgId, threadId, parseInput(id, mirrorId)],
  );
  const known = found.rows[0];
  // A thread kept from an earlier mirror of its channel joins the new one (written only then).
  if (known && !known.current)
    await tx.query(
      'update message_channels set discord_mirror_id = $2::uuid, archived_at = null where org_id = $1::uuid and id = $3::uuid',
      [tx.orgId, mirrorId, known.id],
    );
  if (known) return known.id;
  const r = await tx.query<{ id: string }>(
    `insert into message_channels (org_id, kind, name, discord_channel_id, discord_mirror_id)
     values ($1::uuid, 'discord_mirror', $3::text, $2::text, $4::uuid) returning id`,
    [tx.orgId, threadId, thread.name.trim().slice(0, 100) || 'thread', parseInput(id, mirrorId)],
  );
  return r.rows[0]?.id as string;
}

/** How the backfill went, shown with the mirror (a refusal says what to give the bot). */
export async function recordBackfill(
  tx: Tx,
  mirrorId: string,
  outcome: { state: 'done'; count: number } | { state: 'refused'; problem: string },
): Promise<void> {
  await tx.query(
    `update discord_mirrors set backfill_state = $3::text, backfilled_count = $4::int, backfill_problem = $5::text,
       backfilled_at = now()
     where org_id = $1::uuid and id = $2::uuid`,
    [
      tx.orgId,
      parseInput(id, mirrorId),
      outcome.state,
      outcome.state === 'done' ? outcome.count : null,
      outcome.state === 'refused' ? outcome.problem.slice(0, 500) : null,
    ],
  );
}
