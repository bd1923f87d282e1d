import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  openedHeatmap,
  openPerAssignee,
  orgClock,
  rollupSeries,
  type Sums,
} from '../../db/analytics-read.js';
import { durations } from '../analytics-report.js';
import { durationsSchema, splitRows } from './analytics-series.js';
import { access, inAnalytics, rangeOf, rangeQuery, sendCsv, T, wantsCsv } from './analytics-shared.js';
import { errorResponses, orgParams } from './schemas.js';

type App = Parameters<FastifyPluginAsyncZod>[0];

/** `GET .../analytics/workload` (per assignee) and `.../heatmap` (opened per weekday and hour). */
export function workloadRoutes(app: App, base: string) {
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
}
