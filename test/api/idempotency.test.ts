import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { erasePlayer } from '../../db/player-privacy.js';
import { upsertPlayer } from '../../db/players.js';
import { MAX_RULES } from '../../db/rules.js';
import { withTenant } from '../../db/tenant.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { startTestApi, type TestApi } from './support.js';

const db = useTestDb();
/** How long a claim lasts unless its request renews it: short, so a test can outlast a few. */
const LEASE_MS = 300;
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi(db.app, {
    settings: { idempotencyLeaseMs: LEASE_MS },
    timeouts: { headersMs: LEASE_MS, uploadMs: LEASE_MS },
  });
});
afterAll(() => api.close());

const tickets = (orgId: string) => `/v1/orgs/${orgId}/tickets`;

describe('Idempotency-Key and transient failures', () => {
  it('lets a client retry with the same key after a "concurrent update, try again"', async () => {
    const org = await makeOrg(db.app, 'Transient');
    const token = await api.tokenFor(db.app, org.orgId, ['tickets:write']);
    await db.admin.query(`
      create or replace function review_fail_once() returns trigger language plpgsql as $$
      begin
        if new.subject = 'Deadlocked once' then raise exception 'deadlock detected' using errcode = '40P01'; end if;
        return new;
      end $$;
      create trigger review_fail_once before insert on tickets for each row execute function review_fail_once();`);
    const send = () =>
      api.call(token, {
        method: 'POST',
        url: tickets(org.orgId),
        payload: { subject: 'Deadlocked once' },
        headers: { 'idempotency-key': 'create-order-77' },
      });
    const first = await send();
    expect(first.statusCode).toBe(409);
    expect(first.json().error.message).toMatch(/try again/);
    expect(first.json().error.details).toMatchObject({ retryable: true });
    await db.admin.query('drop trigger review_fail_once on tickets');
    const retry = await send();
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(retry.statusCode).toBe(201);
  });

  it('lets a client retry with the same key after a 429, and keeps a business 409', async () => {
    const org = await makeOrg(db.app, 'Limits');
    const owner = await api.sessionFor(org.ownerId);
    await db.admin.query(
      `insert into rules (org_id, name, trigger, actions, position)
       select $1::uuid, 'rule ' || i, 'ticket.created', '[{"type":"set_priority","priority":"high"}]', i
       from generate_series(0, $2::int - 1) as i`,
      [org.orgId, MAX_RULES],
    );
    const send = (name: string, key: string) =>
      api.call(owner, {
        method: 'POST',
        url: `/v1/orgs/${org.orgId}/rules`,
        payload: { name, trigger: 'ticket.created', actions: [{ type: 'set_priority', priority: 'urgent' }] },
        headers: { 'idempotency-key': key },
      });
    const full = await send('One more', 'rule-one-more');
    expect(full.statusCode).toBe(429);
    await db.admin.query(`delete from rules where org_id = $1::uuid and name = 'rule 0'`, [org.orgId]);
    const retry = await send('One more', 'rule-one-more');
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(retry.statusCode).toBe(201);

    // A name already taken is an answer, not a hiccup: the same key gets it again.
    await db.admin.query(`delete from rules where org_id = $1::uuid and name = 'rule 1'`, [org.orgId]);
    const taken = await send('rule 2', 'rule-taken');
    expect(taken.statusCode).toBe(409);
    const replay = await send('rule 2', 'rule-taken');
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.statusCode).toBe(409);
  });

  it('holds the claim for as long as the first request runs: a retry meanwhile gets the 409, not a second run', async () => {
    const org = await makeOrg(db.app, 'Slow');
    const token = await api.tokenFor(db.app, org.orgId, ['tickets:write']);
    await db.admin.query(`
      create or replace function review_slow_insert() returns trigger language plpgsql as $$
      begin
        if new.subject = 'Slow to write' then perform pg_sleep(1.2); end if;
        return new;
      end $$;
      create trigger review_slow_insert before insert on tickets for each row execute function review_slow_insert();`);
    try {
      const send = () =>
        api.call(token, {
          method: 'POST',
          url: tickets(org.orgId),
          payload: { subject: 'Slow to write' },
          headers: { 'idempotency-key': 'slow-1' },
        });
      const first = send();
      // Well past the lease it was claimed with: only its renewals keep it.
      await new Promise((r) => setTimeout(r, LEASE_MS * 3));
      const retry = await send();
      expect(retry.statusCode, 'a retry while the first request still runs').toBe(409);
      expect(retry.json().error.message).toMatch(/still being processed/);
      expect((await first).statusCode).toBe(201);
    } finally {
      await db.admin.query('drop trigger review_slow_insert on tickets');
    }
    const made = await db.admin.query(
      `select count(*)::int as n from tickets where org_id = $1 and subject = 'Slow to write'`,
      [org.orgId],
    );
    expect(made.rows[0].n, 'tickets made').toBe(1);
  });

  it('does not commit a request whose claim lapsed while it ran: its retry, which took the claim over, is the only run', async () => {
    const org = await makeOrg(db.app, 'Lapsed');
    const token = await api.tokenFor(db.app, org.orgId, ['tickets:write']);
    await db.admin.query(`
      create or replace function review_slow_insert() returns trigger language plpgsql as $$
      begin
        if new.subject = 'Slow to write' then perform pg_sleep(1.2); end if;
        return new;
      end $$;
      create trigger review_slow_insert before insert on tickets for each row execute function review_slow_insert();`);
    try {
      const send = () =>
        api.call(token, {
          method: 'POST',
          url: tickets(org.orgId),
          payload: { subject: 'Slow to write' },
          headers: { 'idempotency-key': 'lapsed-1' },
        });
      const first = send();
      let claimedAt: string | undefined;
      while (!claimedAt) {
        const r = await db.admin.query(
          `select created_at::text as at from idempotency_keys where org_id = $1::uuid and key = 'lapsed-1'`,
          [org.orgId],
        );
        claimedAt = r.rows[0]?.at as string | undefined;
      }
      // Every renewal of the first request's claim fails (the database unreachable for it).
      await db.admin.query(`
        create or replace function review_renewal_fails() returns trigger language plpgsql as $$
        begin raise exception 'renewal lost'; end $$;
        create trigger review_renewal_fails before update on idempotency_keys for each row
          when (old.response_status is null and new.response_status is null and old.created_at = '${claimedAt}'::timestamptz)
          execute function review_renewal_fails();`);
      await new Promise((r) => setTimeout(r, 900));
      const retry = await send();
      const answers = [await first, retry];
      const made = await db.admin.query(
        `select id from tickets where org_id = $1 and subject = 'Slow to write'`,
        [org.orgId],
      );
      expect(made.rows.length, 'tickets made').toBe(1);
      expect(retry.statusCode).toBe(201);
      expect(retry.json().id).toBe(made.rows[0].id);
      const [one] = answers;
      if (one?.statusCode === 409) expect(one.json().error.details).toMatchObject({ retryable: true });
      else expect(one?.json().id).toBe(made.rows[0].id);
    } finally {
      await db.admin.query('drop trigger if exists review_renewal_fails on idempotency_keys');
      await db.admin.query('drop trigger review_slow_insert on tickets');
    }
  });

  it("lets a retry run once a claim's lease lapses unrenewed (a crash mid-request)", async () => {
    const org = await makeOrg(db.app, 'Crashed');
    const token = await api.tokenFor(db.app, org.orgId, ['tickets:write']);
    const send = () =>
      api.call(token, {
        method: 'POST',
        url: tickets(org.orgId),
        payload: { subject: 'Lost in a crash' },
        headers: { 'idempotency-key': 'crash-1' },
      });
    // A claim whose answer was never stored (the process died, or the store failed): what it
    // leaves behind is the claim with no status, its lease as last renewed.
    const lost = await send();
    expect(lost.statusCode).toBe(201);
    await db.admin.query(
      `update idempotency_keys set response_status = null, response_body = null, lease_until = now() + interval '1 minute'
        where org_id = $1::uuid and key = 'crash-1'`,
      [org.orgId],
    );
    const soon = await send();
    expect(soon.statusCode).toBe(409);
    expect(soon.json().error.message).toMatch(/still being processed/);
    // Nobody renews it: the lease runs out.
    await db.admin.query(
      `update idempotency_keys set lease_until = now() - interval '1 second' where org_id = $1::uuid and key = 'crash-1'`,
      [org.orgId],
    );
    const later = await send();
    expect(later.headers['idempotent-replayed']).toBeUndefined();
    expect(later.statusCode).toBe(201);
    const replay = await send();
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json().id).toBe(later.json().id);
  });
});

