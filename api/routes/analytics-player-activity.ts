import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type PlayerDim, playerActivity } from '../../db/analytics-player-read.js';
import { DIMENSION_NAMES, OTHER_GROUP, orgClock } from '../../db/analytics-read.js';
import { AppError } from '../../lib/errors.js';
import { addDays, bucketsOf, playerMetrics } from '../analytics-report.js';
import {
  access,
  GROUP_LIMIT,
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

const playerActivityMetrics = z.object({
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
});

/** `GET .../analytics/player-activity`: what the game SDKs send (sessions, players, reports). */
export function playerActivityRoute(app: FastifyInstance, base: string) {
  app.get(
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
          200: seriesSchema(playerActivityMetrics, 'AnalyticsPlayerActivity', false),
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
}
