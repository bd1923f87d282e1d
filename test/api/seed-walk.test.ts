import { randomBytes, randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegisteredRoute } from '../../api/context.js';
import { acceptedPermissions } from '../../api/context.js';
import { API_TOKEN_SCOPES, permissionsForScopes } from '../../db/api-tokens.js';
import { orgsOfUser } from '../../db/memberships.js';
import { seedDemoIfEmpty } from '../../db/seed.js';
import { demoUserId } from '../../db/seed-users.js';
import { withTenant } from '../../db/tenant.js';
import { useTestDb } from '../support/db.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

/**
 * Every GET route of the app, on the demo workspace `npm start` seeds, as its owner and as an
 * all-scopes API token: each must answer 200. Routes come from the app's own route table, so a
 * new route is walked without touching this file; path ids come from the list route above them.
 */
const db = useTestDb();
let api: TestApi;
let orgId: string;
let owner: Caller;
let token: Caller;

/**
 * The few GET routes that can't answer 200 on any seed, and why. Keep it tiny.
 */
const EXPECTED: Record<string, { status: number; why: string }> = {
  '/v1/live': {
    status: 404,
    why: 'a WebSocket upgrade; a plain GET is not a socket (tested in live.test.ts)',
  },
  '/rate/:token': { status: 404, why: "a closed ticket's signed rating link, not a session" },
  '/transcripts/:token': {
    status: 404,
    why: "a ticket's signed transcript link for its player, not a session",
  },
  '/v1/files/:attachmentId': { status: 422, why: 'needs a signed download link (?token=), not a session' },
  '/auth/discord/login': { status: 501, why: 'Discord sign-in is not configured in this test app' },
  '/auth/discord/callback': { status: 422, why: 'only Discord, with a state, calls it' },
  '/auth/demo': { status: 404, why: 'the demo sign-in is off unless the settings turn it on' },
  '/v1/orgs/:orgId/attachments/:attachmentId': { status: 404, why: 'the seed has no attachments' },
  '/v1/player-exports/:exportId': {
    status: 422,
    why: 'needs a signed download link (?token=), not a session',
  },
  '/v1/orgs/:orgId/players/:playerId/exports/:exportId': {
    status: 404,
    why: 'the seed requests no player export',
  },
  '/v1/oauth/authorize': {
    status: 400,
    why: "an OAuth client's consent page: without a client_id it names no application",
  },
  '/v1/orgs/:orgId/oauth-clients/:oauthClientId': {
    status: 404,
    why: 'the seed registers no OAuth client (a confidential one has a secret shown once)',
  },
  '/v1/orgs/:orgId/webhooks/:subscriptionId': {
    status: 404,
    why: 'the seed makes no webhook: its secret is sealed with SECRET_KEY, which the seed does not hold',
  },
};

beforeAll(async () => {
  await seedDemoIfEmpty(db.app, pino({ level: 'silent' }));
  api = await startTestApi(db.app);
  const ownerId = (await demoUserId(db.app, 'owner')) as string;
  expect(ownerId).toBeTruthy();
  orgId = (await orgsOfUser(db.app, ownerId))[0]?.id as string;
  owner = await api.sessionFor(ownerId);
  token = await api.tokenFor(db.app, orgId, [...API_TOKEN_SCOPES]);
}, 60_000);
afterAll(() => api?.close());

const getRoutes = (): RegisteredRoute[] =>
  api.app.registeredRoutes
    .filter((r) => r.method === 'GET' && !r.url.startsWith('/docs/static') && r.url !== '/docs/*')
    // Staff and tokens never reach the game SDK routes: a game key does (test/api/sdk.test.ts).
    .filter((r) => r.access !== 'game-client' && r.access !== 'game-server')
    // Fewer parameters first: a detail route's ids come from the list walked before it.
    .sort((a, b) => (a.url.match(/:/g)?.length ?? 0) - (b.url.match(/:/g)?.length ?? 0));

/** The first element of the first array of objects in a list answer. */
function firstItem(body: unknown): Record<string, unknown> | undefined {
  if (Array.isArray(body)) {
    const first = body[0];
    return first && typeof first === 'object' ? (first as Record<string, unknown>) : undefined;
  }
  if (body && typeof body === 'object') {
    for (const v of Object.values(body)) {
      if (Array.isArray(v) && v[0] && typeof v[0] === 'object') return v[0] as Record<string, unknown>;
    }
  }
  return undefined;
}

/**
 * Fills the path's parameters left to right: `:orgId` is the demo org; any other `:x` is taken
 * from the answer of the path before it (`/tickets/:ticketId` from `/tickets`), by the name `x`
 * or `id`.
 */
async function fill(
  url: string,
  who: Caller,
  fallback?: () => string,
): Promise<string | { missing: string }> {
  let out = '';
  for (const part of url.split('/').slice(1)) {
    if (part === '*') {
      // A wildcard: the panel's files are named by the release, as the page links them; any other
      // path is a page of the panel's own routing.
      if (out !== '/panel') return `${out}/tickets`;
      const page = await api.call(who, { method: 'GET', url: '/' });
      const file = /"(\/panel\/[^"]+\.js)"/.exec(page.body)?.[1];
      return file ?? { missing: 'a /panel/ file linked from GET /' };
    }
    if (!part.startsWith(':')) {
      out += `/${part}`;
      continue;
    }
    const name = part.slice(1);
    if (name === 'orgId') {
      out += `/${orgId}`;
      continue;
    }
    const list = await api.call(who, { method: 'GET', url: out });
    const json = list.statusCode === 200 && String(list.headers['content-type']).includes('json');
    const item = json ? firstItem(list.json()) : undefined;
    const value = item?.[name] ?? item?.id ?? item?.[name.replace(/Id$/, '')];
    if (typeof value === 'string' || typeof value === 'number')
      out += `/${encodeURIComponent(String(value))}`;
    else if (fallback) out += `/${fallback()}`;
    else return { missing: `${name} (from GET ${out})` };
  }
  return out;
}

