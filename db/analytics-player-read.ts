import type { PLAYER_DIMS } from './analytics-players.js';
import { OTHER_GROUP } from './analytics-read.js';
import type { Tx } from './tenant.js';

/** One player dimension column, or none (the total). */
export type PlayerDim = (typeof PLAYER_DIMS)[number];

export interface PlayerActivityQuery {
  /** Local dates (the org's time zone), both included. */
  from: string;
  to: string;
  bucket: 'hour' | 'day' | 'week';
  /** The one dimension filtered or grouped by (the rollups are keyed by one at a time). */
  dim: PlayerDim | null;
  /** Only these values of `dim`. */
  values?: string[] | undefined;
  /** One series per value of `dim`. */
  grouped: boolean;
  /** Also the period from here to the day before `from`, its labels prefixed `prev:`. */
  previousFrom?: string | undefined;
  /**
   * When grouped: only the `groupLimit` values with the most sessions over the current period
   * (then tickets opened, reports, the value) keep their own group; the rest are one group,
   * OTHER_GROUP, in every sum and every distinct count. A build or platform is whatever a game
   * sends, and one group per value made answers of thousands of series.
   */
  groupLimit?: number | undefined;
}

/** The sums of one bucket (label) and group; `players` distinct in that bucket. */
export interface PlayerBucket {
  bucket: string;
  group: string | null;
  sessions: number;
  players: number;
  reports: number;
  opened: number;
}

export interface PlayerActivity {
  buckets: PlayerBucket[];
  /** Distinct players over each whole period, per group (the union of its days). */
  totals: Array<{ period: 'current' | 'previous'; group: string | null; players: number }>;
}

const LABEL = {
  hour: `to_char(bucket, 'YYYY-MM-DD"T"HH24:00')`,
  day: 'bucket::text',
  week: `date_trunc('week', bucket)::date::text`,
} as const;

/**
 * Sessions, distinct active players and reports per bucket and group from the player activity
 * rollups (analytics-players.ts), and the tickets opened in the same buckets from the ticket
 * rollups keyed by the same dimension. A bucket's distinct players come from the stored count
 * when it is one stored row per group (hour or day buckets, no filter of several values merged
 * into one series); otherwise, as for weeks and whole periods, they are counted from the set of
 * players per day (or hour), which is exact where a sum of distinct counts is not.
 */
