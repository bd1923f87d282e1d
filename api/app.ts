import cookie from '@fastify/cookie';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { configDefaults, type TrustProxy } from '../lib/config.js';
import { LazyChildLogger, type Logger, requestId } from '../lib/logger.js';
import { createDownloadSigner } from '../lib/signed-url.js';
import { createTicketPages } from '../lib/ticket-links.js';
import type { ApiSettings, AppDeps, RegisteredRoute } from './context.js';
import {
  DEFAULT_HTTP_TIMEOUTS,
  type HttpTimeouts,
  registerBodyTimeout,
  serverTimeoutOptions,
} from './http-timeouts.js';
import { registerAuth } from './plugins/auth.js';
import { handleFrameworkError, registerErrorHandling } from './plugins/errors.js';
import { IDEMPOTENCY_LEASE_MS, registerIdempotency } from './plugins/idempotency.js';
import { registerInputGuard } from './plugins/input-guard.js';
import { registerMetrics } from './plugins/metrics.js';
import { registerOpenApi } from './plugins/openapi.js';
import { DEFAULT_RATE_LIMITS, type RateLimits, registerRateLimits } from './plugins/rate-limit.js';
import { registerTraceRoute } from './plugins/trace-route.js';
import { registerRoutes } from './routes/index.js';
import { closeAnsweredUpgrades } from './routes/live.js';
import { TokenCache } from './token-cache.js';

export type { AppDeps };

/**
 * What buildApp runs with when its caller leaves a setting out (tests): the defaults of
 * lib/config.ts, the only place defaults live, so a test app and `npm start` agree.
 */
function defaultSettings(): Omit<ApiSettings, 'secretKey'> {
  const c = configDefaults();
  return {
    publicUrl: c.http.publicUrl,
    discord: { apiUrl: c.discord.apiUrl, clientId: undefined, clientSecret: undefined },
    sessionIdleSeconds: c.api.sessionIdleSeconds,
    sessionAbsoluteSeconds: c.api.sessionAbsoluteSeconds,
    oauth: c.api.oauth,
    cookieSecure: c.api.cookieSecure,
    trustProxy: c.api.trustProxy,
    demoSignIn: false,
    downloadLinkMaxSeconds: c.downloadLinkMaxSeconds,
    metricsToken: undefined,
    webhookTargets: {
      allowLoopback: c.workers.webhookAllowLoopback,
      allowPrivate: c.workers.webhookAllowPrivate,
    },
    now: Date.now,
  };
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const NO_BODY = z.strictObject({}).nullish();

/** How long a resolved API token is trusted before it is looked up again (revocation is immediate). */
const TOKEN_CACHE_MS = 10_000;

/** Largest JSON body; attachments stream through multipart with their own limit. */
const BODY_LIMIT = 1024 * 1024;

/**
 * TRUST_PROXY (lib/config.ts) as Fastify takes it. Fastify reads a bare number as "trust no hop"
 * (it cannot tell a proxy from a client that wrote the header itself); a count is what the
 * setting means where only the proxies can reach the API, so it becomes the hop test.
 */
function fastifyTrust(t: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof t === 'number') return (_address, hop) => hop < t;
  return typeof t === 'boolean' ? t : [...t];
}

/** Builds the HTTP app without listening, so tests can `inject` requests. */
export async function buildApp(
  deps: AppDeps & {
    rateLimits?: Partial<RateLimits>;
    timeouts?: Partial<HttpTimeouts>;
    /** Whether this port serves /metrics (api/metrics-server.ts decides; default yes). */
    publicMetrics?: boolean;
  },
): Promise<FastifyInstance> {
  const settings: ApiSettings = { ...defaultSettings(), ...deps.settings };
  const timeouts: HttpTimeouts = { ...DEFAULT_HTTP_TIMEOUTS, ...deps.timeouts };
  const app = Fastify({
    ...serverTimeoutOptions(timeouts),
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Each request's logger is made when it first writes a line (lib/logger.ts); a route with its
    // own log level gets a pino child at once.
    childLoggerFactory: (logger, bindings, opts) =>
      (Object.keys(opts).length > 0
        ? logger.child(bindings, opts)
        : new LazyChildLogger(logger as Logger, bindings)) as FastifyBaseLogger,
    genReqId: (req) => requestId(req.headers['x-request-id']),
    bodyLimit: BODY_LIMIT,
    trustProxy: fastifyTrust(settings.trustProxy),
    // Ids and query strings are short; a longer URL is an attack or a bug.
    routerOptions: { maxParamLength: 200 },
    // The router's refusals (too long, badly encoded) in our error shape, not Fastify's.
    frameworkErrors: handleFrameworkError,
    // Every schema is zod: handing Fastify these compilers up front keeps it from loading Ajv
    // and fast-json-stringify, which nothing here uses (a third of a second of each start).
    // (Fastify's types expect Ajv's factory signature; ours ignore its arguments.)
    schemaController: {
      compilersFactory: {
        buildValidator: (() => validatorCompiler) as never,
        buildSerializer: (() => serializerCompiler) as never,
      },
    },
  });
  app.decorate('deps', deps);
  app.decorate('settings', settings);
  app.decorate('storage', deps.storage);
  app.decorate(
    'signer',
    createDownloadSigner(settings.secretKey, {
      maxTtlSeconds: settings.downloadLinkMaxSeconds,
      now: settings.now,
    }),
  );
  app.decorate('ticketPages', createTicketPages(settings.secretKey, settings.publicUrl, settings.now));
  const tokenCache = new TokenCache(TOKEN_CACHE_MS, settings.now);
  app.decorate('tokenCache', tokenCache);
  const subscriber = deps.subscriber?.();
  app.decorate('liveSubscriber', subscriber);
  if (subscriber) {
    await tokenCache.listen(subscriber, deps.logger);
    app.addHook('onClose', () =>
      subscriber.quit().then(
        () => {},
        () => subscriber.disconnect(),
      ),
    );
  }
  // Routes added by plugins we don't write (the docs page) are public by nature; say so here,
  // in one place, so the "every route declares its access" check still holds for them.
  const routes: RegisteredRoute[] = [];
  app.decorate('registeredRoutes', routes);
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...route.config, access: 'public' };
    // A write without a body schema takes no body: anything sent is refused, not ignored.
    if (!route.schema?.body && !route.config?.rawBody && WRITES.has(String(route.method))) {
      route.schema = { ...route.schema, body: NO_BODY };
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) routes.push({ method, url: route.url, access: route.config?.access });
  });
  registerErrorHandling(app);
  registerBodyTimeout(app, timeouts);
  closeAnsweredUpgrades(app);
  // Cookies are parsed where a route reads one (api/cookies.ts), not on every request.
  await app.register(cookie, { hook: false });
  const rateLimits: RateLimits = { ...DEFAULT_RATE_LIMITS, ...deps.rateLimits };
  registerAuth(app, rateLimits.authFailures);
  // After auth (access is checked before input is looked at), before every route.
  registerInputGuard(app);
  registerRateLimits(app, rateLimits);
  // An idempotent request is a few statements under the statement timeout: a claim still without
  // its answer after the whole-request bound was abandoned (a crash, a failed store).
  registerIdempotency(app, { leaseMs: settings.idempotencyLeaseMs ?? IDEMPOTENCY_LEASE_MS });
  registerMetrics(app, { route: deps.publicMetrics ?? true });
  registerTraceRoute(app);
  await registerOpenApi(app);
  await registerRoutes(app);
  return app;
}
