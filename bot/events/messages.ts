import { randomUUID } from 'node:crypto';
import { type Message, MessageType, type OmitPartialGroupDMChannel, type PartialMessage } from 'discord.js';
import type { Actor } from '../../db/changes.js';
import { SYSTEM } from '../../db/changes.js';
import { callerFromStanding, discordPlayer, readDiscordStanding } from '../../db/discord-standing.js';
import {
  type DiscordTicket,
  recordDiscordChannelDeleted,
  recordDiscordDelete,
  recordDiscordEdit,
  recordDiscordMessage,
  ticketForChannel,
} from '../../db/discord-sync.js';
import { withinReopenWindow } from '../../db/discord-ticket-sides.js';
import { DEFAULT_LIMITS, getGuild as guildForSettings, orgForGuild } from '../../db/guilds.js';
import { type Tx, withTenant } from '../../db/tenant.js';
import { reopen } from '../../db/tickets.js';
import { upsertDiscordUser } from '../../db/users.js';
import { newTicketRow } from '../../lib/discord/components.js';
import { postMessage } from '../../lib/discord/rest.js';
import { isAppError } from '../../lib/errors.js';
import { pickLocale } from '../../lib/i18n/locales.js';
import { t as say } from '../../lib/i18n/messages.js';
import { counter } from '../../lib/metrics.js';
import type { DiscordPerson } from '../auth.js';
import type { BotDeps } from '../context.js';
import { staffActive } from '../presence.js';
import { onMirroredDelete, onMirroredEdit, onMirroredMessage } from './mirror.js';

const synced = counter('gamemod_bot_messages_synced_total', 'Discord messages seen in ticket channels', [
  'event',
  'outcome',
]);

/** Cheap checks first: most messages are not in a linked guild's ticket channel. */
async function orgFor(deps: BotDeps, guildId: string | null): Promise<string | null> {
  if (!guildId) return null;
  const cached = deps.orgs.lookup(guildId);
  if (cached.hit) return cached.value;
  const org = await orgForGuild(deps.pool, guildId);
  deps.orgs.set(guildId, org, org ? 60_000 : 5_000);
  return org;
}

const DISCORD_EPOCH = 1_420_070_400_000n;
const createdAt = (snowflake: string) => Number((BigInt(snowflake) >> 22n) + DISCORD_EPOCH);

/** Old channels with no ticket are remembered for a while, so their chat costs no round trip. */
function rememberNoTicket(deps: BotDeps, channelId: string): void {
  if (Date.now() - createdAt(channelId) > 5 * 60_000) deps.nonTicketChannels.set(channelId, true);
}

/** What the one transaction of a new message found and did. */
type Read =
  | { kind: 'none' | 'ours' | 'needs_account' }
  | { kind: 'closed'; ticket: DiscordTicket; staff: Actor | null }
  | { kind: 'recorded'; created: boolean };

function isOurs(deps: BotDeps, m: Pick<Message, 'author' | 'webhookId' | 'applicationId'>): boolean {
  const me = deps.client.user?.id;
  if (m.author && m.author.id === me) return true;
  // Our channel webhooks post staff replies and messages from the panel, email and the game.
  return (
    !!m.webhookId &&
    (m.applicationId === deps.client.application?.id ||
      m.applicationId === me ||
      deps.isOurWebhook(m.webhookId))
  );
}

/**
 * Mirrors a message written in a ticket's thread, post or channel: the requester as the player,
 * mapped staff as themselves, anyone else as a player too. The bot's own posts and our webhook
 * posts are skipped (they were recorded where they were written), so nothing loops.
 */
