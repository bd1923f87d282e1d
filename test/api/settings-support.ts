import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, expect } from 'vitest';
import { addMember } from '../../db/memberships.js';
import type { Pool } from '../../db/pool.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { type TestDb, useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

/** Two orgs (A is the one under test, B the one whose ids must stay invisible) and callers of A. */
export interface SettingsWorld {
  a: OrgFixture;
  b: OrgFixture;
  owner: Caller;
  agent: Caller;
  ownerB: Caller;
}

export async function settingsWorld(db: TestDb, api: TestApi, name: string): Promise<SettingsWorld> {
  const a = await makeOrg(db.app, `${name} A`);
  const b = await makeOrg(db.app, `${name} B`);
  const agentUser = await createUser(db.app, { displayName: `${name} agent` });
  await withTenant(db.app, a.orgId, (tx) => addMember(tx, { userId: agentUser.id, role: 'agent' }, a.owner));
  return {
    a,
    b,
    owner: await api.sessionFor(a.ownerId),
    agent: await api.sessionFor(agentUser.id),
    ownerB: await api.sessionFor(b.ownerId),
  };
}

/**
 * The settings tests' rig: the file's database, one API and the world named `name`, made before
 * the file's tests and closed after them. The handles are filled in beforeAll, as useTestDb's is.
 */
export function useSettingsApi(name: string): { db: TestDb; api: TestApi; w: SettingsWorld } {
  const db = useTestDb();
  const api = {} as TestApi;
  const w = {} as SettingsWorld;
  beforeAll(async () => {
    Object.assign(api, await startTestApi(db.app));
    Object.assign(w, await settingsWorld(db, api, name));
  });
  afterAll(() => api.close?.());
  return { db, api, w };
}

/** A 4xx in the one error shape, with this status and code. */
export function expectError(res: LightMyRequestResponse, status: number, code?: string) {
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json() as { error?: { code?: unknown; message?: unknown; details?: unknown } };
  expect(body.error).toBeDefined();
  expect(typeof body.error?.code).toBe('string');
  expect(typeof body.error?.message).toBe('string');
  expect(body.error && 'details' in body.error).toBe(true);
  if (code) expect(body.error?.code).toBe(code);
}

/** The audit actions recorded in an org (optionally for one target), oldest first, read as superuser. */
export async function auditActions(admin: Pool, orgId: string, targetId?: string): Promise<string[]> {
  const r = await admin.query<{ action: string }>(
    `select action from audit_logs where org_id = $1 and ($2::text is null or target_id::text = $2::text)
     order by created_at, id`,
    [orgId, targetId ?? null],
  );
  return r.rows.map((x) => x.action);
}

/** Bodies that must be refused with a 4xx (never a 500): wrong JSON, wrong types, too big. */
export const BAD_BODIES: Array<{ what: string; payload: string; contentType?: string }> = [
  { what: 'malformed JSON', payload: '{"name": ' },
  { what: 'an array', payload: '[1,2,3]' },
  { what: 'a string', payload: '"hello"' },
  { what: 'wrong types', payload: JSON.stringify({ name: 42, scopes: 'x', url: false, shortcut: [] }) },
  { what: 'oversized', payload: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }) },
  { what: 'not JSON', payload: 'name=x', contentType: 'text/plain' },
];

/**
 * Posts every bad body to a route and checks each gets a 4xx in the error shape. `wrongTypes` is
 * a body of the route's own fields with the wrong types, in place of the generic one (needed where
 * every field is optional, so unknown fields alone would pass).
 */
export async function expectBadBodiesRefused(
  api: TestApi,
  who: Caller,
  method: 'POST' | 'PUT' | 'PATCH',
  url: string,
  wrongTypes?: Record<string, unknown>,
) {
  const bodies = BAD_BODIES.map((b) =>
    wrongTypes && b.what === 'wrong types' ? { ...b, payload: JSON.stringify(wrongTypes) } : b,
  );
  for (const bad of bodies) {
    const res = await api.call(who, {
      method,
      url,
      payload: bad.payload,
      headers: { 'content-type': bad.contentType ?? 'application/json' },
    });
    expect(res.statusCode, `${bad.what}: ${res.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
    expect(res.statusCode, `${bad.what}: ${res.body.slice(0, 200)}`).toBeLessThan(500);
    expect((res.json() as { error?: { code?: string } }).error?.code).toBeTypeOf('string');
  }
}
