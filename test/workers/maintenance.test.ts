import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimIdempotencyKey, storeIdempotentResponse } from '../../db/idempotency.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { recordAttempts } from '../../db/webhook-attempts.js';
import { listDeliveries } from '../../db/webhook-deliveries.js';
import * as webhooks from '../../db/webhooks.js';
import { loadConfig } from '../../lib/config.js';
import { manualClock } from '../../workers/clock.js';
import { pruneIdempotencyKeys, pruneOutbox } from '../../workers/maintenance.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { box, testDeps, uniquePrefix } from './support.js';

const db = useTestDb();
const clock = manualClock(new Date());
let env: ReturnType<typeof testDeps>;
beforeAll(() => {
  env = testDeps(db.app, uniquePrefix(), { clock });
});
afterAll(async () => {
  await env.close();
});

describe('outbox pruning and webhook retries', () => {
  it('refuses a retention shorter than the longest retry schedule (Retry-After can stretch it to a week)', () => {
    expect(() => loadConfig({ OUTBOX_RETENTION_DAYS: '7' })).toThrow(/OUTBOX_RETENTION_DAYS/);
    expect(loadConfig({ OUTBOX_RETENTION_DAYS: '9' }).workers.outboxRetentionDays).toBe(9);
  });

  it('keeps an old event whose delivery still has a retry coming, and prunes the finished ones', async () => {
    const org = await makeOrg(db.app);
    const { subscription } = await withTenant(db.app, org.orgId, (tx) =>
      webhooks.createSubscription(
        tx,
        { url: 'https://hooks.example.com/in', eventTypes: ['ticket.created'] },
        org.owner,
        box,
      ),
    );
    const ids: number[] = [];
    for (const subject of ['retrying', 'dead', 'delivered']) {
      const { ticket } = await withTenant(db.app, org.orgId, (tx) =>
        openTicket(tx, { subject, origin: 'panel' }, org.owner),
      );
      const r = await db.admin.query<{ id: number }>(
        `select id from outbox where aggregate_id = $1 and event_type = 'ticket.created'`,
        [ticket.id],
      );
      ids.push(Number(r.rows[0]?.id));
    }
    const [retrying, dead, delivered] = ids as [number, number, number];
    const now = clock.now();
    const base = {
      subscriptionId: subscription.id,
      eventType: 'ticket.created',
      responseStatus: 503,
      latencyMs: 5,
      responseExcerpt: null,
      error: 'HTTP 503',
      now,
    };
    await withTenant(db.app, org.orgId, (tx) =>
      recordAttempts(tx, [
        {
          ...base,
          outboxId: retrying,
          messageId: `msg_${retrying}`,
          attempt: 7,
          status: 'failed',
          nextAttemptAt: new Date(now.getTime() + 24 * 3600_000),
        },
        {
          ...base,
          outboxId: dead,
          messageId: `msg_${dead}`,
          attempt: 8,
          status: 'dead',
          nextAttemptAt: null,
        },
        {
          ...base,
          outboxId: delivered,
          messageId: `msg_${delivered}`,
          attempt: 1,
          status: 'succeeded',
          responseStatus: 204,
          error: null,
          nextAttemptAt: null,
        },
      ]),
    );
    await db.admin.query(`update outbox set relayed_at = now() - interval '20 days' where org_id = $1`, [
      org.orgId,
    ]);
    expect(await pruneOutbox(env.deps, 14)).toBeGreaterThanOrEqual(2);
    const left = await db.admin.query<{ id: number }>('select id from outbox where org_id = $1 order by id', [
      org.orgId,
    ]);
    expect(left.rows.map((r) => Number(r.id))).toEqual([retrying]);
    const log = await withTenant(db.app, org.orgId, (tx) => listDeliveries(tx, { outboxId: retrying }));
    expect(log.map((d) => d.attempt)).toEqual([7]);
  });

  it('forgets Idempotency-Key answers after their 24 hours, in every organization', async () => {
    const org = await makeOrg(db.app);
    // Each answer is a copy of what the request made: nothing but the sweep clears one whose key
    // is never sent again.
    for (const key of ['old-key', 'fresh-key']) {
      await withTenant(db.app, org.orgId, async (tx) => {
        const c = await claimIdempotencyKey(tx, key, 'hash', 60_000);
        if (!('claim' in c)) throw new Error('the key was taken');
        await storeIdempotentResponse(tx, c.claim, 201, { subject: 'Player words' });
      });
    }
    await db.admin.query(
      `update idempotency_keys set created_at = now() - interval '25 hours' where org_id = $1 and key = 'old-key'`,
      [org.orgId],
    );
    expect(await pruneIdempotencyKeys(env.deps)).toBeGreaterThanOrEqual(1);
    const left = await db.admin.query('select key from idempotency_keys where org_id = $1', [org.orgId]);
    expect(left.rows).toEqual([{ key: 'fresh-key' }]);
  });
});
