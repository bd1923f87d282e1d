import { DiscordAPIError, type REST } from '@discordjs/rest';
import { ButtonStyle, ComponentType } from 'discord.js';
import {
  type CloseRequestForSync,
  closeRequestsForSync,
  expireCloseRequest,
  overdueCloseRequests,
  recordCloseRequestDm,
  recordCloseRequestMessage,
  recordCloseRequestSettled,
} from '../db/close-requests.js';
import type { DiscordTicket } from '../db/discord-sync.js';
import { allOrgIds } from '../db/organizations.js';
import { withTenant } from '../db/tenant.js';
import { editMessage, openDm, postMessage, type RequestExtras } from '../lib/discord/rest.js';
import type { Locale } from '../lib/i18n/locales.js';
import { t as say } from '../lib/i18n/messages.js';
import { counter } from '../lib/metrics.js';
import type { WorkerDeps } from './deps.js';
import { type JobData, jobIds } from './jobs.js';

/**
 * Close requests on Discord's side, for `discord.ticket_sync`: the request message with the
 * player's Confirm and Decline buttons (posted once, recorded; for a modmail ticket in the
 * player's DM, and without buttons in staff's thread), and once it is answered, timed out or
 * cancelled, those messages edited to say so (buttons gone) and, for a decline, a notice to
 * the staff member who asked. Plus `closerequest.expire`, the delayed job that closes the ticket
 * when the player never answered.
 */

const expired = counter('gamemod_close_request_expiries_total', 'Close request expiry jobs', ['outcome']);
const UNKNOWN_CHANNEL = 10003;
const UNKNOWN_MESSAGE = 10008;
const CANNOT_MESSAGE_USER = 50007;

/** Discord's nonce is at most 25 characters: a tag and enough of the request id. */
const nonce = (tag: string, requestId: string) => `${tag}${requestId.replace(/-/g, '')}`.slice(0, 25);

/** The Confirm / Decline buttons; in a DM they carry the server, which a DM's press does not. */
export function closeRequestRow(requestId: string, locale: Locale, guildId?: string): unknown[] {
  const id = (answer: 'yes' | 'no') => `gm:closereq:${requestId}:${answer}${guildId ? `:${guildId}` : ''}`;
  return [
    {
      type: ComponentType.ActionRow,
      components: [
        {
          type: ComponentType.Button,
          style: ButtonStyle.Success,
          custom_id: id('yes'),
          label: say(locale, 'closeRequest.yes'),
        },
        {
          type: ComponentType.Button,
          style: ButtonStyle.Secondary,
          custom_id: id('no'),
          label: say(locale, 'closeRequest.no'),
        },
      ],
    },
  ];
}

function outcomeText(r: CloseRequestForSync, player: string, locale: Locale): string {
  switch (r.status) {
    case 'confirmed':
      return say(locale, 'closeRequest.outcomeConfirmed', { player });
    case 'declined':
      return say(locale, 'closeRequest.outcomeDeclined', { player });
    case 'timed_out':
      return say(locale, 'closeRequest.outcomeTimedOut');
    case 'cancelled':
      return say(
        locale,
        r.cancelReason === 'player_replied'
          ? 'closeRequest.withdrawnReplied'
          : r.cancelReason === 'reopened'
            ? 'closeRequest.withdrawnReopened'
            : 'closeRequest.withdrawnClosed',
        { player },
      );
    default:
      return '';
  }
}

/** How it ended, told to the player in their DM: the thread's words name them in the third person. */
function dmOutcomeText(r: CloseRequestForSync, locale: Locale): string {
  if (r.status === 'confirmed') return say(locale, 'closeRequest.dmConfirmed');
  if (r.status === 'declined') return say(locale, 'closeRequest.dmDeclined');
  if (r.status === 'cancelled' && r.cancelReason === 'player_replied')
    return say(locale, 'closeRequest.dmWithdrawnReplied');
  return outcomeText(r, '', locale);
}

/**
 * Brings the ticket's latest unsettled close request to Discord. `canEdit` is false once the
 * thread is locked (nothing can be edited there): the request is then settled as it stands.
 * `locale` is the ticket's (its player's, else the server's at opening): the request is
 * addressed to the player and its buttons are theirs to press.
 */