export async function onMessageCreate(deps: BotDeps, m: OmitPartialGroupDMChannel<Message>): Promise<void> {
  if (!m.guildId || m.system || (m.type !== MessageType.Default && m.type !== MessageType.Reply)) return;
  // Read now: `m.member` is looked up in the bounded member cache, which other messages in a busy
  // guild may have evicted it from by the time the awaits below return.
  const member = m.member;
  if (isOurs(deps, m)) return void synced.inc({ event: 'create', outcome: 'ours' });
  const orgId = await orgFor(deps, m.guildId);
  // Mirrored channels first: they are old channels without a ticket, which the check after skips.
  if (orgId && (await onMirroredMessage(deps, orgId, m))) return;
  if (!orgId || deps.nonTicketChannels.get(m.channelId)) return;
  const guildId = m.guildId;
  const person: DiscordPerson = {
    id: m.author.id,
    username: m.author.username,
    globalName: m.author.globalName,
    avatar: m.author.avatar,
    roleIds: member ? [...member.roles.cache.keys()] : [],
  };
  const fromPerson = !m.webhookId && !m.author.bot;
  const attachments = [...m.attachments.values()].slice(0, 10).map((a) => ({
    filename: a.name.slice(0, 255),
    contentType: a.contentType ?? 'application/octet-stream',
    sizeBytes: a.size,
    url: a.url,
  }));
  // Someone other than the ticket's player (anyone can write in a public forum post) is recorded
  // as a participant: their message never answers a close request, and reopens a pending or
  // solved ticket only when staff added them to it with /ticket add (db/participants.ts).
  const record = async (tx: Tx, ticket: DiscordTicket, staff: Actor | null) =>
    recordDiscordMessage(
      tx,
      {
        ticketId: ticket.id,
        messageId: m.id,
        body: m.content.slice(0, 16_000),
        attachments,
        ...(fromPerson && !staff && m.author.id !== ticket.requesterDiscordId ? { participant: true } : {}),
      },
      fromPerson ? (staff ?? (await discordPlayer(tx, person))) : SYSTEM,
    );
  // The ticket, the writer's standing and the message in one transaction: the ticket and the
  // standing in one round trip, then the write.
  const read = () =>
    withTenant(deps.pool, orgId, async (tx): Promise<Read> => {
      const standing = await readDiscordStanding(tx, guildId, person.id, person.roleIds, m.channelId);
      const ticket = standing.ticketHere;
      if (!ticket) return { kind: 'none' };
      if (m.webhookId && ticket.discordWebhookId === m.webhookId) return { kind: 'ours' };
      let staff: Actor | null = null;
      if (m.author.id !== ticket.requesterDiscordId && fromPerson) {
        const caller = await callerFromStanding(tx, guildId, standing, person.roleIds, false, !!member);
        if (!caller) return { kind: 'needs_account' };
        if (caller.userId && caller.access.permissions.size > 0) {
          staff = { type: 'user', id: caller.userId, requestId: randomUUID() };
          staffActive(deps, orgId, caller.userId);
        }
      }
      // A closed ticket's message is answered after the commit (a Discord post), below.
      if (ticket.status === 'closed' && fromPerson) return { kind: 'closed', ticket, staff };
      return { kind: 'recorded', created: (await record(tx, ticket, staff)).created };
    });
  let r: Read;
  try {
    r = await read();
    if (r.kind === 'needs_account') {
      await upsertDiscordUser(deps.pool, {
        discordUserId: person.id,
        username: person.username,
        globalName: person.globalName,
        avatar: person.avatar,
      });
      r = await read();
    }
  } catch (err) {
    if (isAppError(err) && err.code === 'invalid_transition') {
      // A message in a closed ticket's channel (e.g. staff before the lock): kept on Discord only.
      synced.inc({ event: 'create', outcome: 'closed' });
      return;
    }
    throw err;
  }
  if (r.kind === 'none') return rememberNoTicket(deps, m.channelId);
  if (r.kind === 'ours') return void synced.inc({ event: 'create', outcome: 'ours' });
  if (r.kind === 'recorded')
    return void synced.inc({ event: 'create', outcome: r.created ? 'recorded' : 'duplicate' });
  if (r.kind !== 'closed')
    throw new Error('the writer of a message was not found after their account was made');
  const { ticket, staff } = r;
  // Nothing written in a closed ticket is dropped silently: the player reopens it within the
  // guild's window (the workers then unlock the thread); anyone else is told what to do.
  const reopened =
    !staff &&
    m.author.id === ticket.requesterDiscordId &&
    (await withTenant(deps.pool, orgId, async (tx) => {
      const guild = await guildForSettings(tx, guildId);
      const hours = guild.settings.reopenWindowHours ?? DEFAULT_LIMITS.reopenWindowHours;
      if (!hours || !(await withinReopenWindow(tx, ticket.id, hours))) return false;
      await reopen(tx, ticket.id, SYSTEM);
      return record(tx, ticket, staff);
    }));
  if (reopened) return void synced.inc({ event: 'create', outcome: 'recorded' });
  // A message event carries no locale: the player is answered in the server's language.
  const locale = pickLocale(m.guild?.preferredLocale);
  await postMessage(deps.client.rest, m.channelId, {
    content: staff
      ? `Ticket #${ticket.number} is closed, so this message is not part of it. Reopen it with \`/ticket reopen\` first.`
      : `<@${m.author.id}> ${say(locale, 'ticket.closedNotice', { number: ticket.number })}`,
    components: staff ? [] : newTicketRow(ticket.categoryId, locale),
    allowed_mentions: { users: staff ? [] : [m.author.id] },
    message_reference: { message_id: m.id, fail_if_not_exists: false },
  });
  synced.inc({ event: 'create', outcome: 'closed' });
}

