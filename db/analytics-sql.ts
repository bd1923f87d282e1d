import { businessSeconds, ticketCalendar } from './analytics-business-time.js';

/**
 * The SQL pieces the analytics fold, the backfill and the full recompute share: what one ticket
 * contributes to the rollups, and how contributions add up into a rollup row.
 */

/** The rollups' dimensions, as columns (the API names them without `_id`). */
export const DIMENSIONS = [
  'team_id',
  'assignee_id',
  'category_id',
  'source',
  'game_id',
  'platform',
  'build',
  'region',
  'priority',
] as const;
export type DimensionColumn = (typeof DIMENSIONS)[number];

/** Duration histogram bins (see the migration): bin 0 under 90 s, bin k from 60 × 1.5^k s. */
export const HIST_BINS = 24;
export const binLowerSeconds = (k: number) => (k === 0 ? 0 : 60 * 1.5 ** k);

const DIMS = DIMENSIONS.join(', ');

/** A contribution row's columns, in the table's order. */
export const CONTRIBUTION_COLUMNS = `org_id, ticket_id, kind, bucket, ${DIMS}, n, dur_s, sla, breached, escalated,
  reopened, merged, rating, bdur_s`;

/** The org's time zone: its default business calendar's, else UTC ($1 is the org id). */
export const ORG_TIME_ZONE = `coalesce((select c.timezone from organizations o
    join business_calendars c on c.org_id = o.id and c.id = o.business_calendar_id
   where o.id = $1::uuid), 'UTC')`;

/**
 * The contributions of the tickets in `ticketSet` (a relation with an `id` column), given a
 * relation `tz(tz)`. Opened: at creation, with the first response time and SLA outcome.
 * Resolved: when solved or closed (not reopened since), with the resolution time (none for a
 * merge), reopens and rating. Reply: one row per staff reply, the author as assignee, with the
 * next response time when the reply ends a wait: from the first message of the ticket's player
 * (`author_kind`: not a participant's, participants.ts) after the previous staff reply (the
 * first reply is the first response, not a next one; a second staff reply with no player
 * message between ends no wait). Every duration also in business time
 * (bdur_s, analytics-business-time.ts), in the calendar the ticket counts in as it is folded.
 */
export function contributionsOf(ticketSet: string): string {
  return `select t.org_id, t.id as ticket_id, k.kind, k.bucket, t.team_id, k.assignee_id, t.category_id,
       t.origin as source, t.game_id,
       left(t.custom_fields ->> 'platform', 100) as platform,
       left(coalesce(t.custom_fields ->> 'build', t.custom_fields ->> 'buildVersion'), 100) as build,
       left(t.custom_fields ->> 'region', 100) as region,
       t.priority, k.n, k.dur_s, k.sla, k.breached, k.escalated, k.reopened, k.merged, k.rating, k.bdur_s
  from tickets t
  join ${ticketSet} s on s.id = t.id
  cross join tz
  ${ticketCalendar('cal')}
  cross join lateral (
    select 'opened'::text as kind, date_trunc('hour', t.created_at at time zone tz.tz) as bucket,
           t.assignee_id, 1 as n,
           round(extract(epoch from t.first_response_at - t.created_at))::int as dur_s,
           (t.sla_due_at is not null or t.sla_breached_at is not null
             or exists (select 1 from ticket_sla_events se
                         where se.org_id = t.org_id and se.ticket_id = t.id))::int as sla,
           (t.sla_breached_at is not null
             or exists (select 1 from ticket_sla_events se
                         where se.org_id = t.org_id and se.ticket_id = t.id and se.kind = 'breach'))::int
             as breached,
           (select count(*) from ticket_events e
             where e.org_id = t.org_id and e.ticket_id = t.id and e.type = 'ticket.transferred')::int
             as escalated,
           0 as reopened, 0 as merged, null::smallint as rating,
           ${businessSeconds('t.created_at', 't.first_response_at', 'cal')} as bdur_s
    union all
    select 'resolved', date_trunc('hour', coalesce(t.solved_at, t.closed_at) at time zone tz.tz),
           t.assignee_id, 1,
           case when t.merged_into_id is null
                then round(extract(epoch from coalesce(t.solved_at, t.closed_at) - t.created_at))::int end,
           0, 0, 0, (t.reopen_count > 0)::int, (t.merged_into_id is not null)::int, t.rating,
           case when t.merged_into_id is null
                then ${businessSeconds('t.created_at', 'coalesce(t.solved_at, t.closed_at)', 'cal')} end
     where t.status in ('solved', 'closed') and coalesce(t.solved_at, t.closed_at) is not null
    union all
    select 'reply', date_trunc('hour', r.created_at at time zone tz.tz), r.author_user_id, 1,
           round(extract(epoch from r.created_at - w.since))::int, 0, 0, 0, 0, 0, null,
           ${businessSeconds('w.since', 'r.created_at', 'cal')}
      from (select m.created_at, m.author_user_id,
                   lag(m.created_at) over (order by m.created_at, m.id) as previous
              from messages m
             where m.org_id = t.org_id and m.ticket_id = t.id and m.author_type = 'user') r
      left join lateral (
        select min(p.created_at) as since from messages p
         where p.org_id = t.org_id and p.ticket_id = t.id and p.author_kind = 'player'
           and p.created_at > r.previous and p.created_at < r.created_at
      ) w on true
  ) k`;
}

