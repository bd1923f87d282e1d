import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import pg from 'pg';
import { z } from 'zod';
import { assertMigrationsCurrent } from '../../db/migrate.js';
import type { Pool } from '../../db/pool.js';
import { AppError } from '../../lib/errors.js';

/**
 * How long a readiness answer stands. /ready is public (orchestrators probe it without
 * credentials), so a flood of calls must not reach the pool: one check runs at a time, every
 * caller meanwhile shares it, and its answer is reused for this long after it settles.
 */
export const READY_CACHE_MS = 1_000;

interface Readiness {
  ok: boolean;
  checks: { postgres: string; migrations: string; redis: string };
}

/**
 * Postgres and the migrations from one statement on one connection: the migrations table read
 * answers both. An error Postgres itself raised (the table missing) means it is up; anything
 * else (refused, timed out, pool ended) means it is not.
 */
async function databaseChecks(pool: Pool): Promise<{ postgres: string; migrations: string }> {
  try {
    await assertMigrationsCurrent(pool);
    return { postgres: 'ok', migrations: 'ok' };
  } catch (err) {
    const message = err instanceof AppError ? err.message : 'unavailable';
    const cause = err instanceof AppError ? err.cause : err;
    if (cause === undefined || cause instanceof pg.DatabaseError)
      return { postgres: 'ok', migrations: message };
    return { postgres: 'unavailable', migrations: 'unavailable' };
  }
}

// Always the same answer, so its bytes are made once: the zod serializer (parse the object
// against the schema, then stringify it) was the largest part of a /health request's own cost.
// The schema stays, for the OpenAPI document.
const ALIVE = JSON.stringify({ status: 'ok' });
const alive = () => ALIVE;

/** Liveness (the process answers) and readiness (its dependencies answer). */
export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  const probe = async (): Promise<Readiness> => {
    const [db, redis] = await Promise.all([
      databaseChecks(app.deps.pool),
      app.deps.redis.ping().then(
        () => 'ok',
        () => 'unavailable',
      ),
    ]);
    const checks = { ...db, redis };
    return { ok: Object.values(checks).every((v) => v === 'ok'), checks };
  };
  // The check in flight or last settled; `settledAt` stays unset while it runs.
  let last: { answer: Promise<Readiness>; settledAt?: number } | undefined;
  const readiness = (): Promise<Readiness> => {
    const now = app.settings.now();
    if (last && (last.settledAt === undefined || now - last.settledAt < READY_CACHE_MS)) return last.answer;
    const entry: { answer: Promise<Readiness>; settledAt?: number } = {
      answer: probe().finally(() => {
        entry.settledAt = app.settings.now();
      }),
    };
    last = entry;
    return entry.answer;
  };

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
        description:
          'Public, for orchestrators. The answer is at most a second old: one check runs at a time, on at most one database connection, and concurrent callers share it.',
        response: {
          200: z.object({ status: z.string(), checks: z.record(z.string(), z.string()) }),
          503: z.object({ status: z.string(), checks: z.record(z.string(), z.string()) }),
        },
      },
    },
    async (_req, reply) => {
      const { ok, checks } = await readiness();
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not_ready', checks });
    },
  );
};
