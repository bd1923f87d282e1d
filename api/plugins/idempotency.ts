import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { withTenant } from '../../db/tenant.js';
import { AppError } from '../../lib/errors.js';
import { addRouteHook } from './route-hooks.js';

const KEY = /^[\x21-\x7e]{1,255}$/;
/** Requests whose key was claimed by this instance: their response is stored on send. */
const claimed = new WeakMap<FastifyRequest, { orgId: string; key: string }>();

/**
 * `Idempotency-Key` on creating POSTs: the first request with a key runs and its response is
 * kept for 24 h; the same key and body again replays that response; the same key with another
 * body is a 422; the same key while the first is still running is a 409. Keys live in Postgres,
 * per org, so a retry landing on another API instance still finds them. 5xx responses are not
 * kept: the client may retry them.
 */
export function registerIdempotency(app: FastifyInstance) {
  const idempotent = (c: { idempotent?: boolean }) => c.idempotent === true;
  addRouteHook(app, 'preHandler', idempotent, async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers['idempotency-key'];
    if (header === undefined || !req.routeOptions.config.idempotent || !req.org) return;
    if (typeof header !== 'string' || !KEY.test(header)) {
      throw new AppError('bad_request', 'Idempotency-Key must be 1 to 255 printable ASCII characters');
    }
    const { orgId, actor } = req.org;
    const hash = createHash('sha256')
      .update(
        JSON.stringify({
          route: `${req.method} ${req.routeOptions.url}`,
          params: req.params,
          body: req.body ?? null,
          actor: 'id' in actor ? actor.id : actor.type,
        }),
      )
      .digest('hex');
    const existing = await withTenant(app.deps.pool, orgId, async (tx) => {
      await tx.query(
        `delete from idempotency_keys
         where org_id = $1::uuid and key = $2::text and created_at < now() - interval '24 hours'`,
        [orgId, header],
      );
      const inserted = await tx.query(
        `insert into idempotency_keys (org_id, key, request_hash) values ($1::uuid, $2::text, $3::text)
         on conflict do nothing`,
        [orgId, header, hash],
      );
      if (inserted.rowCount === 1) return null;
      const r = await tx.query<{ hash: string; status: number | null; body: unknown }>(
        `select request_hash as hash, response_status as status, response_body as body
         from idempotency_keys where org_id = $1::uuid and key = $2::text`,
        [orgId, header],
      );
      return r.rows[0] ?? null;
    });
    if (!existing) {
      claimed.set(req, { orgId, key: header });
      return;
    }
    if (existing.hash !== hash) {
      throw new AppError(
        'validation_failed',
        'this Idempotency-Key was already used with a different request',
        {
          details: { reason: 'idempotency_key_reused' },
        },
      );
    }
    if (existing.status === null) {
      throw new AppError(
        'conflict',
        'a request with this Idempotency-Key is still being processed; retry shortly',
      );
    }
    reply.header('idempotent-replayed', 'true');
    // The stored body is already the serialized response: send it as it was, byte for byte.
    return reply
      .status(existing.status)
      .type('application/json; charset=utf-8')
      .send(JSON.stringify(existing.body));
  });

  addRouteHook(
    app,
    'onSend',
    idempotent,
    async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      const mine = claimed.get(req);
      if (!mine) return payload;
      claimed.delete(req);
      const keep = reply.statusCode < 500;
      let body: unknown = null;
      if (keep && typeof payload === 'string' && payload.length > 0) {
        try {
          body = JSON.parse(payload);
        } catch {
          body = payload;
        }
      }
      await withTenant(app.deps.pool, mine.orgId, (tx) =>
        keep
          ? tx.query(
              `update idempotency_keys set response_status = $3::int, response_body = $4::jsonb
             where org_id = $1::uuid and key = $2::text`,
              [mine.orgId, mine.key, reply.statusCode, JSON.stringify(body)],
            )
          : tx.query('delete from idempotency_keys where org_id = $1::uuid and key = $2::text', [
              mine.orgId,
              mine.key,
            ]),
      ).catch((err) => req.log.error({ err }, 'could not record the idempotent response'));
      return payload;
    },
  );
}
