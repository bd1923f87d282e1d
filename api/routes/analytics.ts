import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type PlayerDim, playerActivity } from '../../db/analytics-player-read.js';
import {
  DIMENSION_NAMES,
  type Dimension,
  type Kind,
  OTHER_GROUP,
  openedHeatmap,
  openPerAssignee,
  orgClock,
  rollupSeries,
  type Sums,
} from '../../db/analytics-read.js';
import { AppError } from '../../lib/errors.js';
import {
  add,
  addDays,
  bucketsOf,
  byGroup,
  durations,
  METRICS,
  playerMetrics,
  type TimeBasis,
} from '../analytics-report.js';
import { sentimentRoute } from './analytics-sentiment.js';
import {
  access,
  GROUP_LIMIT,
  GROUPS_DESCRIPTION,
  inAnalytics,
  namedGroup,
  rangeOf,
  rangeQuery,
  sendCsv,
  seriesSchema,
  T,
  wantsCsv,
} from './analytics-shared.js';
import { errorResponses, orgParams } from './schemas.js';

const seriesQuery = rangeQuery.extend({
  bucket: z.enum(['hour', 'day', 'week']).default('day'),
  groupBy: z.enum(DIMENSION_NAMES as [Dimension, ...Dimension[]]).optional(),
  compare: z
    .enum(['true', 'false'])
    .optional()
    .meta({ description: 'true: also the previous period of the same length' }),
  limit: GROUP_LIMIT,
  time: z.enum(['calendar', 'business']).default('calendar').meta({
    description:
      'response-times: durations in calendar time, or in business time (working hours of the calendar each ticket counts SLA time in, as of when it was folded; calendar time for tickets with none)',
  }),
});

/** The dimensions sessions and reports carry (reports a game only), and their rollup columns. */
const PLAYER_DIMS = { game: 'game_id', platform: 'platform', build: 'build' } as const satisfies Record<
  string,
  PlayerDim
>;
type PlayerDimName = keyof typeof PLAYER_DIMS;
const PLAYER_DIM_NAMES = Object.keys(PLAYER_DIMS) as PlayerDimName[];
const playerQuery = rangeQuery.extend({
  bucket: z.enum(['hour', 'day', 'week']).default('day'),
  groupBy: z
    .enum(PLAYER_DIM_NAMES as [PlayerDimName, ...PlayerDimName[]])
    .optional()
    .meta({ description: 'one series per game, platform or build' }),
  compare: z
    .enum(['true', 'false'])
    .optional()
    .meta({ description: 'true: also the previous period of the same length' }),
  limit: GROUP_LIMIT,
});

const durationsSchema = z
  .object({
    count: z.number().int(),
    mean: z.number().nullable(),
    median: z.number().nullable(),
    p90: z.number().nullable(),
  })
  .meta({ id: 'AnalyticsDurations', description: 'seconds; median and p90 within about 25 %' });

const METRIC_SCHEMAS = {
  volume: z.object({ opened: z.number(), solved: z.number(), merged: z.number(), backlog: z.number() }),
  responseTimes: z.object({
    firstResponse: durationsSchema,
    nextResponse: durationsSchema.meta({
      description:
        'from the first player message after a staff reply to the next staff reply, counted in the bucket of that reply',
    }),
    resolution: durationsSchema,
  }),
  sla: z.object({
    tickets: z.number(),
    withSla: z.number(),
    breached: z.number(),
    attainment: z.number().nullable(),
    escalations: z.number(),
  }),
  reopens: z.object({ resolved: z.number(), reopened: z.number(), rate: z.number().nullable() }),
  playerActivity: z.object({
    sessions: z.number().meta({ description: 'game sessions started' }),
    activePlayers: z.number().meta({
      description:
        'distinct players who started a session (in a point: in that bucket; in a total: over the whole period, each player once)',
    }),
    reports: z.number().meta({ description: 'player reports filed' }),
    ticketsOpened: z.number(),
    ticketsPer1000Players: z
      .number()
      .nullable()
      .meta({ description: 'tickets opened per 1,000 active players; null when no player was active' }),
  }),
  csat: z.object({
    rated: z.number(),
    average: z.number().nullable(),
    distribution: z.array(z.number()),
    responseRate: z.number().nullable(),
  }),
};
type MetricName = Exclude<keyof typeof METRIC_SCHEMAS, 'playerActivity'>;

/**
 * rollupSeries's rows per kind (in `kinds` order) for the current and the previous period, and
 * the backlog (opened less resolved) per group before them.
 */
