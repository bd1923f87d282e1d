// @ts-check
import { api } from './api.js';

/**
 * The conversations list's data: the org's conversations other than tickets as the API lists
 * them, grouped for the page (conversations.js), and their names in words.
 * @typedef {{ id: string, kind: 'ticket' | 'player_dm' | 'staff_room' | 'discord_mirror', name: string | null,
 *   playerId: string | null, ticketId: string | null, lastMessageAt: string | null, unread: number,
 *   archivedAt: string | null, mirrorId: string | null, threadOf: string | null,
 *   discordChannelId?: string }} Channel
 * @typedef {{ channel: Channel, threads: Channel[], parent: Channel | null }} Entry
 *   A conversation in the list, with its threads under it; `parent` names the channel of a
 *   thread shown on its own (its channel is in another group or not listed).
 * @typedef {{ key: string, title: string, note?: string, entries: Entry[] }} Group
 */

const KINDS = /** @type {const} */ (['discord_mirror', 'staff_room', 'player_dm']);

/**
 * The org's conversations other than tickets (mirrored Discord channels and their threads, staff
 * rooms, player DMs). The mirrors list (`guilds.manage`) only names an unnamed mirrored channel by
 * its Discord id; without it such a channel is "Unnamed Discord channel".
 * @param {string} orgId
 * @returns {Promise<Channel[]>}
 */
export async function loadChannels(orgId) {
  const base = `/v1/orgs/${orgId}`;
  const [lists, discordIds] = await Promise.all([
    Promise.all(
      KINDS.map(
        async (kind) =>
          /** @type {{ channels: Channel[] }} */ (await api('GET', `${base}/channels?kind=${kind}&limit=200`))
            .channels,
      ),
    ),
    api('GET', `${base}/discord-mirrors`).then(
      (r) =>
        new Map(
          /** @type {{ channelId: string, discordChannelId: string }[]} */ (r.mirrors).map((m) => [
            m.channelId,
            m.discordChannelId,
          ]),
        ),
      () => new Map(),
    ),
  ]);
  return lists
    .flat()
    .map((c) => (c.name || !discordIds.has(c.id) ? c : { ...c, discordChannelId: discordIds.get(c.id) }));
}

/**
 * The list's groups: mirrored Discord channels each with its threads under it, staff rooms,
 * player DMs, and last what is no longer fed (a removed mirror's channel and threads), still
 * readable.
 * @param {Channel[]} channels
 * @returns {Group[]}
 */
export function groupsOf(channels) {
  const byId = new Map(channels.map((c) => [c.id, c]));
  /**
   * @param {string} key
   * @param {string} title
   * @param {Channel[]} members
   * @param {string} [note]
   * @returns {Group}
   */
  const group = (key, title, members, note) => {
    const here = new Set(members.map((c) => c.id));
    /** @type {Map<string, Channel[]>} */
    const threads = new Map();
    for (const c of members)
      if (c.threadOf && here.has(c.threadOf))
        threads.set(c.threadOf, [...(threads.get(c.threadOf) ?? []), c]);
    const entries = members
      .filter((c) => !(c.threadOf && here.has(c.threadOf)))
      .map((c) => ({
        channel: c,
        threads: threads.get(c.id) ?? [],
        parent: c.threadOf ? (byId.get(c.threadOf) ?? null) : null,
      }));
    return { key, title, entries, ...(note ? { note } : {}) };
  };
  const current = channels.filter((c) => !c.archivedAt);
  const groups = [
    group(
      'mirrors',
      'Mirrored Discord channels',
      current.filter((c) => c.kind === 'discord_mirror'),
    ),
    group(
      'rooms',
      'Staff rooms',
      current.filter((c) => c.kind === 'staff_room'),
    ),
    group(
      'dms',
      'Player DMs',
      current.filter((c) => c.kind === 'player_dm'),
    ),
    group(
      'archived',
      'No longer mirrored',
      channels.filter((c) => c.archivedAt),
      'Nothing new arrives in these; what was copied stays readable.',
    ),
  ];
  return groups.filter((g) => g.entries.length);
}

/** @param {Omit<Channel, 'unread'>} c */
export function channelTitle(c) {
  if (c.name) return c.kind === 'discord_mirror' ? `#${c.name}` : c.name;
  if (c.discordChannelId) return `Discord channel ${c.discordChannelId}`;
  if (c.kind === 'discord_mirror') return c.threadOf ? 'Unnamed thread' : 'Unnamed Discord channel';
  return c.kind === 'player_dm' ? 'Player DM' : 'Unnamed conversation';
}

/**
 * "thread of #patch-notes": what a thread is, in words, when its channel is known.
 * @param {Channel | null | undefined} parent
 */
export const threadOfWords = (parent) =>
  parent ? `thread of ${channelTitle(parent)}` : 'thread of a mirrored channel';
