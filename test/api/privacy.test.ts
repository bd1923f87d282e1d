import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../db/tenant.js';
import * as tickets from '../../db/tickets.js';
import { useTestDb } from '../support/db.js';
import { expectError, type SettingsWorld, settingsWorld } from './settings-support.js';
import { startTestApi, type TestApi } from './support.js';

const db = useTestDb();
let api: TestApi;
let w: SettingsWorld;

beforeAll(async () => {
  api = await startTestApi(db.app);
  w = await settingsWorld(db, api, 'Privacy');
});
afterAll(() => api.close());

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
