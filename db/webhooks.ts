import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import type { SecretBox } from '../lib/secret-box.js';
import { displayUrl } from '../lib/ssrf.js';
import { type Actor, recordChange } from './changes.js';
import { id, limit } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * Outgoing webhook subscriptions (Standard Webhooks v1) and their delivery log. The API calls
 * the CRUD, rotation, log and replay functions; the workers call `deliveryContext` and
 * `recordAttempt`. Secrets are `whsec_` + base64 of 32 random bytes, stored sealed (SecretBox);
 * the plaintext is returned exactly once, when created or rotated.
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
  'member.added',
  'member.removed',
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

const subColumns = (p = '') => `${p}id, ${p}org_id as "orgId", ${p}url, ${p}description,
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
  /** Re-enabling clears the failure run and the disabled reason. */
  enabled: z.boolean().optional(),
});
export const rotateSecretInput = z.object({
  id,
  /** How long the old secret keeps signing alongside the new one (default 24 h, at most 7 days). */
  graceHours: z.number().int().min(0).max(168).default(24),
});
export const listDeliveriesInput = z.object({
  subscriptionId: id.optional(),
  outboxId: z.coerce.number().int().positive().optional(),
  status: z.enum(['pending', 'succeeded', 'failed', 'dead']).optional(),
  eventType: z.string().trim().min(1).max(100).optional(),
  /** Keyset cursor: the `createdAt` + `id` of the last row of the previous page. */
  before: z.object({ createdAt: z.coerce.date(), id }).optional(),
  limit,
});
export const replayInput = z.object({ deliveryId: id });

export const newWebhookSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

const notFound = () => new AppError('not_found', 'webhook subscription not found');
const target = (subId: string) => ({ type: 'webhook_subscription', id: subId });

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
    data: { url: subscription.url, eventTypes: subscription.eventTypes },
    target: target(subscription.id),
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
  const r = await tx.query<WebhookSubscription>(
    `update webhook_subscriptions set
       url = coalesce($3::text, url),
       description = case when $4::boolean then $5::text else description end,
       event_types = coalesce($6::text[], event_types),
       enabled = coalesce($7::boolean, enabled),
       disabled_at = case when $7::boolean is true then null when $7::boolean is false then coalesce(disabled_at, now())
                     else disabled_at end,
       disabled_reason = case when $7::boolean is true then null when $7::boolean is false
                         then coalesce(disabled_reason, 'disabled by staff') else disabled_reason end,
       failing_since = case when $7::boolean is true then null else failing_since end
     where org_id = $1::uuid and id = $2::uuid returning ${COLUMNS}`,
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
  const sub = r.rows[0];
  if (!sub) throw notFound();
  await recordChange(tx, actor, {
    action: 'webhook.updated',
    data: { ...input, id: undefined },
    target: target(sub.id),
  });
  return sub;
}

export async function deleteSubscription(tx: Tx, subscriptionId: string, actor: Actor): Promise<void> {
  const r = await tx.query('delete from webhook_subscriptions where org_id = $1::uuid and id = $2::uuid', [
    tx.orgId,
    parseInput(id, subscriptionId),
  ]);
  if (!r.rowCount) throw notFound();
  await recordChange(tx, actor, { action: 'webhook.deleted', target: target(subscriptionId) });
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
    target: target(subscription.id),
  });
  return { subscription, secret };
}

// ---------------------------------------------------------------------------------------------
// Delivery log

export interface WebhookDelivery {
  id: string;
  subscriptionId: string;
  outboxId: number | null;
  eventType: string;
  messageId: string;
  /** Numbered per kind: automatic attempts 1..8, manual replays 1, 2, ... on their own. */
  attempt: number;
  /** A manual replay (never retried, and never in the way of the automatic retries). */
  replay: boolean;
  status: 'pending' | 'succeeded' | 'failed' | 'dead';
  responseStatus: number | null;
  latencyMs: number | null;
  responseExcerpt: string | null;
  error: string | null;
  nextAttemptAt: Date | null;
  createdAt: Date;
}

const DELIVERY_COLUMNS = `id, subscription_id as "subscriptionId", outbox_id as "outboxId", event_type as "eventType",
  message_id as "messageId", attempt, replay, status, response_status as "responseStatus", latency_ms as "latencyMs",
  response_excerpt as "responseExcerpt", error, next_attempt_at as "nextAttemptAt", created_at as "createdAt"`;

/** The delivery log, newest first. */
export async function listDeliveries(
  tx: Tx,
  raw: z.input<typeof listDeliveriesInput> = {},
): Promise<WebhookDelivery[]> {
  const f = parseInput(listDeliveriesInput, raw);
  const r = await tx.query<WebhookDelivery>(
    `select ${DELIVERY_COLUMNS} from webhook_deliveries
     where org_id = $1::uuid
       and ($2::uuid is null or subscription_id = $2::uuid)
       and ($3::bigint is null or outbox_id = $3::bigint)
       and ($4::text is null or status = $4::text)
       and ($8::text is null or event_type = $8::text)
       -- keyed at millisecond precision: the cursor comes back from a JS Date, which has no microseconds
       and ($5::timestamptz is null or (date_trunc('milliseconds', created_at), id) < ($5::timestamptz, $6::uuid))
     order by date_trunc('milliseconds', created_at) desc, id desc limit $7::int`,
    [
      tx.orgId,
      f.subscriptionId ?? null,
      f.outboxId ?? null,
      f.status ?? null,
      f.before?.createdAt ?? null,
      f.before?.id ?? null,
      f.limit,
      f.eventType ?? null,
    ],
  );
  return r.rows;
}

/**
 * Asks the workers to send a logged delivery's event once more (same webhook-id, new attempt
 * number). Goes through the outbox like every other change, so it survives a Redis outage.
 */
export async function replayDelivery(
  tx: Tx,
  raw: z.input<typeof replayInput>,
  actor: Actor,
): Promise<{ subscriptionId: string; outboxId: number }> {
  const input = parseInput(replayInput, raw);
  const r = await tx.query<{ subscriptionId: string; outboxId: number | null; enabled: boolean }>(
    `select d.subscription_id as "subscriptionId", d.outbox_id as "outboxId", s.enabled from webhook_deliveries d
     join webhook_subscriptions s on s.org_id = d.org_id and s.id = d.subscription_id
     where d.org_id = $1::uuid and d.id = $2::uuid`,
    [tx.orgId, input.deliveryId],
  );
  const d = r.rows[0];
  if (!d) throw new AppError('not_found', 'delivery not found');
  if (d.outboxId === null) throw new AppError('invalid_transition', 'a test ping cannot be replayed');
  if (!d.enabled) throw new AppError('conflict', 'the subscription is disabled; enable it to replay');
  await recordChange(tx, actor, {
    action: 'webhook.replayed',
    data: { deliveryId: input.deliveryId, outboxId: d.outboxId },
    target: target(d.subscriptionId),
    event: {
      type: 'webhook.replay_requested',
      aggregateType: 'webhook_subscription',
      aggregateId: d.subscriptionId,
      payload: { subscriptionId: d.subscriptionId, outboxId: d.outboxId, deliveryId: input.deliveryId },
    },
  });
  return { subscriptionId: d.subscriptionId, outboxId: d.outboxId };
}

/**
 * Asks the workers to send the subscription a signed `webhook.test` event, once, logged like any
 * delivery (as a manual attempt, never retried). Through the outbox, like a replay.
 */
export async function sendTestEvent(
  tx: Tx,
  subscriptionId: string,
  actor: Actor,
): Promise<{ subscriptionId: string; eventId: number; messageId: string }> {
  const sub = await getSubscription(tx, subscriptionId);
  if (!sub.enabled) throw new AppError('conflict', 'the subscription is disabled; enable it to test it');
  await recordChange(tx, actor, {
    action: 'webhook.tested',
    target: target(sub.id),
    event: {
      type: WEBHOOK_TEST_EVENT,
      aggregateType: 'webhook_subscription',
      aggregateId: sub.id,
      payload: { subscriptionId: sub.id, message: 'A test event: this endpoint receives GameMod webhooks.' },
    },
  });
  // The id this session's insert just took: the event's id, whatever other sessions insert.
  const r = await tx.query<{ id: string }>(`select currval(pg_get_serial_sequence('outbox', 'id')) as id`);
  const eventId = Number(r.rows[0]?.id);
  return { subscriptionId: sub.id, eventId, messageId: messageIdFor(eventId) };
}

// ---------------------------------------------------------------------------------------------
// For the delivery worker

/** Ids of the org's enabled subscriptions that want `eventType`: the fan-out's recipients. */
export async function subscribersFor(tx: Tx, eventType: string): Promise<string[]> {
  const r = await tx.query<{ id: string }>(
    'select id from webhook_subscriptions where org_id = $1::uuid and enabled and $2::text = any(event_types)',
    [tx.orgId, eventType],
  );
  return r.rows.map((s) => s.id);
}

export interface DeliveryContext {
  subscription: WebhookSubscription;
  /** Secrets to sign with: the current one, then the previous one during its grace period. */
  secrets: string[];
  /**
   * Highest automatic attempt number logged so far for this event (0 if none), the highest
   * replay number, and whether any attempt (replays included) succeeded.
   */
  lastAttempt: number;
  lastReplay: number;
  succeeded: boolean;
  /** The event, or undefined once it has been pruned. */
  event: { eventType: string; payload: Record<string, unknown>; createdAt: Date } | undefined;
}

export async function deliveryContext(
  tx: Tx,
  subscriptionId: string,
  outboxId: number,
  box: SecretBox,
  now: Date,
): Promise<DeliveryContext | undefined> {
  const [ctx] = await deliveryContexts(tx, [{ subscriptionId, outboxId }], box, now);
  return ctx;
}

// Decrypted secrets by ciphertext: every seal has a fresh IV, so a rotated secret has a new
// ciphertext and can never be served stale from here. Bounded; cleared wholesale when full.
const opened = new WeakMap<SecretBox, Map<string, string>>();
function openCached(box: SecretBox, sealed: string): string {
  let cache = opened.get(box);
  if (!cache) {
    cache = new Map();
    opened.set(box, cache);
  }
  let plain = cache.get(sealed);
  if (plain === undefined) {
    plain = box.open(sealed);
    if (cache.size >= 1000) cache.clear();
    cache.set(sealed, plain);
  }
  return plain;
}

/**
 * `deliveryContext` for many (subscription, event) pairs of one org in one statement: the
 * delivery worker batches concurrent attempts through here. Results are in the order asked.
 */
export async function deliveryContexts(
  tx: Tx,
  pairs: ReadonlyArray<{ subscriptionId: string; outboxId: number }>,
  box: SecretBox,
  now: Date,
): Promise<Array<DeliveryContext | undefined>> {
  const r = await tx.query<
    WebhookSubscription & {
      i: number;
      secret: string;
      previous: string | null;
      lastAttempt: number;
      lastReplay: number;
      succeeded: boolean;
      eventType: string | null;
      payload: Record<string, unknown> | null;
      eventCreatedAt: Date | null;
    }
  >(
    `select k.i::int as i, ${subColumns('s.')}, s.secret_ciphertext as secret,
       case when s.previous_secret_expires_at > $4::timestamptz then s.previous_secret_ciphertext end as previous,
       o.event_type as "eventType", o.payload, o.created_at as "eventCreatedAt",
       coalesce(d.last, 0)::int as "lastAttempt", coalesce(d.last_replay, 0)::int as "lastReplay",
       coalesce(d.ok, false) as succeeded
     from unnest($2::uuid[], $3::bigint[]) with ordinality as k(sub_id, outbox_id, i)
     join webhook_subscriptions s on s.org_id = $1::uuid and s.id = k.sub_id
     left join outbox o on o.org_id = $1::uuid and o.id = k.outbox_id
     left join lateral (
       select max(w.attempt) filter (where not w.replay) as last, max(w.attempt) filter (where w.replay) as last_replay,
         bool_or(w.status = 'succeeded') as ok from webhook_deliveries w
       where w.org_id = $1::uuid and w.subscription_id = k.sub_id and w.outbox_id = k.outbox_id
     ) d on true`,
    [tx.orgId, pairs.map((p) => p.subscriptionId), pairs.map((p) => p.outboxId), now],
  );
  const out: Array<DeliveryContext | undefined> = pairs.map(() => undefined);
  for (const row of r.rows) {
    const {
      i,
      secret,
      previous,
      lastAttempt,
      lastReplay,
      succeeded,
      eventType,
      payload,
      eventCreatedAt,
      ...subscription
    } = row;
    const secrets = [openCached(box, secret)];
    if (previous) secrets.push(openCached(box, previous));
    const event =
      eventType && payload && eventCreatedAt ? { eventType, payload, createdAt: eventCreatedAt } : undefined;
    out[i - 1] = { subscription, secrets, lastAttempt, lastReplay, succeeded, event };
  }
  return out;
}

export interface AttemptRecord {
  subscriptionId: string;
  outboxId: number;
  eventType: string;
  messageId: string;
  attempt: number;
  /** A manual replay: numbered apart from the automatic attempts. */
  replay?: boolean;
  status: 'succeeded' | 'failed' | 'dead';
  responseStatus: number | null;
  latencyMs: number;
  responseExcerpt: string | null;
  error: string | null;
  nextAttemptAt: Date | null;
  /** Disable the subscription with this reason (410 Gone, failing for too long). */
  disable?: string;
  now: Date;
}

/** How long a subscription may fail without a single success before it is disabled. */
export const DISABLE_AFTER_MS = 5 * 24 * 3600 * 1000;

/**
 * Logs one attempt and keeps the subscription's failure run: a success ends it, a failure starts
 * it (at `now`) or, once it is five days old, disables the subscription. Disabling is audited and
 * emits `webhook.disabled`, which reaches the org's alert channel. `logged` is false when this
 * attempt was already logged (a duplicate job); `disabled` when the subscription is now disabled.
 */
export async function recordAttempt(
  tx: Tx,
  a: AttemptRecord,
): Promise<{ logged: boolean; disabled: boolean }> {
  const [r] = await recordAttempts(tx, [a]);
  return r ?? { logged: false, disabled: false };
}

/** `recordAttempt` for many attempts of one org in one transaction (the worker batches them). */
export async function recordAttempts(
  tx: Tx,
  attempts: readonly AttemptRecord[],
): Promise<Array<{ logged: boolean; disabled: boolean }>> {
  if (!attempts.length) return [];
  const now = new Date(Math.max(...attempts.map((a) => a.now.getTime())));
  const ins = await tx.query<{ subscriptionId: string; outboxId: number; attempt: number; replay: boolean }>(
    `insert into webhook_deliveries (org_id, subscription_id, outbox_id, event_type, message_id, attempt, status,
       response_status, latency_ms, response_excerpt, error, next_attempt_at, replay)
     select $1::uuid, * from unnest($2::uuid[], $3::bigint[], $4::text[], $5::text[], $6::int[], $7::text[],
       $8::int[], $9::int[], $10::text[], $11::text[], $12::timestamptz[], $13::boolean[])
     on conflict (subscription_id, outbox_id, replay, attempt) do nothing
     returning subscription_id as "subscriptionId", outbox_id as "outboxId", attempt, replay`,
    [
      tx.orgId,
      attempts.map((a) => a.subscriptionId),
      attempts.map((a) => a.outboxId),
      attempts.map((a) => a.eventType),
      attempts.map((a) => a.messageId),
      attempts.map((a) => a.attempt),
      attempts.map((a) => a.status),
      attempts.map((a) => a.responseStatus),
      attempts.map((a) => a.latencyMs),
      attempts.map((a) => a.responseExcerpt?.slice(0, 2000) ?? null),
      attempts.map((a) => a.error?.slice(0, 2000) ?? null),
      attempts.map((a) => a.nextAttemptAt),
      attempts.map((a) => a.replay ?? false),
    ],
  );
  const key = (s: string, o: number, n: number, replay: boolean) => `${s}/${o}/${n}/${replay}`;
  const logged = new Set(ins.rows.map((r) => key(r.subscriptionId, Number(r.outboxId), r.attempt, r.replay)));
  const isLogged = (a: AttemptRecord) =>
    logged.has(key(a.subscriptionId, a.outboxId, a.attempt, a.replay ?? false));
  // Per subscription, the last logged attempt of the batch decides where its failure run stands.
  // The row is touched only when the run starts or ends: under load most attempts change nothing
  // there, and concurrent deliveries to one endpoint would otherwise queue on it.
  const last = new Map<string, AttemptRecord>();
  for (const a of attempts) if (isLogged(a)) last.set(a.subscriptionId, a);
  const ok = [...last.values()].filter((a) => a.status === 'succeeded').map((a) => a.subscriptionId);
  const failed = [...last.values()].filter((a) => a.status !== 'succeeded').map((a) => a.subscriptionId);
  if (ok.length) {
    await tx.query(
      `update webhook_subscriptions set failing_since = null
       where org_id = $1::uuid and id = any($2::uuid[]) and failing_since is not null`,
      [tx.orgId, ok],
    );
  }
  const reasons = new Map<string, string>();
  for (const a of attempts) if (a.disable && isLogged(a)) reasons.set(a.subscriptionId, a.disable);
  if (failed.length) {
    const f = await tx.query<{ id: string; failingSince: Date }>(
      `with started as (
         update webhook_subscriptions set failing_since = $3::timestamptz
         where org_id = $1::uuid and id = any($2::uuid[]) and failing_since is null
       )
       select id, failing_since as "failingSince" from webhook_subscriptions
       where org_id = $1::uuid and id = any($2::uuid[]) and failing_since is not null`,
      [tx.orgId, failed, now],
    );
    for (const row of f.rows) {
      if (!reasons.has(row.id) && now.getTime() - new Date(row.failingSince).getTime() >= DISABLE_AFTER_MS) {
        reasons.set(row.id, 'every delivery failed for 5 days');
      }
    }
  }
  const disabled = new Set<string>();
  for (const [subscriptionId, reason] of reasons) {
    const d = await tx.query<{ url: string }>(
      `update webhook_subscriptions set enabled = false, disabled_at = $3::timestamptz, disabled_reason = $4::text
       where org_id = $1::uuid and id = $2::uuid and enabled returning url`,
      [tx.orgId, subscriptionId, now, reason],
    );
    disabled.add(subscriptionId);
    const url = d.rows[0]?.url;
    if (!url) continue;
    await recordChange(
      tx,
      { type: 'system' },
      {
        action: 'webhook.disabled',
        // Only the origin: the path or query of a webhook URL often carries a token.
        data: { reason, url: displayUrl(url) },
        target: target(subscriptionId),
        event: {
          type: 'webhook.disabled',
          aggregateType: 'webhook_subscription',
          aggregateId: subscriptionId,
          payload: { subscriptionId, url: displayUrl(url), reason },
        },
      },
    );
  }
  return attempts.map((a) => ({
    logged: isLogged(a),
    disabled: isLogged(a) && disabled.has(a.subscriptionId),
  }));
}

/**
 * Failed attempts whose retry is overdue by more than `graceMs` and has no later attempt logged,
 * on enabled subscriptions: their retry job was lost (a Redis that died hard can lose the last
 * second of writes). The maintenance sweep enqueues them again under their deterministic job
 * ids, so a retry job that still exists is not doubled.
 */
export async function overdueRetries(
  tx: Tx,
  now: Date,
  graceMs: number,
  limit = 1000,
): Promise<Array<{ subscriptionId: string; outboxId: number; nextAttempt: number }>> {
  const r = await tx.query<{ subscriptionId: string; outboxId: number; nextAttempt: number }>(
    `select d.subscription_id as "subscriptionId", d.outbox_id as "outboxId", d.attempt + 1 as "nextAttempt"
     from webhook_deliveries d
     join webhook_subscriptions s on s.org_id = d.org_id and s.id = d.subscription_id and s.enabled
     where d.org_id = $1::uuid and d.status = 'failed' and d.outbox_id is not null and not d.replay
       and d.next_attempt_at < $2::timestamptz
       and not exists (select 1 from webhook_deliveries n where n.org_id = d.org_id
         and n.subscription_id = d.subscription_id and n.outbox_id = d.outbox_id
         and ((n.attempt > d.attempt and not n.replay) or n.status = 'succeeded'))
     order by d.next_attempt_at limit $3::int`,
    [tx.orgId, new Date(now.getTime() - graceMs), limit],
  );
  return r.rows.map((x) => ({ ...x, outboxId: Number(x.outboxId) }));
}
