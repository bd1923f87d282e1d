import { createHash, randomUUID } from 'node:crypto';
import { DiscordAPIError, RateLimitError, type REST } from '@discordjs/rest';
import { Routes } from 'discord.js';
import { type PendingOpening, pendingOpening, recordOpeningStep } from '../db/discord-ticket-openings.js';
import {
  claimTicketSide,
  noticePosted,
  recordNotice,
  recordTicketSide,
  releaseTicketSide,
  type SyncEvent,
  syncEvent,
  type TicketForSync,
  ticketForSync,
} from '../db/discord-ticket-sides.js';
import { withTenant } from '../db/tenant.js';
import { transcriptLines } from '../db/transcripts.js';
import {
  actionRows,
  ratingLinkRow,
  ratingRows,
  summaryParts,
  transcriptRow,
} from '../lib/discord/components.js';
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
  setMemberAccess,
} from '../lib/discord/rest.js';
import { renderTranscript } from '../lib/discord/transcript.js';
import { pickLocale } from '../lib/i18n/locales.js';
import { t as say } from '../lib/i18n/messages.js';
import { counter } from '../lib/metrics.js';
import { syncClaimLock } from './claim-locks.js';
import { syncCloseRequest } from './close-requests.js';
import type { WorkerDeps } from './deps.js';
import { type JobData, jobIds } from './jobs.js';
import { permanentError } from './queues.js';

/**
 * `discord.ticket_sync`: brings a ticket's Discord side to the ticket's current state, whatever
 * changed it (the bot's own buttons, the panel, the API, auto-close, SLA escalation, a merge).
 * It reads the ticket now, not the event, so jobs arriving late or out of order all converge,
 * and it records each step it takes (`db/discord-ticket-sides.ts`), so a replay is a no-op:
 *
 * - first, an opening the bot could not finish (Discord failed after the ticket was recorded, or
 *   the bot stopped): the summary posted, the team added, the channel webhook made
 *   (`lib/discord/opening.ts`, the bot's own steps); a `ticket.created` job does only this;
 * - open: the thread unlocked and unarchived (or the player's write access back), a notice once;
 * - the summary message edited in place when its title, footer or buttons would change;
 * - the thread or channel renamed after the subject once staff renamed the ticket;
 * - closed, in this order because a locked, archived thread's messages can no longer be edited
 *   and its buttons no longer pressed: the summary, the transcript (stored, and posted to the
 *   transcript channel once per close), the closing message (in a thread with a link to the
 *   web rating page, the star buttons by DM; in a channel with the buttons), and last the lock
 *   and archive (the player read-only in channel mode).
 */

const synced = counter('gamemod_discord_ticket_syncs_total', 'Ticket Discord-side syncs', ['outcome']);

/** Retrying cannot help: the bot was locked out of the channel. */
const PERMANENT = new Map<number, string>([
  [50001, 'the bot has no access to the ticket’s Discord channel'],
  [50013, 'the bot lacks a permission it needs in the ticket’s Discord channel'],
]);
/** The channel or thread is gone (the bot records the deletion itself): nothing left to sync. */
const GONE = new Set([10003, 10004]);
const UNKNOWN_MESSAGE = 10008;
/** The player takes no DMs from the bot (or shares no server with it any more). */
const CANNOT_MESSAGE_USER = 50007;
/** A run's claim on a ticket: longer than a sync with a transcript upload takes. */
const CLAIM_SECONDS = 120;

const code = (err: unknown) => (err instanceof DiscordAPIError ? Number(err.code) : undefined);

/** Discord's nonce is at most 25 characters: enough of the ticket id plus what makes it unique. */
const nonce = (ticketId: string, tag: string, at: Date) =>
  `${tag}${ticketId.replace(/-/g, '').slice(0, 12)}${at.getTime().toString(36)}`.slice(0, 25);

