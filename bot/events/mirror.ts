import type { Message, OmitPartialGroupDMChannel, PartialMessage } from 'discord.js';
import { mirroredChannels, threadConversation } from '../../db/discord-mirrors.js';
import { ticketForChannel } from '../../db/discord-sync.js';
import {
  type MirrorAuthor,
  mirrorAuthor,
  recordMirrorDelete,
  recordMirrorEdit,
  recordMirroredMessage,
} from '../../db/mirror-messages.js';
import { withTenant } from '../../db/tenant.js';
import { upsertDiscordUser } from '../../db/users.js';
import { counter } from '../../lib/metrics.js';
import type { BotDeps } from '../context.js';

/**
 * Channels an org mirrors into the inbox (db/discord-mirrors.ts): their messages, edits, deletes,
 * files and threads are recorded read-only. Nothing here posts to Discord or opens a ticket.
 */

const mirrored = counter('gamemod_bot_messages_mirrored_total', 'Messages seen in mirrored channels', [
  'event',
  'outcome',
]);

export interface MirrorTarget {
  mirrorId: string;
  guildId: string;
  /** The conversation of the mirrored channel itself. */
  channelId: string;
  /** Set when the message is in a thread of the mirrored channel. */
  thread?: { id: string; name: string };
}

/** The mirror a Discord channel (or thread, through its parent) belongs to, from a short-lived cache. */
export async function mirrorTarget(
  deps: BotDeps,
  orgId: string,
  channelId: string,
): Promise<MirrorTarget | null> {
  let map = deps.mirrors.get(orgId);
  if (!map) {
    map = await withTenant(deps.pool, orgId, (tx) => mirroredChannels(tx));
    deps.mirrors.set(orgId, map);
  }
  if (map.size === 0) return null;
  const own = map.get(channelId);
  if (own) return own;
  // Threads are in discord.js's cache (the lean settings keep every channel and thread).
  const channel = deps.client.channels.cache.get(channelId);
  if (!channel?.isThread() || !channel.parentId) return null;
  const parent = map.get(channel.parentId);
  if (!parent) return null;
  // A ticket's thread under a mirrored channel (a private thread of a mirrored support channel, a
  // post of a mirrored forum) belongs to its ticket: the ticket path records it, not the mirror.
  if (await withTenant(deps.pool, orgId, (tx) => ticketForChannel(tx, channelId))) return null;
  return { ...parent, thread: { id: channel.id, name: channel.name } };
}

/** What a message says: its text, else its embeds' titles and descriptions (announcements). */
function bodyOf(m: Pick<Message, 'content' | 'embeds'>): string {
  if (m.content?.trim()) return m.content.slice(0, 16_000);
  return m.embeds
    .map((e) => [e.title, e.description].filter(Boolean).join('\n'))
    .filter(Boolean)
    .join('\n\n')
    .slice(0, 16_000);
}

/** Records a message written in a mirrored channel or its threads. Returns false when the channel is not mirrored. */
export async function onMirroredMessage(
  deps: BotDeps,
  orgId: string,
  m: OmitPartialGroupDMChannel<Message>,
): Promise<boolean> {
  const target = await mirrorTarget(deps, orgId, m.channelId);
  if (!target) return false;
  const member = m.member;
  const attachments = [...m.attachments.values()].slice(0, 10).map((a) => ({
    filename: a.name.slice(0, 255),
    contentType: a.contentType ?? 'application/octet-stream',
    sizeBytes: a.size,
    url: a.url,
  }));
  const person = {
    id: m.author.id,
    username: m.author.username,
    globalName: m.author.globalName,
    roleIds: member ? [...member.roles.cache.keys()] : [],
  };
  const record = () =>
    withTenant(deps.pool, orgId, async (tx) => {
      const author: MirrorAuthor | null =
        m.webhookId || m.author.bot ? { type: 'bot' } : await mirrorAuthor(tx, target.guildId, person);
      if (!author) return null;
      const channelId = target.thread
        ? await threadConversation(tx, target.mirrorId, target.thread)
        : target.channelId;
      return recordMirroredMessage(tx, { channelId, messageId: m.id, body: bodyOf(m), attachments }, author);
    });
  let r = await record();
  if (!r) {
    await upsertDiscordUser(deps.pool, {
      discordUserId: person.id,
      username: person.username,
      globalName: person.globalName,
      avatar: m.author.avatar,
    });
    r = await record();
  }
  const created = r?.created ?? false;
  mirrored.inc({ event: 'create', outcome: created ? 'recorded' : 'duplicate' });
  return true;
}

export async function onMirroredEdit(
  deps: BotDeps,
  orgId: string,
  m: OmitPartialGroupDMChannel<Message | PartialMessage>,
): Promise<boolean> {
  if (!(await mirrorTarget(deps, orgId, m.channelId))) return false;
  const body = bodyOf({ content: m.content ?? '', embeds: m.embeds ?? [] });
  const changed = await withTenant(deps.pool, orgId, (tx) => recordMirrorEdit(tx, m.id, body));
  mirrored.inc({ event: 'update', outcome: changed ? 'recorded' : 'skipped' });
  return true;
}

export async function onMirroredDelete(
  deps: BotDeps,
  orgId: string,
  m: { id: string; channelId: string },
): Promise<boolean> {
  if (!(await mirrorTarget(deps, orgId, m.channelId))) return false;
  const changed = await withTenant(deps.pool, orgId, (tx) => recordMirrorDelete(tx, m.id));
  mirrored.inc({ event: 'delete', outcome: changed ? 'recorded' : 'skipped' });
  return true;
}
