import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from '../../db/memberships.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { startTestApi, type TestApi } from './support.js';

/**
 * A group per value of a dimension players choose (build, platform, region through the SDK) is
 * unbounded: the answer keeps the largest groups and folds the rest into one "other" series.
 */
const db = useTestDb();
let api: TestApi;
afterAll(() => api.close());
beforeAll(async () => {
  api = await startTestApi(db.app);
});

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

interface Series {
  group: string | null;
  other?: boolean;
  total: { opened: number };
}

describe('analytics grouped by a free-text dimension', () => {
  it('answers 2,000 builds with the top groups and one "other" carrying the rest', async () => {
    const org = await makeOrg(db.app, 'Builds');
    const viewer = await createUser(db.app, { displayName: 'Viewer' });
    await withTenant(db.app, org.orgId, (tx) =>
      addMember(tx, { userId: viewer.id, role: 'viewer' }, org.owner),
    );
    await db.admin.query(
      `insert into analytics_daily_dim (org_id, kind, dim, bucket, value, n, dur_n, dur_sum, dur_hist, sla, breached, escalated, reopened, merged, rated, rating_sum, rating_hist)
       select $1::uuid, 'opened', 'build', current_date - (g % 30), 'build-' || g, 1, 0, 0, array_fill(0, array[24]), 0, 0, 0, 0, 0, 0, 0, array_fill(0, array[5])
       from generate_series(1, 2000) g`,
      [org.orgId],
    );
    // Three builds stand out, so the top of the answer is known.
    await db.admin.query(
      `update analytics_daily_dim set n = 50 where org_id = $1 and dim = 'build' and value in ('build-7', 'build-8', 'build-9')`,
      [org.orgId],
    );
    const session = await api.sessionFor(viewer.id);
    const res = await api.call(session, {
      method: 'GET',
      url: `/v1/orgs/${org.orgId}/analytics/volume?groupBy=build&from=${day(-1099)}&to=${day(0)}&compare=true`,
    });
    expect(res.statusCode, res.body).toBe(200);
    const series = res.json().series as Series[];
    expect(series.length).toBeLessThanOrEqual(21);
    const other = series.filter((s) => s.other === true);
    expect(other).toHaveLength(1);
    expect(series.at(-1)?.other).toBe(true);
    expect(
      series
        .slice(0, 3)
        .map((s) => s.group)
        .sort(),
    ).toEqual(['build-7', 'build-8', 'build-9']);
    const total = series.reduce((a, s) => a + s.total.opened, 0);
    expect(total).toBe(2000 - 3 + 150);
    expect(other[0]?.total.opened).toBe(
      2000 - 3 + 150 - series.filter((s) => !s.other).reduce((a, s) => a + s.total.opened, 0),
    );
    expect(other[0]?.total.opened).toBe(2000 - 20);

    const five = await api.call(session, {
      method: 'GET',
      url: `/v1/orgs/${org.orgId}/analytics/volume?groupBy=build&limit=5`,
    });
    expect(five.statusCode, five.body).toBe(200);
    expect((five.json().series as Series[]).length).toBe(6);
    const tooMany = await api.call(session, {
      method: 'GET',
      url: `/v1/orgs/${org.orgId}/analytics/volume?groupBy=build&limit=51`,
    });
    expect(tooMany.statusCode).toBe(422);
  });
});