const binOf = (col: string) =>
  `case when ${col} is null then null
        else least(${HIST_BINS - 1}, greatest(0, floor(ln(greatest(${col}, 1) / 60.0) / ln(1.5))))::int end`;

/**
 * Sums weighted contributions (a relation with a `w` column: 1 to add, -1 to retract) into
 * rollup rows of `bucketExpr`, grouped by kind, bucket and `keys` (every dimension by default).
 */
export function rollupSelect(weighted: string, bucketExpr: string, keys = DIMS): string {
  const histOf = (bin: string) =>
    Array.from({ length: HIST_BINS }, (_, i) => `coalesce(sum(w) filter (where ${bin} = ${i}), 0)::int`).join(
      ', ',
    );
  // Daily rows also count n per local hour of the day (the heatmap reads them, migration 170).
  const daily = bucketExpr === 'bucket::date';
  const hours = daily
    ? `, array[${Array.from({ length: 24 }, (_, i) => `coalesce(sum(w * n) filter (where hr = ${i}), 0)::int`).join(', ')}] as hours`
    : '';
  const ratings = [1, 2, 3, 4, 5]
    .map((r) => `coalesce(sum(w) filter (where rating = ${r}), 0)::int`)
    .join(', ');
  // `offset 0` keeps the bin a computed column: pulled up, the planner evaluates its logarithm
  // once per histogram filter (24 times a row), which made a backfill's aggregate 4x slower.
  return `select org_id, kind, ${bucketExpr} as bucket, ${keys},
       sum(w * n)::int as n,
       coalesce(sum(w) filter (where dur_s is not null), 0)::int as dur_n,
       coalesce(sum(w * dur_s), 0)::bigint as dur_sum,
       array[${histOf('bin')}] as dur_hist,
       sum(w * sla)::int as sla, sum(w * breached)::int as breached, sum(w * escalated)::int as escalated,
       sum(w * reopened)::int as reopened, sum(w * merged)::int as merged,
       coalesce(sum(w) filter (where rating is not null), 0)::int as rated,
       coalesce(sum(w * rating), 0)::int as rating_sum,
       array[${ratings}] as rating_hist,
       coalesce(sum(w) filter (where bdur_s is not null), 0)::int as bdur_n,
       coalesce(sum(w * bdur_s), 0)::bigint as bdur_sum,
       array[${histOf('bbin')}] as bdur_hist${hours}
  from (select *, ${binOf('dur_s')} as bin, ${binOf('bdur_s')} as bbin,
               extract(hour from bucket)::int as hr
          from ${weighted} offset 0) c
 group by org_id, kind, ${bucketExpr}, ${keys}`;
}

/** The key of the per-dimension rollups after org, kind and bucket (migration 120). */
export const DIM_KEYS = 'dim, value';

/**
 * Weighted contributions (`weighted`, as for rollupSelect) spread over the per-dimension
 * rollups' keys: each row counts once in the total (dim `*`) and once under each dimension's
 * value (as text, null where the ticket had none).
 */
export function perDimension(weighted: string): string {
  const values = [`('*', null::text)`, ...DIMENSIONS.map((d) => `('${d}', ${d}::text)`)].join(', ');
  return `(select x.w, x.org_id, x.kind, x.bucket, d.dim, d.value, x.n, x.dur_s, x.sla, x.breached, x.escalated,
          x.reopened, x.merged, x.rating, x.bdur_s
     from ${weighted} x cross join lateral (values ${values}) d(dim, value)) per_dimension`;
}

/** The rollup tables: the wide ones keyed by every dimension, the narrow ones by one at a time. */
export type RollupTable =
  | 'analytics_hourly'
  | 'analytics_daily'
  | 'analytics_hourly_dim'
  | 'analytics_daily_dim';

/** The rollup columns after the key, in order. */
export const MEASURES = [
  'n',
  'dur_n',
  'dur_sum',
  'dur_hist',
  'sla',
  'breached',
  'escalated',
  'reopened',
  'merged',
  'rated',
  'rating_sum',
  'rating_hist',
  'bdur_n',
  'bdur_sum',
  'bdur_hist',
] as const;

/** The daily tables' extra measure: n per local hour of the day (migration 170). */
const measuresOf = (table: RollupTable): readonly string[] =>
  table.startsWith('analytics_daily') ? [...MEASURES, 'hours'] : MEASURES;

const addArrays = (table: string, col: string) =>
  `${col} = (select array_agg(x + y order by i)
              from unnest(${table}.${col}, excluded.${col}) with ordinality as u(x, y, i))`;

/** Adds delta rows into a rollup table: `insert ... select` from `select` with this suffix. */
export function upsertInto(table: RollupTable, select: string): string {
  const keys = table.endsWith('_dim') ? DIM_KEYS : DIMS;
  const measures = measuresOf(table);
  const sets = measures
    .map((m) =>
      m.endsWith('_hist') || m === 'hours' ? addArrays(table, m) : `${m} = ${table}.${m} + excluded.${m}`,
    )
    .join(', ');
  return `insert into ${table} (org_id, kind, bucket, ${keys}, ${measures.join(', ')})
  ${select}
  on conflict (org_id, kind, bucket, ${keys}) do update set ${sets}`;
}