export async function syncTicket(deps: WorkerDeps, data: JobData<'discord.ticket_sync'>): Promise<void> {
  const rest = deps.discord;
  if (!rest) return;
  const seen = await withTenant(deps.pool, data.orgId, (tx) => ticketForSync(tx, data.ticketId));
  if (!seen?.ticket.discordChannelId) return;
  const claim = randomUUID();
  const claimed = await withTenant(deps.pool, data.orgId, (tx) =>
    claimTicketSide(tx, data.ticketId, claim, CLAIM_SECONDS),
  );
  // Another job of this ticket is talking to Discord: this one runs after it (backoff), reads
  // the state then, and finds little or nothing left to do.
  if (!claimed) throw new Error('another run is syncing this ticket; retrying');
  try {
    const s = await withTenant(deps.pool, data.orgId, (tx) => ticketForSync(tx, data.ticketId));
    if (s?.ticket.discordChannelId) await converge(deps, rest, data, s, claim);
    synced.inc({ outcome: 'ok' });
  } catch (err) {
    const c = code(err);
    if (c !== undefined && GONE.has(c)) {
      synced.inc({ outcome: 'gone' });
      deps.logger.info({ ticketId: data.ticketId, code: c }, 'the ticket’s Discord channel is gone');
      return;
    }
    if (err instanceof RateLimitError) {
      // A long rate limit (Discord allows two channel renames per 10 minutes) is not waited out
      // here, holding a worker and the claim: the sync comes back when the limit has lifted.
      synced.inc({ outcome: 'rate_limited' });
      const delay = Math.max(err.retryAfter, err.timeToReset) + 1_000;
      await deps.queues.enqueue('discord.ticket_sync', data, {
        jobId: jobIds.ticketSyncLater(data.ticketId, Date.now() + delay),
        delay,
      });
      return;
    }
    const why = c !== undefined ? PERMANENT.get(c) : undefined;
    synced.inc({ outcome: why ? 'permanent_failure' : 'error' });
    if (why) throw permanentError(why);
    throw err;
  } finally {
    await withTenant(deps.pool, data.orgId, (tx) => releaseTicketSide(tx, data.ticketId, claim)).catch(
      () => {},
    );
  }
}

