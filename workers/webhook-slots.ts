import { DelayedError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { counter } from '../lib/metrics.js';
import { redisScript } from '../lib/redis.js';
import type { WorkerDeps } from './deps.js';

/**
 * Delivery slots per organization. A webhook job (a fan-out, or a retry, test ping or replay)
 * holds a worker slot until its slowest receiver answers, up to 15 s; without a limit one studio's
 * slow endpoint and a burst of its events took every slot and every other studio's webhooks
 * waited behind them. A job first takes one of its organization's slots (at most `perOrg` at once,
 * counted in Redis across all worker processes); a job that finds none free goes back to the
 * delayed set for a moment, which is not a failed attempt, and a worker slot is free at once for
 * another studio's job.
 *
 * Order: the fan-outs of one organization start in the order they were queued (outbox order, as
 * the relay enqueues them). A fan-out put off is remembered in line (by outbox id), and a later
 * fan-out of the same organization does not take a slot ahead of it. Retries and replays keep
 * their own schedule and take any free slot. An entry in line that is not seen again for
 * `LINE_STALE_MS` (its job was removed) stops holding back the ones behind it.
 *
 * Cost: one Redis round trip to take a slot; giving it back is one command the job does not wait
 * for. A holder that dies without giving its slot back loses it after `SLOT_TTL_MS`.
 */
export interface WebhookSlots {
  /** The connection the slot script runs on (the workers' own, which waits through outages). */
  redis: Redis;
  /** Webhook jobs one organization may run at once, across all worker processes. */
  perOrg: number;
}

/** Longer than any one job runs (a 15 s request plus its reads and writes), so only a dead holder's slot lapses. */
export const SLOT_TTL_MS = 60_000;
/** A job put off is tried again after about this long, later the further back in line it is. */
export const DEFER_BASE_MS = 250;
export const DEFER_MAX_MS = 5_000;
const LINE_STALE_MS = 60_000;

/** One organization's slots: its share of a process's webhook concurrency, at least one. */
export const webhookSlotsPerOrg = (concurrency: number, share: number) =>
  Math.max(1, Math.floor(concurrency * share));

const deferred = counter(
  'gamemod_webhook_deferred_total',
  'Webhook jobs put off because their organization held all of its delivery slots',
  ['name'],
);

/**
 * KEYS: held (zset job → slot expiry), line (zset job → outbox id), seen (zset job → last time
 * put off). ARGV: job id, per-org limit, now (ms), slot TTL, order ('' for none), line staleness.
 * Returns 0 when the slot is taken, else how many of the org's fan-outs are in line up to this one.
 */
const takeSlot = redisScript<number>(
  'gmWebhookTakeSlot',
  `
local held, line, seen = KEYS[1], KEYS[2], KEYS[3]
local job, limit, now, ttl, order, stale =
  ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
redis.call('zremrangebyscore', held, '-inf', now)
local gone = redis.call('zrangebyscore', seen, '-inf', now - stale, 'limit', 0, 100)
for _, g in ipairs(gone) do
  redis.call('zrem', line, g)
  redis.call('zrem', seen, g)
end
local function take()
  redis.call('zadd', held, now + ttl, job)
  redis.call('pexpire', held, ttl)
  if order ~= '' then
    redis.call('zrem', line, job)
    redis.call('zrem', seen, job)
  end
  return 0
end
-- The same job again (its worker stalled and it was restarted): it keeps its slot.
if redis.call('zscore', held, job) then return take() end
local free = redis.call('zcard', held) < limit
if order == '' then
  if free then return take() end
  return 1
end
local ahead = redis.call('zcount', line, '-inf', '(' .. order)
if free and ahead == 0 then return take() end
redis.call('zadd', line, order, job)
redis.call('zadd', seen, now, job)
redis.call('pexpire', line, stale)
redis.call('pexpire', seen, stale)
return ahead + 1
`,
);

const keysFor = (prefix: string, orgId: string) => {
  // One hash slot per organization, so the script's keys stay together on a Redis Cluster.
  const base = `${prefix}:webhook-slots:{${orgId}}`;
  return [`${base}:held`, `${base}:line`, `${base}:seen`];
};

/**
 * Runs `work` holding one of the organization's delivery slots, or puts the job off (moved back
 * to delayed with the job's token, then `DelayedError` so BullMQ neither completes nor fails it).
 * `order` is the outbox id for fan-outs, undefined for jobs that keep no order. Without
 * `deps.webhookSlots` it just runs `work`.
 */
export async function withDeliverySlot(
  deps: Pick<WorkerDeps, 'webhookSlots' | 'queues'>,
  orgId: string,
  job: Job,
  token: string | undefined,
  order: number | undefined,
  work: () => Promise<void>,
): Promise<void> {
  const slots = deps.webhookSlots;
  if (!slots) return work();
  const keys = keysFor(deps.queues.prefix, orgId);
  const id = String(job.id);
  const now = Date.now();
  const inLine = await takeSlot(slots.redis, keys, [
    id,
    slots.perOrg,
    now,
    SLOT_TTL_MS,
    order === undefined ? '' : String(order),
    LINE_STALE_MS,
  ]);
  if (Number(inLine) > 0) {
    deferred.inc({ name: job.name });
    // Further back in line waits longer, so a studio's backlog does not spin through the workers;
    // ±25 % so jobs put off together do not come back together.
    const base = Math.min(DEFER_BASE_MS * Math.ceil(Number(inLine) / slots.perOrg), DEFER_MAX_MS);
    await job.moveToDelayed(now + Math.round(base * (0.75 + 0.5 * Math.random())), token);
    throw new DelayedError(`webhook slots of organization ${orgId} all taken`);
  }
  try {
    await work();
  } finally {
    // Not waited for: the next job's own round trip follows it on the same connection, and a
    // release lost to an outage lapses after SLOT_TTL_MS.
    slots.redis.zrem(keys[0] as string, id).catch(() => {});
  }
}
