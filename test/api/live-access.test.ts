import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { addMember, removeMember } from '../../db/memberships.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg, type OrgFixture } from '../support/fixtures.js';
import { consentCode, exchange, expectOAuthError, refreshGrant, registerClient } from './oauth-support.js';
import { type Caller, startTestApi, type TestApi } from './support.js';

/**
 * The live socket asks what the REST routes ask: an OAuth app acting for a staff member holds no
 * more than the member holds now, and an organization that requires two-factor sign-in shows
 * nothing to a session that hasn't passed it.
 */
const db = useTestDb();
let api: TestApi;
let org: OrgFixture;
let owner: Caller;

beforeAll(async () => {
  api = await startTestApi(db.app);
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  org = await makeOrg(db.app, 'LiveAccess');
  owner = await api.sessionFor(org.ownerId);
});
afterAll(() => api?.close());

interface Live {
  ws: WebSocket;
  received: Array<{ type: string; message?: string }>;
  send(m: object): void;
}

/** Opens the socket; rejects with the HTTP status when the upgrade is refused. */
async function connect(headers: Record<string, string>): Promise<Live> {
  const port = (api.app.server.address() as AddressInfo).port;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/live`, { headers });
  const received: Live['received'] = [];
  ws.on('message', (m) => received.push(JSON.parse(String(m))));
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  return { ws, received, send: (m) => ws.send(JSON.stringify(m)) };
}

/** The answer to a subscribe to the org's inbox. */
async function subscribeAnswer(live: Live): Promise<{ type: string; message?: string }> {
  live.send({ type: 'subscribe', orgId: org.orgId });
  for (let i = 0; i < 100 && live.received.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  live.ws.close();
  return live.received[0] ?? { type: 'nothing' };
}

describe('who may follow an organization live', () => {
  it('an OAuth app of a removed member is refused, live and on refresh', async () => {
    const client = await registerClient(api, owner, org.orgId, {
      name: 'Follower',
      kind: 'public',
      scopes: ['tickets:read'],
      redirectUris: ['https://app.example.test/callback'],
    });
    const u = await createUser(db.app, { displayName: 'Leaving mod' });
    await withTenant(db.app, org.orgId, (tx) =>
      addMember(tx, { userId: u.id, role: 'moderator' }, org.owner),
    );
    const mod = await api.sessionFor(u.id);
    const { code, verifier } = await consentCode(api, mod, client, 'tickets:read');
    const tokens = await exchange(api, client, code, verifier);
    // While a member, the app follows the org.
    const before = await connect({ authorization: `Bearer ${tokens.access_token}` });
    expect((await subscribeAnswer(before)).type).toBe('subscribed');

    await withTenant(db.app, org.orgId, (tx) => removeMember(tx, u.id, org.owner));
    await expect(connect({ authorization: `Bearer ${tokens.access_token}` })).rejects.toThrow(/HTTP 403/);
    expectOAuthError(await refreshGrant(api, client, tokens.refresh_token as string), 400, 'invalid_grant');
  });

  it('closes the socket of a member removed while following the org', async () => {
    const quick = await startTestApi(db.app, { settings: { liveRecheckMs: 100 } });
    try {
      await quick.app.listen({ host: '127.0.0.1', port: 0 });
      const u = await createUser(db.app, { displayName: 'Fired mod' });
      await withTenant(db.app, org.orgId, (tx) =>
        addMember(tx, { userId: u.id, role: 'moderator' }, org.owner),
      );
      const mod = await quick.sessionFor(u.id);
      const port = (quick.app.server.address() as AddressInfo).port;
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/live`, {
        headers: { cookie: `gm_session=${mod.cookie}`, origin: new URL(quick.app.settings.publicUrl).origin },
      });
      const received: Array<{ type: string }> = [];
      ws.on('message', (m) => received.push(JSON.parse(String(m))));
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      await new Promise<void>((r) => ws.once('open', () => r()));
      ws.send(JSON.stringify({ type: 'subscribe', orgId: org.orgId }));
      for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(received[0]?.type).toBe('subscribed');
      await withTenant(db.app, org.orgId, (tx) => removeMember(tx, u.id, org.owner));
      const code = await Promise.race([
        closed,
        new Promise<string>((r) => setTimeout(() => r('still open'), 3_000)),
      ]);
      if (code === 'still open') ws.close();
      expect(code).toBe(4003);
    } finally {
      await quick.close();
    }
  });

  it('closes the socket of a member whose account is disabled while following the org', async () => {
    const quick = await startTestApi(db.app, { settings: { liveRecheckMs: 100 } });
    try {
      await quick.app.listen({ host: '127.0.0.1', port: 0 });
      const u = await createUser(db.app, { displayName: 'Disabled mod' });
      await withTenant(db.app, org.orgId, (tx) =>
        addMember(tx, { userId: u.id, role: 'moderator' }, org.owner),
      );
      const mod = await quick.sessionFor(u.id);
      const port = (quick.app.server.address() as AddressInfo).port;
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/live`, {
        headers: { cookie: `gm_session=${mod.cookie}`, origin: new URL(quick.app.settings.publicUrl).origin },
      });
      const received: Array<{ type: string }> = [];
      ws.on('message', (m) => received.push(JSON.parse(String(m))));
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      await new Promise<void>((r) => ws.once('open', () => r()));
      ws.send(JSON.stringify({ type: 'subscribe', orgId: org.orgId }));
      for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(received[0]?.type).toBe('subscribed');
      // Set directly, as an operator might: the session itself is left in Redis.
      await db.admin.query('update users set disabled_at = now() where id = $1', [u.id]);
      const code = await Promise.race([
        closed,
        new Promise<string>((r) => setTimeout(() => r('still open'), 3_000)),
      ]);
      if (code === 'still open') ws.close();
      expect(code).toBe(4003);
    } finally {
      await quick.close();
    }
  });

  it('a session without the second factor sees nothing of an org that requires it', async () => {
    const on = await api.call(owner, {
      method: 'PATCH',
      url: `/v1/orgs/${org.orgId}`,
      payload: { requireTotp: true },
    });
    expect(on.statusCode, on.body).toBe(200);
    try {
      const live = await connect({
        cookie: `gm_session=${owner.cookie}`,
        origin: new URL(api.app.settings.publicUrl).origin,
      });
      expect(await subscribeAnswer(live)).toMatchObject({ type: 'error' });
    } finally {
      await db.admin.query('update organizations set require_totp = false where id = $1', [org.orgId]);
    }
  });
});
