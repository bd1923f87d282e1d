import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ResolvedGameKey, resolveGameKey } from '../../db/games.js';
import { AppError } from '../../lib/errors.js';
import { redisScript } from '../../lib/redis.js';
import { authFailureLimiter, DEFAULT_RATE_LIMITS, type RateLimit } from '../plugins/rate-limit.js';
import { addRouteHook } from '../plugins/route-hooks.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The game key of an `/sdk/v1` request (set before the body is looked at). */
    game: ResolvedGameKey | null;
  }
}

export interface SdkRateLimits {
  /** Per game key: the whole game's traffic. */
  key: RateLimit;
  /** Per player of a game (the player named by the request); for client keys, per player and address. */
  player: RateLimit;
  /** Per client address, for client keys (a game server's secret is exempt: many players share it). */
  address: RateLimit;
}

export const DEFAULT_SDK_RATE_LIMITS: SdkRateLimits = {
  key: { burst: 2400, perMinute: 60_000 },
  player: { burst: 30, perMinute: 120 },
  address: { burst: 300, perMinute: 3000 },
};

/** How long a resolved key is trusted: a revoked key stops working within this on every instance. */
const KEY_CACHE_MS = 5_000;
const KEY_CACHE_MAX = 10_000;
/** A key in use is looked up again in the background this long before its entry runs out. */
const KEY_REFRESH_MS = 1_000;

// Every bucket of the request at once, all or nothing: a request refused by one bucket spends
// none of the others. KEYS: the buckets; ARGV: now (ms), then burst and tokens per ms per bucket.
// Returns { allowed (0/1), index of the refusing bucket (1-based) or 0, ms until it refills }.
const BUCKETS = `
local now = tonumber(ARGV[1])
local states = {}
for i = 1, #KEYS do
  local burst = tonumber(ARGV[2 * i])
  local rate = tonumber(ARGV[2 * i + 1])
  local s = redis.call('hmget', KEYS[i], 'tokens', 'at')
  local tokens = tonumber(s[1]) or burst
  local at = tonumber(s[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
  if tokens < 1 then return { 0, i, math.ceil((1 - tokens) / rate) } end
  states[i] = tokens
end
for i = 1, #KEYS do
  local burst = tonumber(ARGV[2 * i])
  local rate = tonumber(ARGV[2 * i + 1])
  redis.call('hset', KEYS[i], 'tokens', tostring(states[i] - 1), 'at', tostring(now))
  redis.call('pexpire', KEYS[i], math.ceil(burst / rate) + 1000)
end
return { 1, 0, 0 }
`;
const sdkBuckets = redisScript<[number, number, number]>('gmSdkBuckets', BUCKETS);

/** The player a request names: in the body (`player`, `reporter`) or the `playerId` query. */
function playerOf(req: FastifyRequest): string | undefined {
  const b = req.body as { player?: { id?: unknown }; reporter?: { id?: unknown } } | null | undefined;
  const fromBody = b && typeof b === 'object' ? (b.player?.id ?? b.reporter?.id) : undefined;
  const fromQuery = (req.query as { playerId?: unknown } | undefined)?.playerId;
  const p = fromBody ?? fromQuery;
  return typeof p === 'string' && p.length > 0 && p.length <= 200 ? p : undefined;
}

const digest = (s: string) => createHash('sha256').update(s).digest('base64url');

/**
 * The `/sdk/v1` guard, added to the routes of the SDK plugin only: CORS headers on every answer,
 * the game key before anything else (onRequest: a missing or wrong key is a 401 before the body is
 * even parsed), then the rate limits (preHandler, once the input is valid).
 */