async function converge(
  deps: WorkerDeps,
  rest: REST,
  data: JobData<'discord.ticket_sync'>,
  seen: TicketForSync,
  claim: string,
): Promise<void> {
  let s = seen;
  const x: RequestExtras = deps.shutdown ? { signal: deps.shutdown } : {};
  const opening = await withTenant(deps.pool, data.orgId, (tx) => pendingOpening(tx, s.ticket.id));
  if (opening) {
    const summaryId = await finishOpeningLater(deps, rest, data.orgId, s, opening, claim, x);
    s = { ...s, ticket: { ...s.ticket, discordSummaryMessageId: summaryId } };
  }
  if (data.openingOnly) return;
  const t = s.ticket;
  const channelId = t.discordChannelId as string;
  const record = (patch: Parameters<typeof recordTicketSide>[3]) =>
    withTenant(deps.pool, data.orgId, (tx) => recordTicketSide(tx, t.id, claim, patch));
  const side = { ...s.side };

  if (t.status !== 'closed') {
    const event = await withTenant(deps.pool, data.orgId, (tx) => syncEvent(tx, data.outboxId));
    if (side.appliedState === 'closed') {
      const reason = `GameMod: ticket #${t.number} reopened${event?.actorName ? ` by ${event.actorName}` : ''}`;
      // Unlock before anything else: nothing can be posted or edited in a locked, archived thread.
      if (t.discordMode === 'channel') {
        if (t.requesterDiscordId)
          await setMemberAccess(rest, channelId, t.requesterDiscordId, true, reason, x);
      } else {
        await modifyChannel(rest, channelId, { archived: false, locked: false }, reason, x);
      }
      await record({ appliedState: 'open' });
      const posted = await withTenant(deps.pool, data.orgId, (tx) =>
        noticePosted(tx, data.outboxId, channelId),
      );
      if (!posted) {
        const m = await postMessage(
          rest,
          channelId,
          {
            content: `Ticket reopened${event?.type === 'ticket.reopened' && event.actorName ? ` by ${event.actorName}` : ''}.`,
            allowed_mentions: { parse: [] },
            nonce: nonce(t.id, 'ro', new Date(data.outboxId)),
            enforce_nonce: true,
          },
          x,
        );
        await withTenant(deps.pool, data.orgId, (tx) => recordNotice(tx, data.outboxId, channelId, m.id));
      }
    }
    // Before the summary: whoever waits for the summary to show the claim sees the notice too.
    if (event?.assigneeDiscordId && event.assigneeId === t.assigneeId)
      await assignmentNotice(deps, rest, data, t, event, x);
    await syncClaimLock(deps, rest, data.orgId, t, claim, x);
    await syncCloseRequest(deps, rest, data.orgId, t, true, x);
    await syncSummary(rest, s, side.summaryHash, record, x);
    await syncName(rest, s, record, x);
    return;
  }

  const closedAt = s.closedAt ?? new Date(0);
  if (side.closedCycle?.getTime() !== closedAt.getTime()) {
    // A new close (the first, or one after a reopen): its transcript and closing message are due.
    await record({ closedCycle: closedAt });
    side.transcriptDone = false;
    side.transcriptMessageId = null;
    side.ratingPromptMessageId = null;
    side.ratingDm = null;
  }
  const locked = side.appliedState === 'closed';
  if (!locked) await syncSummary(rest, s, side.summaryHash, record, x);
  // A locked, archived thread can't be renamed: the name is settled before the lock, unless
  // Discord's rename limit would hold the close up (the closed ticket keeps its old name then).
  if (!locked) {
    await syncName(rest, s, record, x).catch((err: unknown) => {
      if (!(err instanceof RateLimitError)) throw err;
    });
  }
  // The answered (or timed-out) close request says so before the thread locks.
  await syncCloseRequest(deps, rest, data.orgId, t, !locked, x);
  if (!side.transcriptDone) {
    const messageId = await postTranscript(deps, data.orgId, rest, s, closedAt, x);
    await record({ transcriptDone: true, ...(messageId ? { transcriptMessageId: messageId } : {}) });
  }
  if (locked) return;
  // Only the player who opened it rates a ticket, once, and not one merged into another.
  const rateable = t.rating === null && !!t.requesterDiscordId && !s.mergedIntoNumber;
  // Discord disables ordinary buttons in a locked thread: there the closing message carries a
  // link to the web rating page, and the star and Transcript buttons go by DM. A dedicated
  // channel is not locked (the player is left read-only), so its closing message keeps them.
  const inThread = t.discordMode !== 'channel';
  // In the player's language (the ticket's, else their profile's), since they are who it is for.
  const locale = pickLocale(s.locale);
  if (!side.ratingPromptMessageId) {
    const closed = s.mergedIntoNumber
      ? say(locale, 'closing.threadMerged', { target: s.mergedIntoNumber })
      : s.closeReason
        ? say(locale, 'closing.threadReason', { reason: s.closeReason })
        : say(locale, 'closing.thread');
    const link =
      rateable && inThread && deps.ticketPages ? deps.ticketPages.rating.url(data.orgId, t.id) : null;
    const m = await postMessage(
      rest,
      channelId,
      {
        content:
          `${t.requesterDiscordId ? `<@${t.requesterDiscordId}> ` : ''}${closed}${rateable ? ` ${say(locale, 'closing.ratePrompt')}` : ''}`.slice(
            0,
            2000,
          ),
        components: inThread
          ? link
            ? ratingLinkRow(link, locale)
            : []
          : [
              ...(rateable ? ratingRows(t.id) : []),
              ...(t.requesterDiscordId ? transcriptRow(t.id, undefined, locale) : []),
            ],
        allowed_mentions: { users: t.requesterDiscordId ? [t.requesterDiscordId] : [] },
        nonce: nonce(t.id, 'cl', closedAt),
        enforce_nonce: true,
      },
      x,
    );
    await record({ ratingPromptMessageId: m.id });
  }
  if (t.requesterDiscordId && !s.mergedIntoNumber && inThread && !side.ratingDm) {
    await record({ ratingDm: await sendClosingDm(rest, s, rateable, closedAt, x) });
  }
  const reason = `GameMod: ticket #${t.number} closed by ${s.closedBy ?? 'GameMod'}`.slice(0, 512);
  if (t.discordMode === 'channel') {
    // Read-only rather than removed: the player still reads the conversation and the rating.
    if (t.requesterDiscordId) await setMemberAccess(rest, channelId, t.requesterDiscordId, 'read', reason, x);
  } else {
    await modifyChannel(rest, channelId, { locked: true, archived: true }, reason, x);
  }
  await record({ appliedState: 'closed' });
}

