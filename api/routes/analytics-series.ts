import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  DIMENSION_NAMES,
  type Dimension,
  type Kind,
  OTHER_GROUP,
  orgClock,
  rollupSeries,
  type Sums,
} from '../../db/analytics-read.js';
import { add, addDays, bucketsOf, byGroup, METRICS, type TimeBasis } from '../analytics-report.js';
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

/**
 * The ticket series endpoints (volume, response-times, sla, reopens, csat): one route each over
 * the rollups, reported by analytics-report.ts's METRICS.
 */

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

export const durationsSchema = z
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
  csat: z.object({
    rated: z.number(),
    average: z.number().nullable(),
    distribution: z.array(z.number()),
    responseRate: z.number().nullable(),
  }),
};
type MetricName = keyof typeof METRIC_SCHEMAS;

/**
 * rollupSeries's rows per kind (in `kinds` order) for the current and the previous period, and
 * the backlog (opened less resolved) per group before them.
 */
export function splitRows(rows: Array<Sums & { kind: Kind }>, kinds: Kind[]) {
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

/** Adds the five series routes under `base`, in the order the OpenAPI document lists them. */
export function seriesRoutes(app: FastifyInstance, base: string) {
  /** A time-series endpoint over the rollups of `kinds`, reported by METRICS[name]. */
  function seriesRoute(path: string, name: MetricName, kinds: Kind[], summary: string, id: string) {
    const timed = name === 'responseTimes';
    const schema = seriesSchema(METRIC_SCHEMAS[name], id, timed);
    const report = METRICS[name] as (s: Sums[], time: TimeBasis) => Record<string, unknown>;
    app.get(
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
}
