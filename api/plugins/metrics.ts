import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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

  // One series per method, route and status. A route's own hook knows its template from when it
  // was registered (reading `req.routeOptions` per request builds an object each time), so a
  // request finds its series by method and status alone; unmatched requests share one hook.
  const observer = (route: string) => {
    const byMethod = new Map<string, Map<number, HistogramSeries>>();
    return (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
      let byStatus = byMethod.get(req.method);
      if (!byStatus) {
        byStatus = new Map();
        byMethod.set(req.method, byStatus);
      }
      let series = byStatus.get(reply.statusCode);
      if (!series) {
        series = requests.series({ method: req.method, route, status: String(reply.statusCode) });
        byStatus.set(reply.statusCode, series);
      }
      series.observe(reply.elapsedTime / 1000);
      done();
    };
  };
  app.addHook('onRoute', (route) => {
    const own = route.onResponse;
    const list = own === undefined ? [] : Array.isArray(own) ? own : [own];
    route.onResponse = [...list, observer(route.url)];
  });
  const unmatched = observer('unmatched');
  app.addHook('onResponse', (req, reply, done) => (req.is404 ? unmatched(req, reply, done) : done()));

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
