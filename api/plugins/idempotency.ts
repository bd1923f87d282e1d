import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  claimIdempotencyKey,
  holdsIdempotencyClaim,
  type IdempotencyClaim,
  releaseIdempotencyKey,
  renewIdempotencyClaim,
  storeIdempotentResponse,
} from '../../db/idempotency.js';
import { type Tx, withTenant } from '../../db/tenant.js';
import { AppError } from '../../lib/errors.js';
import { addRouteHook } from './route-hooks.js';

const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * How long a claim holds without renewal: what a crash costs a retry (a 409 until it lapses).
 * The running request renews it three times per lease, so a renewal delayed by a slow database
 * still lands before the lease runs out.
 */
export const IDEMPOTENCY_LEASE_MS = 30_000;

interface Held {
  orgId: string;
  claim: IdempotencyClaim;
  renewal: NodeJS.Timeout;
  /** Set once the response is on its way: a renewal still in flight then finds nothing to renew. */
  sent?: boolean;
}
/** Requests whose key was claimed by this instance: their lease is renewed, their response stored on send. */
const claimed = new WeakMap<FastifyRequest, Held>();

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
 * The request's transactions (`req.inOrg`) commit only while its claim holds (holdsIdempotencyClaim):
 * renewals that fail long enough let the lease run out and a retry take the key over, and the
 * retry's run must then be the only one. Refused with a retryable 409, which releases the key.
 */
function fenceCommits(req: FastifyRequest, held: Held, leaseMs: number) {
  const inOrg = req.inOrg;
  req.inOrg = function fenced<T>(this: FastifyRequest, fn: (tx: Tx) => Promise<T>): Promise<T> {
    return inOrg.call(this, async (tx: Tx) => {
      const out = await fn(tx);
      if (!(await holdsIdempotencyClaim(tx, held.claim, leaseMs / 3))) {
        throw new AppError(
          'conflict',
          'this request outlived its Idempotency-Key claim; retry with the same key',
          {
            details: { retryable: true },
          },
        );
      }
      return out;
    }) as Promise<T>;
  };
}

/**
 * `Idempotency-Key` on creating POSTs: the first request with a key runs and its response is
 * kept for 24 h; the same key and body again replays that response; the same key with another
 * body is a 422; the same key while the first is still running is a 409. Keys live in Postgres,
 * per org, so a retry landing on another API instance still finds them. Only final answers are
 * kept (isFinal). The claim is a lease this instance renews for as long as the request runs (no
 * deadline bounds a handler: a lock wait, a slow upload's processing), so a retry never runs
 * beside it; a claim left without an answer by a crash stops being renewed and is taken over
 * within `leaseMs`, instead of answering 409 for a day.
 */
export function registerIdempotency(app: FastifyInstance, opts: { leaseMs: number }) {
  const renew = (req: FastifyRequest, held: Held) => {
    let busy = false;
    return async () => {
      if (busy) return;
      busy = true;
      try {
        const ours = await withTenant(app.deps.pool, held.orgId, (tx) =>
          renewIdempotencyClaim(tx, held.claim, opts.leaseMs),
        );
        if (!ours && !held.sent) {
          clearInterval(held.renewal);
          req.log.warn({ key: held.claim.key }, 'an Idempotency-Key claim lapsed while its request ran');
        }
      } catch (err) {
        // The next renewal tries again; the lease outlasts two missed ones.
        req.log.warn({ err }, 'could not renew an Idempotency-Key claim');
      } finally {
        busy = false;
      }
    };
  };
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
      claimIdempotencyKey(tx, header, hash, opts.leaseMs),
    );
    if ('claim' in got) {
      const held = { orgId, claim: got.claim } as Held;
      held.renewal = setInterval(renew(req, held), Math.max(1, Math.floor(opts.leaseMs / 3)));
      held.renewal.unref();
      claimed.set(req, held);
      fenceCommits(req, held, opts.leaseMs);
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
      clearInterval(mine.renewal);
      mine.sent = true;
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
