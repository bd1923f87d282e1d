import { createECDH, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from '../../db/memberships.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, errorCode, startTestApi, type TestApi } from './support.js';

/** Subscribing a device to Web Push over the API, and the installation's VAPID key. */
const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let ana: Caller;
let anaId: string;
let owner: Caller;
let token: Caller;

beforeAll(async () => {
  api = await startTestApi(db.app);
  org = await makeOrg(db.app, 'Push API');
  owner = await api.sessionFor(org.ownerId);
  anaId = (await createUser(db.app, { displayName: 'Ana' })).id;
  await withTenant(db.app, org.orgId, (tx) => addMember(tx, { userId: anaId, role: 'agent' }, org.owner));
  ana = await api.sessionFor(anaId);
  token = await api.tokenFor(db.app, org.orgId, ['tickets:read']);
});
afterAll(() => api.close());

const url = (p = '') => `/v1/orgs/${org.orgId}/notifications/push${p}`;
function browserSubscription(
  endpoint = `https://fcm.googleapis.com/fcm/send/${randomBytes(12).toString('hex')}`,
) {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return {
    endpoint,
    expirationTime: null,
    keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') },
  };
}

describe('Web Push subscriptions', () => {
  it('give one VAPID key for the installation, generated once and stored sealed', async () => {
    const a = await api.call(ana, { method: 'GET', url: url() });
    expect(a.statusCode, a.body).toBe(200);
    const key = a.json().publicKey as string;
    // An uncompressed P-256 point, as PushManager.subscribe takes it.
    expect(Buffer.from(key, 'base64url')).toHaveLength(65);
    expect(Buffer.from(key, 'base64url')[0]).toBe(4);
    expect((await api.call(owner, { method: 'GET', url: url() })).json().publicKey).toBe(key);
    const stored = await db.admin.query<{ sealed: string }>('select sealed from instance_secrets');
    expect(stored.rows).toHaveLength(1);
    expect(stored.rows[0]?.sealed).toMatch(/^v1\./);
    expect(stored.rows[0]?.sealed).not.toContain(key);
    // The app's role reaches the table only through the two functions.
    await expect(db.app.query('select * from instance_secrets')).rejects.toThrow(/permission denied/);
  });

  it('subscribe and unsubscribe a member’s device, validated, keys sealed, endpoint kept server-side', async () => {
    const sub = browserSubscription();
    const made = await api.call(ana, {
      method: 'POST',
      url: url('/subscriptions'),
      payload: { ...sub, label: 'Firefox on Linux' },
    });
    expect(made.statusCode, made.body).toBe(201);
    expect(made.json()).toMatchObject({ service: 'https://fcm.googleapis.com', label: 'Firefox on Linux' });
    expect(made.body).not.toContain(sub.endpoint);
    const listed = (await api.call(ana, { method: 'GET', url: url() })).json().devices;
    expect(listed).toHaveLength(1);
    expect(listed[0].service).toBe('https://fcm.googleapis.com');
    // The owner sees only their own devices.
    expect((await api.call(owner, { method: 'GET', url: url() })).json().devices).toEqual([]);
    const row = await db.admin.query<{ keys_sealed: string; endpoint: string }>(
      'select keys_sealed, endpoint from push_subscriptions where org_id = $1',
      [org.orgId],
    );
    expect(row.rows[0]?.endpoint).toBe(sub.endpoint);
    expect(row.rows[0]?.keys_sealed).not.toContain(sub.keys.auth);
    expect(row.rows[0]?.keys_sealed).not.toContain(sub.keys.p256dh);
    // Subscribing again from the same browser replaces, never duplicates.
    expect(
      (await api.call(ana, { method: 'POST', url: url('/subscriptions'), payload: sub })).statusCode,
    ).toBe(201);
    expect((await api.call(ana, { method: 'GET', url: url() })).json().devices).toHaveLength(1);
    // Someone else cannot remove Ana's device; Ana can, once.
    const other = await api.call(owner, {
      method: 'POST',
      url: url('/unsubscribe'),
      payload: { endpoint: sub.endpoint },
    });
    expect(other.json()).toEqual({ removed: false });
    const off = await api.call(ana, {
      method: 'POST',
      url: url('/unsubscribe'),
      payload: { endpoint: sub.endpoint },
    });
    expect(off.json()).toEqual({ removed: true });
    expect(
      (
        await api.call(ana, { method: 'POST', url: url('/unsubscribe'), payload: { endpoint: sub.endpoint } })
      ).json(),
    ).toEqual({ removed: false });
    const audit = await db.admin.query<{ action: string }>(
      `select action from audit_logs where org_id = $1 and action like 'push_subscription.%' order by created_at`,
      [org.orgId],
    );
    expect(audit.rows.map((r) => r.action)).toEqual([
      'push_subscription.added',
      'push_subscription.added',
      'push_subscription.removed',
    ]);
  });

  it('refuse bad endpoints and keys naming the field, and tokens', async () => {
    const bad = async (payload: object, field: string) => {
      const r = await api.call(ana, { method: 'POST', url: url('/subscriptions'), payload });
      expect(r.statusCode, r.body).toBe(422);
      expect(r.body).toContain(field);
    };
    const ok = browserSubscription();
    await bad({ ...ok, endpoint: 'not a url' }, 'endpoint');
    await bad({ ...ok, endpoint: 'ftp://push.example/x' }, 'endpoint');
    await bad({ ...ok, endpoint: 'https://user:pw@push.example/x' }, 'endpoint');
    await bad({ ...ok, keys: { ...ok.keys, p256dh: ok.keys.p256dh.slice(0, 40) } }, 'p256dh');
    await bad({ ...ok, keys: { ...ok.keys, auth: 'AAAA' } }, 'auth');
    await bad({ ...ok, keys: { p256dh: ok.keys.p256dh } }, 'auth');
    // Plain HTTP and address literals on private or loopback ranges (the test API runs with the
    // production guard): no push service lives there.
    await bad(browserSubscription('http://push.example/x'), 'endpoint');
    await bad(browserSubscription('https://10.0.0.8/x'), 'endpoint');
    await bad(browserSubscription('https://[::1]/x'), 'endpoint');
    expect((await api.call(ana, { method: 'GET', url: url() })).json().devices).toEqual([]);
    const t = await api.call(token, {
      method: 'POST',
      url: url('/subscriptions'),
      payload: browserSubscription(),
    });
    expect(errorCode(t)).toBe('forbidden');
    expect((await api.call(token, { method: 'GET', url: url() })).json().devices).toEqual([]);
  });
});

describe('Web Push and signing out', () => {
  const subscribe = async (who: Caller, orgId: string) => {
    const sub = browserSubscription();
    const r = await api.call(who, {
      method: 'POST',
      url: `/v1/orgs/${orgId}/notifications/push/subscriptions`,
      payload: sub,
    });
    expect(r.statusCode, r.body).toBe(201);
    return sub.endpoint;
  };
  const endpointsOf = async (userId: string) =>
    (
      await db.admin.query<{ endpoint: string }>(
        'select endpoint from push_subscriptions where user_id = $1 order by endpoint',
        [userId],
      )
    ).rows.map((r) => r.endpoint);

  it('a sign-out ends the push of that browser, a sign-out everywhere every device in every org', async () => {
    const cyId = (await createUser(db.app, { displayName: 'Cy' })).id;
    const second = await makeOrg(db.app, 'Push API two');
    for (const o of [org, second])
      await withTenant(db.app, o.orgId, (tx) => addMember(tx, { userId: cyId, role: 'agent' }, o.owner));
    const laptop = await api.sessionFor(cyId);
    const phone = await api.sessionFor(cyId);
    const tablet = await api.sessionFor(cyId);
    const onLaptop = await subscribe(laptop, org.orgId);
    const onLaptopToo = await subscribe(laptop, second.orgId);
    const onPhone = await subscribe(phone, org.orgId);
    const onPhoneToo = await subscribe(phone, second.orgId);
    const onTablet = await subscribe(tablet, org.orgId);
    expect(await endpointsOf(cyId)).toHaveLength(5);
    expect(await endpointsOf(cyId)).toEqual(expect.arrayContaining([onLaptop, onLaptopToo]));

    // The laptop signs out: its devices go, in both orgs, with no help from the page.
    expect((await api.call(laptop, { method: 'POST', url: '/auth/logout' })).statusCode).toBe(200);
    expect(await endpointsOf(cyId)).toEqual([onPhone, onPhoneToo, onTablet].sort());
    // A browser that subscribed under an earlier session (or before subscriptions were tied to
    // one) names its endpoint as it signs out.
    await db.admin.query('update push_subscriptions set session_ref = null where endpoint = $1', [onTablet]);
    const bye = await api.call(tablet, {
      method: 'POST',
      url: '/auth/logout',
      payload: { pushEndpoint: onTablet },
    });
    expect(bye.statusCode, bye.body).toBe(200);
    expect(await endpointsOf(cyId)).toEqual([onPhone, onPhoneToo].sort());
    // Only the caller's own: naming someone else's endpoint removes nothing.
    const anaEndpoint = await subscribe(ana, org.orgId);
    const again = await api.sessionFor(cyId);
    await api.call(again, { method: 'POST', url: '/auth/logout', payload: { pushEndpoint: anaEndpoint } });
    expect(await endpointsOf(anaId)).toEqual([anaEndpoint]);
    const bad = await api.call(phone, {
      method: 'POST',
      url: '/auth/logout',
      payload: { pushEndpoint: 'nope' },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain('pushEndpoint');

    // Everywhere: every device of the person, in every org, whatever session subscribed it.
    const all = await api.call(phone, { method: 'POST', url: '/auth/logout-everywhere' });
    expect(all.statusCode, all.body).toBe(200);
    expect(await endpointsOf(cyId)).toEqual([]);
    expect(await endpointsOf(anaId)).toEqual([anaEndpoint]);
    // Each org's audit log says so.
    for (const o of [org, second]) {
      const audit = await db.admin.query<{ action: string; data: Record<string, unknown> }>(
        `select action, data from audit_logs where org_id = $1 and target_id = $2::text
           and action in ('push_subscription.removed', 'user.signed_out_everywhere') order by created_at, id`,
        [o.orgId, cyId],
      );
      expect(audit.rows.map((r) => r.action)).toContain('push_subscription.removed');
      expect(audit.rows.at(-1)).toMatchObject({ action: 'user.signed_out_everywhere' });
    }
  });
});
