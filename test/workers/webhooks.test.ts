import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../db/changes.js';
import { withTenant } from '../../db/tenant.js';
import { overdueRetries } from '../../db/webhook-attempts.js';
import * as deliveries from '../../db/webhook-deliveries.js';
import * as webhooks from '../../db/webhooks.js';
import { messageIdFor } from '../../db/webhooks.js';
import { manualClock } from '../../workers/clock.js';
import { impliedJobs } from '../../workers/event-jobs.js';
import { jobIds } from '../../workers/jobs.js';
import { RETRY_GRACE_MS, sweepWebhookRetries } from '../../workers/maintenance.js';
import { deliver, fanout, MAX_ATTEMPTS, RETRY_SCHEDULE_MS } from '../../workers/webhooks.js';
import { useTestDb } from '../support/db.js';
import {
  box,
  processorsFor,
  startReceiver,
  subscribedOrg,
  testDeps,
  uniquePrefix,
  until,
} from './support.js';

const db = useTestDb();
const clock = manualClock(new Date());
let env: ReturnType<typeof testDeps>;

beforeAll(() => {
  env = testDeps(db.app, uniquePrefix(), { clock });
});
afterAll(async () => {
  await env.close();
});

/**
 * Standard Webhooks verification written from the specification, independent of the project's
 * signer: the signed content is `{id}.{timestamp}.{body}`, the key is the base64 part of the
 * `whsec_` secret, the header holds space-separated `v1,<base64>` signatures of which one must
 * match (compared in constant time), and the timestamp must be within five minutes.
 */
