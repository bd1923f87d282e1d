import { z } from 'zod';
import { id, snowflake } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * The part of a ticket's Discord side the bot does after the ticket is recorded (the summary
 * post, the team added to the thread, the channel webhook), kept in `discord_ticket_openings`.
 * The plan is written in the ticket's own transaction, together with a claim on the ticket's
 * Discord side (`discord_ticket_sides`), so the bot finishes it at once while a worker's
 * `discord.ticket_sync` waits; if Discord fails or the bot stops, the job finishes it from here.
 * Steps are recorded under the claim, so a replay never redoes one. A finished opening keeps
 * its steps and `done_at` but not its summary and reason; a player's erasure and retention's
 * anonymise delete their tickets' openings (`forgetOpenings`).
 */

export interface OpeningPlan {
  ticketId: string;
  /** The summary message as rendered when the ticket was opened. */
  summary: Record<string, unknown>;
  webhookChannelId: string;
  teamDiscordIds: readonly string[];
  reason: string;
}

export interface PendingOpening extends OpeningPlan {
  summaryMessageId: string | null;
  teamAdded: boolean;
  webhookDone: boolean;
}

const planInput = z.object({
  ticketId: id,
  summary: z.record(z.string(), z.unknown()),
  webhookChannelId: snowflake,
  teamDiscordIds: z.array(snowflake).max(100),
  reason: z.string().min(1).max(512),
});

/**
 * Records what is left to do on Discord for a ticket just opened, and claims its Discord side
 * for `seconds` under `claim` (the opener's), in the caller's transaction.
 */
export async function planOpening(
  tx: Tx,
  raw: z.input<typeof planInput>,
  claim: string,
  seconds: number,
): Promise<void> {
  const p = parseInput(planInput, raw);
  await tx.query(
    `insert into discord_ticket_openings (org_id, ticket_id, summary, webhook_channel_id, team_discord_ids, reason)
     values ($1::uuid, $2::uuid, $3::jsonb, $4::text, $5::text[], $6::text)`,
    [tx.orgId, p.ticketId, JSON.stringify(p.summary), p.webhookChannelId, p.teamDiscordIds, p.reason],
  );
  await tx.query(
    `insert into discord_ticket_sides (org_id, ticket_id, claim, claimed_until)
     values ($1::uuid, $2::uuid, $3::text, now() + make_interval(secs => $4::int))`,
    [tx.orgId, p.ticketId, claim, seconds],
  );
}

/** The opening still to finish, or undefined when there is none (or it is done). */
export async function pendingOpening(tx: Tx, ticketId: string): Promise<PendingOpening | undefined> {
  const r = await tx.query<PendingOpening>(
    `select ticket_id as "ticketId", summary, webhook_channel_id as "webhookChannelId",
       team_discord_ids as "teamDiscordIds", reason, summary_message_id as "summaryMessageId",
       team_added as "teamAdded", webhook_done as "webhookDone"
     from discord_ticket_openings
     where org_id = $1::uuid and ticket_id = $2::uuid and done_at is null`,
    [tx.orgId, parseInput(id, ticketId)],
  );
  return r.rows[0];
}

const stepInput = z.object({
  summaryMessageId: snowflake.optional(),
  teamAdded: z.literal(true).optional(),
  webhookDone: z.literal(true).optional(),
  webhookId: snowflake.optional(),
  /** Sealed (lib/secret-box.ts): the token is a credential. */
  webhookToken: z.string().min(1).max(512).optional(),
});

// Every step done, counting the one being recorded ($4 summary id, $5 team, $6 webhook).
const OPENING_DONE = `coalesce($4::text, o.summary_message_id) is not null
         and (o.team_added or coalesce($5::boolean, false))
         and (o.webhook_done or coalesce($6::boolean, false))`;

/**
 * Records one finished step under the run's claim; false when the claim lapsed and another run
 * may be working on it (the caller stops). The opening is done once all three steps are. The
 * summary's id and the webhook are also set on the ticket, where the rest of the system reads them.
 */
export async function recordOpeningStep(
  tx: Tx,
  ticketId: string,
  claim: string,
  raw: z.input<typeof stepInput>,
): Promise<boolean> {
  const p = parseInput(stepInput, raw);
  // Once done, the plan's rendered summary (the player's mention, the subject, the form's
  // answers) and its reason (their username) are not needed any more: they go, so no copy of
  // the player's words outlives its use here.
  const r = await tx.query(
    `update discord_ticket_openings o set
       summary_message_id = coalesce($4::text, o.summary_message_id),
       team_added = o.team_added or coalesce($5::boolean, false),
       webhook_done = o.webhook_done or coalesce($6::boolean, false),
       done_at = case when ${OPENING_DONE} then now() end,
       summary = case when ${OPENING_DONE} then '{}'::jsonb else o.summary end,
       -- The column may not be empty.
       reason = case when ${OPENING_DONE} then 'done' else o.reason end
     from discord_ticket_sides s
     where o.org_id = $1::uuid and o.ticket_id = $2::uuid
       and s.org_id = o.org_id and s.ticket_id = o.ticket_id and s.claim = $3::text`,
    [
      tx.orgId,
      parseInput(id, ticketId),
      claim,
      p.summaryMessageId ?? null,
      p.teamAdded ?? null,
      p.webhookDone ?? null,
    ],
  );
  if (!r.rowCount) return false;
  if (p.summaryMessageId || (p.webhookId && p.webhookToken)) {
    await tx.query(
      `update tickets set discord_summary_message_id = coalesce($3::text, discord_summary_message_id),
         discord_webhook_id = coalesce($4::text, discord_webhook_id),
         discord_webhook_token = coalesce($5::text, discord_webhook_token)
       where org_id = $1::uuid and id = $2::uuid`,
      [
        tx.orgId,
        parseInput(id, ticketId),
        p.summaryMessageId ?? null,
        p.webhookToken ? (p.webhookId ?? null) : null,
        p.webhookId ? (p.webhookToken ?? null) : null,
      ],
    );
  }
  return true;
}

/**
 * Deletes the openings of tickets being erased or anonymised, finished or not: a pending one's
 * summary quotes the player, and the ticket's sync brings its Discord side to what is left.
 */
export async function forgetOpenings(tx: Tx, ticketIds: readonly string[]): Promise<number> {
  const r = await tx.query(
    'delete from discord_ticket_openings where org_id = $1::uuid and ticket_id = any($2::uuid[])',
    [tx.orgId, ticketIds],
  );
  return r.rowCount ?? 0;
}
