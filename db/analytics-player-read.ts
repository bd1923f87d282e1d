import type { PLAYER_DIMS } from './analytics-players.js';
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
  const grp = q.grouped ? 'value' : 'null::text';
  const summary = hourly ? 'analytics_player_hourly' : 'analytics_player_daily';
  const sums = await tx.query<Omit<PlayerBucket, 'opened'>>(
    `select ${label(hourly)} as bucket, ${grp} as "group", sum(sessions)::int as sessions,
            sum(players)::int as players, sum(reports)::int as reports
       from ${summary}
      where org_id = $1::uuid and dim = $2::text and ${range(hourly)}${only}
      group by 1, 2`,
    values,
  );
  const storedPlayers = q.bucket !== 'week' && (q.grouped || (q.values?.length ?? 0) <= 1);
  const counted = storedPlayers
    ? null
    : await tx.query<{ bucket: string; group: string | null; players: number }>(
        `select ${label(hourly)} as bucket, ${grp} as "group", count(distinct player_id)::int as players
           from ${hourly ? 'analytics_player_hours' : 'analytics_player_days'}
          where org_id = $1::uuid and dim = $2::text and ${range(hourly)}${only}
          group by 1, 2`,
        values,
      );
  const totals = await tx.query<{ period: 'current' | 'previous'; group: string | null; players: number }>(
    `select case when bucket < $5::date then 'previous' else 'current' end as period, ${grp} as "group",
            count(distinct player_id)::int as players
       from analytics_player_days
      where org_id = $1::uuid and dim = $2::text and ${range(false)}${only}
      group by 1, 2`,
    values,
  );
  // The ticket rollups keep none as null where these keep ''.
  const opened = await tx.query<{ bucket: string; group: string | null; opened: number }>(
    `select ${label(hourly)} as bucket, ${q.grouped ? `coalesce(value, '')` : 'null::text'} as "group",
            sum(n)::int as opened
       from ${hourly ? 'analytics_hourly_dim' : 'analytics_daily_dim'}
      where org_id = $1::uuid and kind = 'opened' and dim = $2::text and ${range(hourly)}${onlyTickets}
      group by 1, 2`,
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
  for (const r of sums.rows) Object.assign(slot(r.bucket, r.group), { ...r, players: r.players });
  if (counted) {
    for (const b of out.values()) b.players = 0;
    for (const r of counted.rows) slot(r.bucket, r.group).players = r.players;
  }
  for (const r of opened.rows) slot(r.bucket, r.group).opened = r.opened;
  return { buckets: [...out.values()], totals: totals.rows };
}
