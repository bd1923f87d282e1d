import type { SecretBox } from '../lib/secret-box.js';
import { displayUrl } from '../lib/ssrf.js';
import { recordChange } from './changes.js';
import type { Tx } from './tenant.js';
import { subColumns, subscriptionTarget, type WebhookSubscription } from './webhooks.js';

/**
 * What the webhook delivery worker reads and records: the subscription, its secrets and the
 * event for a batch of attempts, each attempt logged once with the subscription's failure run
 * (disabling after five days of failures), and the retries a lost job left overdue.
 */

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
  /** An automatic attempt is `dead`: no automatic attempt follows it (replays still may). */
  retriesOver: boolean;
  /** The event, or undefined once it has been pruned. */
  event: { eventType: string; payload: Record<string, unknown>; createdAt: Date } | undefined;
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

type ContextRow = WebhookSubscription & {
  secret: string;
  previous: string | null;
  lastAttempt: number;
  lastReplay: number;
  succeeded: boolean;
  retriesOver: boolean;
};

/** The subscription's columns, its secrets (`$4`: now) and the attempts logged so far for the event `k.outbox_id`. */
const CONTEXT_COLUMNS = `${subColumns('s.')}, s.secret_ciphertext as secret,
  case when s.previous_secret_expires_at > $4::timestamptz then s.previous_secret_ciphertext end as previous,
  coalesce(d.last, 0)::int as "lastAttempt", coalesce(d.last_replay, 0)::int as "lastReplay",
  coalesce(d.ok, false) as succeeded, coalesce(d.over, false) as "retriesOver"`;
const ATTEMPTS_SO_FAR = `left join lateral (
  select max(w.attempt) filter (where not w.replay) as last, max(w.attempt) filter (where w.replay) as last_replay,
    bool_or(w.status = 'succeeded') as ok, bool_or(w.status = 'dead' and not w.replay) as over
  from webhook_deliveries w
  where w.org_id = $1::uuid and w.subscription_id = s.id and w.outbox_id = k.outbox_id
) d on true`;

function contextOf(row: ContextRow, box: SecretBox, event: DeliveryContext['event']): DeliveryContext {
  const { secret, previous, lastAttempt, lastReplay, succeeded, retriesOver, ...subscription } = row;
  const secrets = [openCached(box, secret)];
  if (previous) secrets.push(openCached(box, previous));
  return { subscription, secrets, lastAttempt, lastReplay, succeeded, retriesOver, event };
}

/**
 * The delivery context (subscription, secrets, attempts so far, event) of many (subscription, event) pairs of one org in one statement: the
 * delivery worker batches concurrent attempts through here. Results are in the order asked.
 */
export async function deliveryContexts(
  tx: Tx,
  pairs: ReadonlyArray<{ subscriptionId: string; outboxId: number }>,
  box: SecretBox,
  now: Date,
): Promise<Array<DeliveryContext | undefined>> {
  const r = await tx.query<
    ContextRow & {
      i: number;
      eventType: string | null;
      payload: Record<string, unknown> | null;
      eventCreatedAt: Date | null;
    }
  >(
    `select k.i::int as i, ${CONTEXT_COLUMNS},
       o.event_type as "eventType", o.payload, o.created_at as "eventCreatedAt"
     from unnest($2::uuid[], $3::bigint[]) with ordinality as k(sub_id, outbox_id, i)
     join webhook_subscriptions s on s.org_id = $1::uuid and s.id = k.sub_id
     left join outbox o on o.org_id = $1::uuid and o.id = k.outbox_id
     ${ATTEMPTS_SO_FAR}`,
    [tx.orgId, pairs.map((p) => p.subscriptionId), pairs.map((p) => p.outboxId), now],
  );
  const out: Array<DeliveryContext | undefined> = pairs.map(() => undefined);
  for (const { i, eventType, payload, eventCreatedAt, ...row } of r.rows) {
    const event =
      eventType && payload && eventCreatedAt ? { eventType, payload, createdAt: eventCreatedAt } : undefined;
    out[i - 1] = contextOf(row, box, event);
  }
  return out;
}

/**
 * A fan-out's read in one statement: the event, and the context of every enabled subscription of
 * the org that wants it (when its type is one of `types`). The event's payload comes back once,
 * on the first row, not once per subscription: twenty subscribers were twenty parses of the
 * same JSON.
 */
export async function fanoutContexts(
  tx: Tx,
  outboxId: number,
  types: readonly string[],
  box: SecretBox,
  now: Date,
): Promise<DeliveryContext[]> {
  const r = await tx.query<
    ContextRow & { eventType: string; payload: Record<string, unknown> | null; eventCreatedAt: Date }
  >(
    `with k as (
       select id as outbox_id, event_type, payload, created_at from outbox
       where org_id = $1::uuid and id = $2::bigint and event_type = any($3::text[])
     )
     select ${CONTEXT_COLUMNS}, k.event_type as "eventType",
       case when row_number() over () = 1 then k.payload end as payload, k.created_at as "eventCreatedAt"
     from k
     join webhook_subscriptions s on s.org_id = $1::uuid and s.enabled and k.event_type = any(s.event_types)
     ${ATTEMPTS_SO_FAR}`,
    [tx.orgId, outboxId, types, now],
  );
  const first = r.rows[0];
  if (!first?.payload) return [];
  const event = { eventType: first.eventType, payload: first.payload, createdAt: first.eventCreatedAt };
  return r.rows.map(({ eventType: _t, payload: _p, eventCreatedAt: _c, ...row }) =>
    contextOf(row, box, event),
  );
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
const DISABLE_AFTER_MS = 5 * 24 * 3600 * 1000;

/**
 * Logs attempts of one org (the worker batches them), each once, and keeps each subscription's
 * failure run: a success ends it, a failure starts it (at `now`) or, once it is five days old,
 * disables the subscription. Disabling is audited and emits `webhook.disabled`, which reaches the
 * org's alert channel. Per attempt, `logged` is false when it was already logged (a duplicate
 * job); `disabled` when the subscription is now disabled.
 */
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
        target: subscriptionTarget(subscriptionId),
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
 * on enabled subscriptions that still subscribe to the event's type (the worker would skip the
 * others, and each sweep would send their kept job round again): their retry job was lost (a Redis that died hard can lose the last
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
       and d.event_type = any(s.event_types)
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
