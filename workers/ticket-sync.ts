import { randomUUID } from 'node:crypto';
import { RateLimitError, type REST } from '@discordjs/rest';
import { pendingOpening } from '../db/discord-ticket-openings.js';
import {
  claimTicketSide,
  noticePosted,
  recordNotice,
  recordTicketSide,
  releaseTicketSide,
  syncEvent,
  type TicketForSync,
  ticketForSync,
} from '../db/discord-ticket-sides.js';
import { withTenant } from '../db/tenant.js';
import { ratingLinkRow, ratingRows, transcriptRow } from '../lib/discord/components.js';
import { modifyChannel, postMessage, type RequestExtras, setMemberAccess } from '../lib/discord/rest.js';
import { pickLocale } from '../lib/i18n/locales.js';
import { t as say } from '../lib/i18n/messages.js';
import { counter } from '../lib/metrics.js';
import { syncClaimLock } from './claim-locks.js';
import { syncCloseRequest } from './close-requests.js';
import type { WorkerDeps } from './deps.js';
import { type JobData, jobIds } from './jobs.js';
import { permanentError } from './queues.js';
import {
  assignmentNotice,
  code,
  finishOpeningLater,
  nonce,
  postTranscript,
  sendClosingDm,
  syncName,
  syncSummary,
} from './ticket-sync-steps.js';

/**
 * `discord.ticket_sync`: brings a ticket's Discord side to the ticket's current state, whatever
 * changed it (the bot's own buttons, the panel, the API, auto-close, SLA escalation, a merge).
 * It reads the ticket now, not the event, so jobs arriving late or out of order all converge,
 * and it records each step it takes (`db/discord-ticket-sides.ts`), so a replay is a no-op (the
 * steps themselves are in `ticket-sync-steps.ts`):
 *
 * - first, an opening the bot could not finish (Discord failed after the ticket was recorded, or
 *   the bot stopped): the summary posted, the team added, the channel webhook made
 *   (`lib/discord/opening.ts`, the bot's own steps); a `ticket.created` job does only this;
 * - open: the thread unlocked and unarchived (or the player's write access back), a notice once;
 * - the summary message edited in place when its title, footer or buttons would change;
 * - the thread or channel renamed after the subject once staff renamed the ticket, or once a
 *   player it named was erased (a closed ticket's locked thread too);
 * - closed, in this order because a locked, archived thread's messages can no longer be edited
 *   and its buttons no longer pressed: the summary, the transcript (stored, and posted to the
 *   transcript channel once per close), the player's DM with the star buttons (thread and forum
 *   modes), the closing message (in a channel with the buttons; in a thread or forum post the
 *   rating link, for the player's Discord sign-in, only when the DM was refused), and last the lock and
 *   archive (the player read-only in channel mode).
 */

const synced = counter('gamemod_discord_ticket_syncs_total', 'Ticket Discord-side syncs', ['outcome']);

/** Retrying cannot help: the bot was locked out of the channel. */
const PERMANENT = new Map<number, string>([
  [50001, 'the bot has no access to the ticket’s Discord channel'],
  [50013, 'the bot lacks a permission it needs in the ticket’s Discord channel'],
]);
/** The channel or thread is gone (the bot records the deletion itself): nothing left to sync. */
const GONE = new Set([10003, 10004]);
/** A run's claim on a ticket: longer than a sync with a transcript upload takes. */
const CLAIM_SECONDS = 120;

