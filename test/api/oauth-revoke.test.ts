import { randomInt } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/logger.js';
import { useTestDb } from '../support/db.js';
import type { OrgFixture } from '../support/fixtures.js';
import {
  clientCredentials,
  confidential,
  consentCode,
  creds,
  exchange,
  expectOAuthError,
  oauthPost,
  type Registered,
  refreshGrant,
  startOAuthApi,
} from './oauth-support.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
/** Every line the app logged, at trace level, through the production logger's settings. */
const logged: string[] = [];
let api: TestApi;
/** The same app with the token endpoint's limit at 5 per address. */
let limited: TestApi;
let a: OrgFixture;
let owner: Caller;
let client: Registered;
let other: Registered;
const tickets = () => `/v1/orgs/${a.orgId}/tickets`;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logged.push(String(chunk));
      cb();
    },
  });
  ({
    api,
    org: a,
    owner,
    client,
  } = await startOAuthApi(db.app, ['tickets:read'], {
    logger: createLogger('trace', {}, sink),
  }));
  limited = await startTestApi(db.app, { rateLimits: { oauth: { burst: 5, perMinute: 60 } } });
  other = await confidential(api, owner, a.orgId, ['tickets:read']);
});
afterAll(async () => {
  await api?.close();
  await limited?.close();
});

/** An address of its own: the limiter's buckets live in the Redis every test file shares. */
const from = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

describe('revocation (RFC 7009) and introspection (RFC 7662)', () => {
  it('introspects the client’s own live tokens only', async () => {
    const { code, verifier } = await consentCode(api, owner, client, 'tickets:read');
    const t = await exchange(api, client, code, verifier);
    const ask = (token: string, who: Registered) => oauthPost(api, 'introspect', { token, ...creds(who) });
    const access = await ask(t.access_token, client);
    expect(access.statusCode, access.body).toBe(200);
    expect(access.json()).toMatchObject({
      active: true,
      scope: 'tickets:read',
      client_id: client.clientId,
      token_type: 'access_token',
      sub: a.ownerId,
    });
    expect(access.json().exp - access.json().iat).toBe(900);
    expect((await ask(t.refresh_token as string, client)).json()).toMatchObject({
      active: true,
      token_type: 'refresh_token',
    });
    // Another client of the same org learns nothing, nor does anyone about junk.
    expect((await ask(t.access_token, other)).json()).toEqual({ active: false });
    expect((await ask('gmo_00000000_nothing', client)).json()).toEqual({ active: false });
    // Introspection needs client authentication.
    expectOAuthError(await oauthPost(api, 'introspect', { token: t.access_token }), 400, 'invalid_client');
    api.clock.advance(15 * 60_000 + 1);
    expect((await ask(t.access_token, client)).json()).toEqual({ active: false });
  });

  it('revokes a whole grant from either of its tokens, at once, and answers 200 for anything else', async () => {
    const { code, verifier } = await consentCode(
      api,
      await api.sessionFor(a.ownerId),
      client,
      'tickets:read',
    );
    const t = await exchange(api, client, code, verifier);
    const bearer = { token: t.access_token };
    expect((await api.call(bearer, { method: 'GET', url: tickets() })).statusCode).toBe(200);
    // Another client can't revoke it (200, nothing happens: RFC 7009 §2.2 gives nothing away).
    expect(
      (await oauthPost(api, 'revoke', { token: t.refresh_token as string, ...creds(other) })).statusCode,
    ).toBe(200);
    expect((await api.call(bearer, { method: 'GET', url: tickets() })).statusCode).toBe(200);
    const revoked = await oauthPost(api, 'revoke', {
      token: t.refresh_token as string,
      token_type_hint: 'refresh_token',
      ...creds(client),
    });
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect((await api.call(bearer, { method: 'GET', url: tickets() })).statusCode).toBe(401);
    expectOAuthError(await refreshGrant(api, client, t.refresh_token as string), 400, 'invalid_grant');
    expect((await oauthPost(api, 'revoke', { token: 'not a token', ...creds(client) })).statusCode).toBe(200);
    expectOAuthError(
      await oauthPost(api, 'revoke', {
        token: t.access_token,
        client_id: client.clientId,
        client_secret: 'wrong',
      }),
      400,
      'invalid_client',
    );

    const cc = (await clientCredentials(api, client)).json();
    expect((await api.call({ token: cc.access_token }, { method: 'GET', url: tickets() })).statusCode).toBe(
      200,
    );
    await oauthPost(api, 'revoke', { token: cc.access_token, ...creds(client) });
    expect((await api.call({ token: cc.access_token }, { method: 'GET', url: tickets() })).statusCode).toBe(
      401,
    );
  });
});

describe('the token endpoint’s rate limit', () => {
  it('limits each address, with Retry-After, and lets another address through', async () => {
    const me = from();
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await clientCredentials(limited, client, {}, me);
      statuses.push(res.statusCode);
      if (res.statusCode === 429) {
        expect(res.json().error).toBe('rate_limited');
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    // Wrong secrets spend the same bucket: guessing is no faster than asking.
    expect(
      (
        await oauthPost(
          limited,
          'introspect',
          { token: 'x', client_id: client.clientId, client_secret: 'y' },
          undefined,
          me,
        )
      ).statusCode,
    ).toBe(429);
    const elsewhere = await clientCredentials(limited, client, {}, from());
    expect(elsewhere.statusCode).toBe(200);
    limited.clock.advance(1000);
    expect((await clientCredentials(limited, client, {}, me)).statusCode).toBe(200);
  });
});

describe('logs', () => {
  it('never carry a token, a code, a verifier or a client secret', async () => {
    const staff = await api.sessionFor(a.ownerId);
    const { code, verifier } = await consentCode(api, staff, client, 'tickets:read');
    const t = await exchange(api, client, code, verifier);
    const rotated = (await refreshGrant(api, client, t.refresh_token as string)).json();
    await refreshGrant(api, client, t.refresh_token as string);
    await api.call({ token: rotated.access_token }, { method: 'GET', url: tickets() });
    await api.call({ token: t.access_token }, { method: 'GET', url: tickets() });
    await oauthPost(api, 'introspect', { token: rotated.access_token, ...creds(client) });
    await oauthPost(api, 'revoke', { token: rotated.refresh_token, ...creds(client) });
    const text = logged.join('');
    // The run did log its requests (so an empty log can't pass this).
    expect(text).toContain('/v1/oauth/token');
    expect(text).toContain('/v1/oauth/authorize');
    const secrets = [
      client.clientSecret as string,
      code,
      verifier,
      t.access_token,
      t.refresh_token as string,
      rotated.access_token,
      rotated.refresh_token,
    ];
    for (const s of secrets) {
      // The secret part (after the visible prefix) must appear nowhere.
      expect(text, s.slice(0, 12)).not.toContain(s.slice(-20));
    }
  });
});
