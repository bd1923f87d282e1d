import { Errors, type RestReply } from './context.js';
import type { Channel, DiscordState } from './state.js';

/**
 * Permissions computed the way Discord does (docs: topics/permissions), for the bot's REST calls
 * and for what interactions carry (`app_permissions`, the member's `permissions`).
 */

export const Perm = {
  Administrator: 1n << 3n,
  ManageChannels: 1n << 4n,
  AddReactions: 1n << 6n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  SendTTSMessages: 1n << 12n,
  ManageMessages: 1n << 13n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  MentionEveryone: 1n << 17n,
  ManageRoles: 1n << 28n,
  ManageWebhooks: 1n << 29n,
  ManageThreads: 1n << 34n,
  CreatePublicThreads: 1n << 35n,
  CreatePrivateThreads: 1n << 36n,
  SendMessagesInThreads: 1n << 38n,
} as const;

export const ALL = (1n << 51n) - 1n;

export interface Overwrite {
  id: string;
  type: number;
  allow: string;
  deny: string;
}

/** Guild level: @everyone's bits OR the member's roles; the owner and Administrator get all. */
export function basePermissions(state: DiscordState, guildId: string, userId: string): bigint {
  const guild = state.guilds.get(guildId);
  const member = guild?.members.get(userId);
  if (!guild || !member) return 0n;
  if (guild.owner_id === userId) return ALL;
  let perms = BigInt(guild.roles.get(guildId)?.permissions ?? '0');
  for (const r of member.roles) perms |= BigInt(guild.roles.get(r)?.permissions ?? '0');
  return perms & Perm.Administrator ? ALL : perms;
}

/**
 * Channel level: @everyone's overwrite, then the member's roles' overwrites together (deny, then
 * allow), then the member's own. No View Channel means nothing else; without Send Messages the
 * message-related permissions go too. A thread takes its parent's permissions, with Send Messages
 * in Threads standing for Send Messages; a private thread is out of reach for who neither joined
 * it nor has Manage Threads.
 */
export function channelPermissions(state: DiscordState, channel: Channel, userId: string): bigint {
  if (channel.thread_metadata) {
    const parent = channel.parent_id ? state.channels.get(channel.parent_id) : undefined;
    if (!parent) return 0n;
    const perms = channelPermissions(state, parent, userId);
    if (
      channel.type === 12 &&
      !(perms & Perm.ManageThreads) &&
      !state.threadMembers.get(channel.id)?.has(userId)
    )
      return 0n;
    return perms;
  }
  if (isAdmin(state, channel.guild_id, userId)) return ALL;
  const base = basePermissions(state, channel.guild_id, userId);
  const member = state.guilds.get(channel.guild_id)?.members.get(userId);
  if (!member) return 0n;
  const overwrites = channel.permission_overwrites as Overwrite[];
  let perms = base;
  const everyone = overwrites.find((o) => o.id === channel.guild_id);
  if (everyone) perms = (perms & ~BigInt(everyone.deny)) | BigInt(everyone.allow);
  let allow = 0n;
  let deny = 0n;
  for (const o of overwrites) {
    if (o.type === 0 && o.id !== channel.guild_id && member.roles.includes(o.id)) {
      allow |= BigInt(o.allow);
      deny |= BigInt(o.deny);
    }
  }
  perms = (perms & ~deny) | allow;
  const own = overwrites.find((o) => o.type === 1 && o.id === userId);
  if (own) perms = (perms & ~BigInt(own.deny)) | BigInt(own.allow);
  if (!(perms & Perm.ViewChannel)) return 0n;
  if (!(perms & Perm.SendMessages) && channel.type !== 4 && channel.type !== 15)
    perms &= ~(Perm.MentionEveryone | Perm.SendTTSMessages | Perm.AttachFiles | Perm.EmbedLinks);
  return perms;
}

function isAdmin(state: DiscordState, guildId: string, userId: string): boolean {
  const guild = state.guilds.get(guildId);
  if (!guild) return false;
  if (guild.owner_id === userId) return true;
  const roles = [guildId, ...(guild.members.get(userId)?.roles ?? [])];
  return roles.some((r) => BigInt(guild.roles.get(r)?.permissions ?? '0') & Perm.Administrator);
}

/** Whether the member can post in this channel: Send Messages, or in Threads inside a thread. */
export function sendBit(channel: Channel): bigint {
  return channel.thread_metadata ? Perm.SendMessagesInThreads : Perm.SendMessages;
}

/**
 * The bot's check before a channel route: 50001 Missing Access when it cannot see the channel,
 * 50013 Missing Permissions when it lacks any of `needed` there, else null.
 */
export function requireBot(state: DiscordState, channel: Channel, needed: bigint): RestReply | null {
  if (!channel.guild_id) return null;
  const perms = channelPermissions(state, channel, state.botUser.id);
  if (!(perms & Perm.ViewChannel)) return Errors.missingAccess();
  return (perms & needed) === needed ? null : Errors.missingPermissions();
}

/** The same at guild level (creating channels, member roles). */
export function requireBotInGuild(state: DiscordState, guildId: string, needed: bigint): RestReply | null {
  const perms = basePermissions(state, guildId, state.botUser.id);
  return (perms & needed) === needed ? null : Errors.missingPermissions();
}

/**
 * Overwrites the bot sets: it needs Manage Roles, and may only allow or deny permissions it holds
 * itself where the overwrite applies (unless an overwrite there gives it Manage Roles); Manage
 * Roles itself only an administrator may put in an overwrite.
 */
export function checkOverwriteBits(
  state: DiscordState,
  guildId: string,
  held: bigint,
  overwrites: { allow?: string | null; deny?: string | null }[],
  explicitManageRoles: boolean,
): RestReply | null {
  if (held === ALL) return null;
  if (!(held & Perm.ManageRoles)) return Errors.missingPermissions();
  for (const o of overwrites) {
    const b = BigInt(o.allow ?? '0') | BigInt(o.deny ?? '0');
    if (b & Perm.ManageRoles && !isAdmin(state, guildId, state.botUser.id))
      return Errors.missingPermissions();
    if (!explicitManageRoles && (b & ~held) !== 0n) return Errors.missingPermissions();
  }
  return null;
}

/** Whether an overwrite in the channel itself allows the bot (or one of its roles) Manage Roles. */
export function hasExplicitManageRoles(state: DiscordState, channel: Channel): boolean {
  const roles = state.guilds.get(channel.guild_id)?.members.get(state.botUser.id)?.roles ?? [];
  return (channel.permission_overwrites as Overwrite[]).some(
    (o) => (o.id === state.botUser.id || roles.includes(o.id)) && (BigInt(o.allow) & Perm.ManageRoles) !== 0n,
  );
}