/** `runId`: the job's id, so its next attempt takes back the claim this one could not give up. */
export async function syncTicket(
  deps: WorkerDeps,
  data: JobData<'discord.ticket_sync'>,
  runId?: string,
): Promise<void> {
  const rest = deps.discord;
  if (!rest) return;
  const seen = await withTenant(deps.pool, data.orgId, (tx) => ticketForSync(tx, data.ticketId));
  if (!seen?.ticket.discordChannelId) return;
  const claim = runId ? `job:${runId}` : randomUUID();
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

/** What a DM (modmail) ticket's close request needs: the player is asked in their DM. */
const dmSide = (s: TicketForSync) => (s.viaDm ? { orgName: s.orgName } : null);

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

  // Notices in the ticket are in the ticket's language: the opener's client language, else the
  // server's when it was opened (the workers hold no other record of the server's language).
  const locale = pickLocale(s.locale);
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
            content:
              event?.type === 'ticket.reopened' && event.actorName
                ? say(locale, 'sync.reopenedBy', { name: event.actorName })
                : say(locale, 'sync.reopened'),
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
      await assignmentNotice(deps, rest, data, t, event, locale, x);
    await syncClaimLock(deps, rest, data.orgId, t, claim, x);
    await syncCloseRequest(deps, rest, data.orgId, t, true, locale, x, dmSide(s));
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
  // An erasure renames a locked thread too (opened for the rename, locked again), and waits out
  // the rename limit rather than leave the erased player's name on it.
  await syncName(rest, s, record, x, locked).catch((err: unknown) => {
    if (!(err instanceof RateLimitError) || s.erased) throw err;
  });
  // The answered (or timed-out) close request says so before the thread locks.
  await syncCloseRequest(deps, rest, data.orgId, t, !locked, locale, x, dmSide(s));
  if (!side.transcriptDone) {
    const messageId = await postTranscript(deps, data.orgId, rest, s, closedAt, x);
    await record({ transcriptDone: true, ...(messageId ? { transcriptMessageId: messageId } : {}) });
  }
  if (locked) return;
  // Only the player who opened it rates a ticket, once, and not one merged into another.
  const rateable = t.rating === null && !!t.requesterDiscordId && !s.mergedIntoNumber;
  // Discord disables ordinary buttons in a locked thread: there the star and Transcript buttons
  // go by DM, sent first so the closing message knows whether it reached the player. A dedicated
  // channel is not locked (the player is left read-only), so its closing message keeps them.
  const inThread = t.discordMode !== 'channel';
  if (t.requesterDiscordId && !s.mergedIntoNumber && inThread && !side.ratingDm) {
    side.ratingDm = await sendClosingDm(rest, s, rateable, closedAt, x);
    await record({ ratingDm: side.ratingDm });
  }
  if (!side.ratingPromptMessageId) {
    const closed = s.mergedIntoNumber
      ? say(locale, 'closing.threadMerged', { target: s.mergedIntoNumber })
      : s.closeReason
        ? say(locale, 'closing.threadReason', { reason: s.closeReason })
        : say(locale, 'closing.thread');
    // The DM is where the player rates. One who takes no DMs gets the web rating link here
    // instead: a link button is the one kind a locked thread keeps working, and the page rates
    // only for the player signed in with their Discord account, so staff in a private thread and
    // anyone reading a public forum post can't use it (api/routes/rating.ts).
    const link =
      rateable && side.ratingDm === 'refused' && deps.ticketPages
        ? deps.ticketPages.rating.url(data.orgId, t.id)
        : null;
    const prompt = !rateable
      ? ''
      : !inThread
        ? say(locale, 'closing.ratePrompt')
        : side.ratingDm === 'sent'
          ? say(locale, 'closing.ratePromptDm')
          : link
            ? say(locale, 'closing.ratePrompt')
            : '';
    // A DM ticket's player is not in staff's private thread, and a mention would add them.
    const ping = s.viaDm ? null : t.requesterDiscordId;
    const m = await postMessage(
      rest,
      channelId,
      {
        content: `${ping ? `<@${ping}> ` : ''}${closed}${prompt ? ` ${prompt}` : ''}`.slice(0, 2000),
        components: inThread
          ? link
            ? ratingLinkRow(link, locale)
            : []
          : [
              // The buttons name the player: anyone else who sees the channel is refused at once.
              ...(rateable ? ratingRows(t.id, undefined, t.requesterDiscordId ?? undefined) : []),
              ...(t.requesterDiscordId ? transcriptRow(t.id, undefined, locale) : []),
            ],
        allowed_mentions: { users: ping ? [ping] : [] },
        nonce: nonce(t.id, 'cl', closedAt),
        enforce_nonce: true,
      },
      x,
    );
    await record({ ratingPromptMessageId: m.id });
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
