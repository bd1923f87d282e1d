import type { FastifyInstance } from 'fastify';
import { AppError } from '../../lib/errors.js';
import { fastHistogram, gauge, type HistogramSeries, registry } from '../../lib/metrics.js';
import { poolGauge } from '../metrics-server.js';
import { sameSecret } from './auth.js';

/**
 * Request histograms by route template and status (never by raw URL: ids would explode the
 * label set), Postgres pool and Redis gauges, and `/metrics` in Prometheus text format.
 */
export function registerMetrics(app: FastifyInstance, opts: { route: boolean } = { route: true }) {
  const requests = fastHistogram(
    'gamemod_http_request_duration_seconds',
    'HTTP requests by route and status',
    ['method', 'route', 'status'],
  );
  const { pool, redis } = app.deps;
  const setPoolGauge = poolGauge(pool);
  const redisUp = gauge('gamemod_redis_up', 'Whether the API Redis connection is ready (1) or not (0)');

  // One series per method, route and status, found by a string key, observed with a few
  // additions (lib/metrics.ts). The set is bounded by the routes.
  const children = new Map<string, HistogramSeries>();
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const key = `${req.method} ${route} ${reply.statusCode}`;
    let child = children.get(key);
    if (!child) {
      child = requests.series({ method: req.method, route, status: String(reply.statusCode) });
      children.set(key, child);
    }
    child.observe(reply.elapsedTime / 1000);
    done();
  });

  // Not on this port at all when metrics have their own listener, or in production without a
  // METRICS_TOKEN (api/metrics-server.ts decides): the route does not exist, so 404.
  if (!opts.route) return;
  // Public as a route (no session or API token), but behind METRICS_TOKEN when one is set.
  const secret = app.settings.metricsToken;
  app.get(
    '/metrics',
    { config: { access: 'public', rateLimit: 'none' }, schema: { hide: true } },
    async (req, reply) => {
      if (secret && !sameSecret(req.headers.authorization ?? '', `Bearer ${secret}`)) {
        throw new AppError('unauthenticated', 'metrics need Authorization: Bearer <METRICS_TOKEN>');
      }
      setPoolGauge();
      redisUp.set(redis.status === 'ready' ? 1 : 0);
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    },
  );
}