export async function syncCloseRequest(
  deps: WorkerDeps,
  rest: REST,
  orgId: string,
  t: DiscordTicket,
  canEdit: boolean,
  locale: Locale,
  x: RequestExtras,
  dm: DmSide | null = null,
): Promise<void> {
  const channelId = t.discordChannelId;
  if (!channelId) return;
  // Oldest first: a request withdrawn and asked again before this ran shows its outcome too.
  const requests = await withTenant(deps.pool, orgId, (tx) => closeRequestsForSync(tx, t.id));
  for (const r of requests) await syncOne(deps, rest, orgId, t, r, channelId, canEdit, locale, x, dm);
}

/** A DM (modmail) ticket: the player reads and answers in their DM, never in staff's thread. */
export interface DmSide {
  orgName: string;
}

async function syncOne(
  deps: WorkerDeps,
  rest: REST,
  orgId: string,
  t: DiscordTicket,
  r: CloseRequestForSync,
  channelId: string,
  canEdit: boolean,
  locale: Locale,
  x: RequestExtras,
  dm: DmSide | null,
): Promise<void> {
  const player = t.requesterName ?? say(locale, 'closeRequest.thePlayer');
  if (r.status === 'pending') {
    if (r.discordMessageId || t.status === 'closed' || !canEdit) return;
    const due = Math.floor(new Date(r.dueAt).getTime() / 1000);
    const who = r.requestedByName ?? say(locale, 'closeRequest.staff');
    const ask = [
      r.reason
        ? say(locale, 'closeRequest.askReason', { who, reason: r.reason })
        : say(locale, 'closeRequest.ask', { who }),
      say(locale, 'closeRequest.askDue', { when: `<t:${due}:R>` }),
    ];
    // A DM ticket's player is asked in their DM first (a retry after the thread's post failed
    // sends nothing twice: the nonce); staff's thread shows the request without buttons or a
    // mention, which would add the player to the private thread.
    if (dm && t.requesterDiscordId && !r.dmMessageId) {
      const sent = await askByDm(deps, rest, t, r, dm, ask, locale, x);
      if (sent) await withTenant(deps.pool, orgId, (tx) => recordCloseRequestDm(tx, r.id, sent));
    }
    const ping = t.requesterDiscordId && !dm ? t.requesterDiscordId : null;
    const m = await postMessage(
      rest,
      channelId,
      {
        content: [`${ping ? `<@${ping}> ` : ''}${ask[0]}`, ask[1]].join('\n').slice(0, 2000),
        components: dm ? [] : closeRequestRow(r.id, locale),
        allowed_mentions: { users: ping ? [ping] : [] },
        nonce: nonce('cq', r.id),
        enforce_nonce: true,
      },
      x,
    );
    await withTenant(deps.pool, orgId, (tx) => recordCloseRequestMessage(tx, r.id, m.id));
    return;
  }
  if (canEdit && r.status === 'declined') {
    const staff = r.requestedByDiscordId;
    await postMessage(
      rest,
      channelId,
      {
        content: `${staff ? `<@${staff}> ` : ''}${say(locale, 'closeRequest.declinedNotice', { player })}`,
        allowed_mentions: { users: staff ? [staff] : [] },
        nonce: nonce('cd', r.id),
        enforce_nonce: true,
      },
      x,
    );
  }
  if (canEdit && r.discordMessageId) {
    try {
      await editMessage(
        rest,
        channelId,
        r.discordMessageId,
        { content: outcomeText(r, player, locale), components: [] },
        x,
      );
    } catch (err) {
      // Someone deleted the request message: there is nothing left to show the outcome on.
      if (!(err instanceof DiscordAPIError && Number(err.code) === UNKNOWN_MESSAGE)) throw err;
    }
  }
  // The DM stays editable when staff's thread is locked: its buttons always give way.
  if (r.dmChannelId && r.dmMessageId) await settleDm(rest, t, r, dm, locale, x);
  await withTenant(deps.pool, orgId, (tx) => recordCloseRequestSettled(tx, r.id));
}

/**
 * The request with its buttons in the player's DM, headed with the organization and ticket as
 * the relay heads staff replies there. A player who takes no DMs (50007) is not asked there: the
 * request still closes the ticket when due, and a DM from them still withdraws it.
 */
