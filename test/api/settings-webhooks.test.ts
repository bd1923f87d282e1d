import { describe, expect, it } from 'vitest';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { recordAttempts } from '../../db/webhook-attempts.js';
import { auditActions, expectBadBodiesRefused, expectError, useSettingsApi } from './settings-support.js';
import type { Caller } from './support.js';

const { db, api, w } = useSettingsApi('Hooks');

const hooks = (path = '', orgId = w.a.orgId) => `/v1/orgs/${orgId}/webhooks${path}`;
const deliveries = (query = '', orgId = w.a.orgId) => `/v1/orgs/${orgId}/webhook-deliveries${query}`;

async function subscribe(who: Caller, orgId = w.a.orgId, eventTypes = ['ticket.created', 'message.created']) {
  const res = await api.call(who, {
    method: 'POST',
    url: hooks('', orgId),
    payload: { url: 'https://hooks.example.com/gamemod', description: 'CRM', eventTypes },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { subscription: { id: string }; secret: string };
}

/** An event in the outbox (a new ticket) and logged delivery attempts of it, as the workers write them. */
async function logAttempts(
  orgId: string,
  subscriptionId: string,
  eventType: string,
  statuses: Array<'failed' | 'succeeded'>,
) {
  return withTenant(db.app, orgId, async (tx) => {
    const { ticket } = await openTicket(
      tx,
      { subject: 'Webhook source', origin: 'panel' },
      { type: 'system' },
    );
    const o = await tx.query<{ id: number }>(
      'select id from outbox where org_id = $1 and aggregate_id = $2 order by id limit 1',
      [orgId, ticket.id],
    );
    const outboxId = Number(o.rows[0]?.id);
    let attempt = 0;
    for (const status of statuses) {
      attempt += 1;
      await recordAttempts(tx, [
        {
          subscriptionId,
          outboxId,
          eventType,
          messageId: `msg_${outboxId}`,
          attempt,
          status,
          responseStatus: status === 'succeeded' ? 200 : 500,
          latencyMs: 40 + attempt,
          responseExcerpt: status === 'succeeded' ? 'ok' : 'upstream exploded',
          error: status === 'succeeded' ? null : 'HTTP 500',
          nextAttemptAt: null,
          now: new Date(),
        },
      ]);
    }
    return outboxId;
  });
}

describe('webhook routes', () => {
  it('subscribes with a secret shown once (stored sealed), edits, disables, re-enables, rotates and deletes; audited', async () => {
    const { subscription, secret } = await subscribe(w.owner);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    const stored = await db.admin.query('select secret_ciphertext from webhook_subscriptions where id = $1', [
      subscription.id,
    ]);
    expect(stored.rows[0].secret_ciphertext).not.toContain(secret.slice(6));

    const listed = await api.call(w.owner, { method: 'GET', url: hooks() });
    expect(listed.statusCode).toBe(200);
    expect(listed.body).not.toContain(secret);
    expect(listed.body).not.toMatch(/secret"|ciphertext/i);
    const one = await api.call(w.owner, { method: 'GET', url: hooks(`/${subscription.id}`) });
    expect(one.body).not.toContain(secret);

    const off = await api.call(w.owner, {
      method: 'PATCH',
      url: hooks(`/${subscription.id}`),
      payload: { enabled: false, eventTypes: ['ticket.closed'] },
    });
    expect(off.statusCode, off.body).toBe(200);
    expect(off.json()).toMatchObject({
      enabled: false,
      disabledReason: 'disabled by staff',
      eventTypes: ['ticket.closed'],
    });
    const on = await api.call(w.owner, {
      method: 'PATCH',
      url: hooks(`/${subscription.id}`),
      payload: { enabled: true },
    });
    expect(on.json()).toMatchObject({ enabled: true, disabledAt: null, disabledReason: null });

    const rotated = await api.call(w.owner, {
      method: 'POST',
      url: hooks(`/${subscription.id}/rotate-secret`),
      payload: { graceHours: 2 },
    });
    expect(rotated.statusCode, rotated.body).toBe(200);
    const r = rotated.json() as { secret: string; subscription: { previousSecretExpiresAt: string } };
    expect(r.secret).toMatch(/^whsec_/);
    expect(r.secret).not.toBe(secret);
    expect(new Date(r.subscription.previousSecretExpiresAt).getTime()).toBeGreaterThan(Date.now() + 3600_000);
    const defaultGrace = await api.call(w.owner, {
      method: 'POST',
      url: hooks(`/${subscription.id}/rotate-secret`),
    });
    expect(defaultGrace.statusCode, defaultGrace.body).toBe(200);

    expect((await api.call(w.owner, { method: 'DELETE', url: hooks(`/${subscription.id}`) })).json()).toEqual(
      { ok: true },
    );
    expectError(await api.call(w.owner, { method: 'GET', url: hooks(`/${subscription.id}`) }), 404);
    expect(await auditActions(db.admin, w.a.orgId, subscription.id)).toEqual([
      'webhook.created',
      'webhook.updated',
      'webhook.updated',
      'webhook.secret_rotated',
      'webhook.secret_rotated',
      'webhook.deleted',
    ]);
  });

  it('shows the delivery log with filters and pages, and replays a delivery through the outbox', async () => {
    const one = (await subscribe(w.owner)).subscription.id;
    const two = (await subscribe(w.owner)).subscription.id;
    await logAttempts(w.a.orgId, one, 'ticket.created', ['failed', 'succeeded']);
    await logAttempts(w.a.orgId, two, 'message.created', ['failed']);

    const bySub = await api.call(w.owner, { method: 'GET', url: deliveries(`?subscriptionId=${one}`) });
    expect(bySub.statusCode, bySub.body).toBe(200);
    // Both attempts were logged in one transaction (one timestamp): compare them by attempt number.
    const log = (bySub.json().deliveries as Array<Record<string, unknown>>).sort(
      (x, y) => Number(y.attempt) - Number(x.attempt),
    );
    expect(log.map((d) => [d.attempt, d.status, d.responseStatus])).toEqual([
      [2, 'succeeded', 200],
      [1, 'failed', 500],
    ]);
    expect(log[1]).toMatchObject({ latencyMs: 41, responseExcerpt: 'upstream exploded', error: 'HTTP 500' });
    const byEvent = await api.call(w.owner, { method: 'GET', url: deliveries('?eventType=message.created') });
    expect(byEvent.json().deliveries.map((d: { subscriptionId: string }) => d.subscriptionId)).toEqual([two]);
    const failed = await api.call(w.owner, { method: 'GET', url: deliveries('?status=failed') });
    expect(failed.json().deliveries).toHaveLength(2);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await api.call(w.owner, {
        method: 'GET',
        url: deliveries(`?limit=1${cursor ? `&cursor=${cursor}` : ''}`),
      });
      expect(page.statusCode, page.body).toBe(200);
      const body = page.json() as { deliveries: { id: string }[]; next: string | null };
      seen.push(...body.deliveries.map((d) => d.id));
      cursor = body.next;
    } while (cursor);
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(3);

    const target = log[1]?.id as string;
    const replay = await api.call(w.owner, { method: 'POST', url: deliveries(`/${target}/replay`) });
    expect(replay.statusCode, replay.body).toBe(202);
    const queued = await db.admin.query(
      "select payload from outbox where org_id = $1 and event_type = 'webhook.replay_requested'",
      [w.a.orgId],
    );
    expect(queued.rows.map((r) => r.payload.deliveryId)).toEqual([target]);
    expect(await auditActions(db.admin, w.a.orgId, one)).toContain('webhook.replayed');
  });

  it('refuses with 409 to replay an event of a type the subscription no longer subscribes to', async () => {
    const id = (await subscribe(w.owner)).subscription.id;
    await logAttempts(w.a.orgId, id, 'ticket.created', ['failed']);
    const [logged] = (
      await api.call(w.owner, { method: 'GET', url: deliveries(`?subscriptionId=${id}`) })
    ).json().deliveries as Array<{ id: string }>;
    const off = await api.call(w.owner, {
      method: 'PATCH',
      url: hooks(`/${id}`),
      payload: { eventTypes: ['message.created'] },
    });
    expect(off.statusCode, off.body).toBe(200);
    const replay = await api.call(w.owner, { method: 'POST', url: deliveries(`/${logged?.id}/replay`) });
    expectError(replay, 409, 'conflict');
    expect(replay.json().error.message).toMatch(/no longer subscribes to ticket\.created/);
  });

  it('tells a manual replay from the automatic attempt with the same number, and filters by it', async () => {
    const id = (await subscribe(w.owner)).subscription.id;
    const outboxId = await logAttempts(w.a.orgId, id, 'ticket.created', ['failed']);
    await withTenant(db.app, w.a.orgId, (tx) =>
      recordAttempts(tx, [
        {
          subscriptionId: id,
          outboxId,
          eventType: 'ticket.created',
          messageId: `msg_${outboxId}`,
          attempt: 1,
          replay: true,
          status: 'succeeded',
          responseStatus: 200,
          latencyMs: 12,
          responseExcerpt: 'ok',
          error: null,
          nextAttemptAt: null,
          now: new Date(),
        },
      ]),
    );
    const all = await api.call(w.owner, { method: 'GET', url: deliveries(`?subscriptionId=${id}`) });
    expect(all.statusCode, all.body).toBe(200);
    const rows = all.json().deliveries as Array<{ attempt: number; replay: boolean; status: string }>;
    expect(rows.map((d) => [d.attempt, d.replay, d.status]).sort()).toEqual([
      [1, false, 'failed'],
      [1, true, 'succeeded'],
    ]);
    const replays = await api.call(w.owner, {
      method: 'GET',
      url: deliveries(`?subscriptionId=${id}&replay=true`),
    });
    expect(replays.statusCode, replays.body).toBe(200);
    expect(replays.json().deliveries.map((d: { replay: boolean }) => d.replay)).toEqual([true]);
    const automatic = await api.call(w.owner, {
      method: 'GET',
      url: deliveries(`?subscriptionId=${id}&replay=false`),
    });
    expect(automatic.json().deliveries.map((d: { status: string }) => d.status)).toEqual(['failed']);
  });

  it('sends a test ping through the outbox, once per Idempotency-Key, and refuses a disabled subscription', async () => {
    const { subscription } = await subscribe(w.owner);
    const ping = (key?: string) =>
      api.call(w.owner, {
        method: 'POST',
        url: hooks(`/${subscription.id}/test`),
        ...(key ? { headers: { 'idempotency-key': key } } : {}),
      });
    const res = await ping('ping-1');
    expect(res.statusCode, res.body).toBe(202);
    const body = res.json() as { subscriptionId: string; eventId: number; messageId: string };
    expect(body).toEqual({
      subscriptionId: subscription.id,
      eventId: body.eventId,
      messageId: `msg_${body.eventId}`,
    });
    expect((await ping('ping-1')).json()).toEqual(body);
    const queued = await db.admin.query(
      "select id, payload from outbox where org_id = $1 and event_type = 'webhook.test'",
      [w.a.orgId],
    );
    expect(queued.rows.map((r) => [Number(r.id), r.payload.subscriptionId])).toEqual([
      [body.eventId, subscription.id],
    ]);
    expect(await auditActions(db.admin, w.a.orgId, subscription.id)).toContain('webhook.tested');

    await api.call(w.owner, {
      method: 'PATCH',
      url: hooks(`/${subscription.id}`),
      payload: { enabled: false },
    });
    expectError(await ping(), 409, 'conflict');
    expectError(
      await api.call(w.owner, { method: 'POST', url: hooks('/00000000-0000-4000-8000-000000000000/test') }),
      404,
    );
    expectError(await api.call(w.agent, { method: 'POST', url: hooks(`/${subscription.id}/test`) }), 403);
  });

  it('needs webhooks.manage: agents and settings tokens are refused, a webhooks token is let in', async () => {
    expectError(await api.call(w.agent, { method: 'GET', url: hooks() }), 403, 'forbidden');
    expectError(await api.call(w.agent, { method: 'GET', url: deliveries() }), 403);
    const settings = await api.tokenFor(db.app, w.a.orgId, ['settings:manage']);
    expectError(
      await api.call(settings, {
        method: 'POST',
        url: hooks(),
        payload: { url: 'https://x.example.com', eventTypes: ['ticket.created'] },
      }),
      403,
    );
    const webhooks = await api.tokenFor(db.app, w.a.orgId, ['webhooks:manage']);
    const made = await api.call(webhooks, {
      method: 'POST',
      url: hooks(),
      payload: { url: 'https://x.example.com', eventTypes: ['ticket.created'] },
    });
    expect(made.statusCode, made.body).toBe(201);
  });

  it("answers 404 for another org's subscriptions and deliveries, changing nothing", async () => {
    const theirs = (await subscribe(w.ownerB, w.b.orgId)).subscription.id;
    await logAttempts(w.b.orgId, theirs, 'ticket.created', ['failed']);
    const theirDelivery = (
      await db.admin.query('select id from webhook_deliveries where subscription_id = $1', [theirs])
    ).rows[0].id as string;
    const before = await db.admin.query('select * from webhook_subscriptions where id = $1', [theirs]);

    expectError(await api.call(w.owner, { method: 'GET', url: hooks(`/${theirs}`) }), 404, 'not_found');
    expectError(
      await api.call(w.owner, { method: 'PATCH', url: hooks(`/${theirs}`), payload: { enabled: false } }),
      404,
    );
    expectError(
      await api.call(w.owner, { method: 'POST', url: hooks(`/${theirs}/rotate-secret`), payload: {} }),
      404,
    );
    expectError(await api.call(w.owner, { method: 'DELETE', url: hooks(`/${theirs}`) }), 404);
    expectError(await api.call(w.owner, { method: 'POST', url: hooks(`/${theirs}/test`) }), 404);
    expectError(
      await api.call(w.owner, { method: 'POST', url: deliveries(`/${theirDelivery}/replay`) }),
      404,
    );
    const peek = await api.call(w.owner, { method: 'GET', url: deliveries(`?subscriptionId=${theirs}`) });
    expect(peek.json().deliveries).toEqual([]);
    expectError(await api.call(w.owner, { method: 'GET', url: deliveries('', w.b.orgId) }), 404);

    const after = await db.admin.query('select * from webhook_subscriptions where id = $1', [theirs]);
    expect(after.rows).toEqual(before.rows);
    expect(await auditActions(db.admin, w.a.orgId, theirs)).toEqual([]);
  });

  it('refuses bad input with the error shape', async () => {
    const { subscription } = await subscribe(w.owner);
    await expectBadBodiesRefused(api, w.owner, 'POST', hooks());
    await expectBadBodiesRefused(api, w.owner, 'PATCH', hooks(`/${subscription.id}`), { enabled: 'yes' });
    await expectBadBodiesRefused(api, w.owner, 'POST', hooks(`/${subscription.id}/rotate-secret`), {
      graceHours: 'a day',
    });
    const bad = [
      { url: 'ftp://files.example.com', eventTypes: ['ticket.created'] },
      { url: 'not a url', eventTypes: ['ticket.created'] },
      { url: `https://example.com/${'a'.repeat(2100)}`, eventTypes: ['ticket.created'] },
      { url: 'https://example.com', eventTypes: [] },
      { url: 'https://example.com', eventTypes: ['ticket.exploded'] },
    ];
    for (const payload of bad) {
      expectError(
        await api.call(w.owner, { method: 'POST', url: hooks(), payload }),
        422,
        'validation_failed',
      );
    }
    expectError(
      await api.call(w.owner, { method: 'PATCH', url: hooks(`/${subscription.id}`), payload: {} }),
      422,
    );
    expectError(
      await api.call(w.owner, {
        method: 'POST',
        url: hooks(`/${subscription.id}/rotate-secret`),
        payload: { graceHours: 1000 },
      }),
      422,
    );
    expectError(await api.call(w.owner, { method: 'GET', url: deliveries('?limit=0') }), 422);
    expectError(await api.call(w.owner, { method: 'GET', url: deliveries('?status=lost') }), 422);
    expectError(await api.call(w.owner, { method: 'GET', url: deliveries('?cursor=bm9wZQ') }), 422);
    expectError(await api.call(w.owner, { method: 'POST', url: deliveries('/123/replay') }), 422);
  });
});
