import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedPermissions, type PermissionAccess, type RegisteredRoute } from '../../api/context.js';
import { addMember } from '../../db/memberships.js';
import { openChannel, postMessage } from '../../db/messages.js';
import { DEFAULT_ROLES } from '../../db/permissions.js';
import { upsertPlayer } from '../../db/players.js';
import { createTeam } from '../../db/teams.js';
import { withTenant } from '../../db/tenant.js';
import { openTicket } from '../../db/tickets.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let a: OrgFixture;
let b: OrgFixture;
let owner: Caller;
/** Ids that exist in org B, by route parameter name. */
const idsOfB: Record<string, string> = {};

beforeAll(async () => {
  api = await startTestApi(db.app);
  a = await makeOrg(db.app, 'Alpha');
  b = await makeOrg(db.app, 'Beta');
  owner = await api.sessionFor(a.ownerId);
  const bMember = await createUser(db.app, { displayName: 'Beta agent' });
  await withTenant(db.app, b.orgId, async (tx) => {
    await addMember(tx, { userId: bMember.id, role: 'agent' }, b.owner);
    const player = await upsertPlayer(tx, {
      displayName: 'Beta player',
      discordUserId: '223456789012345678',
    });
    const { ticket } = await openTicket(
      tx,
      { subject: 'Beta secret', origin: 'panel', requesterId: player.id },
      b.owner,
    );
    const team = await createTeam(tx, { name: 'Beta team' }, b.owner);
    const room = await openChannel(tx, { kind: 'staff_room', name: 'Beta room' }, b.owner);
    const { message } = await postMessage(
      tx,
      { channelId: room.id, body: 'hello', origin: 'panel' },
      b.owner,
    );
    const role = await tx.query<{ id: string }>("select id from roles where org_id = $1 and key = 'agent'", [
      b.orgId,
    ]);
    Object.assign(idsOfB, {
      ticketId: ticket.id,
      teamId: team.id,
      userId: bMember.id,
      playerId: player.id,
      channelId: room.id,
      messageId: message.id,
      roleId: role.rows[0]?.id,
    });
  });
});
afterAll(() => api.close());

const orgRoutes = () =>
  api.app.registeredRoutes.filter(
    (r): r is RegisteredRoute & { access: PermissionAccess } =>
      typeof r.access === 'object' && r.method !== 'HEAD',
  );

/** Fills a route's parameters: the org given, known ids by name, a fresh uuid otherwise. */
function fill(url: string, orgId: string, ids: Record<string, string> = {}): string {
  return url.replace(/:(\w+)/g, (_, name: string) =>
    name === 'orgId' ? orgId : name === 'emoji' ? '%F0%9F%91%8D' : (ids[name] ?? randomUUID()),
  );
}