async function askByDm(
  deps: WorkerDeps,
  rest: REST,
  t: DiscordTicket,
  r: CloseRequestForSync,
  dm: DmSide,
  ask: string[],
  locale: Locale,
  x: RequestExtras,
): Promise<{ channelId: string; messageId: string } | null> {
  try {
    const channel = await openDm(rest, t.requesterDiscordId as string, x);
    const m = await postMessage(
      rest,
      channel.id,
      {
        content: [dmHeading(t, dm), ...ask].join('\n').slice(0, 2000),
        components: closeRequestRow(r.id, locale, t.discordGuildId ?? undefined),
        allowed_mentions: { parse: [] },
        nonce: nonce('cm', r.id),
        enforce_nonce: true,
      },
      x,
    );
    return { channelId: channel.id, messageId: m.id };
  } catch (err) {
    if (!(err instanceof DiscordAPIError && Number(err.code) === CANNOT_MESSAGE_USER)) throw err;
    deps.logger.info(
      { ticketId: t.id, requestId: r.id },
      'the player takes no DMs: close request not sent there',
    );
    return null;
  }
}

const dmHeading = (t: DiscordTicket, dm: DmSide | null) =>
  dm ? `**${dm.orgName}**, ticket #${t.number}:` : `Ticket #${t.number}:`;

/**
 * The DM's request, answered, withdrawn or timed out: its buttons give way to how it ended, in
 * the player's language, so nothing is left to press that would only be refused. A DM the player
 * deleted, or closed to the bot since, has nothing left to edit.
 */
async function settleDm(
  rest: REST,
  t: DiscordTicket,
  r: CloseRequestForSync,
  dm: DmSide | null,
  locale: Locale,
  x: RequestExtras,
): Promise<void> {
  try {
    await editMessage(
      rest,
      r.dmChannelId as string,
      r.dmMessageId as string,
      {
        content: [dmHeading(t, dm), dmOutcomeText(r, locale)].join('\n').slice(0, 2000),
        components: [],
        allowed_mentions: { parse: [] },
      },
      x,
    );
  } catch (err) {
    const code = err instanceof DiscordAPIError ? Number(err.code) : 0;
    if (![UNKNOWN_MESSAGE, UNKNOWN_CHANNEL, CANNOT_MESSAGE_USER].includes(code)) throw err;
  }
}

/**
 * `closerequest.expire`: closes the ticket when the request is still pending at its due time, as
 * the database's clock tells it (db/close-requests.ts), not this process's.
 */
export async function expireCloseRequestJob(
  deps: WorkerDeps,
  data: JobData<'closerequest.expire'>,
): Promise<void> {
  const result = await withTenant(deps.pool, data.orgId, (tx) => expireCloseRequest(tx, data.requestId));
  expired.inc({ outcome: result.outcome });
  if (result.outcome === 'not_due') {
    // Early (the delay was counted on another machine's clock): come back when the wait is over.
    await deps.queues.enqueue('closerequest.expire', data, {
      jobId: `${jobIds.closeRequestExpire(data.requestId)}-${result.dueAt.getTime()}`,
      delay: Math.max(1_000, Math.ceil(result.leftMs)),
    });
  }
}

/**
 * Run with the auto-close sweep (every minute): expires requests more than a minute overdue on
 * the database's clock, in case Redis lost their delayed job (a hard kill loses its last writes).
 * Each under its row lock, so a job running at the same time closes the ticket once.
 */
export async function sweepCloseRequests(deps: WorkerDeps): Promise<number> {
  let closed = 0;
  for await (const orgId of allOrgIds(deps.pool)) {
    const due = await withTenant(deps.pool, orgId, (tx) => overdueCloseRequests(tx));
    for (const requestId of due) {
      try {
        const r = await withTenant(deps.pool, orgId, (tx) => expireCloseRequest(tx, requestId));
        if (r.outcome === 'closed') {
          closed++;
          expired.inc({ outcome: 'swept' });
        }
      } catch (err) {
        deps.logger.warn({ orgId, requestId, err: (err as Error).message }, 'close request expiry failed');
      }
    }
  }
  return closed;
}
