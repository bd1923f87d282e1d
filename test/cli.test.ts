import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './api/support.js';
import { runCli } from './support/cli.js';
import { useTestDb } from './support/db.js';
import { makeOrg, type OrgFixture } from './support/fixtures.js';

/** `npm run cli -- ...` as a real process against this file's test database. */
const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let slug: string;

const cli = (args: string[]) => runCli(db.appUrl, args);

beforeAll(async () => {
  api = await startTestApi(db.app);
  org = await makeOrg(db.app, 'Cli Studio');
  const r = await db.admin.query<{ slug: string }>('select slug from organizations where id = $1', [
    org.orgId,
  ]);
  slug = r.rows[0]?.slug as string;
});
afterAll(() => api.close());

describe('npm run cli -- token create', () => {
  it('creates a token (by slug) whose last stdout line works against the API, audited as the cli', async () => {
    const run = await cli([
      'token',
      'create',
      '--org',
      slug,
      '--scopes',
      'tickets:read,analytics:read',
      '--name',
      'CI import',
      '--expires-in-days',
      '30',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    const token = lines.at(-1) as string;
    expect(token).toMatch(/^gm_/);
    expect(run.stderr).toContain('CI import');
    const me = await api.call({ token }, { method: 'GET', url: '/v1/me' });
    expect(me.statusCode, me.body).toBe(200);
    expect(me.json()).toMatchObject({
      kind: 'token',
      orgId: org.orgId,
      name: 'CI import',
      scopes: ['analytics:read', 'tickets:read'],
    });
    const expiresAt = new Date((me.json() as { expiresAt: string }).expiresAt).getTime();
    expect(Math.abs(expiresAt - (Date.now() + 30 * 86_400_000))).toBeLessThan(120_000);
    const list = await api.call({ token }, { method: 'GET', url: `/v1/orgs/${org.orgId}/tickets` });
    expect(list.statusCode).toBe(200);
    const audit = await db.admin.query<{ actor_type: string; request_id: string }>(
      "select actor_type, request_id from audit_logs where org_id = $1 and action = 'api_token.created'",
      [org.orgId],
    );
    expect(audit.rows).toEqual([{ actor_type: 'system', request_id: 'cli:token-create' }]);
  }, 60_000);

  it('takes the org id too', async () => {
    const run = await cli(['token', 'create', '--org', org.orgId, '--scopes', 'players:read']);
    expect(run.code, run.stderr).toBe(0);
    const token = run.stdout.trim().split('\n').at(-1) as string;
    const me = await api.call({ token }, { method: 'GET', url: '/v1/me' });
    expect(me.json()).toMatchObject({
      kind: 'token',
      orgId: org.orgId,
      scopes: ['players:read'],
      expiresAt: null,
    });
  }, 60_000);

  it('refuses an unknown scope with exit code 2, listing the valid ones, and creates nothing', async () => {
    const before = await db.admin.query('select count(*)::int as n from api_tokens where org_id = $1', [
      org.orgId,
    ]);
    const run = await cli(['token', 'create', '--org', slug, '--scopes', 'tickets:read,tickets.create']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('unknown scope: tickets.create');
    expect(run.stderr).toContain('valid scopes: tickets:read, tickets:write');
    const after = await db.admin.query('select count(*)::int as n from api_tokens where org_id = $1', [
      org.orgId,
    ]);
    expect(after.rows).toEqual(before.rows);
  }, 60_000);

  it('refuses a missing --org, an unknown option and an unknown org', async () => {
    expect((await cli(['token', 'create', '--scopes', 'tickets:read'])).code).toBe(2);
    expect((await cli(['token', 'create', '--org', slug, '--scopes', 'tickets:read', '--bogus'])).code).toBe(
      2,
    );
    const missing = await cli(['token', 'create', '--org', 'no-such-studio', '--scopes', 'tickets:read']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no organization with the id or slug "no-such-studio"');
  }, 60_000);

  it('help lists every command', async () => {
    const run = await cli(['help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('token create');
    expect(run.stdout).toContain('help');
  }, 60_000);
});