export function registerSdkGuard(app: FastifyInstance, limits: SdkRateLimits) {
  const failures = authFailureLimiter(app, DEFAULT_RATE_LIMITS.authFailures);
  const cache = new Map<string, { key: ResolvedGameKey; until: number }>();
  // One look-up per key at a time: a busy game's requests that find its entry gone all wait for
  // the same answer (each used to send its own, hundreds a second at a thousand reports a second).
  const pending = new Map<string, Promise<ResolvedGameKey | null>>();
  const lookUp = (k: string, header: string) => {
    let p = pending.get(k);
    if (!p) {
      p = resolveGameKey(app.deps.pool, header)
        .then((key) => {
          if (!key) cache.delete(k);
          else {
            if (!cache.has(k) && cache.size >= KEY_CACHE_MAX)
              cache.delete(cache.keys().next().value as string);
            cache.set(k, { key, until: Date.now() + KEY_CACHE_MS });
          }
          return key;
        })
        .finally(() => pending.delete(k));
      pending.set(k, p);
    }
    return p;
  };
  app.decorateRequest('game', null);

  app.addHook('onRequest', async (_req, reply) => {
    reply.header('access-control-allow-origin', '*');
    reply.header('access-control-expose-headers', 'etag, retry-after, ratelimit-remaining');
  });

  const isGame = (c: { access?: unknown }) => c.access === 'game-client' || c.access === 'game-server';
  addRouteHook(app, 'onRequest', isGame, async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers['x-game-key'];
    if (typeof header !== 'string' || header.length === 0)
      throw new AppError('unauthenticated', 'send the game key in the X-Game-Key header');
    const k = digest(header);
    const now = Date.now();
    const hit = cache.get(k);
    let key: ResolvedGameKey | null;
    if (hit && hit.until > now) {
      key = hit.key;
      // Renewed before it runs out, so a key in steady use never makes its requests wait; the
      // entry answers meanwhile, and a key found revoked is dropped at once.
      if (hit.until - now <= KEY_REFRESH_MS && !pending.has(k))
        lookUp(k, header).catch((err) => req.log.warn({ err }, 'game key refresh failed'));
    } else {
      cache.delete(k);
      await failures.check(req, reply);
      key = await lookUp(k, header);
      if (!key) {
        await failures.failed(req, reply);
        throw new AppError('unauthenticated', 'the game key is unknown, revoked or expired');
      }
    }
    req.game = key;
    if (req.routeOptions.config.access === 'game-server' && key.kind !== 'server')
      throw new AppError('forbidden', 'this route needs the game server secret, not a client key', {
        details: { reason: 'server_secret_required' },
      });
  });

  // After validation: a request refused for its input costs nobody's bucket, above all not the
  // bucket of the player it names (a key holder could otherwise lock anyone out with junk).
  addRouteHook(app, 'preHandler', isGame, async (req: FastifyRequest, reply: FastifyReply) => {
    const game = req.game as ResolvedGameKey;
    const buckets: Array<[string, RateLimit, string]> = [[`gm:rl:sdk:key:${game.keyId}`, limits.key, 'key']];
    const player = playerOf(req);
    if (game.kind === 'client') {
      buckets.push([`gm:rl:sdk:ip:${req.ip}`, limits.address, 'address']);
      // A client key is public and names any player it likes: a player's bucket is theirs per
      // address, so someone else naming them spends their own. A game server vouches for its
      // players, so its calls count per player.
      if (player)
        buckets.push([
          `gm:rl:sdk:player:${game.gameId}:${digest(`${req.ip} ${player}`)}`,
          limits.player,
          'player',
        ]);
    } else if (player)
      buckets.push([`gm:rl:sdk:player:${game.gameId}:${digest(player)}`, limits.player, 'player']);
    const args: Array<string | number> = [app.settings.now()];
    for (const [, l] of buckets) args.push(l.burst, l.perMinute / 60_000);
    const [allowed, which, waitMs] = await sdkBuckets(
      app.deps.redis,
      buckets.map((b) => b[0]),
      args,
    );
    if (allowed === 1) return;
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    const scope = buckets[which - 1]?.[2] ?? 'key';
    reply.header('retry-after', String(seconds));
    throw new AppError('rate_limited', `too many requests for this ${scope}: retry in ${seconds} s`, {
      details: { retryAfterSeconds: seconds, scope },
    });
  });
}

/** Needs a scope of the key (client keys are made with a subset of the SDK's scopes). */
export function requireGameScope(req: FastifyRequest, scope: ResolvedGameKey['scopes'][number]) {
  const game = req.game;
  if (!game) throw new AppError('internal', 'game route without a game key');
  if (game.kind !== 'server' && !game.scopes.includes(scope))
    throw new AppError('forbidden', `the game key's scopes do not grant ${scope}`, {
      details: { reason: 'insufficient_scope', scope },
    });
  return game;
}

/** Answers `304 Not Modified` when the client already has this body; otherwise sends it with its ETag. */
export function sendWithEtag(req: FastifyRequest, reply: FastifyReply, body: unknown) {
  const etag = `"${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 27)}"`;
  reply.header('etag', etag);
  reply.header('cache-control', 'private, no-cache');
  const inm = req.headers['if-none-match'];
  if (typeof inm === 'string' && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag))
    return reply.status(304).send();
  return reply.send(body);
}
