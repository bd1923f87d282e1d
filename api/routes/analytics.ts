import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { playerActivityRoute } from './analytics-player-activity.js';
import { sentimentRoute } from './analytics-sentiment.js';
import { seriesRoutes } from './analytics-series.js';
import { workloadRoutes } from './analytics-workload.js';

/**
 * The analytics API, `/v1/orgs/:orgId/analytics/...`: one module per kind of report, added here in
 * the order the OpenAPI document lists them.
 */
export const analyticsRoutes: FastifyPluginAsyncZod = async (app) => {
  const base = '/v1/orgs/:orgId/analytics';
  // Typed loosely where the response schema varies with the report; validation and serialization
  // still run on each route's schemas.
  const loose = app as unknown as FastifyInstance;
  seriesRoutes(loose, base);
  playerActivityRoute(loose, base);
  sentimentRoute(loose, base);
  workloadRoutes(app, base);
};
