import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DIMENSION_NAMES, type Dimension, type RollupQuery } from '../../db/analytics-read.js';
import { withTenant } from '../../db/tenant.js';
import { AppError } from '../../lib/errors.js';
import { addDays, daysBetween, toCsv } from '../analytics-report.js';

/**
 * What every analytics route shares (analytics-series.ts, analytics-player-activity.ts,
 * analytics-sentiment.ts, analytics-workload.ts): the permission, the range and filter query, the
 * series response shape, CSV and the read pool.
 */

export const T = ['analytics'];
export const access = { permission: 'analytics.read' } as const;
export const UUID_DIMS = new Set<Dimension>(['team', 'assignee', 'category', 'game']);
/** Longest range per bucket: hourly rows are many, and a chart of them unreadable past a month. */
export const MAX_DAYS = { hour: 31, day: 1_100, week: 1_100 } as const;

const csvList = z
  .string()
  .max(4_000)
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
const uuidList = csvList.pipe(z.array(z.uuid()).max(50));
const textList = csvList.pipe(z.array(z.string().min(1).max(100)).max(50));

export const filterShape = Object.fromEntries(
  DIMENSION_NAMES.map((d) => [
    d,
    (UUID_DIMS.has(d) ? uuidList : textList)
      .optional()
      .meta({ description: `only these ${d} values (comma-separated)` }),
  ]),
) as Record<Dimension, z.ZodOptional<typeof textList>>;

export const rangeQuery = z.object({
  from: z.iso
    .date()
    .optional()
    .meta({ description: 'first day, in the org time zone (default: 29 days before to)' }),
  to: z.iso
    .date()
    .optional()
    .meta({ description: 'last day, included (default: today in the org time zone)' }),
  format: z.enum(['json', 'csv']).optional().meta({ description: 'csv: the same data as text/csv' }),
  ...filterShape,
});

export type RangeQuery = z.output<typeof rangeQuery>;

/**
 * How many groups an answer keeps. A dimension players fill in (build, platform, region through
 * the SDK) can have thousands of values; one series each made a single request build millions of
 * zero points while holding the instance and a read transaction for most of a minute.
 */
export const GROUP_LIMIT = z.coerce
  .number()
  .int()
  .min(1)
  .max(50)
  .default(20)
  .meta({ description: 'with groupBy: how many groups keep their own series (1 to 50, default 20)' });

export const GROUPS_DESCRIPTION =
  'With `groupBy`, the `limit` groups (default 20, at most 50) with the most tickets over the period ' +
  'keep their own series, largest first; all others are summed into one last series, ' +
  '`{ "group": "other", "other": true }` (tell it from a value named "other" by `other`).';

/** A series' group as answered: the folded groups' key (OTHER_GROUP of the read) as `other`. */
export function namedGroup(group: string | null, otherKey: string): { group: string | null; other?: true } {
  return group === otherKey ? { group: 'other', other: true } : { group };
}

export function seriesSchema<S extends z.ZodObject>(metrics: S, id: string, timed: boolean) {
  const series = z.array(
    z.object({
      group: z.string().nullable(),
      other: z
        .literal(true)
        .optional()
        .meta({ description: 'present on the one series that sums the groups past the limit' }),
      points: z.array(metrics.extend({ bucket: z.string() })),
      total: metrics,
    }),
  );
  return z
    .object({
      from: z.string(),
      to: z.string(),
      bucket: z.enum(['hour', 'day', 'week']),
      timeZone: z.string(),
      groupBy: z.string().nullable(),
      ...(timed ? { time: z.enum(['calendar', 'business']) } : {}),
      series,
      previous: z.object({ from: z.string(), to: z.string(), series }).nullable(),
    })
    .meta({ id });
}

export const wantsCsv = (req: FastifyRequest, q: { format?: string | undefined }) =>
  q.format === 'csv' || (q.format === undefined && /\btext\/csv\b/.test(req.headers.accept ?? ''));

export function sendCsv(reply: FastifyReply, name: string, rows: Record<string, unknown>[]) {
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${name}.csv"`)
    .send(toCsv(rows));
}

/** Reads on the analytics pool (the replica when ANALYTICS_DATABASE_URL is set). */
export function inAnalytics<R>(req: FastifyRequest, fn: Parameters<typeof withTenant<R>>[2]): Promise<R> {
  if (!req.org) throw new AppError('internal', 'analytics route without an org');
  return withTenant(req.server.deps.analyticsPool ?? req.server.deps.pool, req.org.orgId, fn);
}

/** The range asked for, defaults filled in from the org's today, checked against the bucket. */
export function rangeOf(q: RangeQuery, today: string, bucket: keyof typeof MAX_DAYS) {
  const to = q.to ?? today;
  const from = q.from ?? addDays(to, -29);
  const days = daysBetween(from, to);
  if (days < 1)
    throw new AppError('validation_failed', 'from is after to', {
      details: [{ path: 'from', message: 'after to' }],
    });
  if (days > MAX_DAYS[bucket]) {
    throw new AppError('validation_failed', `at most ${MAX_DAYS[bucket]} days with ${bucket} buckets`, {
      details: [{ path: 'from', message: `at most ${MAX_DAYS[bucket]} days with ${bucket} buckets` }],
    });
  }
  const filters: RollupQuery['filters'] = {};
  for (const d of DIMENSION_NAMES) if (q[d]?.length) filters[d] = q[d];
  return { from, to, days, filters };
}
