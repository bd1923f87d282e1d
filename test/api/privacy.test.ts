import { describe, expect, it } from 'vitest';
import { upsertPlayer } from '../../db/players.js';
import { withTenant } from '../../db/tenant.js';
import * as tickets from '../../db/tickets.js';
import { LocalStorage } from '../../lib/storage/index.js';
import { privacySweep } from '../../workers/privacy.js';
import { testDeps, uniquePrefix } from '../workers/support.js';
import { expectError, useSettingsApi } from './settings-support.js';

const { db, api, w } = useSettingsApi('Privacy');

describe('retention preview', () => {
  it('counts what each policy would touch now, changes nothing, and is for retention managers only', async () => {
    const ids = await withTenant(db.app, w.a.orgId, async (tx) => {
      const out: string[] = [];
      for (const s of ['one', 'two', 'three']) {
        out.push((await tickets.openTicket(tx, { subject: s, origin: 'panel' }, w.a.owner)).ticket.id);
      }
      return out;
    });
    await db.admin.query(
      `update tickets set status = 'closed', closed_at = now() - interval '40 days' where id = any($1::uuid[])`,
      [ids.slice(0, 2)],
    );
    const put = await api.call(w.owner, {
      method: 'PUT',
      url: `/v1/orgs/${w.a.orgId}/retention-policies/tickets`,
      payload: { days: 30, action: 'purge' },
    });
    expect(put.statusCode, put.body).toBe(200);
    const url = `/v1/orgs/${w.a.orgId}/retention/preview`;
    const res = await api.call(w.owner, { method: 'POST', url });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().items).toEqual([
      expect.objectContaining({ target: 'tickets', action: 'purge', days: 30, rows: 2 }),
    ]);
    const left = await db.admin.query('select count(*)::int as n from tickets where org_id = $1', [
      w.a.orgId,
    ]);
    expect(left.rows[0].n).toBe(3);
    expectError(await api.call(w.agent, { method: 'POST', url }), 403);
    expectError(await api.call(w.ownerB, { method: 'POST', url }), 404);
  });
});

describe('player export and erase routes', () => {
  it('exports through the workers behind a signed link, then erases, for privacy managers only', async () => {
    const playerId = await withTenant(db.app, w.a.orgId, async (tx) => {
      const p = await upsertPlayer(tx, { displayName: 'Odalys', email: `odalys-${w.a.orgId}@example.com` });
      await tickets.openTicket(
        tx,
        { subject: 'Odalys: refund', origin: 'panel', requesterId: p.id },
        w.a.owner,
      );
      return p.id;
    });
    const base = `/v1/orgs/${w.a.orgId}/players/${playerId}`;
    expectError(await api.call(w.agent, { method: 'POST', url: `${base}/exports` }), 403);
    expectError(
      await api.call(w.ownerB, { method: 'POST', url: `/v1/orgs/${w.b.orgId}/players/${playerId}/exports` }),
      404,
    );
    const asked = await api.call(w.owner, { method: 'POST', url: `${base}/exports` });
    expect(asked.statusCode, asked.body).toBe(202);
    expect(asked.json()).toMatchObject({ status: 'pending', downloadUrl: null });
    const exportId = asked.json().id as string;

    const env = testDeps(db.app, uniquePrefix());
    env.deps.storage = new LocalStorage(api.storageDir);
    try {
      await privacySweep(env.deps);
    } finally {
      await env.close();
    }
    const ready = await api.call(w.owner, { method: 'GET', url: `${base}/exports/${exportId}` });
    expect(ready.json()).toMatchObject({ status: 'ready' });
    const link = new URL(ready.json().downloadUrl as string);
    const got = await api.call(null, { method: 'GET', url: `${link.pathname}${link.search}` });
    expect(got.statusCode).toBe(200);
    expect(got.headers['content-type']).toBe('application/gzip');
    expect(got.rawPayload.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    // A link is worth one archive, and a forged one nothing.
    expectError(
      await api.call(null, { method: 'GET', url: `/v1/player-exports/${playerId}${link.search}` }),
      404,
    );
    expectError(await api.call(null, { method: 'GET', url: `${link.pathname}?token=x.y` }), 404);

    expectError(await api.call(w.owner, { method: 'POST', url: `${base}/erase`, payload: {} }), 422);
    expectError(
      await api.call(w.agent, { method: 'POST', url: `${base}/erase`, payload: { confirm: 'erase' } }),
      403,
    );
    const erased = await api.call(w.owner, {
      method: 'POST',
      url: `${base}/erase`,
      payload: { confirm: 'erase' },
    });
    expect(erased.statusCode, erased.body).toBe(200);
    expect(erased.json().counts).toMatchObject({ tickets: 1, exports: 1 });
    // The erase took the archive with it.
    expectError(await api.call(null, { method: 'GET', url: `${link.pathname}${link.search}` }), 404);
    expectError(
      await api.call(w.owner, { method: 'POST', url: `${base}/erase`, payload: { confirm: 'erase' } }),
      409,
    );
    expectError(await api.call(w.owner, { method: 'POST', url: `${base}/exports` }), 409);
  });
});
