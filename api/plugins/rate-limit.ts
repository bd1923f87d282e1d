import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../lib/errors.js';
import { redisScript } from '../../lib/redis.js';
import { addRouteHook } from './route-hooks.js';

/** A bucket holds `burst` requests and refills at `perMinute`. */
export interface RateLimit {
  burst: number;
  perMinute: number;
}

export interface RateLimits {
  /** Sign-in routes, per client address: slows down credential and code guessing. */
  auth: RateLimit;
  /** Everything else, per user or per token (per address when anonymous). */
  default: RateLimit;
  /**
   * Failed authentication (an unknown, revoked or malformed bearer token, a session cookie that
   * names no session), per client address: slows down token guessing and the look-ups it costs.
   */
  authFailures: RateLimit;
  /** The OAuth token, revocation and introspection endpoints, per client address. */
  oauth: RateLimit;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  auth: { burst: 10, perMinute: 20 },
  default: { burst: 120, perMinute: 600 },
  authFailures: { burst: 10, perMinute: 20 },
  // A server-to-server client asks for a token every 15 minutes; a burst covers restarts.
  oauth: { burst: 30, perMinute: 120 },
};

// A token bucket rather than @fastify/rate-limit's fixed window, which lets through twice the
// limit around a window edge. KEYS[1] bucket; ARGV: burst, tokens per ms, now (ms), and
// optionally "peek" (say whether a token is there without taking it).
// Returns { allowed (0/1), ms until one token is back, tokens left }.
const TOKEN_BUCKET = `
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('hmget', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
if ARGV[4] == 'peek' then
  if tokens >= 1 then return { 1, 0, math.floor(tokens) } end
  return { 0, math.ceil((1 - tokens) / rate), 0 }
end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('hset', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('pexpire', KEYS[1], math.ceil(burst / rate) + 1000)
local wait = 0
if allowed == 0 then wait = math.ceil((1 - tokens) / rate) end
return { allowed, wait, math.floor(tokens) }
`;
const tokenBucket = redisScript<[number, number, number]>('gmTokenBucket', TOKEN_BUCKET);

const rateLimited = (reply: FastifyReply, waitMs: number, what = 'too many requests') => {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  reply.header('retry-after', String(seconds));
  return new AppError('rate_limited', `${what}: retry in ${seconds} s`, {
    details: { retryAfterSeconds: seconds },
  });
};

/**
 * Failed authentication per client address. Only failures use the bucket up, so callers with a
 * valid credential never spend it. Once it is empty, that address gets 429 for any credential
 * the instance has not resolved recently (`check`): a guess costs no database look-up, and a
 * valid but uncached token from an address shared with the guesser waits at most until a token
 * is back (3 s at 20 a minute; `Retry-After` says when). A token this instance resolved in the
 * last 10 s, and any session that exists, is never refused for someone else's failures.
 */
export function authFailureLimiter(app: FastifyInstance, limit: RateLimit) {
  const run = async (req: FastifyRequest, mode: 'peek' | 'take') =>
    tokenBucket(
      app.deps.redis,
      [`gm:rl:authfail:ip:${req.ip}`],
      [limit.burst, limit.perMinute / 60_000, app.settings.now(), mode],
    );
  const what = 'too many failed sign-in attempts from this address';
  return {
    /** Before a look-up a failure would count against: 429 when the address has none left. */
    async check(req: FastifyRequest, reply: FastifyReply): Promise<void> {
      const [allowed, waitMs] = await run(req, 'peek');
      if (allowed !== 1) throw rateLimited(reply, waitMs, what);
    },
    /** After a failure: counts it, and answers 429 instead of 401 once the address is out. */
    async failed(req: FastifyRequest, reply: FastifyReply): Promise<void> {
      const [allowed, waitMs] = await run(req, 'take');
      if (allowed !== 1) throw rateLimited(reply, waitMs, what);
    },
  };
}

export function registerRateLimits(app: FastifyInstance, limits: RateLimits) {
  addRouteHook(
    app,
    'onRequest',
    (c) => c.rateLimit !== 'none',
    async (req: FastifyRequest, reply: FastifyReply) => {
      const bucket = req.routeOptions.config.rateLimit ?? 'default';
      if (bucket === 'none') return;
      const limit = limits[bucket];
      const who =
        bucket === 'auth' || bucket === 'oauth' || !req.auth
          ? `ip:${req.ip}`
          : req.auth.kind === 'token'
            ? `token:${req.auth.tokenId}`
            : `user:${req.auth.userId}`;
      const [allowed, waitMs, left] = await tokenBucket(
        app.deps.redis,
        [`gm:rl:${bucket}:${who}`],
        [limit.burst, limit.perMinute / 60_000, app.settings.now()],
      );
      reply.header('ratelimit-limit', String(limit.burst));
      reply.header('ratelimit-remaining', String(left));
      if (allowed === 1) return;
      throw rateLimited(reply, waitMs);
    },
  );
}
