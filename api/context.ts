import type { Redis } from 'ioredis';
import type { Actor } from '../db/changes.js';
import type { OAuthLifetimes } from '../db/oauth-tokens.js';
import type { Permission } from '../db/permissions.js';
import type { Pool } from '../db/pool.js';
import type { Tx } from '../db/tenant.js';
import type { TrustProxy } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';
import type { DownloadSigner } from '../lib/signed-url.js';
import type { TargetPolicy } from '../lib/ssrf.js';
import type { Storage } from '../lib/storage/index.js';
import type { TicketPages } from '../lib/ticket-links.js';
import type { Session } from './sessions.js';
import type { TokenCache } from './token-cache.js';

/** What the API needs from the outside; `config.ts` values are copied in by server.ts. */
export interface ApiSettings {
  publicUrl: string;
  discord: { apiUrl: string; clientId: string | undefined; clientSecret: string | undefined };
  sessionIdleSeconds: number;
  sessionAbsoluteSeconds: number;
  cookieSecure: boolean;
  trustProxy: TrustProxy;
  /** Which address ranges webhook targets may be in (checked again by the workers). */
  webhookTargets: TargetPolicy;
  /** When set, GET /metrics needs `Authorization: Bearer <it>`. */
  metricsToken: string | undefined;
  /** SECRET_KEY: seals TOTP seeds and webhook secrets at rest, signs download links. */
  secretKey: string;
  /**
   * How long an Idempotency-Key claim holds unless its running request renews it (default
   * IDEMPOTENCY_LEASE_MS, api/plugins/idempotency.ts): what a crash mid-request costs a retry.
   */
  idempotencyLeaseMs?: number;
  /** Signed download links live at most this long (DOWNLOAD_LINK_MAX_MINUTES). */
  downloadLinkMaxSeconds: number;
  /** Serve `GET /auth/demo` (loopback only); server.ts turns it on in development only. */
  demoSignIn: boolean;
  /** OAuth token lifetimes (OAUTH_ACCESS_TOKEN_MINUTES, OAUTH_REFRESH_IDLE_DAYS, ..._ABSOLUTE_DAYS). */
  oauth: OAuthLifetimes;
  /** Milliseconds since the epoch; tests move it to expire sessions without waiting. */
  now: () => number;
  /** How often an open live socket checks its caller again (30 s; tests shorten it). */
  liveRecheckMs?: number;
  /** WEB_PUSH_VAPID_*: the push key pair when configured; else the stored one (db/vapid-keys.ts). */
  webPushVapid?: { publicKey: string; privateKey: string } | undefined;
}

export interface AppDeps {
  pool: Pool;
  /** Analytics reads (a read replica, ANALYTICS_DATABASE_URL); `pool` when absent. */
  analyticsPool?: Pool;
  /** A fail-fast (producer) connection: a request never hangs waiting for Redis. */
  redis: Redis;
  /** Builds the dedicated connection live updates subscribe on (subscriber mode blocks others). */
  subscriber?: () => Redis;
  logger: Logger;
  /** Attachment bodies (local folder or S3-compatible bucket). */
  storage: Storage;
  /** Defaults apply to everything but the secret key, which has none. */
  settings: Partial<ApiSettings> & Pick<ApiSettings, 'secretKey'>;
  /** The game SDK's rate limits (defaults in api/routes/sdk-auth.ts); benchmarks raise them. */
  sdkRateLimits?: Partial<Record<'key' | 'player' | 'address', { burst: number; perMinute: number }>>;
}

/**
 * Who a route lets in. `public`: anyone. `session`: any session, even one still owing its second
 * factor (the TOTP routes). `authenticated`: a fully signed-in user (no org involved). `caller`:
 * a fully signed-in user or any API token (`GET /v1/me`: an integration asks who it is).
 * `game-client` / `game-server`: a game key (see GameAccess).
 * `{ permission }`: a member of the org in the `:orgId` path parameter holding the permission
 * (any one of them, when several are listed), or an API token of that org whose scopes grant it.
 * Every route declares one (a test checks).
 */
export type Access = 'public' | 'session' | 'authenticated' | 'caller' | GameAccess | PermissionAccess;
/**
 * The game SDK routes (`/sdk/v1`): `game-client` takes a game's client key or its server secret,
 * `game-server` only the server secret (api/routes/sdk-auth.ts checks them).
 */
export type GameAccess = 'game-client' | 'game-server';
export type PermissionAccess = { permission: Permission | readonly [Permission, ...Permission[]] };

/** The permissions an org route accepts, any one of which lets the caller in. */
export function acceptedPermissions(access: PermissionAccess): readonly Permission[] {
  return typeof access.permission === 'string' ? [access.permission] : access.permission;
}

/** Every route as registered, with its declared access (tests check that none is missing). */
export interface RegisteredRoute {
  method: string;
  url: string;
  access: Access | undefined;
}

export type RateLimitBucket = 'auth' | 'oauth' | 'default' | 'none';

export type Auth =
  | { kind: 'session'; userId: string; session: Session }
  | {
      kind: 'token';
      /** The API token's id, or the OAuth grant's (every access token of a grant shares it). */
      tokenId: string;
      orgId: string;
      scopes: readonly string[];
      /**
       * The staff member whose current permissions cap the token: the maker of an API token, or
       * the member an OAuth client acts for (authorization_code). Null for the operator's
       * organization tokens and client_credentials.
       */
      userId?: string | null;
      /** Set for an OAuth access token (its `tokenId` is then a grant, not an API token). */
      via?: 'oauth';
    };

/** The org a request acts in, resolved and checked by the access plugin. */
export interface OrgAccess {
  orgId: string;
  actor: Actor;
  permissions: ReadonlySet<string>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    rateLimit?: RateLimitBucket;
    /** POSTs that create something accept an Idempotency-Key. */
    idempotent?: boolean;
    /** The body is a raw stream the handler reads itself (uploads). */
    rawBody?: boolean;
  }
  interface FastifyRequest {
    auth: Auth | null;
    org: OrgAccess | null;
    /** Runs `fn` in a transaction scoped to the request's org (the access plugin set it). */
    inOrg<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  }
  interface FastifyInstance {
    deps: AppDeps;
    settings: ApiSettings;
    storage: Storage;
    signer: DownloadSigner;
    /** Signed links to a ticket's rating and transcript pages, and their checks. */
    ticketPages: TicketPages;
    registeredRoutes: readonly RegisteredRoute[];
    tokenCache: TokenCache;
    /**
     * This instance's one Redis subscriber connection (pub/sub mode), shared by the token cache
     * and the live hub so each live event crosses from Redis once; undefined without `deps.subscriber`.
     */
    liveSubscriber: Redis | undefined;
  }
}
