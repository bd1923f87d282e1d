import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { assertMigrationsCurrent } from '../../db/migrate.js';
import { AppError } from '../../lib/errors.js';

const check = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: unknown) => (err instanceof AppError ? err.message : 'unavailable'),
  );

// Always the same answer, so its bytes are made once: the zod serializer (parse the object
// against the schema, then stringify it) was the largest part of a /health request's own cost.
// The schema stays, for the OpenAPI document.
const ALIVE = JSON.stringify({ status: 'ok' });
const alive = () => ALIVE;

/** Liveness (the process answers) and readiness (its dependencies answer). */
export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/health',
    {
      config: { access: 'public', rateLimit: 'none' },
      schema: {
        tags: ['health'],
        operationId: 'getHealth',
        summary: 'The process is alive',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
      serializerCompiler: () => alive,
    },
    () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      config: { access: 'public', rateLimit: 'none' },
      schema: {
        tags: ['health'],
        operationId: 'getReadiness',
        summary: 'Postgres, Redis and the migrations are ready',
        response: {
          200: z.object({ status: z.string(), checks: z.record(z.string(), z.string()) }),
          503: z.object({ status: z.string(), checks: z.record(z.string(), z.string()) }),
        },
      },
    },
    async (_req, reply) => {
      const [postgres, migrations, redis] = await Promise.all([
        check(app.deps.pool.query('select 1')),
        check(assertMigrationsCurrent(app.deps.pool)),
        check(app.deps.redis.ping()),
      ]);
      const checks = { postgres, migrations, redis };
      const ok = Object.values(checks).every((v) => v === 'ok');
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not_ready', checks });
    },
  );
};
