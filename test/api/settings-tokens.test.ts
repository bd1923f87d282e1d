import { describe, expect, it } from 'vitest';
import { addMember } from '../../db/memberships.js';
import { createRole, updateRole } from '../../db/roles.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { auditActions, expectBadBodiesRefused, expectError, useSettingsApi } from './settings-support.js';

const { db, api, w } = useSettingsApi('Tokens');

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

describe('a token made by a staff member', () => {
  /** A new member of org A with `role`, a session, and a token they made with `scopes`. */
  async function madeBy(role: string, scopes: string[]) {
    const user = await createUser(db.app, { displayName: `Maker (${role})` });
    await withTenant(db.app, w.a.orgId, (tx) => addMember(tx, { userId: user.id, role }, w.a.owner));
    const session = await api.sessionFor(user.id);
    const made = await api.call(session, { method: 'POST', url: url(), payload: { name: 'mine', scopes } });
    expect(made.statusCode, made.body).toBe(201);
    return {
      userId: user.id,
      id: made.json().token.id as string,
      token: { token: made.json().plaintext as string },
    };
  }
  const org = () => `/v1/orgs/${w.a.orgId}`;
  const status = async (who: { token: string }, path: string) =>
    (await api.call(who, { method: 'GET', url: `${org()}${path}` })).statusCode;

  it('holds no more than its maker holds now: a demotion caps it at once, cached or not', async () => {
    const maker = await madeBy('admin', ['webhooks:manage', 'tickets:read']);
    // Used once, so it is in the token cache when the demotion lands.
    expect(await status(maker.token, '/webhooks')).toBe(200);
    const demoted = await api.call(w.owner, {
      method: 'PATCH',
      url: `${org()}/members/${maker.userId}`,
      payload: { role: 'agent' },
    });
    expect(demoted.statusCode, demoted.body).toBe(200);
    const refused = await api.call(maker.token, { method: 'GET', url: `${org()}/webhooks` });
    expectError(refused, 403, 'forbidden');
    // What the agent role still holds, the token still does; and the cache's expiry changes nothing.
    expect(await status(maker.token, '/tickets')).toBe(200);
    api.clock.advance(11_000);
    expect(await status(maker.token, '/webhooks')).toBe(403);
    expect(await status(maker.token, '/tickets')).toBe(200);
  });

  it("follows an edit of its maker's role", async () => {
    await withTenant(db.app, w.a.orgId, (tx) =>
      createRole(
        tx,
        {
          key: 'hook-keeper',
          name: 'Hook keeper',
          permissions: ['org.read', 'tokens.manage', 'webhooks.manage'],
        },
        w.a.owner,
      ),
    );
    const maker = await madeBy('hook-keeper', ['webhooks:manage']);
    expect(await status(maker.token, '/webhooks')).toBe(200);
    await withTenant(db.app, w.a.orgId, async (tx) => {
      const role = await tx.query<{ id: string }>("select id from roles where key = 'hook-keeper'");
      await updateRole(
        tx,
        role.rows[0]?.id as string,
        { permissions: ['org.read', 'tokens.manage'] },
        w.a.owner,
      );
    });
    expect(await status(maker.token, '/webhooks')).toBe(403);
  });

  it('is revoked for good when its maker is removed (audited), and stays so if they come back', async () => {
    const maker = await madeBy('admin', ['tickets:read']);
    expect(await status(maker.token, '/tickets')).toBe(200);
    const removed = await api.call(w.owner, { method: 'DELETE', url: `${org()}/members/${maker.userId}` });
    expect(removed.statusCode, removed.body).toBe(200);
    expectError(await api.call(maker.token, { method: 'GET', url: `${org()}/tickets` }), 401);
    expect(await auditActions(db.admin, w.a.orgId, maker.id)).toEqual([
      'api_token.created',
      'api_token.revoked',
    ]);
    await withTenant(db.app, w.a.orgId, (tx) =>
      addMember(tx, { userId: maker.userId, role: 'admin' }, w.a.owner),
    );
    expect(await status(maker.token, '/tickets')).toBe(401);
  });

  it("stops at once when its maker's account is disabled", async () => {
    const maker = await madeBy('admin', ['tickets:read']);
    expect(await status(maker.token, '/tickets')).toBe(200);
    await db.admin.query('update users set disabled_at = now() where id = $1', [maker.userId]);
    expect(await status(maker.token, '/tickets')).toBe(404);
  });
});
