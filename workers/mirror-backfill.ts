import { DiscordAPIError } from '@discordjs/rest';
import { type APIChannel, type APIMessage, type APIThreadChannel, MessageType, Routes } from 'discord.js';
import { getMirror, recordBackfill, threadConversation } from '../db/discord-mirrors.js';
import { ticketForChannel } from '../db/discord-sync.js';
import { type MirrorAuthor, mirrorAuthor, recordMirroredMessage } from '../db/mirror-messages.js';
import { withTenant } from '../db/tenant.js';
import { getMessage, type RequestExtras } from '../lib/discord/rest.js';
import { isAppError } from '../lib/errors.js';
import { counter } from '../lib/metrics.js';
import type { WorkerDeps } from './deps.js';
import type { JobData } from './jobs.js';

/**
 * `discord.mirror_backfill`: when a channel starts being mirrored (or staff ask again), its last
 * 100 messages are copied into its conversation, oldest first, each once (a replay, or messages
 * the bot recorded meanwhile, add nothing), and so are its threads' (active, and the 10 most
 * recently archived public ones) into theirs. One page of Discord's message list each, queued by
 * the shared REST client within Discord's rate limits like any other request.
 *
 * Discord lists no messages, rather than refusing, to a bot without Read Message History; the
 * newest message is asked for first, which Discord does refuse, so a mirror the bot cannot read is
 * recorded as refused with what to give it, not as an empty channel.
 */

const BACKFILL = 100;
/** Messages people write (and replies); joins, pins and other notices are not conversation. */
const KEPT = new Set<number>([MessageType.Default, MessageType.Reply]);

const runs = counter('gamemod_mirror_backfills_total', 'Backfills of mirrored Discord channels', ['outcome']);

const code = (err: unknown) => (err instanceof DiscordAPIError ? Number(err.code) : undefined);

export function refusalText(discordChannelId: string): string {
  return `GameMod's bot cannot read <#${discordChannelId}>: it needs View Channel and Read Message History there. A server admin can give them to its role or in the channel's permissions; then press Try again next to the mirror in the panel's Discord settings.`;
}

export async function backfillMirror(
  deps: WorkerDeps,
  data: JobData<'discord.mirror_backfill'>,
): Promise<void> {
  const rest = deps.discord;
  if (!rest) return void runs.inc({ outcome: 'no_discord' });
  const mirror = await withTenant(deps.pool, data.orgId, (tx) => getMirror(tx, data.mirrorId)).catch(
    (err) => {
      if (isAppError(err) && err.code === 'not_found') return null;
      throw err;
    },
  );
  // Removed before its backfill ran: nothing to fill.
  if (!mirror) return void runs.inc({ outcome: 'gone' });
  const x: RequestExtras = deps.shutdown ? { signal: deps.shutdown } : {};
  const id = mirror.discordChannelId;
  let page: APIMessage[];
  try {
    const channel = (await rest.get(Routes.channel(id), x)) as APIChannel & {
      last_message_id?: string | null;
    };
    if (channel.last_message_id) {
      await getMessage(rest, id, channel.last_message_id, x).catch((err: unknown) => {
        // The newest message deleted since: Discord still let the bot ask, which is the point.
        if (code(err) !== 10008) throw err;
      });
    }
    page = (await rest.get(Routes.channelMessages(id), {
      query: new URLSearchParams({ limit: String(BACKFILL) }),
      ...x,
    })) as APIMessage[];
  } catch (err) {
    const c = code(err);
    if (c === 50001 || c === 50013 || c === 10003) {
      const problem =
        c === 10003
          ? `The Discord channel ${id} no longer exists (or is in another server).`
          : refusalText(id);
      await withTenant(deps.pool, data.orgId, (tx) =>
        recordBackfill(tx, mirror.id, { state: 'refused', problem }),
      );
      return void runs.inc({ outcome: 'refused' });
    }
    throw err;
  }
  let created = await copyPage(deps, data.orgId, mirror, mirror.channelId, page);
  // Then its threads, each into its own conversation as when it speaks: the active ones the bot
  // can see (private ones too, as the live mirror records them) and the most recently archived
  // public ones, one page of each. One it can't read is left to fill as it speaks.
  for (const thread of await threadsOf(rest, mirror.guildId, id, x)) {
    const messages = (await rest
      .get(Routes.channelMessages(thread.id), {
        query: new URLSearchParams({ limit: String(BACKFILL) }),
        ...x,
      })
      .catch((err: unknown) => {
        if (code(err) === 50001 || code(err) === 50013 || code(err) === 10003) return [];
        throw err;
      })) as APIMessage[];
    if (!messages.length) continue;
    // A ticket's thread (a forum post, or a private thread under a mirrored support channel) is
    // the ticket's conversation already.
    const conversation = await withTenant(deps.pool, data.orgId, async (tx) =>
      (await ticketForChannel(tx, thread.id))
        ? null
        : threadConversation(tx, mirror.id, { id: thread.id, name: thread.name ?? 'thread' }),
    );
    if (conversation) created += await copyPage(deps, data.orgId, mirror, conversation, messages);
  }
  await withTenant(deps.pool, data.orgId, (tx) =>
    recordBackfill(tx, mirror.id, { state: 'done', count: created }),
  );
  runs.inc({ outcome: 'done' });
  deps.logger.info({ mirrorId: mirror.id, read: page.length, created }, 'mirrored channel backfilled');
}