describe('route access declarations', () => {
  it('every registered route declares its access (a permission or an explicit marker)', () => {
    const routes = api.app.registeredRoutes;
    expect(routes.length).toBeGreaterThan(60);
    const undeclared = routes.filter((r) => r.access === undefined).map((r) => `${r.method} ${r.url}`);
    expect(undeclared).toEqual([]);
    const publicOnes = routes
      .filter((r) => r.access === 'public' && !r.url.startsWith('/docs'))
      .map((r) => r.url);
    expect(new Set(publicOnes)).toEqual(
      new Set([
        '/health',
        '/ready',
        '/metrics',
        '/auth/discord/login',
        '/auth/discord/callback',
        '/auth/demo',
        '/v1/files/:attachmentId',
        // A player's export archive: the signed link from getPlayerExport is the credential.
        '/v1/player-exports/:exportId',
        // A closed ticket's rating link: the signed token in the path is the credential.
        '/rate/:token',
        // A ticket's short-lived transcript link for its player, signed the same way.
        '/transcripts/:token',
        // Raw mail posted by hosted inbound services: the org's intake secret is checked in the route.
        '/v1/inbound/email/:orgSlug',
        // OAuth: the client authenticates itself in the body or by HTTP Basic (routes/oauth.ts),
        // and the consent page reads the session itself to send a stranger to sign in.
        '/v1/oauth/token',
        '/v1/oauth/revoke',
        '/v1/oauth/introspect',
        '/v1/oauth/authorize',
        // Browser games' CORS preflights (OPTIONS only); every other /sdk/v1 route needs a game key.
        '/sdk/v1/*',
        // The web panel: its page, its static files, and the page again for client-side routes.
        '/',
        '/panel/*',
        '/sw.js',
        '/*',
      ]),
    );
  });

  it('answers an unknown path with 404 in the error shape, for anyone (not a 500 from the access check)', async () => {
    const token = await api.tokenFor(db.app, a.orgId, ['tickets:read']);
    for (const who of [null, owner, token]) {
      const res = await api.call(who, { method: 'POST', url: `/v1/orgs/${a.orgId}/no-such-thing` });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
  });

  it('every org route sits under /v1/orgs/:orgId', () => {
    const stray = orgRoutes().filter((r) => !r.url.startsWith('/v1/orgs/:orgId'));
    expect(stray.map((r) => r.url)).toEqual([]);
  });
});

describe('RBAC: each default role against each route', () => {
  it('answers 403 exactly when the role lacks the permission the route declares', async () => {
    const callers: Record<string, Caller> = {};
    for (const role of Object.keys(DEFAULT_ROLES)) {
      const user = await createUser(db.app, { displayName: `A ${role}` });
      if (role !== 'owner')
        await withTenant(db.app, a.orgId, (tx) => addMember(tx, { userId: user.id, role }, a.owner));
      callers[role] = role === 'owner' ? owner : await api.sessionFor(user.id);
    }
    const wrong: string[] = [];
    for (const route of orgRoutes()) {
      for (const [role, def] of Object.entries(DEFAULT_ROLES)) {
        // Random ids and an empty body: nothing real is touched, the permission check comes first.
        const res = await api.call(callers[role] ?? null, {
          method: route.method as 'GET',
          url: fill(route.url, a.orgId),
          ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { payload: {} }),
        });
        const allowed = acceptedPermissions(route.access).some((p) => def.permissions.includes(p));
        const denied = res.statusCode === 403 && res.json().error.details?.reason === 'missing_permission';
        if (allowed === denied || res.statusCode >= 500) {
          wrong.push(`${role} ${route.method} ${route.url} -> ${res.statusCode} ${res.body.slice(0, 120)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('a token only reaches what its scopes grant', async () => {
    const reader = await api.tokenFor(db.app, a.orgId, ['tickets:read']);
    expect((await api.call(reader, { method: 'GET', url: `/v1/orgs/${a.orgId}/tickets` })).statusCode).toBe(
      200,
    );
    const write = await api.call(reader, {
      method: 'POST',
      url: `/v1/orgs/${a.orgId}/tickets`,
      payload: { subject: 'x' },
    });
    expect(write.statusCode).toBe(403);
    expect(write.json().error.details.reason).toBe('insufficient_scope');
    // User-level routes are for people, not tokens.
    expect((await api.call(reader, { method: 'GET', url: '/v1/me/orgs' })).statusCode).toBe(403);
  });
});

/** A fingerprint of everything org B holds, to prove a request changed nothing. */
async function snapshotOfB(): Promise<string> {
  const tables = [
    'tickets',
    'ticket_events',
    'messages',
    'message_channels',
    'teams',
    'team_members',
    'memberships',
    'roles',
    'player_profiles',
    'outbox',
    'audit_logs',
  ];
  const parts = [];
  for (const t of tables) {
    const r = await db.admin.query(
      `select md5(coalesce(string_agg(x::text, ',' order by x::text), '')) as h from ${t} x where org_id = $1`,
      [b.orgId],
    );
    parts.push(`${t}:${r.rows[0].h}`);
  }
  return parts.join(' ');
}

describe('cross-tenant: org A callers against org B', () => {
  it('answers 404 on every org route given org B, for a session and for a token, and changes nothing', async () => {
    const token = await api.tokenFor(db.app, a.orgId, [
      'tickets:write',
      'players:write',
      'settings:manage',
      'webhooks:manage',
      'games:manage',
      'audit:read',
      'members:read',
    ]);
    const before = await snapshotOfB();
    const wrong: string[] = [];
    for (const route of orgRoutes()) {
      for (const [who, caller] of [
        ['session', owner],
        ['token', token],
      ] as const) {
        const res = await api.call(caller, {
          method: route.method as 'GET',
          url: fill(route.url, b.orgId, idsOfB),
          ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { payload: {} }),
        });
        if (res.statusCode !== 404) wrong.push(`${who} ${route.method} ${route.url} -> ${res.statusCode}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(await snapshotOfB()).toBe(before);
  });

  it("answers 404 for org B's ids inside org A's routes, and changes nothing", async () => {
    const before = await snapshotOfB();
    const t = (p: string) => `/v1/orgs/${a.orgId}/tickets/${idsOfB.ticketId}${p}`;
    const attempts: [string, string, Record<string, unknown>?][] = [
      ['GET', t('')],
      ['PATCH', t(''), { subject: 'pwned' }],
      ['POST', t('/replies'), { body: 'pwned' }],
      ['POST', t('/notes'), { body: 'pwned' }],
      ['POST', t('/assign'), { assigneeId: a.ownerId }],
      ['POST', t('/status'), { status: 'pending' }],
      ['POST', t('/priority'), { priority: 'urgent' }],
      ['POST', t('/tags'), { add: ['pwned'] }],
      ['POST', t('/close'), {}],
      ['POST', t('/merge'), { targetId: randomUUID() }],
      [
        'POST',
        `/v1/orgs/${a.orgId}/tickets/bulk`,
        { ticketIds: [idsOfB.ticketId], action: { type: 'priority', priority: 'low' } },
      ],
      ['GET', `/v1/orgs/${a.orgId}/teams/${idsOfB.teamId}`],
      ['PATCH', `/v1/orgs/${a.orgId}/teams/${idsOfB.teamId}`, { name: 'pwned' }],
      ['DELETE', `/v1/orgs/${a.orgId}/teams/${idsOfB.teamId}`],
      ['PATCH', `/v1/orgs/${a.orgId}/members/${idsOfB.userId}`, { role: 'owner' }],
      ['DELETE', `/v1/orgs/${a.orgId}/members/${idsOfB.userId}`],
      ['GET', `/v1/orgs/${a.orgId}/players/${idsOfB.playerId}`],
      ['GET', `/v1/orgs/${a.orgId}/channels/${idsOfB.channelId}/messages`],
      ['POST', `/v1/orgs/${a.orgId}/channels/${idsOfB.channelId}/messages`, { body: 'pwned' }],
      ['PUT', `/v1/orgs/${a.orgId}/messages/${idsOfB.messageId}/reactions/%F0%9F%91%8D`],
      ['GET', `/v1/orgs/${a.orgId}/roles/${idsOfB.roleId}`],
      ['PATCH', `/v1/orgs/${a.orgId}/roles/${idsOfB.roleId}`, { name: 'pwned' }],
    ];
    const wrong: string[] = [];
    for (const [method, url, payload] of attempts) {
      const res = await api.call(owner, { method: method as 'GET', url, ...(payload ? { payload } : {}) });
      const bulkMiss = url.endsWith('/bulk') && res.json().results?.[0]?.error?.code === 'not_found';
      if (res.statusCode !== 404 && !bulkMiss)
        wrong.push(`${method} ${url} -> ${res.statusCode} ${res.body.slice(0, 100)}`);
    }
    expect(wrong).toEqual([]);
    expect(await snapshotOfB()).toBe(before);
  });
});

describe('bad input on every route', () => {
  // Bodies no route accepts: broken JSON, and JSON that is not an object.
  const junk = ['{"unterminated": ', '[1,2,3]', '"just a string"', '42'];

  it('answers malformed, wrong-typed and oversized bodies with a 4xx in the error shape, never a 5xx', async () => {
    const wrong: string[] = [];
    const writes = api.app.registeredRoutes.filter(
      // The logout routes would end the caller's own session half way through.
      (r) =>
        ['POST', 'PATCH', 'PUT', 'DELETE'].includes(r.method) &&
        r.access !== 'public' &&
        !r.url.startsWith('/auth/logout'),
    );
    for (const route of writes) {
      for (const body of junk) {
        const res = await api.call(owner, {
          method: route.method as 'POST',
          url: fill(route.url, a.orgId),
          payload: body,
          headers: { 'content-type': 'application/json' },
        });
        const shaped =
          typeof res.json().error?.code === 'string' && typeof res.json().error?.message === 'string';
        if (res.statusCode < 400 || res.statusCode >= 500 || !shaped) {
          wrong.push(`${route.method} ${route.url} -> ${res.statusCode} ${res.body.slice(0, 100)}`);
        }
      }
    }
    const huge = await api.call(owner, {
      method: 'POST',
      url: `/v1/orgs/${a.orgId}/tickets`,
      payload: JSON.stringify({ subject: 'x', body: 'y'.repeat(2 * 1024 * 1024) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error.code).toBe('payload_too_large');
    expect(wrong).toEqual([]);
  });

  it('answers wrong-typed parameters and queries with a 4xx naming the field', async () => {
    const bad = await api.call(owner, { method: 'GET', url: `/v1/orgs/${a.orgId}/tickets/not-a-uuid` });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.details[0].path).toBe('params.ticketId');
    const q = await api.call(owner, {
      method: 'GET',
      url: `/v1/orgs/${a.orgId}/tickets?status=exploded&limit=9999`,
    });
    expect(q.statusCode).toBe(422);
    expect(q.json().error.details.map((d: { path: string }) => d.path)).toEqual(
      expect.arrayContaining(['querystring.status.0', 'querystring.limit']),
    );
    const org = await api.call(owner, { method: 'GET', url: '/v1/orgs/not-a-uuid/tickets' });
    expect(org.statusCode).toBe(404);
  });
});