/**
 * The player's DM on a close: the star buttons (when the ticket is still to be rated) and the
 * Transcript button, which stay pressable there; `refused` when the player takes no DMs from the
 * bot (50007).
 */
async function sendClosingDm(
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
async function assignmentNotice(
  deps: WorkerDeps,
  rest: REST,
  data: JobData<'discord.ticket_sync'>,
  t: TicketForSync['ticket'],
  event: SyncEvent,
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
        content: `<@${discordId}> is taking care of this ticket.`,
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
function finishOpeningLater(
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
async function syncSummary(
  rest: REST,
  s: TicketForSync,
  lastHash: string | null,
  record: (patch: { summaryHash: string }) => Promise<void>,
  x: RequestExtras,
): Promise<void> {
  const t = s.ticket;
  if (!t.discordChannelId || !t.discordSummaryMessageId) return;
  const parts = summaryParts(t);
  const closed = t.status === 'closed';
  const hash = createHash('sha256')
    .update(JSON.stringify([parts, closed, t.discordSummaryMessageId]))
    .digest('base64url');
  if (hash === lastHash) return;
  try {
    const current = await getMessage(rest, t.discordChannelId, t.discordSummaryMessageId, x);
    const [embed, ...others] = (current.embeds ?? []) as Record<string, unknown>[];
    if (embed) {
      await editMessage(
        rest,
        t.discordChannelId,
        t.discordSummaryMessageId,
        {
          embeds: [{ ...embed, title: parts.title, footer: { text: parts.footer } }, ...others],
          components: closed ? [] : actionRows(t.id),
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

/** Renames the thread or channel after the subject, once per subject, after a staff rename. */
async function syncName(
  rest: REST,
  s: TicketForSync,
  record: (patch: { namedSubject: string }) => Promise<void>,
  x: RequestExtras,
): Promise<void> {
  const t = s.ticket;
  if (!s.renamed || s.side.namedSubject === t.subject) return;
  const reason = `GameMod: ticket #${t.number} renamed${s.renamed.by ? ` by ${s.renamed.by}` : ''}`;
  await modifyChannel(
    rest,
    t.discordChannelId as string,
    { name: renamedTicketName(t.discordMode ?? 'thread', t.number, t.subject) },
    reason.slice(0, 512),
    x,
  );
  await record({ namedSubject: t.subject });
}

/**
 * Stores the transcript and posts it to the guild's transcript channel: the log of closed
 * tickets. Returns the post's id (null without a transcript channel).
 */
async function postTranscript(
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
  const html = Buffer.from(renderTranscript(t, lines, s.closeReason, { liveUrl: url }));
  if (deps.storage) {
    await deps.storage.put(`orgs/${orgId}/transcripts/${t.id}.html`, html, {
      contentType: 'text/html; charset=utf-8',
      contentLength: html.length,
    });
  }
  if (!s.transcriptChannelId) return null;
  const by = s.closedBy ? ` by ${s.closedBy}` : ' automatically';
  const m = await postFile(
    rest,
    s.transcriptChannelId,
    {
      content:
        `Ticket #${t.number} · ${t.subject}\nClosed${by}${s.closeReason ? `: ${s.closeReason}` : ''}${url ? `\nTranscript: ${url}` : ''}`.slice(
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
  return m.id;
}
