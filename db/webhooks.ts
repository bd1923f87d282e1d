import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import type { SecretBox } from '../lib/secret-box.js';
import { displayUrl } from '../lib/ssrf.js';
import { type Actor, recordChange } from './changes.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * Outgoing webhook subscriptions (Standard Webhooks v1): the event catalog, create, change,
 * rotate the secret, delete, and the fan-out's recipients of an event. Secrets are `whsec_` +
 * base64 of 32 random bytes, stored sealed (SecretBox); the plaintext is returned exactly once,
 * when created or rotated. The delivery log staff read is webhook-deliveries.ts; what the
 * delivery worker reads and records is webhook-attempts.ts.
 */

export const WEBHOOK_EVENT_TYPES = [
  'ticket.created',
  'ticket.updated',
  'ticket.status_changed',
  'ticket.assigned',
  'ticket.priority_changed',
  'ticket.closed',
  'ticket.reopened',
  'ticket.rated',
  'ticket.sla_warning',
  'ticket.sla_breached',
  'message.created',
  'note.created',
  'player.reported',
  // A player erased (ids only: playerId, ticketIds): forget what earlier events said of them.
  'player.erased',
  // A game account linked to a Discord user: playerId, discordUserId, mergedFrom (the profile that
  // merged into playerId, or null).
  'player.linked',
  // Staff split a game's account off a player: playerId, gameId, splitInto (the account's profile now).
  'player.unlinked',
  // A player's moderation status, whole (staff set it, or a link merged two): playerId, warned,
  // mutedUntil, bannedUntil, reason and gameAccounts ({gameId, gameAccountId}, how game servers
  // know the player), so a game server enforces a ban when it is given, not at its next poll.
  'player.moderated',
  'member.added',
  'member.removed',
  'anomaly.detected',
  'rule.event',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * The event a test ping sends. Not in the catalog above: nobody subscribes to it, it goes to the
 * one subscription it was sent for.
 */
export const WEBHOOK_TEST_EVENT = 'webhook.test';

/** The `webhook-id` of an event: the same for every attempt and every replay. */
export const messageIdFor = (outboxId: number) => `msg_${outboxId}`;

export interface WebhookSubscription {
  id: string;
  orgId: string;
  url: string;
  description: string | null;
  eventTypes: WebhookEventType[];
  enabled: boolean;
  disabledAt: Date | null;
  disabledReason: string | null;
  failingSince: Date | null;
  /** While set and in the future, deliveries carry the previous secret's signature too. */
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export const subColumns = (p = '') => `${p}id, ${p}org_id as "orgId", ${p}url, ${p}description,
  ${p}event_types as "eventTypes", ${p}enabled, ${p}disabled_at as "disabledAt", ${p}disabled_reason as "disabledReason",
  ${p}failing_since as "failingSince", ${p}previous_secret_expires_at as "previousSecretExpiresAt",
  ${p}created_at as "createdAt", ${p}updated_at as "updatedAt"`;
const COLUMNS = subColumns();

const url = z
  .string()
  .trim()
  .max(2048)
  .url('an http(s) URL')
  .refine((u) => /^https?:\/\//i.test(u), 'an http(s) URL');
const eventTypes = z
  .array(z.enum(WEBHOOK_EVENT_TYPES))
  .min(1, 'subscribe to at least one event type')
  .transform((v) => [...new Set(v)]);

export const createSubscriptionInput = z.object({
  url,
  description: z.string().trim().max(500).optional(),
  eventTypes,
});
export const updateSubscriptionInput = z.object({
  id,
  url: url.optional(),
  description: z.string().trim().max(500).nullable().optional(),
  eventTypes: eventTypes.optional(),
  /**
   * Re-enabling clears the failure run and the disabled reason, and starts fresh: retries still
   * pending from before are given up (replay the deliveries that should go out after all).
   */
  enabled: z.boolean().optional(),
});
export const rotateSecretInput = z.object({
  id,
  /** How long the old secret keeps signing alongside the new one (default 24 h, at most 7 days). */
  graceHours: z.number().int().min(0).max(168).default(24),
});
const newWebhookSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

const notFound = () => new AppError('not_found', 'webhook subscription not found');
/** The audit target of a subscription. */
export const subscriptionTarget = (subId: string) => ({ type: 'webhook_subscription', id: subId });

export async function createSubscription(
  tx: Tx,
  raw: z.input<typeof createSubscriptionInput>,
  actor: Actor,
  box: SecretBox,
): Promise<{ subscription: WebhookSubscription; secret: string }> {
  const input = parseInput(createSubscriptionInput, raw);
  const secret = newWebhookSecret();
  const r = await tx.query<WebhookSubscription>(
    `insert into webhook_subscriptions (org_id, url, description, event_types, secret_ciphertext)
     values ($1::uuid, $2::text, $3::text, $4::text[], $5::text) returning ${COLUMNS}`,
    [tx.orgId, input.url, input.description ?? null, input.eventTypes, box.seal(secret)],
  );
  const subscription = r.rows[0] as WebhookSubscription;
  await recordChange(tx, actor, {
    action: 'webhook.created',
    // Only the origin: the path or query of a webhook URL often carries the receiver's token, and
    // the audit log is read by roles that may not see the subscriptions themselves.
    data: { url: displayUrl(subscription.url), eventTypes: subscription.eventTypes },
    target: subscriptionTarget(subscription.id),
  });
  return { subscription, secret };
}

export async function getSubscription(tx: Tx, subscriptionId: string): Promise<WebhookSubscription> {
  const r = await tx.query<WebhookSubscription>(
    `select ${COLUMNS} from webhook_subscriptions where org_id = $1::uuid and id = $2::uuid`,
    [tx.orgId, parseInput(id, subscriptionId)],
  );
  if (!r.rows[0]) throw notFound();
  return r.rows[0];
}

export async function listSubscriptions(tx: Tx): Promise<WebhookSubscription[]> {
  const r = await tx.query<WebhookSubscription>(
    `select ${COLUMNS} from webhook_subscriptions where org_id = $1::uuid order by created_at, id`,
    [tx.orgId],
  );
  return r.rows;
}

export async function updateSubscription(
  tx: Tx,
  raw: z.input<typeof updateSubscriptionInput>,
  actor: Actor,
): Promise<WebhookSubscription> {
  const input = parseInput(updateSubscriptionInput, raw);
  const r = await tx.query<WebhookSubscription & { wasEnabled: boolean }>(
    `with old as (
       select enabled as was_enabled from webhook_subscriptions where org_id = $1::uuid and id = $2::uuid for update
     )
     update webhook_subscriptions set
       url = coalesce($3::text, url),
       description = case when $4::boolean then $5::text else description end,
       event_types = coalesce($6::text[], event_types),
       enabled = coalesce($7::boolean, enabled),
       disabled_at = case when $7::boolean is true then null when $7::boolean is false then coalesce(disabled_at, now())
                     else disabled_at end,
       disabled_reason = case when $7::boolean is true then null when $7::boolean is false
                         then coalesce(disabled_reason, 'disabled by staff') else disabled_reason end,
       failing_since = case when $7::boolean is true then null else failing_since end
     from old where org_id = $1::uuid and id = $2::uuid returning ${COLUMNS}, old.was_enabled as "wasEnabled"`,
    [
      tx.orgId,
      input.id,
      input.url ?? null,
      input.description !== undefined,
      input.description ?? null,
      input.eventTypes ?? null,
      input.enabled ?? null,
    ],
  );
  const row = r.rows[0];
  if (!row) throw notFound();
  const { wasEnabled, ...sub } = row;
  const retriesGivenUp = input.enabled === true && !wasEnabled ? await giveUpRetries(tx, sub.id) : 0;
  const { id: _id, url: newUrl, ...changed } = input;
  await recordChange(tx, actor, {
    action: 'webhook.updated',
    // A new URL is recorded as its origin only, like on creation.
    data: {
      ...changed,
      ...(newUrl === undefined ? {} : { urlChanged: true, url: displayUrl(newUrl) }),
      ...(retriesGivenUp ? { retriesGivenUp } : {}),
    },
    target: subscriptionTarget(sub.id),
  });
  return sub;
}

/**
 * A re-enabled subscription starts fresh. While it was off its retries were skipped but stayed
 * due, so the maintenance sweep (and any retry job still delayed) would have resent every event
 * that failed before it was disabled, days late and all at once. The last automatic attempt of
 * each event still waiting for a retry becomes `dead` (the worker sends no automatic attempt
 * after a dead one); staff replay from the log what should go out after all.
 */
async function giveUpRetries(tx: Tx, subscriptionId: string): Promise<number> {
  const r = await tx.query(
    `update webhook_deliveries d set status = 'dead', next_attempt_at = null
     where d.org_id = $1::uuid and d.subscription_id = $2::uuid and d.status = 'failed' and not d.replay
       and not exists (select 1 from webhook_deliveries n where n.org_id = d.org_id
         and n.subscription_id = d.subscription_id and n.outbox_id = d.outbox_id
         and ((n.attempt > d.attempt and not n.replay) or n.status = 'succeeded'))`,
    [tx.orgId, subscriptionId],
  );
  return r.rowCount ?? 0;
}

export async function deleteSubscription(tx: Tx, subscriptionId: string, actor: Actor): Promise<void> {
  const r = await tx.query('delete from webhook_subscriptions where org_id = $1::uuid and id = $2::uuid', [
    tx.orgId,
    parseInput(id, subscriptionId),
  ]);
  if (!r.rowCount) throw notFound();
  await recordChange(tx, actor, { action: 'webhook.deleted', target: subscriptionTarget(subscriptionId) });
}

/**
 * A new secret; the current one becomes the previous one and keeps signing (a second
 * `v1,` signature) until the grace period ends, so receivers can switch without dropping events.
 */
export async function rotateSecret(
  tx: Tx,
  raw: z.input<typeof rotateSecretInput>,
  actor: Actor,
  box: SecretBox,
): Promise<{ subscription: WebhookSubscription; secret: string }> {
  const input = parseInput(rotateSecretInput, raw);
  const secret = newWebhookSecret();
  const r = await tx.query<WebhookSubscription>(
    `update webhook_subscriptions set
       previous_secret_ciphertext = case when $4::int > 0 then secret_ciphertext end,
       previous_secret_expires_at = case when $4::int > 0 then now() + make_interval(hours => $4::int) end,
       secret_ciphertext = $3::text
     where org_id = $1::uuid and id = $2::uuid returning ${COLUMNS}`,
    [tx.orgId, input.id, box.seal(secret), input.graceHours],
  );
  const subscription = r.rows[0];
  if (!subscription) throw notFound();
  await recordChange(tx, actor, {
    action: 'webhook.secret_rotated',
    data: { graceHours: input.graceHours },
    target: subscriptionTarget(subscription.id),
  });
  return { subscription, secret };
}
