import type { REST } from '@discordjs/rest';
import { addThreadMember, editMessage, type MessageBody, postMessage, type RequestExtras } from './rest.js';

/**
 * Finishing a ticket's Discord side after the ticket is recorded: the summary, the team brought
 * into the thread, the channel webhook. The same steps run in the bot (at once, while answering
 * the player) and in the workers' `discord.ticket_sync` (when the bot could not: Discord failed,
 * or the bot stopped). Each step is recorded before the next, so a run that dies half-way is
 * resumed by the next one without redoing what was done.
 */

export interface OpeningState {
  ticketId: string;
  channelId: string;
  mode: 'thread' | 'forum' | 'channel';
  summary: MessageBody;
  webhookChannelId: string;
  teamDiscordIds: readonly string[];
  reason: string;
  summaryMessageId: string | null;
  teamAdded: boolean;
  webhookDone: boolean;
}

export interface OpeningHooks {
  /** Records a step done (and what it made); throws when the run lost its claim. */
  record(step: {
    summaryMessageId?: string;
    teamAdded?: true;
    webhookDone?: true;
    webhook?: { id: string; token: string };
  }): Promise<void>;
  /** The channel webhook (the bot has a cache of them, the workers look it up). */
  webhook(channelId: string): Promise<{ id: string; token: string }>;
  /** A step that failed without failing the opening (a team member who left, no webhook). */
  warn(err: unknown, what: string): void;
}

/** Discord's nonce is at most 25 characters; the same for every attempt at one summary. */
const summaryNonce = (ticketId: string) => `op${ticketId.replace(/-/g, '')}`.slice(0, 25);

/** Runs the steps not done yet; resolves with the summary's message id. */
export async function finishOpening(
  rest: REST,
  o: OpeningState,
  hooks: OpeningHooks,
  x: RequestExtras = {},
): Promise<string> {
  let summaryId = o.summaryMessageId;
  if (!summaryId) {
    // A forum post's first message is the summary: the placeholder made with the post is edited.
    summaryId =
      o.mode === 'forum'
        ? (await editMessage(rest, o.channelId, o.channelId, o.summary, x)).id
        : (
            await postMessage(
              rest,
              o.channelId,
              // A run that posted and died before recording it is not posted again by the next.
              { ...o.summary, nonce: summaryNonce(o.ticketId), enforce_nonce: true },
              x,
            )
          ).id;
    await hooks.record({ summaryMessageId: summaryId });
  }
  if (!o.teamAdded) {
    if (o.mode !== 'channel') {
      for (const staffId of o.teamDiscordIds) {
        // A team member who left the server cannot be added; the others still are.
        await addThreadMember(rest, o.channelId, staffId, o.reason, x).catch((err: unknown) =>
          hooks.warn(err, `could not add team member ${staffId} to the ticket thread`),
        );
      }
    }
    await hooks.record({ teamAdded: true });
  }
  if (!o.webhookDone) {
    let webhook: { id: string; token: string } | undefined;
    try {
      webhook = await hooks.webhook(o.webhookChannelId);
    } catch (err) {
      // Staff replies are then posted by the bot itself; nothing else depends on the webhook.
      hooks.warn(err, 'could not set up the channel webhook; staff replies will be posted by the bot');
    }
    await hooks.record({ webhookDone: true, ...(webhook ? { webhook } : {}) });
  }
  return summaryId;
}
