import { PermissionFlagsBits as P } from 'discord.js';
import type { Locale } from '../lib/i18n/locales.js';
import { CATALOGS, type MessageKey, t } from '../lib/i18n/messages.js';

/**
 * The Discord permissions the bot asks for when it is invited, each with the reason it is needed.
 * This is the one list: the invite link's integer (docs/discord-app.md), `/setup`'s checks and
 * the fake Discord the tests run against (the bot's managed role holds exactly these) all come
 * from it. Never Administrator.
 */
export const REQUIRED_PERMISSIONS = [
  { flag: P.ViewChannel, name: 'View Channels', why: 'see the support channels, forums and ticket threads' },
  {
    flag: P.SendMessages,
    name: 'Send Messages',
    why: 'panels, dedicated ticket channels, transcripts and alerts; creating a forum post is sending a message',
  },
  {
    flag: P.SendMessagesInThreads,
    name: 'Send Messages in Threads',
    why: 'the summary and notices in ticket threads and forum posts, and adding the player to a thread',
  },
  { flag: P.CreatePrivateThreads, name: 'Create Private Threads', why: 'thread-mode tickets' },
  {
    flag: P.CreatePublicThreads,
    name: 'Create Public Threads',
    why: 'denied to the player in a closed dedicated channel: a bot can only deny what it holds',
  },
  {
    flag: P.ManageThreads,
    name: 'Manage Threads',
    why: 'lock, archive, reopen and rename ticket threads and forum posts; remove members from them',
  },
  { flag: P.ManageChannels, name: 'Manage Channels', why: 'create and delete dedicated ticket channels' },
  {
    flag: P.ManageRoles,
    name: 'Manage Roles',
    why: 'the permission overwrites of dedicated ticket channels (who sees them, who writes while a claim locks one, read-only after a close)',
  },
  {
    flag: P.ManageWebhooks,
    name: 'Manage Webhooks',
    why: 'the channel webhook staff replies are posted through',
  },
  { flag: P.EmbedLinks, name: 'Embed Links', why: 'the ticket summary and the panel are embeds' },
  { flag: P.AttachFiles, name: 'Attach Files', why: 'transcripts are posted as files' },
  {
    flag: P.ReadMessageHistory,
    name: 'Read Message History',
    why: 'read the summary back to refresh it, a ticket’s messages for its transcript, and the last 100 messages of a channel you mirror into the inbox',
  },
  {
    flag: P.AddReactions,
    name: 'Add Reactions',
    why: 'denied to the player in a closed dedicated channel: a bot can only deny what it holds',
  },
  {
    flag: P.MentionEveryone,
    name: 'Mention @everyone, @here and All Roles',
    why: 'the summary pings the staff roles, which are rarely mentionable; in a private thread that ping is what brings them in',
  },
] as const;

/** Every required permission together. */
export const BOT_PERMISSIONS: bigint = REQUIRED_PERMISSIONS.reduce((all, p) => all | p.flag, 0n);

/** The `permissions=` value of the invite link. */
export const INVITE_PERMISSIONS: string = BOT_PERMISSIONS.toString();

const VIEW_SEND = P.ViewChannel | P.SendMessages | P.EmbedLinks | P.AttachFiles;

/**
 * What each place the bot works in needs, checked by `/setup` where it is configured. Channel mode
 * includes every permission the bot puts in the ticket channel's overwrites, since Discord refuses
 * an overwrite that allows or denies a permission the bot does not hold itself.
 */
export const PLACE_PERMISSIONS = {
  /** A text channel private ticket threads are made in. */
  thread:
    P.ViewChannel |
    P.CreatePrivateThreads |
    P.SendMessagesInThreads |
    P.ManageThreads |
    P.ManageWebhooks |
    P.EmbedLinks |
    P.AttachFiles |
    P.ReadMessageHistory |
    P.MentionEveryone,
  /** A forum ticket posts are made in. */
  forum:
    P.ViewChannel |
    P.SendMessages |
    P.SendMessagesInThreads |
    P.ManageThreads |
    P.ManageWebhooks |
    P.EmbedLinks |
    P.AttachFiles |
    P.ReadMessageHistory |
    P.MentionEveryone,
  /** A channel category dedicated ticket channels are made in. */
  channel:
    VIEW_SEND |
    P.ManageChannels |
    P.ManageRoles |
    P.ManageWebhooks |
    P.ReadMessageHistory |
    P.MentionEveryone |
    P.AddReactions |
    P.CreatePublicThreads |
    P.CreatePrivateThreads |
    P.SendMessagesInThreads,
  /** The transcript and alert channels. */
  post: VIEW_SEND,
} as const;

export type Place = keyof typeof PLACE_PERMISSIONS;

// Permissions the bot never asks for, named when a route would need one anyway.
const EXTRA_NAMES = new Map<bigint, string>([[P.ManageMessages, 'Manage Messages']]);

/** The names of the permissions of `needed` that `have` lacks, in the list's order. */
export function missingPermissions(have: bigint, needed: bigint): string[] {
  if (have & P.Administrator) return [];
  const lacking = needed & ~have;
  const out = REQUIRED_PERMISSIONS.filter((p) => lacking & p.flag).map((p) => p.name as string);
  const listed = REQUIRED_PERMISSIONS.reduce((all, p) => all | p.flag, 0n);
  for (let bit = 1n; bit <= lacking; bit <<= 1n)
    if (lacking & bit & ~listed) out.push(EXTRA_NAMES.get(bit) ?? `permission ${bit}`);
  return out;
}

/**
 * `**A**, **B** and **C**`, each permission as Discord's client names it in that language (the
 * catalogs' `permission.<English name>`); one the catalogs lack keeps its English name.
 */
export function namesList(names: readonly string[], locale: Locale = 'en-US'): string {
  const bold = names.map((n) => {
    const key = `permission.${n}`;
    return `**${key in CATALOGS['en-US'].messages ? t(locale, key as MessageKey) : n}**`;
  });
  return bold.length <= 1
    ? (bold[0] ?? '')
    : t(locale, 'list.and', { rest: bold.slice(0, -1).join(', '), last: bold.at(-1) ?? '' });
}

/** The list as a message param: rendered in whichever language the message is shown in. */
export const namesParam =
  (names: readonly string[]) =>
  (locale: Locale): string =>
    namesList(names, locale);
