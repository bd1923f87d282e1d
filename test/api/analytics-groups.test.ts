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

interface PlayerSeries {
  group: string | null;
  other?: boolean;
  points: Array<{ bucket: string; sessions: number; activePlayers: number }>;
  total: { sessions: number; activePlayers: number; ticketsOpened: number };
}

describe('player activity and sentiment grouped by many values', () => {
  it('answers 300 builds with the top groups and one "other" counting its players once', async () => {
    const org = await makeOrg(db.app, 'Many builds');
    const reader = await api.tokenFor(db.app, org.orgId, ['analytics:read']);
    // Every build: its own player and one player seen under all of them (two sessions a build),
    // and a ticket opened; three builds stand out by sessions.
    await db.admin.query(
      `with b as (select 'build-' || g as value, gen_random_uuid() as player_id from generate_series(1, 300) g),
            d as (insert into analytics_player_days (org_id, dim, bucket, value, player_id, sessions)
                  select $1::uuid, 'build', current_date, value, player_id, 1 from b
                  union all
                  select $1::uuid, 'build', current_date, value, '00000000-0000-4000-8000-000000000001'::uuid, 1 from b)
       insert into analytics_player_daily (org_id, dim, bucket, value, sessions, players, reports)
       select $1::uuid, 'build', current_date, value,
              case when value in ('build-7', 'build-8', 'build-9') then 50 else 2 end, 2, 0
         from b`,
      [org.orgId],
    );
    await db.admin.query(
      `insert into analytics_daily_dim (org_id, kind, dim, bucket, value, n, dur_n, dur_sum, dur_hist, sla, breached, escalated, reopened, merged, rated, rating_sum, rating_hist)
       select $1::uuid, 'opened', 'build', current_date, 'build-' || g, 1, 0, 0, array_fill(0, array[24]), 0, 0, 0, 0, 0, 0, 0, array_fill(0, array[5])
       from generate_series(1, 300) g`,
      [org.orgId],
    );
    const get = async (qs: string) => {
      const res = await api.call(reader, {
        method: 'GET',
        url: `/v1/orgs/${org.orgId}/analytics/player-activity${qs}`,
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json().series as PlayerSeries[];
    };
    for (const bucket of ['day', 'week']) {
      const series = await get(`?groupBy=build&bucket=${bucket}`);
      expect(series.length).toBeLessThanOrEqual(21);
      const other = series.filter((s) => s.other === true);
      expect(other).toHaveLength(1);
      expect(series.at(-1)).toMatchObject({ group: 'other', other: true });
      expect(
        series
          .slice(0, 3)
          .map((s) => s.group)
          .sort(),
      ).toEqual(['build-7', 'build-8', 'build-9']);
      const sessions = series.reduce((a, s) => a + s.total.sessions, 0);
      expect(sessions).toBe(297 * 2 + 150);
      expect(series.reduce((a, s) => a + s.total.ticketsOpened, 0)).toBe(300);
      expect(other[0]?.total.ticketsOpened).toBe(280);
      expect(other[0]?.total.sessions).toBe(280 * 2);
      // 280 players of their own and the one seen under every build, once: not 560.
      expect(other[0]?.total.activePlayers).toBe(281);
      expect(other[0]?.points.find((p) => p.sessions > 0)?.activePlayers).toBe(281);
      for (const s of series.filter((x) => !x.other)) expect(s.total.activePlayers).toBe(2);
    }
    expect((await get('?groupBy=build&limit=5')).length).toBe(6);
    const tooMany = await api.call(reader, {
      method: 'GET',
      url: `/v1/orgs/${org.orgId}/analytics/player-activity?groupBy=build&limit=51`,
    });
    expect(tooMany.statusCode).toBe(422);
  });

  it('answers sentiment over 300 games with the top groups and one "other" carrying the rest', async () => {
    const org = await makeOrg(db.app, 'Many games');
    const reader = await api.tokenFor(db.app, org.orgId, ['analytics:read']);
    await db.admin.query(
      `insert into analytics_sentiment_daily (org_id, dim, bucket, value, n, score_sum, negative, neutral, positive)
       select $1::uuid, 'game_id', current_date, gen_random_uuid()::text,
              case when g <= 3 then 40 else 1 end, -1, 1, 0, 0
         from generate_series(1, 300) g`,
      [org.orgId],
    );
    const res = await api.call(reader, {
      method: 'GET',
      url: `/v1/orgs/${org.orgId}/analytics/sentiment?groupBy=game&compare=true&limit=10`,
    });
    expect(res.statusCode, res.body).toBe(200);
    const series = res.json().series as Array<{
      group: string;
      other?: boolean;
      total: { messages: number };
    }>;
    expect(series).toHaveLength(11);
    expect(series.slice(0, 3).map((s) => s.total.messages)).toEqual([40, 40, 40]);
    expect(series.at(-1)).toMatchObject({ group: 'other', other: true, total: { messages: 290 } });
    expect(series.reduce((a, s) => a + s.total.messages, 0)).toBe(297 + 120);
  });
});
