import {
  type APIChannel,
  type APIMessage,
  type APIWebhook,
  type AutocompleteInteraction,
  ChannelType,
  type Client,
  DiscordAPIError,
  GuildMember,
  OverwriteType,
  PermissionFlagsBits,
  Routes,
} from 'discord.js';
import type { DiscordPerson } from './auth.js';
import type { BotDeps } from './context.js';
import type { RepliableInteraction } from './handler.js';

/**
 * The REST calls the bot makes, by id rather than through discord.js's caches (which are kept
 * lean on purpose). Moderation calls carry a reason, sent as `X-Audit-Log-Reason`.
 */

import type { MessageBody } from '../lib/discord/rest.js';

export type { MessageBody };

const rest = (client: Client) => client.rest;

export function personOf(i: RepliableInteraction | AutocompleteInteraction): DiscordPerson {
  const m = i.member;
  const roleIds = !m ? [] : m instanceof GuildMember ? [...m.roles.cache.keys()] : m.roles;
  return {
    id: i.user.id,
    username: i.user.username,
    globalName: i.user.globalName,
    avatar: i.user.avatar,
    roleIds,
    // A DM interaction (a button on a closing DM) carries no member, so no roles either.
    rolesKnown: !!m,
    discordPermissions: i.memberPermissions?.bitfield ?? null,
  };
}

/**
 * Where a thread-mode ticket goes when no support channel is set: the channel the interaction
 * came from, or its parent when that is itself a thread (threads cannot hold threads).
 */
export function threadParentOr(i: RepliableInteraction): string {
  const c = i.channel;
  return c?.isThread() ? (c.parentId ?? i.channelId ?? '') : (i.channelId ?? '');
}

export async function createPrivateThread(client: Client, channelId: string, name: string, reason: string) {
  return (await rest(client).post(Routes.threads(channelId), {
    body: { name, type: ChannelType.PrivateThread, invitable: false, auto_archive_duration: 10080 },
    reason,
  })) as APIChannel;
}

export async function createForumPost(
  client: Client,
  forumId: string,
  name: string,
  message: MessageBody,
  reason: string,
  appliedTags: readonly string[] = [],
) {
  return (await rest(client).post(Routes.threads(forumId), {
    body: {
      name,
      auto_archive_duration: 10080,
      message,
      ...(appliedTags.length ? { applied_tags: appliedTags } : {}),
    },
    reason,
  })) as APIChannel & { message?: APIMessage };
}

/**
 * The tag a forum post gets: the category's configured tag while the forum still has it, else
 * the forum's tag named like the category (its natural default), else none. Read from the
 * forum as the gateway gave it; without it cached, the configured tag is sent as is.
 */
export function forumTagsFor(
  client: Client,
  forumId: string,
  configured: string | undefined,
  categoryName: string | undefined,
): string[] {
  const forum = client.channels.cache.get(forumId);
  const tags = forum && 'availableTags' in forum ? forum.availableTags : null;
  if (!tags) return configured ? [configured] : [];
  if (configured && tags.some((t) => t.id === configured)) return [configured];
  const named = categoryName
    ? tags.find((t) => t.name.toLowerCase() === categoryName.trim().toLowerCase())
    : undefined;
  return named ? [named.id] : [];
}

const VIEW =
  PermissionFlagsBits.ViewChannel | PermissionFlagsBits.SendMessages | PermissionFlagsBits.ReadMessageHistory;
const ATTACH = PermissionFlagsBits.AttachFiles | PermissionFlagsBits.EmbedLinks;

/**
 * A dedicated ticket channel: hidden from @everyone, open to the player, the staff roles and the
 * bot. Tries each channel category in turn, since Discord holds at most 50 channels in one.
 */
export async function createTicketChannel(
  client: Client,
  guildId: string,
  name: string,
  categoryIds: readonly string[],
  playerId: string,
  staffRoleIds: readonly string[],
  reason: string,
  staffUserIds: readonly string[] = [],
) {
  const overwrites = [
    { id: guildId, type: OverwriteType.Role, allow: '0', deny: String(PermissionFlagsBits.ViewChannel) },
    { id: playerId, type: OverwriteType.Member, allow: String(VIEW | ATTACH), deny: '0' },
    {
      id: client.user?.id ?? '',
      type: OverwriteType.Member,
      allow: String(VIEW | ATTACH | PermissionFlagsBits.ManageChannels),
      deny: '0',
    },
    ...staffRoleIds.map((r) => ({
      id: r,
      type: OverwriteType.Role,
      allow: String(VIEW | ATTACH),
      deny: '0',
    })),
    ...staffUserIds.map((u) => ({
      id: u,
      type: OverwriteType.Member,
      allow: String(VIEW | ATTACH),
      deny: '0',
    })),
  ].filter((o) => o.id);
  let lastError: unknown;
  for (const parent of categoryIds.length ? categoryIds : [null]) {
    try {
      return (await rest(client).post(Routes.guildChannels(guildId), {
        body: { name, type: ChannelType.GuildText, parent_id: parent, permission_overwrites: overwrites },
        reason,
      })) as APIChannel;
    } catch (err) {
      lastError = err;
      if (
        !(
          err instanceof DiscordAPIError &&
          err.code === 50035 &&
          /parent_id|MAX_CHANNELS/.test(JSON.stringify(err.rawError))
        )
      )
        throw err;
    }
  }
  throw lastError;
}

export async function deleteChannel(client: Client, channelId: string, reason: string): Promise<void> {
  await rest(client).delete(Routes.channel(channelId), { reason });
}

export async function removeThreadMember(client: Client, threadId: string, userId: string, reason: string) {
  await rest(client).delete(Routes.threadMembers(threadId, userId), { reason });
}

export async function deleteMessage(client: Client, channelId: string, messageId: string): Promise<void> {
  await rest(client).delete(Routes.channelMessage(channelId, messageId));
}

export async function getChannel(client: Client, channelId: string) {
  return (await rest(client).get(Routes.channel(channelId))) as APIChannel & { parent_id?: string | null };
}

/**
 * The channel webhook the bot posts staff replies through (staff name and avatar), one per
 * parent channel, found again after a restart by listing the channel's webhooks.
 */
export async function ensureWebhook(
  deps: BotDeps,
  channelId: string,
): Promise<{ id: string; token: string }> {
  const cached = deps.webhooks.get(channelId);
  if (cached) return cached;
  const appId = deps.client.application?.id ?? deps.client.user?.id;
  const list = (await rest(deps.client).get(Routes.channelWebhooks(channelId))) as APIWebhook[];
  const mine = list.find(
    (w) => w.token && (w.application_id === appId || w.user?.id === deps.client.user?.id),
  );
  const hook =
    mine ??
    ((await rest(deps.client).post(Routes.channelWebhooks(channelId), {
      body: { name: 'GameMod Support' },
      reason: 'GameMod: post staff replies under the staff member’s name',
    })) as APIWebhook);
  const found = { id: hook.id, token: hook.token as string };
  deps.webhooks.set(channelId, found);
  return found;
}

export async function executeWebhook(
  client: Client,
  hook: { id: string; token: string },
  body: MessageBody & { username?: string; avatar_url?: string },
  threadId?: string,
) {
  const query = new URLSearchParams({ wait: 'true' });
  if (threadId) query.set('thread_id', threadId);
  return (await rest(client).post(Routes.webhook(hook.id, hook.token), {
    body,
    query,
    auth: false,
  })) as APIMessage;
}