describe('Idempotency-Key answers and erasure', () => {
  it("does not replay a ticket whose player was erased: the cached answer goes with the player's data", async () => {
    const org = await makeOrg(db.app, 'IdemErase');
    const token = await api.tokenFor(db.app, org.orgId, ['tickets:write']);
    const playerId = await withTenant(
      db.app,
      org.orgId,
      async (tx) => (await upsertPlayer(tx, { displayName: 'Grimwaldo', email: 'grimwaldo@example.com' })).id,
    );
    const send = () =>
      api.call(token, {
        method: 'POST',
        url: tickets(org.orgId),
        payload: {
          subject: 'Grimwaldo lost a sword',
          requesterId: playerId,
          customFields: { server: 'Grimwaldo-EU' },
        },
        headers: { 'idempotency-key': 'crm-sync-1' },
      });
    const first = await send();
    expect(first.statusCode, first.body).toBe(201);
    expect((await send()).headers['idempotent-replayed']).toBe('true');
    await withTenant(db.app, org.orgId, (tx) => erasePlayer(tx, playerId, org.owner));
    const left = await db.admin.query(
      `select key from idempotency_keys where org_id = $1 and response_body::text ilike '%Grimwaldo%'`,
      [org.orgId],
    );
    expect(left.rows).toEqual([]);
    const replay = await send();
    expect(replay.headers['idempotent-replayed'], 'the replay is served from the cache').toBeUndefined();
  });
});
