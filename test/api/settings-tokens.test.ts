import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from '../../db/memberships.js';
import { createRole } from '../../db/roles.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import {
  auditActions,
  expectBadBodiesRefused,
  expectError,
  type SettingsWorld,
  settingsWorld,
} from './settings-support.js';
import { startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let w: SettingsWorld;

beforeAll(async () => {
  api = await startTestApi(db.app);
  w = await settingsWorld(db, api, 'Tokens');
});
afterAll(() => api.close());

const url = (path = '', orgId = w.a.orgId) => `/v1/orgs/${orgId}/api-tokens${path}`;

describe('API token routes', () => {
  it('creates a token whose plaintext is shown once and works as a bearer token, lists it without secrets, revokes it', async () => {
    const made = await api.call(w.owner, {
      method: 'POST',
      url: url(),
      payload: { name: 'CI bot', scopes: ['tickets:read', 'tickets:read'] },
    });
    expect(made.statusCode, made.body).toBe(201);
    const { token, plaintext } = made.json() as {
      token: { id: string; prefix: string; scopes: string[]; revokedAt: string | null };
      plaintext: string;
    };
    expect(token.scopes).toEqual(['tickets:read']);
    expect(plaintext.startsWith(token.prefix)).toBe(true);

    const listed = await api.call(w.owner, { method: 'GET', url: url() });
    expect(listed.statusCode).toBe(200);
    expect(listed.body).not.toContain(plaintext);
    expect(listed.body).not.toMatch(/hash|plaintext/i);
    expect(listed.json().tokens.map((t: { id: string }) => t.id)).toContain(token.id);
    const one = await api.call(w.owner, { method: 'GET', url: url(`/${token.id}`) });
    expect(one.statusCode).toBe(200);
    expect(one.body).not.toContain(plaintext);

    // The new token works for what its scopes grant.
    const asToken = { token: plaintext };
    expect(
      (await api.call(asToken, { method: 'GET', url: `/v1/orgs/${w.a.orgId}/tickets` })).statusCode,
    ).toBe(200);

    const revoked = await api.call(w.owner, { method: 'DELETE', url: url(`/${token.id}`) });
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(revoked.json().revokedAt).not.toBeNull();
    const again = await api.call(w.owner, { method: 'DELETE', url: url(`/${token.id}`) });
    expect(again.json().revokedAt).toBe(revoked.json().revokedAt);
    expectError(await api.call(asToken, { method: 'GET', url: `/v1/orgs/${w.a.orgId}/tickets` }), 401);

    expect(await auditActions(db.admin, w.a.orgId, token.id)).toEqual([
      'api_token.created',
      'api_token.revoked',
    ]);
  });

  it('refuses agents, tokens (no scope mints tokens) and strangers', async () => {
    expectError(await api.call(w.agent, { method: 'GET', url: url() }), 403, 'forbidden');
    expectError(
      await api.call(w.agent, {
        method: 'POST',
        url: url(),
        payload: { name: 'x', scopes: ['tickets:read'] },
      }),
      403,
    );
    const settingsToken = await api.tokenFor(db.app, w.a.orgId, ['settings:manage', 'webhooks:manage']);
    expectError(
      await api.call(settingsToken, {
        method: 'POST',
        url: url(),
        payload: { name: 'escalate', scopes: ['tickets:read'] },
      }),
      403,
      'forbidden',
    );
    expectError(await api.call(null, { method: 'GET', url: url() }), 401);
  });

  it('does not let a role mint a token with permissions beyond its own', async () => {
    const user = await createUser(db.app, { displayName: 'Token clerk' });
    await withTenant(db.app, w.a.orgId, async (tx) => {
      await createRole(
        tx,
        {
          key: 'token-clerk',
          name: 'Token clerk',
          permissions: ['org.read', 'members.read', 'tokens.manage'],
        },
        w.a.owner,
      );
      await addMember(tx, { userId: user.id, role: 'token-clerk' }, w.a.owner);
    });
    const clerk = await api.sessionFor(user.id);
    const beyond = await api.call(clerk, {
      method: 'POST',
      url: url(),
      payload: { name: 'too strong', scopes: ['webhooks:manage'] },
    });
    expectError(beyond, 403, 'forbidden');
    expect(beyond.json().error.details.permissions).toEqual(['webhooks.manage']);
    const within = await api.call(clerk, {
      method: 'POST',
      url: url(),
      payload: { name: 'directory', scopes: ['members:read'] },
    });
    expect(within.statusCode, within.body).toBe(201);
  });

  it("answers 404 for another org's tokens and changes nothing", async () => {
    const theirs = await api.call(w.ownerB, {
      method: 'POST',
      url: url('', w.b.orgId),
      payload: { name: 'B token', scopes: ['tickets:read'] },
    });
    const id = theirs.json().token.id as string;
    expectError(await api.call(w.owner, { method: 'GET', url: url(`/${id}`) }), 404, 'not_found');
    expectError(await api.call(w.owner, { method: 'DELETE', url: url(`/${id}`) }), 404, 'not_found');
    // Org B's own path with A's session: B is not A's org.
    expectError(await api.call(w.owner, { method: 'GET', url: url('', w.b.orgId) }), 404, 'not_found');
    const still = await db.admin.query('select revoked_at from api_tokens where id = $1', [id]);
    expect(still.rows[0].revoked_at).toBeNull();
    expect(await auditActions(db.admin, w.b.orgId, id)).toEqual(['api_token.created']);
  });

  it('refuses bad input with the error shape', async () => {
    await expectBadBodiesRefused(api, w.owner, 'POST', url());
    expectError(
      await api.call(w.owner, { method: 'POST', url: url(), payload: { name: 'x', scopes: ['root:all'] } }),
      422,
      'validation_failed',
    );
    expectError(
      await api.call(w.owner, { method: 'POST', url: url(), payload: { name: 'x', scopes: [] } }),
      422,
    );
    expectError(
      await api.call(w.owner, {
        method: 'POST',
        url: url(),
        payload: { name: 'x', scopes: ['tickets:read'], expiresAt: '2001-01-01T00:00:00Z' },
      }),
      422,
    );
    expectError(await api.call(w.owner, { method: 'GET', url: url('/not-a-uuid') }), 422);
    expectError(
      await api.call(w.owner, { method: 'DELETE', url: url('/00000000-0000-4000-8000-000000000000') }),
      404,
    );
  });

  it('lets a settings token read the categories and canned replies it manages, and a guilds token link a server', async () => {
    const mint = async (scopes: string[]) => {
      const made = await api.call(w.owner, { method: 'POST', url: url(), payload: { name: 'ops', scopes } });
      expect(made.statusCode, made.body).toBe(201);
      return { token: made.json().plaintext as string };
    };
    const org = `/v1/orgs/${w.a.orgId}`;
    const settings = await mint(['settings:manage']);
    for (const path of ['/categories', '/canned-replies'])
      expect((await api.call(settings, { method: 'GET', url: `${org}${path}` })).statusCode, path).toBe(200);
    // Managing settings still reads no tickets.
    expectError(await api.call(settings, { method: 'GET', url: `${org}/tickets` }), 403, 'forbidden');
    expectError(await api.call(settings, { method: 'POST', url: `${org}/guilds/link-codes` }), 403);

    const guilds = await mint(['guilds:manage']);
    const code = await api.call(guilds, { method: 'POST', url: `${org}/guilds/link-codes` });
    expect(code.statusCode, code.body).toBe(201);
    expect((await api.call(guilds, { method: 'GET', url: `${org}/guilds` })).statusCode).toBe(200);
    expectError(await api.call(guilds, { method: 'GET', url: `${org}/categories` }), 403);
  });
});
