import { DiscordAPIError, type REST } from '@discordjs/rest';
import { ButtonStyle, ComponentType } from 'discord.js';
import {
  type CloseRequestForSync,
  closeRequestsForSync,
  expireCloseRequest,
  overdueCloseRequests,
  recordCloseRequestMessage,
  recordCloseRequestSettled,
} from '../db/close-requests.js';
import type { DiscordTicket } from '../db/discord-sync.js';
import { allOrgIds } from '../db/organizations.js';
import { withTenant } from '../db/tenant.js';
import { editMessage, postMessage, type RequestExtras } from '../lib/discord/rest.js';
import { counter } from '../lib/metrics.js';
import type { WorkerDeps } from './deps.js';
import { type JobData, jobIds } from './jobs.js';

/**
 * Close requests on Discord's side, for `discord.ticket_sync`: the request message with the
 * player's Confirm and Decline buttons (posted once, recorded), and once it is answered, timed
 * out or cancelled, that message edited to say so (buttons gone) and, for a decline, a notice to
 * the staff member who asked. Plus `closerequest.expire`, the delayed job that closes the ticket
 * when the player never answered.
 */

const expired = counter('gamemod_close_request_expiries_total', 'Close request expiry jobs', ['outcome']);
const UNKNOWN_MESSAGE = 10008;

/** Discord's nonce is at most 25 characters: a tag and enough of the request id. */
const nonce = (tag: string, requestId: string) => `${tag}${requestId.replace(/-/g, '')}`.slice(0, 25);

export function closeRequestRow(requestId: string): unknown[] {
  return [
    {
      type: ComponentType.ActionRow,
      components: [
        {
          type: ComponentType.Button,
          style: ButtonStyle.Success,
          custom_id: `gm:closereq:${requestId}:yes`,
          label: 'Yes, close it',
        },
        {
          type: ComponentType.Button,
          style: ButtonStyle.Secondary,
          custom_id: `gm:closereq:${requestId}:no`,
          label: 'No, I still need help',
        },
      ],
    },
  ];
}

function outcomeText(r: CloseRequestForSync, player: string): string {
  switch (r.status) {
    case 'confirmed':
      return `Close request: ${player} confirmed, and the ticket was closed.`;
    case 'declined':
      return `Close request: ${player} still needs help; the ticket stays open.`;
    case 'timed_out':
      return 'Close request: no answer in time, so the ticket was closed.';
    case 'cancelled':
      return r.cancelReason === 'player_replied'
        ? `Close request withdrawn: ${player} replied.`
        : r.cancelReason === 'reopened'
          ? 'Close request withdrawn: the ticket was reopened.'
          : 'Close request withdrawn: the ticket was closed.';
    default:
      return '';
  }
}

/**
 * Brings the ticket's latest unsettled close request to Discord. `canEdit` is false once the
 * thread is locked (nothing can be edited there): the request is then settled as it stands.
 */
export async function syncCloseRequest(
  deps: WorkerDeps,
  rest: REST,
  orgId: string,
  t: DiscordTicket,
  canEdit: boolean,
  x: RequestExtras,
): Promise<void> {
  const channelId = t.discordChannelId;
  if (!channelId) return;
  // Oldest first: a request withdrawn and asked again before this ran shows its outcome too.
  const requests = await withTenant(deps.pool, orgId, (tx) => closeRequestsForSync(tx, t.id));
  for (const r of requests) await syncOne(deps, rest, orgId, t, r, channelId, canEdit, x);
}

async function syncOne(
  deps: WorkerDeps,
  rest: REST,
  orgId: string,
  t: DiscordTicket,
  r: CloseRequestForSync,
  channelId: string,
  canEdit: boolean,
  x: RequestExtras,
): Promise<void> {
  const player = t.requesterName ?? 'The player';
  if (r.status === 'pending') {
    if (r.discordMessageId || t.status === 'closed' || !canEdit) return;
    const due = Math.floor(new Date(r.dueAt).getTime() / 1000);
    const who = r.requestedByName ?? 'Staff';
    const m = await postMessage(
      rest,
      channelId,
      {
        content: [
          `${t.requesterDiscordId ? `<@${t.requesterDiscordId}> ` : ''}${who} thinks this ticket can be closed${r.reason ? `: ${r.reason}` : '.'}`,
          `Can we close it? Without an answer it closes <t:${due}:R>; writing here keeps it open.`,
        ]
          .join('\n')
          .slice(0, 2000),
        components: closeRequestRow(r.id),
        allowed_mentions: { users: t.requesterDiscordId ? [t.requesterDiscordId] : [] },
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
        content: `${staff ? `<@${staff}> ` : ''}${player} declined the close request: they still need help.`,
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
        { content: outcomeText(r, player), components: [] },
        x,
      );
    } catch (err) {
      // Someone deleted the request message: there is nothing left to show the outcome on.
      if (!(err instanceof DiscordAPIError && Number(err.code) === UNKNOWN_MESSAGE)) throw err;
    }
  }
  await withTenant(deps.pool, orgId, (tx) => recordCloseRequestSettled(tx, r.id));
}

/** `closerequest.expire`: closes the ticket when the request is still pending at its due time. */
export async function expireCloseRequestJob(
  deps: WorkerDeps,
  data: JobData<'closerequest.expire'>,
): Promise<void> {
  const now = deps.clock.now();
  const result = await withTenant(deps.pool, data.orgId, (tx) => expireCloseRequest(tx, data.requestId, now));
  expired.inc({ outcome: result.outcome });
  if (result.outcome === 'not_due') {
    // Early (clocks differ between machines): come back at the due time.
    const delay = Math.max(1_000, result.dueAt.getTime() - now.getTime());
    await deps.queues.enqueue('closerequest.expire', data, {
      jobId: `${jobIds.closeRequestExpire(data.requestId)}-${result.dueAt.getTime()}`,
      delay,
    });
  }
}

/**
 * Run with the auto-close sweep (every minute): expires requests more than a minute overdue, in
 * case Redis lost their delayed job (a hard kill loses its last writes). Each under its row lock,
 * so a job running at the same time closes the ticket once.
 */
export async function sweepCloseRequests(deps: WorkerDeps): Promise<number> {
  const now = deps.clock.now();
  let closed = 0;
  for await (const orgId of allOrgIds(deps.pool)) {
    const due = await withTenant(deps.pool, orgId, (tx) => overdueCloseRequests(tx, now));
    for (const requestId of due) {
      try {
        const r = await withTenant(deps.pool, orgId, (tx) => expireCloseRequest(tx, requestId, now));
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