export async function playerActivity(tx: Tx, q: PlayerActivityQuery): Promise<PlayerActivity> {
  const start = q.previousFrom ?? q.from;
  const hourly = q.bucket === 'hour';
  const values: unknown[] = [tx.orgId, q.dim ?? '*', start, q.to, q.from];
  const range = (h: boolean) =>
    h
      ? 'bucket >= $3::date::timestamp and bucket < ($4::date + 1)::timestamp'
      : 'bucket between $3::date and $4::date';
  const label = (h: boolean) =>
    `case when bucket < $5::date${h ? '::timestamp' : ''} then 'prev:' || ${LABEL[q.bucket]} else ${LABEL[q.bucket]} end`;
  let only = '';
  let onlyTickets = '';
  if (q.dim && q.values?.length) {
    // Stored as text: ids in Postgres's lowercase spelling.
    values.push(q.dim === 'game_id' ? q.values.map((v) => v.toLowerCase()) : q.values);
    only = ` and value = any($${values.length}::text[])`;
    onlyTickets = only;
  }
  // The kept values, chosen once so that every statement below folds the same ones.
  let kept: string[] | null = null;
  if (q.grouped && q.groupLimit !== undefined) {
    kept = await keptValues(tx, values, only, q.groupLimit);
    if (kept) values.push(kept);
  }
  const keptAt = `$${values.length}::text[]`;
  /** A row's group by its value (`v`), and whether that value is folded into the rest. */
  const grp = (v: string) =>
    kept ? `case when ${v} = any(${keptAt}) then ${v} end` : q.grouped ? v : 'null::text';
  const folded = (v: string) => (kept ? `not (${v} = any(${keptAt}))` : 'false');
  const summary = hourly ? 'analytics_player_hourly' : 'analytics_player_daily';
  const sums = await tx.query<Omit<PlayerBucket, 'opened'> & { other: boolean }>(
    `select ${label(hourly)} as bucket, ${grp('value')} as "group", ${folded('value')} as other,
            sum(sessions)::int as sessions, sum(players)::int as players, sum(reports)::int as reports
       from ${summary}
      where org_id = $1::uuid and dim = $2::text and ${range(hourly)}${only}
      group by 1, 2, 3`,
    values,
  );
  // A stored count is one value's; the folded values' players are counted from the set, once each.
  const storedPlayers = q.bucket !== 'week' && (q.grouped || (q.values?.length ?? 0) <= 1);
  const counted =
    storedPlayers && !kept
      ? null
      : await tx.query<{ bucket: string; group: string | null; other: boolean; players: number }>(
          `select ${label(hourly)} as bucket, ${grp('value')} as "group", ${folded('value')} as other,
                  count(distinct player_id)::int as players
             from ${hourly ? 'analytics_player_hours' : 'analytics_player_days'}
            where org_id = $1::uuid and dim = $2::text and ${range(hourly)}${only}
                  ${storedPlayers ? `and ${folded('value')}` : ''}
            group by 1, 2, 3`,
          values,
        );
  const totals = await tx.query<{
    period: 'current' | 'previous';
    group: string | null;
    other: boolean;
    players: number;
  }>(
    `select case when bucket < $5::date then 'previous' else 'current' end as period,
            ${grp('value')} as "group", ${folded('value')} as other, count(distinct player_id)::int as players
       from analytics_player_days
      where org_id = $1::uuid and dim = $2::text and ${range(false)}${only}
      group by 1, 2, 3`,
    values,
  );
  // The ticket rollups keep none as null where these keep ''.
  const opened = await tx.query<{ bucket: string; group: string | null; other: boolean; opened: number }>(
    `select ${label(hourly)} as bucket, ${q.grouped ? grp(`coalesce(value, '')`) : 'null::text'} as "group",
            ${folded(`coalesce(value, '')`)} as other, sum(n)::int as opened
       from ${hourly ? 'analytics_hourly_dim' : 'analytics_daily_dim'}
      where org_id = $1::uuid and kind = 'opened' and dim = $2::text and ${range(hourly)}${onlyTickets}
      group by 1, 2, 3`,
    values,
  );
  const key = (b: string, g: string | null) => `${b}\n${g ?? ''}`;
  const out = new Map<string, PlayerBucket>();
  const slot = (bucket: string, group: string | null) => {
    const k = key(bucket, group);
    let b = out.get(k);
    if (!b) {
      b = { bucket, group, sessions: 0, players: 0, reports: 0, opened: 0 };
      out.set(k, b);
    }
    return b;
  };
  const named = <R extends { group: string | null; other: boolean }>({ other, ...r }: R) =>
    other ? { ...r, group: OTHER_GROUP } : r;
  for (const r of sums.rows.map(named)) Object.assign(slot(r.bucket, r.group), r);
  if (counted) {
    for (const b of out.values()) if (!storedPlayers || b.group === OTHER_GROUP) b.players = 0;
    for (const r of counted.rows.map(named)) slot(r.bucket, r.group).players = r.players;
  }
  for (const r of opened.rows.map(named)) slot(r.bucket, r.group).opened = r.opened;
  return { buckets: [...out.values()], totals: totals.rows.map(named) };
}

/**
 * The `limit` values with the most sessions over the current period (then tickets opened,
 * reports, the value, so the choice is stable), from the daily rows of both periods: a value
 * seen only in the previous one keeps its group while there is room. Null when there are no more
 * than `limit` values, nothing to fold.
 */
async function keptValues(tx: Tx, values: unknown[], only: string, limit: number): Promise<string[] | null> {
  const r = await tx.query<{ value: string }>(
    `select value
       from (select value, sum(sessions) filter (where bucket >= $5::date) as sessions, 0 as opened,
                    sum(reports) filter (where bucket >= $5::date) as reports
               from analytics_player_daily
              where org_id = $1::uuid and dim = $2::text and bucket between $3::date and $4::date${only}
              group by value
             union all
             select coalesce(value, ''), 0, sum(n) filter (where bucket >= $5::date), 0
               from analytics_daily_dim
              where org_id = $1::uuid and kind = 'opened' and dim = $2::text
                and bucket between $3::date and $4::date${only}
              group by 1) v
      group by value
      order by coalesce(sum(sessions), 0) desc, coalesce(sum(opened), 0) desc, coalesce(sum(reports), 0) desc, value
      limit $${values.length + 1}::int`,
    [...values, limit + 1],
  );
  return r.rows.length > limit ? r.rows.slice(0, limit).map((x) => x.value) : null;
}
