import type { FastifyInstance } from 'fastify';
import { activeSpan } from '../../lib/trace-context.js';

/**
 * Names the request's server span by its route template (`POST /v1/orgs/:orgId/tickets`), as the
 * metrics label it: the http instrumentation knows only the method, and the raw URL would make
 * every ticket a span name of its own. Nothing to do when tracing is off (no active span).
 */
export function registerTraceRoute(app: FastifyInstance) {
  app.addHook('onRequest', (req, _reply, done) => {
    const span = activeSpan();
    // `routeOptions` builds a new object on every read: only asked for when there is a span.
    const route = span && req.routeOptions.url;
    if (span && route) span.updateName(`${req.method} ${route}`).setAttribute('http.route', route);
    done();
  });
}