/** Archived public threads walked per backfill, the most recently archived first. */
const ARCHIVED_THREADS = 10;

/** The channel's active threads, then its most recently archived public ones. */
async function threadsOf(
  rest: NonNullable<WorkerDeps['discord']>,
  guildId: string,
  channelId: string,
  x: RequestExtras,
): Promise<APIThreadChannel[]> {
  const active = (await rest.get(Routes.guildActiveThreads(guildId), x)) as { threads: APIThreadChannel[] };
  const archived = (await rest
    .get(Routes.channelThreads(channelId, 'public'), {
      query: new URLSearchParams({ limit: String(ARCHIVED_THREADS) }),
      ...x,
    })
    .catch((err: unknown) => {
      // Listing archived threads needs Read Message History, which the channel page proved; a
      // forum or a channel type without threads answers with an error, and has none to copy.
      if (code(err) === 50001 || code(err) === 50013 || code(err) === 50024) return { threads: [] };
      throw err;
    })) as { threads: APIThreadChannel[] };
  return [...active.threads.filter((t) => t.parent_id === channelId), ...archived.threads];
}

/** One page of Discord messages (newest first) into a conversation, oldest first, each once. */
async function copyPage(
  deps: WorkerDeps,
  orgId: string,
  mirror: { id: string; guildId: string },
  conversation: string,
  page: APIMessage[],
): Promise<number> {
  const messages = page.filter((m) => KEPT.has(m.type)).reverse();
  return withTenant(deps.pool, orgId, async (tx) => {
    let n = 0;
    for (const m of messages) {
      const author: MirrorAuthor =
        m.webhook_id || m.author.bot
          ? { type: 'bot' }
          : // Roles are unknown here (a listed message carries no member), so an account is never needed.
            ((await mirrorAuthor(tx, mirror.guildId, {
              id: m.author.id,
              username: m.author.username,
              globalName: m.author.global_name ?? null,
              roleIds: [],
            })) ?? { type: 'bot' });
      const r = await recordMirroredMessage(
        tx,
        {
          channelId: conversation,
          messageId: m.id,
          body:
            m.content ||
            m.embeds.map((e) => [e.title, e.description].filter(Boolean).join('\n')).join('\n\n'),
          attachments: m.attachments.slice(0, 10).map((a) => ({
            filename: a.filename.slice(0, 255),
            contentType: a.content_type ?? 'application/octet-stream',
            sizeBytes: a.size,
            url: a.url,
          })),
          createdAt: m.timestamp,
        },
        author,
      );
      if (r.created) n++;
    }
    return n;
  });
}