export async function onMessageUpdate(
  deps: BotDeps,
  m: OmitPartialGroupDMChannel<Message | PartialMessage>,
): Promise<void> {
  if (!m.guildId || m.content === null || m.content === undefined) return;
  if (m.author && isOurs(deps, m as Message)) return;
  const orgId = await orgFor(deps, m.guildId);
  if (!orgId || (await onMirroredEdit(deps, orgId, m))) return;
  const content = m.content;
  if (deps.nonTicketChannels.get(m.channelId)) return;
  const changed = await withTenant(deps.pool, orgId, async (tx) => {
    const ticket = await ticketForChannel(tx, m.channelId);
    if (!ticket) return false;
    const actor: Actor =
      m.author && m.author.id === ticket.requesterDiscordId
        ? await discordPlayer(tx, {
            id: m.author.id,
            username: m.author.username,
            globalName: m.author.globalName,
          })
        : SYSTEM;
    return recordDiscordEdit(tx, { messageId: m.id, body: content.slice(0, 16_000) }, actor);
  });
  synced.inc({ event: 'update', outcome: changed ? 'recorded' : 'skipped' });
}

export async function onMessageDelete(
  deps: BotDeps,
  m: { id: string; guildId: string | null; channelId: string },
): Promise<void> {
  const orgId = await orgFor(deps, m.guildId);
  if (!orgId || (await onMirroredDelete(deps, orgId, m))) return;
  if (deps.nonTicketChannels.get(m.channelId)) return;
  const changed = await withTenant(deps.pool, orgId, async (tx) => {
    const ticket = await ticketForChannel(tx, m.channelId);
    if (!ticket) return false;
    return recordDiscordDelete(tx, m.id, SYSTEM);
  });
  synced.inc({ event: 'delete', outcome: changed ? 'recorded' : 'skipped' });
}

/**
 * A ticket's thread, post or channel deleted on Discord (by a moderator, or with its parent):
 * the ticket keeps its conversation, and its history says the Discord side is gone. Read from
 * the raw dispatch, since the lean cache may no longer hold the channel.
 */
export async function onChannelDeleted(deps: BotDeps, d: { id: string; guild_id?: string }): Promise<void> {
  const orgId = await orgFor(deps, d.guild_id ?? null);
  if (!orgId) return;
  await withTenant(deps.pool, orgId, (tx) => recordDiscordChannelDeleted(tx, d.id, SYSTEM));
}
