import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { inject } from 'vitest';
import { buildApp } from '../../api/app.js';
import type { ApiSettings, AppDeps } from '../../api/context.js';
import type { HttpTimeouts } from '../../api/http-timeouts.js';
import type { RateLimits } from '../../api/plugins/rate-limit.js';
import { createSession } from '../../api/sessions.js';
import { type ApiTokenScope, createApiToken } from '../../db/api-tokens.js';
import type { Pool } from '../../db/pool.js';
import { withTenant } from '../../db/tenant.js';
import { randomSecretKey } from '../../lib/secret-key.js';
import { LocalStorage, type Storage } from '../../lib/storage/index.js';

/** A controllable clock for session expiry, TOTP steps and link expiry. */
export class Clock {
  constructor(public ms = Date.now()) {}
  now = () => this.ms;
  advance(ms: number) {
    this.ms += ms;
  }
}

/** Limits no ordinary test reaches; the rate-limit tests set their own. */
const GENEROUS: RateLimits = {
  auth: { burst: 10_000, perMinute: 100_000 },
  default: { burst: 10_000, perMinute: 100_000 },
  authFailures: { burst: 10_000, perMinute: 100_000 },
  oauth: { burst: 10_000, perMinute: 100_000 },
};

export interface Caller {
  cookie?: string;
  csrf?: string;
  token?: string;
}

export interface TestApi {
  app: FastifyInstance;
  redis: Redis;
  clock: Clock;
  storageDir: string;
  /** Injects a request as `who` (session cookie plus CSRF header on writes, or a bearer token). */
  call(who: Caller | null, opts: InjectOptions & { url: string }): Promise<LightMyRequestResponse>;
  /** A session for an existing user, without the OAuth dance (the auth tests do the dance). */
  sessionFor(userId: string, mfa?: 'none' | 'pending' | 'verified'): Promise<Caller>;
  /** A new API token of `orgId` with `scopes`. */
  tokenFor(pool: Pool, orgId: string, scopes: ApiTokenScope[]): Promise<Caller>;
  close(): Promise<void>;
}

export async function startTestApi(
  pool: Pool,
  opts: {
    settings?: Partial<ApiSettings>;
    rateLimits?: Partial<RateLimits>;
    sdkRateLimits?: AppDeps['sdkRateLimits'];
    timeouts?: Partial<HttpTimeouts>;
    publicMetrics?: boolean;
    /** The app's logger (default: silent); the tests that read the logs pass their own. */
    logger?: AppDeps['logger'];
    /** The file storage (default: a local folder, `storageDir`); the S3 tests pass a bucket's. */
    storage?: Storage;
  } = {},
): Promise<TestApi> {
  const { redisUrl } = inject('services');
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const clock = new Clock();
  const storageDir = mkdtempSync(join(tmpdir(), 'gamemod-api-files-'));
  const settings: AppDeps['settings'] = {
    now: clock.now,
    publicUrl: 'http://127.0.0.1:3000',
    secretKey: randomSecretKey(),
    ...opts.settings,
  };
  const app = await buildApp({
    pool,
    redis,
    subscriber: () => new Redis(redisUrl, { maxRetriesPerRequest: null }),
    logger: opts.logger ?? pino({ level: 'silent' }),
    storage: opts.storage ?? new LocalStorage(storageDir),
    settings,
    rateLimits: { ...GENEROUS, ...opts.rateLimits },
    sdkRateLimits: opts.sdkRateLimits,
    timeouts: opts.timeouts,
    publicMetrics: opts.publicMetrics,
  });
  await app.ready();
  const times = () => ({
    idleSeconds: app.settings.sessionIdleSeconds,
    absoluteSeconds: app.settings.sessionAbsoluteSeconds,
    now: clock.now,
  });
  return {
    app,
    redis,
    clock,
    storageDir,
    call(who, o) {
      const headers: Record<string, string> = { ...(o.headers as Record<string, string>) };
      if (who?.token) headers.authorization = `Bearer ${who.token}`;
      if (who?.cookie) {
        headers.cookie = `gm_session=${who.cookie}`;
        if (who.csrf) headers['x-csrf-token'] = who.csrf;
      }
      return app.inject({ ...o, headers });
    },
    async sessionFor(userId, mfa = 'none') {
      const { token, session } = await createSession(redis, userId, mfa, times());
      return { cookie: token, csrf: session.csrf };
    },
    async tokenFor(p, orgId, scopes) {
      const { plaintext } = await withTenant(p, orgId, (tx) =>
        createApiToken(tx, { name: `test token (${scopes.length} scopes)`, scopes }, { type: 'system' }),
      );
      return { token: plaintext };
    },
    async close() {
      await app.close();
      redis.disconnect();
      rmSync(storageDir, { recursive: true, force: true });
    },
  };
}

/** The cookie a response set, by name. */
export function cookieFrom(res: LightMyRequestResponse, name: string): string | undefined {
  return res.cookies.find((c) => c.name === name)?.value;
}

/** The `{ error: { code } }` of a response. */
export const errorCode = (res: LightMyRequestResponse) =>
  (res.json() as { error?: { code?: string } }).error?.code;