function verify(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  nowSec: number,
) {
  const id = String(headers['webhook-id']);
  const ts = String(headers['webhook-timestamp']);
  const sigHeader = String(headers['webhook-signature']);
  if (!/^\d+$/.test(ts) || Math.abs(nowSec - Number(ts)) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest();
  return sigHeader.split(' ').some((part) => {
    const [version, sig] = part.split(',');
    if (version !== 'v1' || !sig) return false;
    const got = Buffer.from(sig, 'base64');
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}

async function setup(url: string, eventTypes: webhooks.WebhookEventType[] = ['ticket.created']) {
  const { org, subscription, secret, newEvent } = await subscribedOrg(db, url, eventTypes);
  const log = (outboxId: number) =>
    withTenant(db.app, org.orgId, (tx) =>
      deliveries.listDeliveries(tx, { outboxId, subscriptionId: subscription.id }),
    );
  return { org, subscription, secret, newEvent, log };
}

const attempt = (orgId: string, outboxId: number, subscriptionId: string, n: number, replay = false) =>
  deliver(env.deps, { orgId, outboxId, subscriptionId, attempt: n, replay });

describe('subscriptions', () => {
  it('stores the secret sealed, validates input and rotates keeping the old secret for a grace period', async () => {
    const rx = await startReceiver();
    try {
      const s = await setup(rx.url);
      expect(s.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      expect(Buffer.from(s.secret.slice(6), 'base64')).toHaveLength(32);
      const stored = await db.admin.query<{ secret_ciphertext: string }>(
        'select secret_ciphertext from webhook_subscriptions where id = $1',
        [s.subscription.id],
      );
      expect(stored.rows[0]?.secret_ciphertext).not.toContain(s.secret.slice(6, 20));
      expect(box.open(stored.rows[0]?.secret_ciphertext as string)).toBe(s.secret);

      await expect(
        withTenant(db.app, s.org.orgId, (tx) =>
          webhooks.createSubscription(
            tx,
            { url: 'ftp://x.example', eventTypes: ['nope' as never] },
            s.org.owner,
            box,
          ),
        ),
      ).rejects.toMatchObject({ code: 'validation_failed' });

      const rotated = await withTenant(db.app, s.org.orgId, (tx) =>
        webhooks.rotateSecret(tx, { id: s.subscription.id }, s.org.owner, box),
      );
      expect(rotated.secret).not.toBe(s.secret);
      expect(rotated.subscription.previousSecretExpiresAt).not.toBeNull();

      // During the rotation both signatures are sent and each secret verifies on its own.
      const outboxId = await s.newEvent();
      clock.set(new Date());
      const result = await attempt(s.org.orgId, outboxId, s.subscription.id, 1);
      expect(result.outcome).toBe('succeeded');
      const req = rx.requests.at(-1);
      if (!req) throw new Error('no request');
      const nowSec = Math.floor(Date.now() / 1000);
      expect(String(req.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(verify(rotated.secret, req.headers, req.body, nowSec)).toBe(true);
      expect(verify(s.secret, req.headers, req.body, nowSec)).toBe(true);
      expect(verify('whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', req.headers, req.body, nowSec)).toBe(false);
      // A tampered body fails.
      expect(verify(rotated.secret, req.headers, req.body.replace('Crash', 'Crush'), nowSec)).toBe(false);
      const envelope = JSON.parse(req.body);
      expect(envelope).toMatchObject({
        type: 'ticket.created',
        data: { ticket: { subject: 'Crash on start' } },
      });
      expect(new Date(envelope.timestamp).toISOString()).toBe(envelope.timestamp);
      expect(req.headers['webhook-id']).toBe(messageIdFor(outboxId));

      // After the grace period only the new secret signs.
      await db.admin.query(
        `update webhook_subscriptions set previous_secret_expires_at = now() - interval '1 second' where id = $1`,
        [s.subscription.id],
      );
      const second = await s.newEvent();
      await attempt(s.org.orgId, second, s.subscription.id, 1);
      const req2 = rx.requests.at(-1);
      if (!req2) throw new Error('no request');
      expect(String(req2.headers['webhook-signature']).split(' ')).toHaveLength(1);
      expect(verify(rotated.secret, req2.headers, req2.body, Math.floor(Date.now() / 1000))).toBe(true);
      expect(verify(s.secret, req2.headers, req2.body, Math.floor(Date.now() / 1000))).toBe(false);
    } finally {
      await rx.close();
    }
  });

  it('fans an event out to the subscriptions that want it, once per subscription', async () => {
    const rx = await startReceiver();
    try {
      const s = await setup(rx.url);
      const other = await withTenant(db.app, s.org.orgId, (tx) =>
        webhooks.createSubscription(tx, { url: rx.url, eventTypes: ['ticket.closed'] }, s.org.owner, box),
      );
      const outboxId = await s.newEvent();
      clock.set(new Date());
      expect(await fanout(env.deps, { orgId: s.org.orgId, outboxId })).toBe(1);
      // The fan-out made the first attempt itself: one request, logged, and no job per delivery.
      expect(rx.requests.map((q) => q.headers['webhook-id'])).toEqual([messageIdFor(outboxId)]);
      expect((await s.log(outboxId)).map((d) => [d.attempt, d.status])).toEqual([[1, 'succeeded']]);
      const queue = env.deps.queues.get('webhooks');
      for (const n of [1, 2]) {
        expect(await queue.getJob(jobIds.deliver(outboxId, s.subscription.id, n))).toBeUndefined();
        expect(await queue.getJob(jobIds.deliver(outboxId, other.subscription.id, n))).toBeUndefined();
      }
      // A fan-out that runs again sends nothing already logged.
      expect(await fanout(env.deps, { orgId: s.org.orgId, outboxId })).toBe(1);
      expect(rx.requests).toHaveLength(1);
      expect(await s.log(outboxId)).toHaveLength(1);
    } finally {
      await rx.close();
    }
  });

  it('a fan-out whose first attempt fails enqueues attempt 2 on the schedule, and only that', async () => {
    const ok = await startReceiver();
    const failing = await startReceiver(() => ({ status: 500 }));
    try {
      const s = await setup(ok.url);
      const bad = await withTenant(db.app, s.org.orgId, (tx) =>
        webhooks.createSubscription(
          tx,
          { url: failing.url, eventTypes: ['ticket.created'] },
          s.org.owner,
          box,
        ),
      );
      const outboxId = await s.newEvent();
      const t0 = new Date();
      clock.set(t0);
      expect(await fanout(env.deps, { orgId: s.org.orgId, outboxId })).toBe(2);
      expect(ok.requests).toHaveLength(1);
      expect(failing.requests).toHaveLength(1);
      expect(failing.requests[0]?.headers['webhook-id']).toBe(messageIdFor(outboxId));
      const badLog = await withTenant(db.app, s.org.orgId, (tx) =>
        deliveries.listDeliveries(tx, { outboxId, subscriptionId: bad.subscription.id }),
      );
      expect(badLog.map((d) => [d.attempt, d.status, d.responseStatus])).toEqual([[1, 'failed', 500]]);
      const delay = new Date(badLog[0]?.nextAttemptAt ?? 0).getTime() - t0.getTime();
      const base = RETRY_SCHEDULE_MS[0];
      expect(delay).toBeGreaterThanOrEqual(base * 0.9);
      expect(delay).toBeLessThanOrEqual(base * 1.1);
      const queue = env.deps.queues.get('webhooks');
      const retry = await queue.getJob(jobIds.deliver(outboxId, bad.subscription.id, 2));
      expect(retry?.name).toBe('webhook.deliver');
      expect(retry?.data).toMatchObject({ outboxId, subscriptionId: bad.subscription.id, attempt: 2 });
      expect(retry?.opts.delay).toBe(delay);
      expect(await queue.getJob(jobIds.deliver(outboxId, bad.subscription.id, 1))).toBeUndefined();
      expect(await queue.getJob(jobIds.deliver(outboxId, s.subscription.id, 2))).toBeUndefined();
      // The retry job makes attempt 2 with the same webhook-id.
      failing.setAnswer(() => ({ status: 204 }));
      clock.set(new Date(t0.getTime() + delay));
      const r2 = await deliver(env.deps, retry?.data as Parameters<typeof deliver>[1]);
      expect(r2).toMatchObject({ outcome: 'succeeded', attempt: 2 });
      expect(failing.requests.map((q) => q.headers['webhook-id'])).toEqual([
        messageIdFor(outboxId),
        messageIdFor(outboxId),
      ]);
    } finally {
      await ok.close();
      await failing.close();
    }
  });
});

describe('retries', () => {
  it('follows the schedule with jitter, keeps the webhook-id, and stops after the last attempt', async () => {
    const rx = await startReceiver(() => ({ status: 500 }));
    try {
      const s = await setup(rx.url);
      const outboxId = await s.newEvent();
      const start = new Date();
      clock.set(start);
      let now = start.getTime();
      for (let n = 1; n <= MAX_ATTEMPTS; n++) {
        clock.set(new Date(now));
        const r = await attempt(s.org.orgId, outboxId, s.subscription.id, n);
        if (n < MAX_ATTEMPTS) {
          expect(r).toMatchObject({ outcome: 'failed', attempt: n });
          const delay = (r as { nextAttemptAt: Date }).nextAttemptAt.getTime() - now;
          const base = RETRY_SCHEDULE_MS[n - 1] as number;
          expect(delay).toBeGreaterThanOrEqual(base * 0.9);
          expect(delay).toBeLessThanOrEqual(base * 1.1);
          const job = await env.deps.queues
            .get('webhooks')
            .getJob(jobIds.deliver(outboxId, s.subscription.id, n + 1));
          expect(job?.opts.delay).toBe(delay);
          now += delay;
        } else {
          expect(r).toMatchObject({ outcome: 'dead', attempt: n, nextAttemptAt: null });
        }
      }
      // A redelivered job for an attempt already logged does nothing.
      expect((await attempt(s.org.orgId, outboxId, s.subscription.id, 3)).outcome).toBe('skipped');
      expect(rx.requests).toHaveLength(MAX_ATTEMPTS);
      expect(new Set(rx.requests.map((r) => r.headers['webhook-id']))).toEqual(
        new Set([messageIdFor(outboxId)]),
      );
      const log = await s.log(outboxId);
      expect(log.map((d) => d.attempt).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(log.every((d) => d.responseStatus === 500 && d.latencyMs !== null)).toBe(true);
      expect(log.find((d) => d.attempt === 8)?.status).toBe('dead');
      expect(log.find((d) => d.attempt === 1)?.responseExcerpt).toBe('receiver says hi');
      // Eight attempts over ~27.6 h: failing, but not for five days yet.
      const sub = await withTenant(db.app, s.org.orgId, (tx) =>
        webhooks.getSubscription(tx, s.subscription.id),
      );
      expect(sub.enabled).toBe(true);
      expect(sub.failingSince).not.toBeNull();
    } finally {
      await rx.close();
    }
  });

  it('honours Retry-After on 429 and 503', async () => {
    const rx = await startReceiver((_r, n) =>
      n === 1
        ? { status: 429, headers: { 'retry-after': '120' } }
        : { status: 503, headers: { 'retry-after': '7' } },
    );
    try {
      const s = await setup(rx.url);
      const outboxId = await s.newEvent();
      const t0 = new Date();
      clock.set(t0);
      const r1 = await attempt(s.org.orgId, outboxId, s.subscription.id, 1);
      expect((r1 as { nextAttemptAt: Date }).nextAttemptAt.getTime() - t0.getTime()).toBe(120_000);
      const r2 = await attempt(s.org.orgId, outboxId, s.subscription.id, 2);
      expect((r2 as { nextAttemptAt: Date }).nextAttemptAt.getTime() - t0.getTime()).toBe(7_000);
    } finally {
      await rx.close();
    }
  });

  it('treats a 3xx as a failure and honours Retry-After as an HTTP date and on 502', async () => {
    const t0 = new Date(Math.floor(Date.now() / 1000) * 1000);
    const rx = await startReceiver((_r, n): { status: number; headers: Record<string, string> } =>
      n === 1
        ? { status: 301, headers: { location: 'http://127.0.0.1:9/elsewhere' } }
        : n === 2
          ? { status: 503, headers: { 'retry-after': new Date(t0.getTime() + 90_000).toUTCString() } }
          : { status: 502, headers: { 'retry-after': '11' } },
    );
    try {
      const s = await setup(rx.url);
      const outboxId = await s.newEvent();
      clock.set(t0);
      const r1 = await attempt(s.org.orgId, outboxId, s.subscription.id, 1);
      expect(r1).toMatchObject({ outcome: 'failed', attempt: 1 });
      expect((await s.log(outboxId))[0]).toMatchObject({ responseStatus: 301, error: 'HTTP 301' });
      const r2 = await attempt(s.org.orgId, outboxId, s.subscription.id, 2);
      expect((r2 as { nextAttemptAt: Date }).nextAttemptAt.getTime() - t0.getTime()).toBe(90_000);
      const r3 = await attempt(s.org.orgId, outboxId, s.subscription.id, 3);
      expect((r3 as { nextAttemptAt: Date }).nextAttemptAt.getTime() - t0.getTime()).toBe(11_000);
      expect(rx.requests).toHaveLength(3);
    } finally {
      await rx.close();
    }
  });

  it('runs a retry end to end through BullMQ (a delayed job), with a short schedule', async () => {
    const rx = await startReceiver((_r, n) => ({ status: n === 1 ? 500 : 204 }));
    const own = testDeps(db.app, uniquePrefix(), { clock });
    const deps = { ...own.deps, retryScheduleMs: [200, 200, 200, 200, 200, 200, 200] };
    const processors = processorsFor(own, { webhooks: 2 }, deps);
    try {
      const s = await setup(rx.url);
      const outboxId = await s.newEvent();
      await own.deps.queues.enqueue(
        'webhook.fanout',
        { orgId: s.org.orgId, outboxId },
        { jobId: jobIds.fanout(outboxId) },
      );
      await until(async () => rx.requests.length >= 2);
      const log = await until(async () => {
        const l = await s.log(outboxId);
        return l.length >= 2 ? l : undefined;
      });
      expect(log.map((d) => [d.attempt, d.status])).toEqual([
        [2, 'succeeded'],
        [1, 'failed'],
      ]);
      const retry = await own.deps.queues
        .get('webhooks')
        .getJob(jobIds.deliver(outboxId, s.subscription.id, 2));
      expect(retry?.opts.delay).toBe(200);
      expect(rx.requests.map((q) => q.headers['webhook-id'])).toEqual([
        messageIdFor(outboxId),
        messageIdFor(outboxId),
      ]);
    } finally {
      await processors.close();
      await own.close();
      await rx.close();
    }
  });

  it('a receiver that is down and then up gets the event with the same webhook-id', async () => {
    const rx = await startReceiver();
    const port = rx.port;
    await rx.close();
    const s = await setup(`http://127.0.0.1:${port}/hook`);
    const outboxId = await s.newEvent();
    clock.set(new Date());
    const down = await attempt(s.org.orgId, outboxId, s.subscription.id, 1);
    expect(down.outcome).toBe('failed');
    const up = await startReceiver(undefined, port);
    try {
      expect((await attempt(s.org.orgId, outboxId, s.subscription.id, 2)).outcome).toBe('succeeded');
      expect(up.requests).toHaveLength(1);
      expect(up.requests[0]?.headers['webhook-id']).toBe(messageIdFor(outboxId));
      const log = await s.log(outboxId);
      expect(log.map((d) => [d.attempt, d.status, d.messageId])).toEqual([
        [2, 'succeeded', messageIdFor(outboxId)],
        [1, 'failed', messageIdFor(outboxId)],
      ]);
      expect(log.find((d) => d.attempt === 1)?.error).toMatch(/ECONNREFUSED/);
      // Success ends the failure run; a later job for this event does nothing.
      const sub = await withTenant(db.app, s.org.orgId, (tx) =>
        webhooks.getSubscription(tx, s.subscription.id),
      );
      expect(sub.failingSince).toBeNull();
      expect((await attempt(s.org.orgId, outboxId, s.subscription.id, 3)).outcome).toBe('skipped');
    } finally {
      await up.close();
    }
  });
});

describe('lost retry jobs', () => {
  it('the maintenance sweep re-enqueues a retry whose job is gone, once', async () => {
    const rx = await startReceiver(() => ({ status: 503 }));
    try {
      const s = await setup(rx.url);
      const outboxId = await s.newEvent();
      const t0 = new Date();
      clock.set(t0);
      await attempt(s.org.orgId, outboxId, s.subscription.id, 1);
      const queue = env.deps.queues.get('webhooks');
      const retryId = jobIds.deliver(outboxId, s.subscription.id, 2);
      // Redis lost the delayed retry.
      await (await queue.getJob(retryId))?.remove();
      expect(await queue.getJob(retryId)).toBeUndefined();
      // Not overdue yet: nothing to do. (Other tests' orgs share the database, so the checks look
      // at this subscription's job rather than at the sweep's total.)
      await sweepWebhookRetries(env.deps);
      expect(await queue.getJob(retryId)).toBeUndefined();
      clock.set(new Date(t0.getTime() + 5_500 + RETRY_GRACE_MS + 1_000));
      expect(await sweepWebhookRetries(env.deps)).toBeGreaterThanOrEqual(1);
      expect((await queue.getJob(retryId))?.data).toMatchObject({ outboxId, attempt: 2 });
      // Once attempt 2 is logged, the sweep has nothing more to find.
      await attempt(s.org.orgId, outboxId, s.subscription.id, 2);
      const r = await withTenant(db.app, s.org.orgId, (tx) =>
        overdueRetries(tx, clock.now(), RETRY_GRACE_MS),
      );
      expect(r).toEqual([]);
    } finally {
      await rx.close();
    }
  });
});

describe('disabling', () => {
  it('disables on 410 Gone, audits it and emits webhook.disabled', async () => {
    const rx = await startReceiver(() => ({ status: 410 }));
    try {
      // URLs often carry a token: the audit entry, the event and the alert show only the origin.
      const s = await setup(`${rx.url}/t0ken-s3cret?key=s3cret`);
      const outboxId = await s.newEvent();
      expect((await attempt(s.org.orgId, outboxId, s.subscription.id, 1)).outcome).toBe('disabled');
      const logged = await db.admin.query<{ data: unknown }>(
        `select data from audit_logs where org_id = $1 and action = 'webhook.disabled'`,
        [s.org.orgId],
      );
      const emitted = await db.admin.query<{ payload: unknown }>(
        `select payload from outbox where org_id = $1 and event_type = 'webhook.disabled'`,
        [s.org.orgId],
      );
      for (const v of [logged.rows[0]?.data, emitted.rows[0]?.payload]) {
        expect(JSON.stringify(v)).not.toContain('s3cret');
        expect(JSON.stringify(v)).toContain(`http://127.0.0.1:${rx.port}`);
      }
      const sub = await withTenant(db.app, s.org.orgId, (tx) =>
        webhooks.getSubscription(tx, s.subscription.id),
      );
      expect(sub).toMatchObject({ enabled: false, disabledReason: 'the endpoint answered 410 Gone' });
      const audit = await db.admin.query(
        `select 1 from audit_logs where org_id = $1 and action = 'webhook.disabled' and target_id = $2`,
        [s.org.orgId, s.subscription.id],
      );
      expect(audit.rowCount).toBe(1);
      const ev = await db.admin.query(
        `select payload from outbox where org_id = $1 and event_type = 'webhook.disabled'`,
        [s.org.orgId],
      );
      expect(ev.rows[0]?.payload).toMatchObject({ subscriptionId: s.subscription.id });
      // Nothing more is sent to a disabled subscription.
      const next = await s.newEvent();
      expect((await attempt(s.org.orgId, next, s.subscription.id, 1)).outcome).toBe('skipped');
      expect(rx.requests).toHaveLength(1);
    } finally {
      await rx.close();
    }
  });

  it('disables a subscription that has failed for five days', async () => {
    const rx = await startReceiver(() => ({ status: 500 }));
    try {
      const s = await setup(rx.url);
      const t0 = new Date();
      clock.set(t0);
      const first = await s.newEvent();
      expect((await attempt(s.org.orgId, first, s.subscription.id, 1)).outcome).toBe('failed');
      clock.set(new Date(t0.getTime() + 5 * 24 * 3600_000 - 60_000));
      const second = await s.newEvent();
      expect((await attempt(s.org.orgId, second, s.subscription.id, 1)).outcome).toBe('failed');
      clock.set(new Date(t0.getTime() + 5 * 24 * 3600_000));
      const third = await s.newEvent();
      expect((await attempt(s.org.orgId, third, s.subscription.id, 1)).outcome).toBe('disabled');
      const sub = await withTenant(db.app, s.org.orgId, (tx) =>
        webhooks.getSubscription(tx, s.subscription.id),
      );
      expect(sub).toMatchObject({ enabled: false, disabledReason: 'every delivery failed for 5 days' });
      const audit = await db.admin.query(
        `select 1 from audit_logs where org_id = $1 and action = 'webhook.disabled'`,
        [s.org.orgId],
      );
      expect(audit.rowCount).toBe(1);
      // Re-enabling clears the run.
      const again = await withTenant(db.app, s.org.orgId, (tx) =>
        webhooks.updateSubscription(tx, { id: s.subscription.id, enabled: true }, s.org.owner),
      );
      expect(again).toMatchObject({ enabled: true, failingSince: null, disabledReason: null });
    } finally {
      await rx.close();
    }
  });
});

describe('targets and replay', () => {
  it('refuses loopback targets unless allowed', async () => {
    const rx = await startReceiver();
    try {
      const s = await setup(rx.url);
      const outboxId = await s.newEvent();
      const strict = { ...env.deps, webhookTargets: { allowLoopback: false, allowPrivate: false } };
      const r = await deliver(strict, {
        orgId: s.org.orgId,
        outboxId,
        subscriptionId: s.subscription.id,
        attempt: 1,
        replay: false,
      });
      expect(r.outcome).toBe('failed');
      expect(rx.requests).toHaveLength(0);
      const [row] = await s.log(outboxId);
      expect(row?.error).toMatch(/refused 127\.0\.0\.1: loopback/);
      // By name too: localhost resolves to loopback and is refused at connect time.
      const byName = await withTenant(db.app, s.org.orgId, (tx) =>
        webhooks.createSubscription(
          tx,
          { url: `http://localhost:${rx.port}/hook`, eventTypes: ['ticket.created'] },
          s.org.owner,
          box,
        ),
      );
      const r2 = await deliver(strict, {
        orgId: s.org.orgId,
        outboxId,
        subscriptionId: byName.subscription.id,
        attempt: 1,
        replay: false,
      });
      expect(r2.outcome).toBe('failed');
      expect(rx.requests).toHaveLength(0);
    } finally {
      await rx.close();
    }
  });

  it('keeps the automatic retries going when a manual replay fails in between', async () => {
    const rx = await startReceiver(() => ({ status: 500 }));
    try {
      const s = await setup(rx.url);
      const outboxId = await s.newEvent();
      const first = await attempt(s.org.orgId, outboxId, s.subscription.id, 1);
      expect(first).toMatchObject({ outcome: 'failed', attempt: 1 });
      // The replay fails too; it must not take attempt 2's place.
      expect(await attempt(s.org.orgId, outboxId, s.subscription.id, 1, true)).toMatchObject({
        outcome: 'failed',
      });
      // Attempt 2's job was lost: the sweep still sees the automatic retry as overdue.
      const later = new Date(clock.now().getTime() + RETRY_SCHEDULE_MS[0] * 2 + RETRY_GRACE_MS);
      const overdue = await withTenant(db.app, s.org.orgId, (tx) =>
        overdueRetries(tx, later, RETRY_GRACE_MS),
      );
      expect(overdue).toEqual([{ subscriptionId: s.subscription.id, outboxId, nextAttempt: 2 }]);
      rx.setAnswer(() => ({ status: 204 }));
      expect(await attempt(s.org.orgId, outboxId, s.subscription.id, 2)).toMatchObject({
        outcome: 'succeeded',
        attempt: 2,
      });
      // A replay for a disabled subscription is refused up front, not skipped after a 202.
      const [logged] = await s.log(outboxId);
      await withTenant(db.app, s.org.orgId, (tx) =>
        webhooks.updateSubscription(tx, { id: s.subscription.id, enabled: false }, s.org.owner),
      );
      await expect(
        withTenant(db.app, s.org.orgId, (tx) =>
          deliveries.replayDelivery(tx, { deliveryId: logged?.id as string }, s.org.owner),
        ),
      ).rejects.toMatchObject({ code: 'conflict' });
    } finally {
      await rx.close();
    }
  });

  it('replays a logged delivery through the outbox with the same webhook-id', async () => {
    const rx = await startReceiver();
    try {
      const s = await setup(rx.url);
      const outboxId = await s.newEvent();
      await attempt(s.org.orgId, outboxId, s.subscription.id, 1);
      const [logged] = await s.log(outboxId);
      const replay = await withTenant(db.app, s.org.orgId, (tx) =>
        deliveries.replayDelivery(tx, { deliveryId: logged?.id as string }, s.org.owner),
      );
      expect(replay).toEqual({ subscriptionId: s.subscription.id, outboxId });
      const ev = await db.admin.query<{ id: number; payload: Record<string, unknown> }>(
        `select id, payload from outbox where org_id = $1 and event_type = 'webhook.replay_requested'`,
        [s.org.orgId],
      );
      expect(ev.rows[0]?.payload).toMatchObject({ outboxId, subscriptionId: s.subscription.id });
      const r = await attempt(s.org.orgId, outboxId, s.subscription.id, 1, true);
      // Replays are numbered on their own, apart from the automatic attempts.
      expect(r).toMatchObject({ outcome: 'succeeded', attempt: 1 });
      expect((await s.log(outboxId)).map((d) => [d.attempt, d.replay])).toEqual([
        [1, true],
        [1, false],
      ]);
      expect(rx.requests.map((q) => q.headers['webhook-id'])).toEqual([
        messageIdFor(outboxId),
        messageIdFor(outboxId),
      ]);
      await expect(
        withTenant(db.app, s.org.orgId, (tx) =>
          deliveries.replayDelivery(tx, { deliveryId: '00000000-0000-4000-8000-000000000000' }, SYSTEM),
        ),
      ).rejects.toMatchObject({ code: 'not_found' });
    } finally {
      await rx.close();
    }
  });

  it('sends a test ping once to its one subscription, signed, through the job the relay derives from it', async () => {
    const rx = await startReceiver();
    const own = testDeps(db.app, uniquePrefix(), { clock });
    const processors = processorsFor(own, { webhooks: 2 });
    try {
      // Subscribed to other events only: a ping goes to the subscription it was sent for anyway.
      const s = await setup(rx.url, ['member.added']);
      const other = await withTenant(db.app, s.org.orgId, (tx) =>
        webhooks.createSubscription(tx, { url: rx.url, eventTypes: ['member.added'] }, s.org.owner, box),
      );
      const sent = await withTenant(db.app, s.org.orgId, (tx) =>
        deliveries.sendTestEvent(tx, s.subscription.id, s.org.owner),
      );
      expect(sent).toEqual({
        subscriptionId: s.subscription.id,
        eventId: sent.eventId,
        messageId: messageIdFor(sent.eventId),
      });
      const row = await db.admin.query(
        `select id, org_id as "orgId", event_type as "eventType", aggregate_type as "aggregateType",
           aggregate_id as "aggregateId", payload, created_at as "createdAt" from outbox where id = $1`,
        [sent.eventId],
      );
      const jobs = impliedJobs(row.rows[0], { webhooks: true, sla: true, rules: false });
      await own.deps.queues.enqueueMany(jobs);
      await until(async () => rx.requests.length >= 1);
      const log = await until(async () => {
        const l = await s.log(sent.eventId);
        return l.length ? l : undefined;
      });
      expect(log.map((d) => [d.eventType, d.status, d.replay, d.messageId])).toEqual([
        ['webhook.test', 'succeeded', true, sent.messageId],
      ]);
      const [req] = rx.requests;
      expect(req?.headers['webhook-id']).toBe(sent.messageId);
      expect(
        verify(s.secret, req?.headers ?? {}, req?.body ?? '', Math.floor(clock.now().getTime() / 1000)),
      ).toBe(true);
      expect(JSON.parse(req?.body ?? '{}')).toMatchObject({
        type: 'webhook.test',
        data: { subscriptionId: s.subscription.id },
      });
      // The same job again (a relay that re-pushes after an outage) is deduplicated by its id.
      await own.deps.queues.enqueueMany(jobs);
      await new Promise((r) => setTimeout(r, 300));
      expect(rx.requests).toHaveLength(1);
      expect(
        await withTenant(db.app, s.org.orgId, (tx) =>
          deliveries.listDeliveries(tx, { subscriptionId: other.subscription.id }),
        ),
      ).toEqual([]);

      // A disabled subscription is refused up front.
      await withTenant(db.app, s.org.orgId, (tx) =>
        webhooks.updateSubscription(tx, { id: s.subscription.id, enabled: false }, s.org.owner),
      );
      await expect(
        withTenant(db.app, s.org.orgId, (tx) => deliveries.sendTestEvent(tx, s.subscription.id, s.org.owner)),
      ).rejects.toMatchObject({ code: 'conflict' });
    } finally {
      await processors.close();
      await own.close();
      await rx.close();
    }
  });
});
