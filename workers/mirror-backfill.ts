import { DiscordAPIError } from '@discordjs/rest';
import { type APIChannel, type APIMessage, MessageType, Routes } from 'discord.js';
import { getMirror, recordBackfill } from '../db/discord-mirrors.js';
import { type MirrorAuthor, mirrorAuthor, recordMirroredMessage } from '../db/mirror-messages.js';
import { withTenant } from '../db/tenant.js';
import { getMessage, type RequestExtras } from '../lib/discord/rest.js';
import { isAppError } from '../lib/errors.js';
import { counter } from '../lib/metrics.js';
import type { WorkerDeps } from './deps.js';
import type { JobData } from './jobs.js';

/**
 * `discord.mirror_backfill`: when a channel starts being mirrored, its last 100 messages are
 * copied into its conversation, oldest first, each once (a replay, or messages the bot recorded
 * meanwhile, add nothing). One page of Discord's message list: a single request, which the
 * shared REST client queues within Discord's rate limits like any other.
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
  return `GameMod's bot cannot read <#${discordChannelId}>: it needs View Channel and Read Message History there. A server admin can give them to its role or in the channel's permissions; then remove the mirror and add it again.`;
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
  const messages = page.filter((m) => KEPT.has(m.type)).reverse();
  const created = await withTenant(deps.pool, data.orgId, async (tx) => {
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
          // Threads are not walked: a thread's conversation fills as it speaks.
          channelId: mirror.channelId,
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
    await recordBackfill(tx, mirror.id, { state: 'done', count: n });
    return n;
  });
  runs.inc({ outcome: 'done' });
  deps.logger.info({ mirrorId: mirror.id, read: page.length, created }, 'mirrored channel backfilled');
}
