import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DIMENSION_NAMES, OTHER_GROUP, orgClock } from '../../db/analytics-read.js';
import {
  type SentimentBucket,
  type SentimentDim,
  sentimentTrend,
} from '../../db/analytics-sentiment-read.js';
import { AppError } from '../../lib/errors.js';
import { addDays, bucketsOf } from '../analytics-report.js';
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

/** The dimensions a message counts under (its ticket's), and their rollup columns. */
const SENTIMENT_DIMS = {
  game: 'game_id',
  category: 'category_id',
  team: 'team_id',
} as const satisfies Record<string, SentimentDim>;
type SentimentDimName = keyof typeof SENTIMENT_DIMS;
const DIM_NAMES = Object.keys(SENTIMENT_DIMS) as SentimentDimName[];

const sentimentQuery = rangeQuery.extend({
  bucket: z.enum(['hour', 'day', 'week']).default('day'),
  groupBy: z
    .enum(DIM_NAMES as [SentimentDimName, ...SentimentDimName[]])
    .optional()
    .meta({ description: "one series per game, category or team (the message's ticket's)" }),
  compare: z
    .enum(['true', 'false'])
    .optional()
    .meta({ description: 'true: also the previous period of the same length' }),
  limit: GROUP_LIMIT,
});

const metrics = z.object({
  messages: z.number().meta({ description: 'scored player messages' }),
  scoreSum: z.number().meta({ description: 'sum of their scores (AFINN word scores, summed per message)' }),
  averageScore: z
    .number()
    .nullable()
    .meta({ description: 'scoreSum / messages, two decimals; null when no message was scored' }),
  negative: z.number(),
  neutral: z.number(),
  positive: z.number(),
  negativeShare: z
    .number()
    .nullable()
    .meta({ description: 'negative / messages, 0 to 1; null when no message was scored' }),
});

type Sums = Omit<SentimentBucket, 'bucket' | 'group'>;
const ZERO: Sums = { messages: 0, scoreSum: 0, negative: 0, neutral: 0, positive: 0 };

/** The reported measures of summed buckets: the averages are taken here, from exact sums. */
function report(s: Sums): z.output<typeof metrics> {
  const n = s.messages;
  return {
    messages: n,
    scoreSum: s.scoreSum,
    averageScore: n > 0 ? Math.round((s.scoreSum / n) * 100) / 100 : null,
    negative: s.negative,
    neutral: s.neutral,
    positive: s.positive,
    negativeShare: n > 0 ? Math.round((s.negative / n) * 10_000) / 10_000 : null,
  };
}

const add = (a: Sums, b: Sums): Sums => ({
  messages: a.messages + b.messages,
  scoreSum: a.scoreSum + b.scoreSum,
  negative: a.negative + b.negative,
  neutral: a.neutral + b.neutral,
  positive: a.positive + b.positive,
});

/** `GET /v1/orgs/{orgId}/analytics/sentiment`, on the analytics routes' instance. */
export function sentimentRoute(app: FastifyInstance, base: string): void {
  app.get(
    `${base}/sentiment`,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'analyticsSentiment',
        summary:
          'Player sentiment: scored player messages, average score and negative / neutral / positive counts',
        description:
          "Every player message is scored when it is recorded (a local English lexicon). A message counts under its ticket's " +
          'current game, category and team (none for messages outside tickets) while it exists and is not deleted. Filters ' +
          'and groups by game, category and team, at most one of them per query. ' +
          GROUPS_DESCRIPTION.replace('most tickets', 'most scored messages') +
          ' Answers text/csv to `Accept: text/csv` or `?format=csv`.',
        params: orgParams,
        querystring: sentimentQuery,
        response: { 200: seriesSchema(metrics, 'AnalyticsSentiment', false), ...errorResponses },
      },
    },
    async (req: FastifyRequest, reply: FastifyReply) => {
      const q = req.query as z.output<typeof sentimentQuery>;
      const result = await inAnalytics(req, async (tx) => {
        const { timeZone, today } = await orgClock(tx);
        const r = rangeOf(q, today, q.bucket);
        const named = new Set<SentimentDimName>(q.groupBy ? [q.groupBy] : []);
        for (const d of DIMENSION_NAMES) {
          if (!r.filters[d]) continue;
          if (!(d in SENTIMENT_DIMS)) {
            const message = `the sentiment trend has no ${d}: filter by game, category or team`;
            throw new AppError('validation_failed', message, { details: [{ path: d, message }] });
          }
          named.add(d as SentimentDimName);
        }
        if (named.size > 1) {
          const message =
            'the sentiment trend filters and groups by one of game, category and team at a time';
          throw new AppError('validation_failed', message, { details: [{ path: 'groupBy', message }] });
        }
        const [dim] = [...named];
        const previousFrom = q.compare === 'true' ? addDays(r.from, -r.days) : undefined;
        const rows = await sentimentTrend(tx, {
          from: r.from,
          to: r.to,
          bucket: q.bucket,
          dim: dim ? SENTIMENT_DIMS[dim] : null,
          values: dim ? r.filters[dim] : undefined,
          grouped: Boolean(q.groupBy),
          previousFrom,
          groupLimit: q.groupBy ? q.limit : undefined,
        });
        const byKey = new Map(rows.map((b) => [`${b.bucket}\n${b.group ?? ''}`, b]));
        const period = (from: string, to: string, previous: boolean) => {
          const prefix = previous ? 'prev:' : '';
          const groups = new Set<string | null>();
          for (const b of rows) if (b.bucket.startsWith('prev:') === previous) groups.add(b.group);
          if (groups.size === 0) groups.add(q.groupBy ? '' : null);
          const series = [...groups].sort().map((group) => {
            let sum = ZERO;
            const points = bucketsOf(from, to, q.bucket).map((bucket) => {
              const b = byKey.get(`${prefix}${bucket}\n${group ?? ''}`) ?? ZERO;
              sum = add(sum, b);
              return { bucket, ...report(b) };
            });
            return { ...namedGroup(group === '' ? null : group, OTHER_GROUP), points, total: report(sum) };
          });
          // Largest first, the folded rest last.
          series.sort(
            (a, b) =>
              Number(a.other ?? false) - Number(b.other ?? false) || b.total.messages - a.total.messages,
          );
          return { from, to, series };
        };
        return {
          ...period(r.from, r.to, false),
          bucket: q.bucket,
          timeZone,
          groupBy: q.groupBy ?? null,
          previous: previousFrom ? period(previousFrom, addDays(r.from, -1), true) : null,
        };
      });
      if (!wantsCsv(req, q)) return result;
      const csv = [['current', result] as const, ['previous', result.previous] as const].flatMap(
        ([p, data]) =>
          (data?.series ?? []).flatMap((s) => s.points.map((pt) => ({ period: p, group: s.group, ...pt }))),
      );
      return sendCsv(reply, `sentiment-${result.from}-${result.to}`, csv);
    },
  );
}