async function walk(who: Caller, routes: RegisteredRoute[]) {
  const failures: string[] = [];
  for (const route of routes) {
    const expected = EXPECTED[route.url];
    // A route whose id the seed can't have is walked with a fresh id, and must say 404 (not 500).
    const url = await fill(route.url, who, expected ? randomUUID : undefined);
    if (typeof url !== 'string') {
      failures.push(`${route.url}: no id for ${url.missing}`);
      continue;
    }
    const res = await api.call(who, { method: 'GET', url });
    const want = expected?.status ?? 200;
    if (res.statusCode !== want)
      failures.push(`GET ${url} (${route.url}): ${res.statusCode} ${res.body.slice(0, 300)}`);
  }
  return failures;
}

describe('every GET route on the seeded demo workspace', () => {
  it('answers 200 to the demo owner (or its documented status)', async () => {
    const routes = getRoutes();
    expect(routes.length).toBeGreaterThan(30);
    expect(await walk(owner, routes)).toEqual([]);
  });

  it('answers 200 to an all-scopes API token on every route a token may use', async () => {
    const granted = permissionsForScopes([...API_TOKEN_SCOPES]);
    const routes = getRoutes().filter(
      (r) =>
        r.url === '/v1/me' ||
        (typeof r.access === 'object' && acceptedPermissions(r.access).some((p) => granted.has(p))),
    );
    expect(routes.length).toBeGreaterThan(15);
    expect(await walk(token, routes)).toEqual([]);
  });

  it('has work in its inbox and answers in hours, not days', async () => {
    const stats = await withTenant(db.app, orgId, async (tx) => {
      const { rows } = await tx.query<{ waiting: number; breached: number; median_hours: number }>(
        `select count(*) filter (where status in ('open', 'pending', 'on_hold'))::int as waiting,
                count(*) filter (where status in ('open', 'pending', 'on_hold')
                                   and (sla_breached_at is not null or sla_due_at < now()))::int as breached,
                (percentile_cont(0.5) within group (
                   order by extract(epoch from first_response_at - created_at) / 3600))::float as median_hours
           from tickets`,
      );
      return rows[0];
    });
    // A demo inbox with nothing to do shows nothing; one that is all on fire isn't believable.
    expect(stats, JSON.stringify(stats)).toBeDefined();
    expect(stats?.waiting).toBeGreaterThanOrEqual(20);
    expect(stats?.waiting).toBeLessThanOrEqual(80);
    expect(stats?.breached).toBeGreaterThan(0);
    expect(stats?.median_hours).toBeGreaterThan(0.2);
    expect(stats?.median_hours).toBeLessThan(24);
  });

  it('the demo org is found by its slug, demo', async () => {
    const res = await api.call(owner, { method: 'GET', url: `/v1/orgs/${orgId}` });
    expect(res.json()).toMatchObject({ slug: 'demo' });
  });
});

describe("rows stored before today's checks (what the first demo seed wrote)", () => {
  it('a category question without a key and a game key with an unknown scope still list (200, not 500)', async () => {
    const games = (await api.call(owner, { method: 'GET', url: `/v1/orgs/${orgId}/games` })).json() as {
      games: Array<{ id: string }>;
    };
    const gameId = games.games[0]?.id as string;
    await withTenant(db.app, orgId, async (tx) => {
      await tx.query(
        `insert into ticket_categories (org_id, name, questions) values ($1::uuid, 'Old form', $2::jsonb)`,
        [
          orgId,
          JSON.stringify([
            { label: 'What happened?', style: 'paragraph', required: true },
            { label: 'Game version' },
          ]),
        ],
      );
      await tx.query(
        `insert into game_keys (org_id, game_id, name, prefix, key_hash, scopes)
         values ($1::uuid, $2::uuid, 'Old key', 'gmk_old', $3::bytea, '{tickets.create,reports:create}')`,
        [orgId, gameId, randomBytes(32)],
      );
    });
    const categories = await api.call(owner, { method: 'GET', url: `/v1/orgs/${orgId}/categories` });
    expect(categories.statusCode, categories.body).toBe(200);
    const old = (
      categories.json() as { categories: Array<{ name: string; questions: Array<{ key: string }> }> }
    ).categories.find((c) => c.name === 'Old form');
    // The answer keys are derived from the labels, as the form would have needed them.
    expect(old?.questions.map((q) => q.key)).toEqual(['what_happened', 'game_version']);
    const keys = await api.call(owner, { method: 'GET', url: `/v1/orgs/${orgId}/games/${gameId}/keys` });
    expect(keys.statusCode, keys.body).toBe(200);
    const oldKey = (keys.json() as { keys: Array<{ name: string; scopes: string[] }> }).keys.find(
      (k) => k.name === 'Old key',
    );
    // A scope the catalog doesn't know grants nothing and is not shown.
    expect(oldKey?.scopes).toEqual(['reports:create']);
    // Revoking it, and revoking it again, answers the same way.
    for (let i = 0; i < 2; i++) {
      const revoked = await api.call(owner, {
        method: 'DELETE',
        url: `/v1/orgs/${orgId}/games/${gameId}/keys/${(oldKey as unknown as { id: string }).id}`,
      });
      expect(revoked.statusCode, revoked.body).toBe(200);
      expect(revoked.json()).toMatchObject({ scopes: ['reports:create'], revokedAt: expect.any(String) });
    }
  });
});
