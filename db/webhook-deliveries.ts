import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, recordChange } from './changes.js';
import { id, limit } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';
import { getSubscription, messageIdFor, subscriptionTarget, WEBHOOK_TEST_EVENT } from './webhooks.js';

/**
 * The webhook delivery log as staff see it: list it, replay a logged event, send a test ping.
 * Replays and pings go through the outbox like every other change; the delivery worker sends
 * them (webhook-attempts.ts logs each attempt).
 */

export const listDeliveriesInput = z.object({
  subscriptionId: id.optional(),
  outboxId: z.coerce.number().int().positive().optional(),
  status: z.enum(['pending', 'succeeded', 'failed', 'dead']).optional(),
  eventType: z.string().trim().min(1).max(100).optional(),
  /** Only manual replays (true) or only automatic attempts (false). */
  replay: z.union([z.boolean(), z.stringbool()]).optional(),
  /** Keyset cursor: the `createdAt` + `id` of the last row of the previous page. */
  before: z.object({ createdAt: z.coerce.date(), id }).optional(),
  limit,
});
export const replayInput = z.object({ deliveryId: id });

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
       and ($9::boolean is null or replay = $9::boolean)
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
      f.replay ?? null,
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
  const r = await tx.query<{
    subscriptionId: string;
    outboxId: number | null;
    enabled: boolean;
    eventType: string;
    subscribed: boolean;
  }>(
    `select d.subscription_id as "subscriptionId", d.outbox_id as "outboxId", s.enabled,
       d.event_type as "eventType", d.event_type = any(s.event_types) as subscribed
     from webhook_deliveries d
     join webhook_subscriptions s on s.org_id = d.org_id and s.id = d.subscription_id
     where d.org_id = $1::uuid and d.id = $2::uuid`,
    [tx.orgId, input.deliveryId],
  );
  const d = r.rows[0];
  if (!d) throw new AppError('not_found', 'delivery not found');
  if (d.outboxId === null) throw new AppError('invalid_transition', 'a test ping cannot be replayed');
  if (!d.enabled) throw new AppError('conflict', 'the subscription is disabled; enable it to replay');
  // The worker would skip it: say so now rather than answer 202 for nothing.
  if (!d.subscribed) {
    throw new AppError(
      'conflict',
      `the subscription no longer subscribes to ${d.eventType}; add it back to its event types to replay`,
    );
  }
  await recordChange(tx, actor, {
    action: 'webhook.replayed',
    data: { deliveryId: input.deliveryId, outboxId: d.outboxId },
    target: subscriptionTarget(d.subscriptionId),
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
    target: subscriptionTarget(sub.id),
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
