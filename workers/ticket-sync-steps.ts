import { createHash } from 'node:crypto';
import { DiscordAPIError, type REST } from '@discordjs/rest';
import { Routes } from 'discord.js';
import { type PendingOpening, recordOpeningStep } from '../db/discord-ticket-openings.js';
import {
  noticePosted,
  recordNotice,
  type SyncEvent,
  type TicketForSync,
} from '../db/discord-ticket-sides.js';
import { withTenant } from '../db/tenant.js';
import { recordTranscript, transcriptStorageKey } from '../db/ticket-transcripts.js';
import { transcriptLines } from '../db/transcripts.js';
import { actionRows, ratingRows, summaryParts, transcriptRow } from '../lib/discord/components.js';
import { renamedTicketName } from '../lib/discord/names.js';
import { finishOpening } from '../lib/discord/opening.js';
import {
  addThreadMember,
  editMessage,
  ensureChannelWebhook,
  getMessage,
  type MessageBody,
  modifyChannel,
  openDm,
  postFile,
  postMessage,
  type RequestExtras,
} from '../lib/discord/rest.js';
import { renderTranscript } from '../lib/discord/transcript.js';
import type { Locale } from '../lib/i18n/locales.js';
import { pickLocale } from '../lib/i18n/locales.js';
import { t as say } from '../lib/i18n/messages.js';
import type { WorkerDeps } from './deps.js';
import { guildLocale } from './guild-locale.js';
import type { JobData } from './jobs.js';

/**
 * The steps `discord.ticket_sync` takes on Discord, one function each (`ticket-sync.ts` decides
 * which are due and in what order, and records them): finishing an opening the bot left undone,
 * the assignment notice, the summary edit, the rename, the stored and posted transcript, the
 * closing DM. Each is safe to repeat: its caller records it, and posts carry a nonce.
 */

const UNKNOWN_MESSAGE = 10008;
/** The player takes no DMs from the bot (or shares no server with it any more). */
const CANNOT_MESSAGE_USER = 50007;

export const code = (err: unknown) => (err instanceof DiscordAPIError ? Number(err.code) : undefined);

/** Discord's nonce is at most 25 characters: enough of the ticket id plus what makes it unique. */
export const nonce = (ticketId: string, tag: string, at: Date) =>
  `${tag}${ticketId.replace(/-/g, '').slice(0, 12)}${at.getTime().toString(36)}`.slice(0, 25);

/**
 * The player's DM on a close: the star buttons (when the ticket is still to be rated) and the
 * Transcript button, which stay pressable there; `refused` when the player takes no DMs from the
 * bot (50007).
 */
export async function sendClosingDm(
  rest: REST,
  s: TicketForSync,
  rateable: boolean,
  closedAt: Date,
  x: RequestExtras,
): Promise<'sent' | 'refused'> {
  const t = s.ticket;
  const locale = pickLocale(s.locale);
  try {
    const dm = await openDm(rest, t.requesterDiscordId as string, x);
    await postMessage(
      rest,
      dm.id,
      {
        content:
          `${say(locale, 'closing.dm', { number: t.number, subject: t.subject })}${rateable ? ` ${say(locale, 'closing.ratePrompt')}` : ''}`.slice(
            0,
            2000,
          ),
        components: [
          ...(rateable ? ratingRows(t.id, t.discordGuildId ?? undefined) : []),
          ...transcriptRow(t.id, t.discordGuildId ?? undefined, locale),
        ],
        allowed_mentions: { parse: [] },
        nonce: nonce(t.id, 'dm', closedAt),
        enforce_nonce: true,
      },
      x,
    );
    return 'sent';
  } catch (err) {
    if (code(err) === CANNOT_MESSAGE_USER) return 'refused';
    throw err;
  }
}

/**
 * After an assignment, once per outbox event: a claim is announced in the thread; someone
 * assigned by another is brought into the thread (in channel mode staff roles already see it).
 */
