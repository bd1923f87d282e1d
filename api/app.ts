import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { assertMigrationsCurrent } from '../db/migrate.js';
import type { Pool } from '../db/pool.js';
import { AppError, isAppError } from '../lib/errors.js';
import { type Logger, requestId } from '../lib/logger.js';

export interface AppDeps {
  pool: Pool;
  redis: Redis;
  logger: Logger;
}

/** Builds the HTTP app without listening, so tests can `inject` requests. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: (req) => requestId(req.headers['x-request-id']),
  });

  app.setErrorHandler((err, req, reply) => {
    if (isAppError(err) && err.status < 500) {
      return reply
        .status(err.status)
        .send({ error: { code: err.code, message: err.message, details: err.details ?? null } });
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      const message = err instanceof Error ? err.message : 'bad request';
      return reply.status(status).send({ error: { code: 'bad_request', message, details: null } });
    }
    req.log.error({ err }, 'request failed');
    // Never show internals: the request id is what support needs to find the log line.
    return reply.status(isAppError(err) ? err.status : 500).send({
      error: {
        code: isAppError(err) ? err.code : 'internal',
        message: `internal error (request ${req.id})`,
        details: null,
      },
    });
  });

  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/ready', async (_req, reply) => {
    const checks: Record<string, string> = {};
    await deps.pool
      .query('select 1')
      .then(() => {
        checks.postgres = 'ok';
      })
      .catch(() => {
        checks.postgres = 'unavailable';
      });
    await assertMigrationsCurrent(deps.pool)
      .then(() => {
        checks.migrations = 'ok';
      })
      .catch((err: unknown) => {
        checks.migrations = err instanceof AppError ? err.message : 'unknown';
      });
    await deps.redis
      .ping()
      .then(() => {
        checks.redis = 'ok';
      })
      .catch(() => {
        checks.redis = 'unavailable';
      });
    const ok = Object.values(checks).every((v) => v === 'ok');
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not_ready', checks });
  });

  return app;
}