function splitRows(rows: Array<Sums & { kind: Kind }>, kinds: Kind[]) {
  const current: Sums[][] = kinds.map(() => []);
  const previous: Sums[][] = kinds.map(() => []);
  const before = new Map<string | null, number>();
  for (const row of rows) {
    if (row.bucket === 'before') {
      const sign = row.kind === 'opened' ? 1 : row.kind === 'resolved' ? -1 : 0;
      before.set(row.group, (before.get(row.group) ?? 0) + sign * row.n);
      continue;
    }
    const k = kinds.indexOf(row.kind);
    if (row.bucket.startsWith('prev:')) previous[k]?.push({ ...row, bucket: row.bucket.slice(5) });
    else current[k]?.push(row);
  }
  return { current, previous, before };
}

/** Opened less resolved per group over a period's sums (kinds opened, resolved). */
function netOf(sums: Sums[][]): Map<string | null, number> {
  const net = new Map<string | null, number>();
  for (const row of sums[0] ?? []) net.set(row.group, (net.get(row.group) ?? 0) + row.n);
  for (const row of sums[1] ?? []) net.set(row.group, (net.get(row.group) ?? 0) - row.n);
  return net;
}

export const analyticsRoutes: FastifyPluginAsyncZod = async (app) => {
  const base = '/v1/orgs/:orgId/analytics';

  /** A time-series endpoint over the rollups of `kinds`, reported by METRICS[name]. */
  function seriesRoute(path: string, name: MetricName, kinds: Kind[], summary: string, id: string) {
    const timed = name === 'responseTimes';
    const schema = seriesSchema(METRIC_SCHEMAS[name], id, timed);
    const report = METRICS[name] as (s: Sums[], time: TimeBasis) => Record<string, unknown>;
    // Typed loosely: the response schema varies with the metric; validation and serialization
    // still run on the schemas below.
    (app as unknown as FastifyInstance).get(
      `${base}/${path}`,
      {
        config: { access },
        schema: {
          tags: T,
          operationId: `analytics${id.replace('Analytics', '')}`,
          summary,
          description: `${GROUPS_DESCRIPTION} Answers text/csv to \`Accept: text/csv\` or \`?format=csv\`.`,
          params: orgParams,
          querystring: seriesQuery,
          response: { 200: schema, ...errorResponses },
        },
      },
      async (req: FastifyRequest, reply: FastifyReply) => {
        const q = req.query as z.output<typeof seriesQuery>;
        const result = await inAnalytics(req, async (tx) => {
          const { timeZone, today } = await orgClock(tx);
          const r = rangeOf(q, today, q.bucket);
          const previousFrom = q.compare === 'true' ? addDays(r.from, -r.days) : undefined;
          // One statement: the range, the previous period and (for the backlog) all before.
          const rows = await rollupSeries(tx, kinds, {
            from: r.from,
            to: r.to,
            bucket: q.bucket,
            filters: r.filters,
            groupBy: q.groupBy,
            previousFrom,
            before: name === 'volume',
            countsOnly: name === 'volume',
            groupLimit: q.groupBy ? q.limit : undefined,
          });
          const split = splitRows(rows, kinds);
          const period = (from: string, to: string, sums: Sums[][], start: Map<string | null, number>) => {
            const buckets = bucketsOf(from, to, q.bucket);
            const grouped = [...byGroup(sums, buckets)].map(([group, points]) => {
              let backlog = start.get(group) ?? 0;
              let total: Sums[] | undefined;
              const out = [...points].map(([bucket, s]) => {
                total = total ? total.map((t, i) => add(t, s[i] as Sums)) : s;
                backlog += (s[0]?.n ?? 0) - (s[1]?.n ?? 0);
                const m = report(s, q.time);
                return { bucket, ...m, ...(name === 'volume' ? { backlog } : {}) };
              });
              const totals = report(total ?? [], q.time);
              const counted = (total ?? []).reduce((a, t) => a + t.n, 0);
              return {
                ...namedGroup(group, OTHER_GROUP),
                points: out,
                total: { ...totals, ...(name === 'volume' ? { backlog } : {}) },
                counted,
              };
            });
            // Largest first, the folded rest last.
            grouped.sort(
              (a, b) => Number(a.other ?? false) - Number(b.other ?? false) || b.counted - a.counted,
            );
            const series = grouped.map(({ counted: _, ...s }) => s);
            return { from, to, series };
          };
          // The backlog before the current period includes what the previous one left open.
          const beforeCurrent = new Map(split.before);
          for (const [group, net] of netOf(split.previous)) {
            beforeCurrent.set(group, (beforeCurrent.get(group) ?? 0) + net);
          }
          const current = period(r.from, r.to, split.current, beforeCurrent);
          const previous = previousFrom
            ? period(previousFrom, addDays(r.from, -1), split.previous, split.before)
            : null;
          return {
            ...current,
            bucket: q.bucket,
            timeZone,
            groupBy: q.groupBy ?? null,
            ...(timed ? { time: q.time } : {}),
            previous,
          };
        });
        if (!wantsCsv(req, q)) return result;
        const rows = [['current', result] as const, ['previous', result.previous] as const].flatMap(
          ([p, data]) =>
            (data?.series ?? []).flatMap((s) => s.points.map((pt) => ({ period: p, group: s.group, ...pt }))),
        );
        return sendCsv(reply, `${path}-${result.from}-${result.to}`, rows);
      },
    );
  }

  seriesRoute(
    'volume',
    'volume',
    ['opened', 'resolved'],
    'Tickets opened, solved, merged and the backlog',
    'AnalyticsVolume',
  );
  seriesRoute(
    'response-times',
    'responseTimes',
    ['opened', 'resolved', 'reply'],
    'First response, next response and resolution times (median, p90; calendar or business time)',
    'AnalyticsResponseTimes',
  );
  seriesRoute(
    'sla',
    'sla',
    ['opened'],
    'SLA attainment, breaches and escalations of the tickets opened',
    'AnalyticsSla',
  );
  seriesRoute('reopens', 'reopens', ['resolved'], 'Reopen rate of the tickets resolved', 'AnalyticsReopens');
  seriesRoute('csat', 'csat', ['resolved'], 'Satisfaction ratings of the tickets resolved', 'AnalyticsCsat');

  (app as unknown as FastifyInstance).get(
    `${base}/player-activity`,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'analyticsPlayerActivity',
        summary: 'Game sessions, active players, player reports and tickets per 1,000 active players',
        description:
          'From the sessions and reports the game SDKs send. Filters and groups by game, platform and build ' +
          '(at most one of them per query; reports carry a game only). With `groupBy`, the `limit` groups ' +
          '(default 20, at most 50) with the most sessions over the period (then tickets opened, reports) keep ' +
          'their own series, largest first; all others are one last series, `{ "group": "other", "other": true }`, ' +
          'its active players each counted once however many of its builds or platforms they played on. ' +
          'Answers text/csv to `Accept: text/csv` or `?format=csv`.',
        params: orgParams,
        querystring: playerQuery,
        response: {
          200: seriesSchema(METRIC_SCHEMAS.playerActivity, 'AnalyticsPlayerActivity', false),
          ...errorResponses,
        },
      },
    },
    async (req: FastifyRequest, reply: FastifyReply) => {
      const q = req.query as z.output<typeof playerQuery>;
      const result = await inAnalytics(req, async (tx) => {
        const { timeZone, today } = await orgClock(tx);
        const r = rangeOf(q, today, q.bucket);
        const named = new Set<PlayerDimName>(q.groupBy ? [q.groupBy] : []);
        for (const d of DIMENSION_NAMES) {
          if (!r.filters[d]) continue;
          if (!(d in PLAYER_DIMS)) {
            const message = `sessions and reports carry no ${d}: filter by game, platform or build`;
            throw new AppError('validation_failed', message, { details: [{ path: d, message }] });
          }
          named.add(d as PlayerDimName);
        }
        if (named.size > 1) {
          const message = 'player activity filters and groups by one of game, platform and build at a time';
          throw new AppError('validation_failed', message, { details: [{ path: 'groupBy', message }] });
        }
        const [dim] = [...named];
        const previousFrom = q.compare === 'true' ? addDays(r.from, -r.days) : undefined;
        const data = await playerActivity(tx, {
          from: r.from,
          to: r.to,
          bucket: q.bucket,
          dim: dim ? PLAYER_DIMS[dim] : null,
          values: dim ? r.filters[dim] : undefined,
          grouped: Boolean(q.groupBy),
          previousFrom,
          groupLimit: q.groupBy ? q.limit : undefined,
        });
        const byKey = new Map(data.buckets.map((b) => [`${b.bucket}\n${b.group ?? ''}`, b]));
        const period = (from: string, to: string, which: 'current' | 'previous') => {
          const prefix = which === 'previous' ? 'prev:' : '';
          const groups = new Set<string | null>();
          for (const b of data.buckets)
            if (b.bucket.startsWith('prev:') === (which === 'previous')) groups.add(b.group);
          for (const t of data.totals) if (t.period === which) groups.add(t.group);
          if (groups.size === 0) groups.add(q.groupBy ? '' : null);
          const grouped = [...groups].sort().map((group) => {
            const sum = { sessions: 0, players: 0, reports: 0, opened: 0 };
            const points = bucketsOf(from, to, q.bucket).map((bucket) => {
              const b = byKey.get(`${prefix}${bucket}\n${group ?? ''}`);
              sum.sessions += b?.sessions ?? 0;
              sum.reports += b?.reports ?? 0;
              sum.opened += b?.opened ?? 0;
              return { bucket, ...playerMetrics(b ?? { sessions: 0, players: 0, reports: 0, opened: 0 }) };
            });
            // A period's players are counted once each, not summed over its buckets.
            sum.players = data.totals.find((t) => t.period === which && t.group === group)?.players ?? 0;
            return {
              ...namedGroup(group === '' ? null : group, OTHER_GROUP),
              points,
              total: playerMetrics(sum),
            };
          });
          // Largest first as the groups were kept (sessions, tickets, reports), the folded rest last.
          grouped.sort(
            (a, b) =>
              Number(a.other ?? false) - Number(b.other ?? false) ||
              b.total.sessions - a.total.sessions ||
              b.total.ticketsOpened - a.total.ticketsOpened ||
              b.total.reports - a.total.reports,
          );
          return { from, to, series: grouped };
        };
        return {
          ...period(r.from, r.to, 'current'),
          bucket: q.bucket,
          timeZone,
          groupBy: q.groupBy ?? null,
          previous: previousFrom ? period(previousFrom, addDays(r.from, -1), 'previous') : null,
        };
      });
      if (!wantsCsv(req, q)) return result;
      const rows = [['current', result] as const, ['previous', result.previous] as const].flatMap(
        ([p, data]) =>
          (data?.series ?? []).flatMap((s) => s.points.map((pt) => ({ period: p, group: s.group, ...pt }))),
      );
      return sendCsv(reply, `player-activity-${result.from}-${result.to}`, rows);
    },
  );

  sentimentRoute(app as unknown as FastifyInstance, base);

  app.get(
    `${base}/workload`,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'analyticsWorkload',
        summary: 'Per assignee: open tickets now, replies, tickets resolved and handle time in the range',
        description: 'Answers text/csv to `Accept: text/csv` or `?format=csv`.',
        params: orgParams,
        querystring: rangeQuery,
        response: {
          200: z
            .object({
              from: z.string(),
              to: z.string(),
              timeZone: z.string(),
              assignees: z.array(
                z.object({
                  assigneeId: z.string().nullable(),
                  open: z.number(),
                  replies: z.number(),
                  resolved: z.number(),
                  handleTime: durationsSchema,
                }),
              ),
            })
            .meta({ id: 'AnalyticsWorkload' }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const result = await inAnalytics(req, async (tx) => {
        const { timeZone, today } = await orgClock(tx);
        const r = rangeOf(req.query, today, 'day');
        const sums = splitRows(
          await rollupSeries(tx, ['reply', 'resolved'], {
            from: r.from,
            to: r.to,
            bucket: 'total',
            filters: r.filters,
            groupBy: 'assignee',
          }),
          ['reply', 'resolved'],
        ).current;
        const byAssignee = (rows: Sums[] | undefined) => new Map((rows ?? []).map((x) => [x.group, x]));
        const replies = byAssignee(sums[0]);
        const resolved = byAssignee(sums[1]);
        const open = await openPerAssignee(tx, r.filters);
        const ids = [...new Set([...open.keys(), ...replies.keys(), ...resolved.keys()])];
        const assignees = ids.map((id) => ({
          assigneeId: id,
          open: open.get(id) ?? 0,
          replies: replies.get(id)?.n ?? 0,
          resolved: (resolved.get(id)?.n ?? 0) - (resolved.get(id)?.merged ?? 0),
          handleTime: durations(resolved.get(id)),
        }));
        assignees.sort((a, b) => b.open - a.open || b.replies - a.replies);
        return { from: r.from, to: r.to, timeZone, assignees };
      });
      if (!wantsCsv(req, req.query)) return result;
      return sendCsv(reply, `workload-${result.from}-${result.to}`, result.assignees);
    },
  );

  app.get(
    `${base}/heatmap`,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'analyticsHeatmap',
        summary: 'Tickets opened per weekday and hour of the day, in the org time zone',
        description:
          '`cells[d][h]`: d 0 is Monday, h the local hour. Answers text/csv to `Accept: text/csv` or `?format=csv`.',
        params: orgParams,
        querystring: rangeQuery,
        response: {
          200: z
            .object({
              from: z.string(),
              to: z.string(),
              timeZone: z.string(),
              cells: z.array(z.array(z.number())),
            })
            .meta({ id: 'AnalyticsHeatmap' }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const result = await inAnalytics(req, async (tx) => {
        const { timeZone, today } = await orgClock(tx);
        const r = rangeOf(req.query, today, 'day');
        const cells = await openedHeatmap(tx, { from: r.from, to: r.to, bucket: 'hour', filters: r.filters });
        return { from: r.from, to: r.to, timeZone, cells };
      });
      if (!wantsCsv(req, req.query)) return result;
      const days = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
      const rows = result.cells.flatMap((hours, d) =>
        hours.map((opened, hour) => ({ weekday: days[d], hour, opened })),
      );
      return sendCsv(reply, `heatmap-${result.from}-${result.to}`, rows);
    },
  );
};