export async function assignmentNotice(
  deps: WorkerDeps,
  rest: REST,
  data: JobData<'discord.ticket_sync'>,
  t: TicketForSync['ticket'],
  event: SyncEvent,
  locale: Locale,
  x: RequestExtras,
): Promise<void> {
  const channelId = t.discordChannelId as string;
  const discordId = event.assigneeDiscordId as string;
  if (await withTenant(deps.pool, data.orgId, (tx) => noticePosted(tx, data.outboxId, channelId))) return;
  let messageId: string | null = null;
  if (event.actorType === 'user' && event.actorId === event.assigneeId) {
    const m = await postMessage(
      rest,
      channelId,
      {
        content: say(locale, 'sync.claimed', { user: discordId }),
        allowed_mentions: { parse: [] },
        nonce: nonce(t.id, 'as', new Date(data.outboxId)),
        enforce_nonce: true,
      },
      x,
    );
    messageId = m.id;
  } else if (t.discordMode !== 'channel') {
    const reason = `GameMod: ticket #${t.number} assigned${event.actorName ? ` by ${event.actorName}` : ''}`;
    await addThreadMember(rest, channelId, discordId, reason.slice(0, 512), x);
  }
  await withTenant(deps.pool, data.orgId, (tx) => recordNotice(tx, data.outboxId, channelId, messageId));
}

/** The bot's own opening steps, finished here under this run's claim; returns the summary's id. */
export function finishOpeningLater(
  deps: WorkerDeps,
  rest: REST,
  orgId: string,
  s: TicketForSync,
  opening: PendingOpening,
  claim: string,
  x: RequestExtras,
): Promise<string> {
  const t = s.ticket;
  return finishOpening(
    rest,
    {
      ...opening,
      summary: opening.summary as MessageBody,
      channelId: t.discordChannelId as string,
      mode: t.discordMode ?? 'thread',
    },
    {
      record: async (step) => {
        const ok = await withTenant(deps.pool, orgId, (tx) =>
          recordOpeningStep(tx, t.id, claim, {
            summaryMessageId: step.summaryMessageId,
            teamAdded: step.teamAdded,
            webhookDone: step.webhookDone,
            // The token is a credential: stored sealed, opened by discord.message to post.
            ...(step.webhook
              ? { webhookId: step.webhook.id, webhookToken: deps.box.seal(step.webhook.token) }
              : {}),
          }),
        );
        if (!ok) throw new Error('lost the claim on the ticket’s Discord side');
      },
      webhook: async (channelId) =>
        ensureChannelWebhook(rest, channelId, { userId: await botUserId(rest, x) }, x),
      warn: (err, what) => deps.logger.warn({ err, ticketId: t.id }, what),
    },
    x,
  );
}

const botUsers = new WeakMap<REST, string>();

/** The bot's user id (the owner of the channel webhooks it made), asked once per client. */
async function botUserId(rest: REST, x: RequestExtras): Promise<string> {
  const known = botUsers.get(rest);
  if (known) return known;
  const me = (await rest.get(Routes.user('@me'), x)) as { id: string };
  botUsers.set(rest, me.id);
  return me.id;
}

/** Edits the summary in place when what it shows would change; never twice for one state. */
export async function syncSummary(
  rest: REST,
  s: TicketForSync,
  lastHash: string | null,
  record: (patch: { summaryHash: string }) => Promise<void>,
  x: RequestExtras,
): Promise<void> {
  const t = s.ticket;
  if (!t.discordChannelId || !t.discordSummaryMessageId) return;
  const closed = t.status === 'closed';
  // Of what the summary shows, not its words: the server's language is asked of Discord only
  // when there is something to redraw.
  const shown = [t.number, t.subject, t.priority, t.status, t.assigneeName];
  const hash = createHash('sha256')
    .update(JSON.stringify([shown, closed, t.discordSummaryMessageId]))
    .digest('base64url');
  if (hash === lastHash) return;
  try {
    const locale = await guildLocale(rest, t.discordGuildId, x);
    const parts = summaryParts(t, locale);
    const current = await getMessage(rest, t.discordChannelId, t.discordSummaryMessageId, x);
    const [embed, ...others] = (current.embeds ?? []) as Record<string, unknown>[];
    if (embed) {
      await editMessage(
        rest,
        t.discordChannelId,
        t.discordSummaryMessageId,
        {
          embeds: [{ ...embed, title: parts.title, footer: { text: parts.footer } }, ...others],
          components: closed ? [] : actionRows(t.id, locale),
        },
        x,
      );
    }
  } catch (err) {
    // Someone deleted the summary: the rest of the ticket's Discord side still follows.
    if (code(err) !== UNKNOWN_MESSAGE) throw err;
  }
  await record({ summaryHash: hash });
}

