import { createHash, randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { Pool } from '../../db/pool.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

/** What the OAuth tests share: registering clients, the token endpoint, PKCE and the consent. */

export const REDIRECT = 'https://app.example.test/callback';

export interface Registered {
  id: string;
  clientId: string;
  clientSecret: string | null;
}

export async function registerClient(
  api: TestApi,
  staff: Caller,
  orgId: string,
  body: Record<string, unknown>,
): Promise<Registered> {
  const res = await api.call(staff, {
    method: 'POST',
    url: `/v1/orgs/${orgId}/oauth-clients`,
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(201);
  const { client, clientSecret } = res.json();
  return { id: client.id, clientId: client.clientId, clientSecret };
}

/** A confidential client with every grant and the given scopes. */
export const confidential = (api: TestApi, staff: Caller, orgId: string, scopes: string[]) =>
  registerClient(api, staff, orgId, {
    name: 'Studio backend',
    kind: 'confidential',
    scopes,
    redirectUris: [REDIRECT],
  });

/**
 * What each OAuth test file starts from: the test API (`apiOptions` as startTestApi takes them), an
 * org named Alpha, its owner's session, and a confidential client of Alpha with `scopes`.
 */
export async function startOAuthApi(
  app: Pool,
  scopes: string[],
  apiOptions?: Parameters<typeof startTestApi>[1],
): Promise<{ api: TestApi; org: OrgFixture; owner: Caller; client: Registered }> {
  const api = await startTestApi(app, apiOptions);
  try {
    const org = await makeOrg(app, 'Alpha');
    const owner = await api.sessionFor(org.ownerId);
    const client = await confidential(api, owner, org.orgId, scopes);
    return { api, org, owner, client };
  } catch (err) {
    await api.close();
    throw err;
  }
}

/** A form-encoded POST to one of the OAuth endpoints, optionally with HTTP Basic client auth. */
export function oauthPost(
  api: TestApi,
  path: 'token' | 'revoke' | 'introspect',
  form: Record<string, string>,
  basic?: { id: string; secret: string },
  remoteAddress?: string,
): Promise<LightMyRequestResponse> {
  const h: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) {
    const pair = `${encodeURIComponent(basic.id)}:${encodeURIComponent(basic.secret)}`;
    h.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
  }
  return api.app.inject({
    method: 'POST',
    url: `/v1/oauth/${path}`,
    headers: h,
    payload: new URLSearchParams(form).toString(),
    ...(remoteAddress ? { remoteAddress } : {}),
  });
}

/** The client's credentials as form fields (client_secret_post). */
export const creds = (c: Registered) => ({
  client_id: c.clientId,
  ...(c.clientSecret ? { client_secret: c.clientSecret } : {}),
});

/** The client_credentials grant for `client`, its credentials in the form (`extra`: a scope). */
export const clientCredentials = (
  api: TestApi,
  client: Registered,
  extra: Record<string, string> = {},
  remoteAddress?: string,
) =>
  oauthPost(
    api,
    'token',
    { grant_type: 'client_credentials', ...extra, ...creds(client) },
    undefined,
    remoteAddress,
  );

/** A refresh of `refreshToken` by `client`, its credentials in the form; the answer as it comes. */
export const refreshGrant = (
  api: TestApi,
  client: Registered,
  refreshToken: string,
  extra: Record<string, string> = {},
) =>
  oauthPost(api, 'token', {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    ...extra,
    ...creds(client),
  });

export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** Expects an RFC 6749 §5.2 refusal. */
export function expectOAuthError(res: LightMyRequestResponse, status: number, error: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.json().error, res.body).toBe(error);
  expect(typeof res.json().error_description).toBe('string');
}

export const authorizeUrl = (params: Record<string, string>) =>
  `/v1/oauth/authorize?${new URLSearchParams(params).toString()}`;

/** Opens the consent page as `staff`; returns the page and the form's request id, if any. */
export async function openConsent(api: TestApi, staff: Caller, params: Record<string, string>) {
  const page = await api.call(staff, { method: 'GET', url: authorizeUrl(params) });
  const request = /name="request" value="([^"]+)"/.exec(page.body)?.[1];
  return { page, request };
}

/** Posts the consent form as `staff`. */
export function decide(api: TestApi, staff: Caller | null, request: string, decision: 'allow' | 'deny') {
  return api.call(staff, {
    method: 'POST',
    url: '/v1/oauth/authorize',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ request, decision }).toString(),
  });
}

/** The query of a redirect back to the client. */
export function redirectQuery(res: LightMyRequestResponse): URLSearchParams {
  expect(res.statusCode, res.body).toBe(302);
  const location = new URL(String(res.headers.location));
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
  return location.searchParams;
}

/** The whole consent for `client` as `staff`: returns a fresh code and its PKCE verifier. */
export async function consentCode(
  api: TestApi,
  staff: Caller,
  client: Registered,
  scope: string,
): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = pkce();
  const { page, request } = await openConsent(api, staff, {
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: REDIRECT,
    scope,
    state: 'st4te',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  expect(request, page.body).toBeTruthy();
  const q = redirectQuery(await decide(api, staff, request as string, 'allow'));
  expect(q.get('state')).toBe('st4te');
  return { code: q.get('code') as string, verifier };
}

/** Trades a code for tokens, expecting success. */
export async function exchange(api: TestApi, client: Registered, code: string, verifier: string) {
  const res = await oauthPost(api, 'token', {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    code_verifier: verifier,
    ...creds(client),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { access_token: string; refresh_token?: string; expires_in: number; scope: string };
}
