import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { type Caller, cookieFrom, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi(db.app);
});
afterAll(() => api?.close());

const codeAt = (secret: string, ms: number) => generate({ secret, epoch: Math.floor(ms / 1000) });

async function enable(me: Caller) {
  const { secret } = (await api.call(me, { method: 'POST', url: '/auth/totp/enrol' })).json();
  const confirm = await api.call(me, {
    method: 'POST',
    url: '/auth/totp/confirm',
    payload: { code: await codeAt(secret, api.clock.ms) },
  });
  expect(confirm.statusCode, confirm.body).toBe(200);
  return { secret: secret as string, recovery: confirm.json().recoveryCodes as string[] };
}

async function verified(r: Parameters<typeof cookieFrom>[0]): Promise<Caller> {
  expect(r.statusCode).toBe(200);
  const cookie = cookieFrom(r, 'gm_session') as string;
  const csrf = (await api.call({ cookie }, { method: 'GET', url: '/auth/session' })).json().csrfToken;
  return { cookie, csrf };
}

describe('TOTP', () => {
  it('five wrong codes stop guessing even when the guesses arrive at once', async () => {
    const org = await makeOrg(db.app, 'Race');
    await enable(await api.sessionFor(org.ownerId));
    const pending = await api.sessionFor(org.ownerId, 'pending');
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        api.app.inject({
          method: 'POST',
          url: '/auth/totp/verify',
          remoteAddress: `10.0.${i}.1`,
          headers: { cookie: `gm_session=${pending.cookie}`, 'x-csrf-token': pending.csrf as string },
          payload: { code: String(100000 + i) },
        }),
      ),
    );
    const judged = results.filter((r) => r.statusCode === 401).length;
    expect(
      judged,
      'wrong codes that were checked instead of refused by the 5-guess lock',
    ).toBeLessThanOrEqual(5);
    expect(results.filter((r) => r.statusCode === 429).length).toBe(40 - judged);
  });

  it('an org that requires TOTP: a member who turns TOTP off does not keep working unverified', async () => {
    const org = await makeOrg(db.app, 'Strict');
    const { secret } = await enable(await api.sessionFor(org.ownerId));
    const pending = await api.sessionFor(org.ownerId, 'pending');
    api.clock.advance(30_000);
    const v = await verified(
      await api.call(pending, {
        method: 'POST',
        url: '/auth/totp/verify',
        payload: { code: await codeAt(secret, api.clock.ms) },
      }),
    );
    expect(
      (await api.call(v, { method: 'PATCH', url: `/v1/orgs/${org.orgId}`, payload: { requireTotp: true } }))
        .statusCode,
    ).toBe(200);
    const otherDevice = await api.sessionFor(org.ownerId, 'verified');
    const stillPending = await api.sessionFor(org.ownerId, 'pending');
    api.clock.advance(30_000);
    const off = await api.call(v, {
      method: 'DELETE',
      url: '/auth/totp',
      payload: { code: await codeAt(secret, api.clock.ms) },
    });
    expect(off.statusCode, off.body).toBe(200);
    const res = await api.call(v, { method: 'GET', url: `/v1/orgs/${org.orgId}/tickets` });
    expect(res.statusCode, 'tickets of a TOTP-required org, read by a member who has no TOTP any more').toBe(
      403,
    );
    expect(res.json().error.details.reason).toBe('totp_required');
    const other = await api.call(otherDevice, { method: 'GET', url: `/v1/orgs/${org.orgId}/tickets` });
    expect(other.statusCode, 'the same person signed in on another device').toBe(403);
    // A sign-in that never gave its code is not let in by TOTP going away.
    const pend = await api.call(stillPending, { method: 'GET', url: '/v1/me' });
    expect(pend.json().error?.details?.reason).toBe('totp_pending');
  });
});
