import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  claimIdempotencyKey,
  type IdempotencyClaim,
  releaseIdempotencyKey,
  storeIdempotentResponse,
} from '../../db/idempotency.js';
import { withTenant } from '../../db/tenant.js';
import { AppError } from '../../lib/errors.js';
import { addRouteHook } from './route-hooks.js';

const KEY = /^[\x21-\x7e]{1,255}$/;
/** Requests whose key was claimed by this instance: their response is stored on send. */
const claimed = new WeakMap<FastifyRequest, { orgId: string; claim: IdempotencyClaim }>();

/**
 * Whether a response is the request's answer, to replay for the same key, or a refusal that says
 * "not now": a 5xx, a 429 (rate limited, a limit the caller may free), and a 409 marked
 * `retryable` (a deadlock or serialization failure, db/errors.ts). Those release the key, or the
 * client's retry would get the same refusal back for 24 h instead of running. Business conflicts
 * (a name taken, an invalid transition) are answers.
 */
function isFinal(status: number, body: unknown): boolean {
  if (status >= 500 || status === 429) return false;
  if (status !== 409) return true;
  const details = (body as { error?: { details?: { retryable?: unknown } } } | null)?.error?.details;
  return details?.retryable !== true;
}

/**
 * `Idempotency-Key` on creating POSTs: the first request with a key runs and its response is
 * kept for 24 h; the same key and body again replays that response; the same key with another
 * body is a 422; the same key while the first is still running is a 409. Keys live in Postgres,
 * per org, so a retry landing on another API instance still finds them. Only final answers are
 * kept (isFinal). A claim left without an answer (a crash, a failed store) is given up after
 * `abandonAfterMs`, the longest a request may take, so a retry can run instead of getting the 409
 * for a day.
 */
export function registerIdempotency(app: FastifyInstance, opts: { abandonAfterMs: number }) {
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
    const got = await withTenant(app.deps.pool, orgId, (tx) =>
      claimIdempotencyKey(tx, header, hash, opts.abandonAfterMs),
    );
    if ('claim' in got) {
      claimed.set(req, { orgId, claim: got.claim });
      return;
    }
    const { existing } = got;
    if (existing.requestHash !== hash) {
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
      let body: unknown = null;
      if (reply.statusCode < 500 && typeof payload === 'string' && payload.length > 0) {
        try {
          body = JSON.parse(payload);
        } catch {
          body = payload;
        }
      }
      const keep = isFinal(reply.statusCode, body);
      await withTenant(app.deps.pool, mine.orgId, (tx) =>
        keep
          ? storeIdempotentResponse(tx, mine.claim, reply.statusCode, body)
          : releaseIdempotencyKey(tx, mine.claim),
      ).catch((err) => req.log.error({ err }, 'could not record the idempotent response'));
      return payload;
    },
  );
}