/**
 * Renames the thread or channel after the subject, once per subject, after a staff rename or a
 * player's erasure (the subject no longer names them; the opening name did). `locked`: the
 * ticket's thread is locked and archived, which Discord renames only with its unarchiving, so
 * it is unarchived for the rename and locked again at once; only an erasure goes that far.
 */
export async function syncName(
  rest: REST,
  s: TicketForSync,
  record: (patch: { namedSubject: string }) => Promise<void>,
  x: RequestExtras,
  locked = false,
): Promise<void> {
  const t = s.ticket;
  if ((!s.renamed && !s.erased) || s.side.namedSubject === t.subject) return;
  if (locked && !s.erased) return;
  const reason = s.erased
    ? `GameMod: ticket #${t.number} renamed, a player's data was erased`
    : `GameMod: ticket #${t.number} renamed${s.renamed?.by ? ` by ${s.renamed.by}` : ''}`;
  const channelId = t.discordChannelId as string;
  const name = renamedTicketName(t.discordMode ?? 'thread', t.number, t.subject);
  if (locked && t.discordMode !== 'channel') {
    await modifyChannel(rest, channelId, { name, archived: false }, reason.slice(0, 512), x);
    await modifyChannel(rest, channelId, { archived: true, locked: true }, reason.slice(0, 512), x);
  } else {
    await modifyChannel(rest, channelId, { name }, reason.slice(0, 512), x);
  }
  await record({ namedSubject: t.subject });
}

/**
 * Stores the transcript and posts it to the guild's transcript channel: the log of closed
 * tickets. Returns the post's id (null without a transcript channel).
 */
export async function postTranscript(
  deps: WorkerDeps,
  orgId: string,
  rest: REST,
  s: TicketForSync,
  closedAt: Date,
  x: RequestExtras,
): Promise<string | null> {
  const t = s.ticket;
  const lines = await withTenant(deps.pool, orgId, (tx) => transcriptLines(tx, t.id));
  // The copy is a snapshot: its files are listed by name, and the link leads to the live page
  // (staff sign-in), which links the stored copies of attachments with fresh signed links.
  const url = deps.ticketPages?.staffTranscriptUrl(orgId, t.id) ?? null;
  // The copy and the transcript channel are staff's: the server's language.
  const locale = await guildLocale(rest, t.discordGuildId, x);
  const html = Buffer.from(
    renderTranscript(t, lines, s.closeReason, {
      liveUrl: url,
      locale,
      closed: s.closedAt ? { at: s.closedAt, by: s.closedBy } : null,
    }),
  );
  if (deps.storage) {
    // Each copy is recorded (db/ticket-transcripts.ts) so an erasure or retention can find it.
    const storageKey = transcriptStorageKey(orgId, t.id);
    await withTenant(deps.pool, orgId, (tx) => recordTranscript(tx, t.id, { storageKey, post: null }));
    await deps.storage.put(storageKey, html, {
      contentType: 'text/html; charset=utf-8',
      contentLength: html.length,
    });
  }
  if (!s.transcriptChannelId) return null;
  const reason: Record<string, string> = s.closeReason ? { reason: s.closeReason } : {};
  const closed = s.closedBy
    ? say(locale, s.closeReason ? 'transcript.closedByReason' : 'transcript.closedBy', {
        name: s.closedBy,
        ...reason,
      })
    : say(locale, s.closeReason ? 'transcript.closedAutoReason' : 'transcript.closedAuto', reason);
  const m = await postFile(
    rest,
    s.transcriptChannelId,
    {
      content:
        `Ticket #${t.number} · ${t.subject}\n${closed}${url ? `\n${say(locale, 'transcript.link', { url })}` : ''}`.slice(
          0,
          2000,
        ),
      allowed_mentions: { parse: [] },
      nonce: nonce(t.id, 'tr', closedAt),
      enforce_nonce: true,
    },
    { name: `ticket-${t.number}.html`, data: html, contentType: 'text/html' },
    x,
  );
  const post = { channelId: s.transcriptChannelId, messageId: m.id };
  await withTenant(deps.pool, orgId, (tx) => recordTranscript(tx, t.id, { storageKey: null, post }));
  return m.id;
}
