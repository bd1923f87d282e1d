import {
  type APIChannel,
  type Client,
  DiscordAPIError,
  type GuildBasedChannel,
  PermissionFlagsBits as P,
  Routes,
} from 'discord.js';
import type { MessageKey } from '../lib/i18n/messages.js';
import { refuse } from '../lib/i18n/refusal.js';
import { missingPermissions, namesParam } from './permissions.js';

/**
 * Discord answers a missing permission with 50013 (or 50001 when the bot cannot see the channel)
 * and never says which one. This turns such a refusal into words an admin can act on: which
 * permissions the refused call needs, which of them the bot lacks in that channel (computed from
 * the roles and overwrites the gateway gave it), and where. A forum that requires a tag (40067)
 * gets its own explanation. Anything else is returned unchanged. The explanation is a refusal by
 * catalog key, so the asker reads it, and the permission names, in their own language.
 */
export async function explainRefusal(client: Client, err: unknown): Promise<unknown> {
  if (!(err instanceof DiscordAPIError)) return err;
  if (err.code === 40067) return refuse('bad_request', 'refusal.forumTag', {}, err);
  if (err.code !== 50013 && err.code !== 50001) return err;
  const path = new URL(err.url, 'http://discord').pathname.replace(/^\/api(\/v\d+)?/, '');
  const channelId = /^\/channels\/(\d+)/.exec(path)?.[1] ?? parentOfCreate(err);
  const channel = channelId ? await channelInfo(client, channelId) : null;
  const needed = neededFor(err, path, channel);
  const guildId = /^\/guilds\/(\d+)/.exec(path)?.[1];
  const have = channel
    ? botPermissionsIn(client, channel)
    : guildId
      ? (client.guilds.cache.get(guildId)?.members.me?.permissions.bitfield ?? null)
      : null;
  let missing = have === null ? [] : missingPermissions(have, needed);
  if (err.code === 50001 && have !== null && !(have & P.ViewChannel)) missing = ['View Channels'];
  // The words are the catalog's, shown in the asker's language by the interaction handler.
  const key: MessageKey = missing.length
    ? missing.length > 1
      ? 'refusal.missingMany'
      : 'refusal.missingOne'
    : needed
      ? err.code === 50001
        ? 'refusal.neededSee'
        : 'refusal.needed'
      : 'refusal.unknown';
  const names = namesParam(missing.length ? missing : missingPermissions(0n, needed));
  return channelId
    ? refuse('forbidden', `${key}In` as MessageKey, { names, channel: `<#${channelId}>` }, err)
    : refuse('forbidden', key, { names }, err);
}

interface ChannelInfo {
  id: string;
  type: number;
  parentId: string | null;
  isThread: boolean;
}

const THREAD_TYPES = new Set([10, 11, 12]);

/** From the cache, or asked of Discord (threads are not kept in the lean cache). */
async function channelInfo(client: Client, id: string): Promise<ChannelInfo | null> {
  const cached = client.channels.cache.get(id);
  if (cached && 'guildId' in cached) {
    return { id, type: cached.type, parentId: cached.parentId ?? null, isThread: cached.isThread() };
  }
  try {
    const c = (await client.rest.get(Routes.channel(id))) as APIChannel & { parent_id?: string | null };
    return { id, type: c.type, parentId: c.parent_id ?? null, isThread: THREAD_TYPES.has(c.type) };
  } catch {
    return null;
  }
}

/** The bot's permissions in a channel (a thread takes its parent's), or null when not cached. */
function botPermissionsIn(client: Client, channel: ChannelInfo): bigint | null {
  const id = channel.isThread ? channel.parentId : channel.id;
  const c = id ? (client.channels.cache.get(id) as GuildBasedChannel | undefined) : undefined;
  if (!c || !('permissionsFor' in c) || !client.user) return null;
  return c.permissionsFor(client.user)?.bitfield ?? null;
}

function parentOfCreate(err: DiscordAPIError): string | undefined {
  const body = (err.requestBody?.json ?? null) as { parent_id?: string | null } | null;
  return body?.parent_id ?? undefined;
}

function bits(x: unknown): bigint {
  try {
    return typeof x === 'string' || typeof x === 'number' ? BigInt(x) : 0n;
  } catch {
    return 0n;
  }
}

/** The permissions the refused route needs, as Discord documents it. */
function neededFor(err: DiscordAPIError, path: string, channel: ChannelInfo | null): bigint {
  const m = err.method.toUpperCase();
  const json = (err.requestBody?.json ?? {}) as Record<string, unknown>;
  const files = err.requestBody?.files?.length ?? 0;
  const inThread = channel?.isThread ?? false;
  const content = (j: Record<string, unknown>, n: number) =>
    (Array.isArray(j['embeds']) && j['embeds'].length ? P.EmbedLinks : 0n) | (n ? P.AttachFiles : 0n);
  const overwriteBits = (list: unknown) =>
    (Array.isArray(list) ? list : [list]).reduce<bigint>((acc, o) => {
      const ow = (o ?? {}) as { allow?: unknown; deny?: unknown };
      return acc | bits(ow.allow) | bits(ow.deny);
    }, 0n);
  const view = P.ViewChannel;
  if (/^\/guilds\/\d+\/channels$/.test(path)) {
    const ows = json['permission_overwrites'];
    return P.ManageChannels | (Array.isArray(ows) && ows.length ? P.ManageRoles | overwriteBits(ows) : 0n);
  }
  if (/^\/guilds\/\d+\/members\/\d+\/roles\/\d+$/.test(path)) return P.ManageRoles;
  if (/^\/channels\/\d+\/messages$/.test(path)) {
    if (m === 'GET') return view | P.ReadMessageHistory;
    return (
      view |
      (inThread ? P.SendMessagesInThreads : P.SendMessages) |
      content(json, files) |
      (json['message_reference'] ? P.ReadMessageHistory : 0n)
    );
  }
  if (/^\/channels\/\d+\/messages\/\d+$/.test(path)) {
    if (m === 'GET') return view | P.ReadMessageHistory;
    if (m === 'PATCH') return view | content(json, files);
    return view;
  }
  if (/^\/channels\/\d+\/threads$/.test(path)) {
    if (json['message']) {
      const message = json['message'] as Record<string, unknown>;
      return view | P.SendMessages | content(message, files);
    }
    return view | (json['type'] === 11 ? P.CreatePublicThreads : P.CreatePrivateThreads);
  }
  if (/^\/channels\/\d+\/messages\/\d+\/threads$/.test(path)) return view | P.CreatePublicThreads;
  if (/^\/channels\/\d+\/thread-members\/[^/]+$/.test(path))
    return view | (m === 'PUT' ? P.SendMessagesInThreads : P.ManageThreads);
  if (/^\/channels\/\d+\/permissions\/\d+$/.test(path))
    return view | P.ManageRoles | (m === 'PUT' ? overwriteBits(json) : 0n);
  if (/^\/channels\/\d+\/webhooks$/.test(path)) return view | P.ManageWebhooks;
  if (/^\/channels\/\d+$/.test(path)) {
    if (m === 'GET') return view;
    if (inThread) return view | P.ManageThreads;
    return view | P.ManageChannels | (json['permission_overwrites'] ? P.ManageRoles : 0n);
  }
  return 0n;
}
