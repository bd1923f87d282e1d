import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetTotp } from '../../cli/commands/user-reset-totp.js';
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

  it('a person who lost their authenticator turns TOTP off with a recovery code and enrols again', async () => {
    const org = await makeOrg(db.app, 'Lost phone');
    const me = await api.sessionFor(org.ownerId);
    const { recovery } = await enable(me);
    const pending = await api.sessionFor(org.ownerId, 'pending');
    const v = await verified(
      await api.call(pending, {
        method: 'POST',
        url: '/auth/totp/verify',
        payload: { recoveryCode: recovery[0] },
      }),
    );
    const off = await api.call(v, {
      method: 'DELETE',
      url: '/auth/totp',
      payload: { recoveryCode: recovery[1] },
    });
    expect(off.statusCode, off.body).toBe(200);
    expect((await api.call(v, { method: 'POST', url: '/auth/totp/enrol' })).statusCode).toBe(200);
  });

  it('new recovery codes replace the old ones, for a current code only', async () => {
    const org = await makeOrg(db.app, 'Renewed');
    const { secret, recovery } = await enable(await api.sessionFor(org.ownerId));
    const me = await api.sessionFor(org.ownerId, 'verified');
    const renew = (code: string) =>
      api.call(me, { method: 'POST', url: '/auth/totp/recovery-codes', payload: { code } });
    expect((await renew('000000')).json().error.details.reason).toBe('bad_code');
    api.clock.advance(30_000);
    const fresh = await renew(await codeAt(secret, api.clock.ms));
    expect(fresh.statusCode, fresh.body).toBe(200);
    const codes = fresh.json().recoveryCodes as string[];
    expect(codes).toHaveLength(10);
    const verify = (recoveryCode: string) =>
      api
        .sessionFor(org.ownerId, 'pending')
        .then((p) => api.call(p, { method: 'POST', url: '/auth/totp/verify', payload: { recoveryCode } }));
    expect((await verify(recovery[2] as string)).statusCode, 'an old recovery code').toBe(401);
    expect((await verify(codes[0] as string)).statusCode, 'a new recovery code').toBe(200);
    const audit = await db.admin.query(
      "select 1 from audit_logs where org_id = $1 and action = 'user.totp_recovery_codes_replaced'",
      [org.orgId],
    );
    expect(audit.rowCount).toBe(1);
  });

  it("an operator resets a person's TOTP: sessions end, the next sign-in asks no code, audited", async () => {
    const org = await makeOrg(db.app, 'Reset');
    const { secret } = await enable(await api.sessionFor(org.ownerId));
    const before = await api.sessionFor(org.ownerId, 'verified');
    // Guesses made with the lost phone's last codes.
    for (let i = 0; i < 6; i++) {
      await api.call(await api.sessionFor(org.ownerId, 'pending'), {
        method: 'POST',
        url: '/auth/totp/verify',
        payload: { code: '000000' },
      });
    }
    const done = await resetTotp(db.app, api.redis, org.ownerId);
    expect(done.wasOn).toBe(true);
    expect(done.sessionsEnded).toBeGreaterThan(0);
    expect((await api.call(before, { method: 'GET', url: '/auth/session' })).statusCode).toBe(401);
    const fresh = await api.sessionFor(org.ownerId);
    const { secret: newSecret } = (await api.call(fresh, { method: 'POST', url: '/auth/totp/enrol' })).json();
    expect(newSecret).not.toBe(secret);
    const confirm = await api.call(fresh, {
      method: 'POST',
      url: '/auth/totp/confirm',
      payload: { code: await codeAt(newSecret, api.clock.ms) },
    });
    expect(confirm.statusCode, 'enrolling again right after the reset').toBe(200);
    const audit = await db.admin.query(
      "select actor_type, request_id from audit_logs where org_id = $1 and action = 'user.totp_reset'",
      [org.orgId],
    );
    expect(audit.rows).toEqual([{ actor_type: 'system', request_id: 'cli:user-reset-totp' }]);
  });
});
