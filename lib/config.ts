import { envSchema, type RoleName, type TrustProxy } from './config-schema.js';
import { AppError, issuesToDetails } from './errors.js';
import { SECRET_KEY_HOWTO } from './secret-key.js';

/**
 * Every setting the project reads from the environment, parsed once. Nothing else reads
 * `process.env`: the entry point calls `loadConfig()` and passes the frozen result down.
 * The variables themselves (types, bounds, defaults) are in config-schema.ts.
 */

// The schema's names and defaults are read through this module too: callers keep one import path.
export type { RoleName, TrustProxy } from './config-schema.js';
export { DEFAULT_BOT_CACHE, DEFAULT_SHARD_START_STALL_MS, envSchema } from './config-schema.js';

/** PUBLIC_URL itself when it is https (push services accept it as a contact), else a mailto: at its host. */
function vapidSubject(publicUrl: string): string {
  const u = new URL(publicUrl);
  return u.protocol === 'https:' ? u.origin : `mailto:webpush@${u.hostname}`;
}

export interface Config {
  readonly env: 'development' | 'test' | 'production';
  readonly roles: readonly RoleName[];
  readonly http: {
    readonly host: string;
    readonly port: number;
    readonly publicUrl: string;
    /** How long slow clients may take (api/http-timeouts.ts). */
    readonly timeouts: {
      readonly headersMs: number;
      readonly bodyMs: number;
      readonly uploadMs: number;
      readonly idleMs: number;
      readonly keepAliveMs: number;
    };
  };
  /**
   * `/metrics` on its own listener when `port` is set (never on the public port then). Without
   * it, production serves `/metrics` on the public port only behind METRICS_TOKEN.
   */
  readonly metrics: { readonly port: number | undefined; readonly host: string };
  readonly logLevel: string;
  readonly database: {
    /** The runtime (app role) connection; undefined means "start the embedded cluster". */
    readonly url: string | undefined;
    /** The owner connection that runs migrations; undefined means "do not migrate on start". */
    readonly migrationUrl: string | undefined;
    /** The analytics API's reads (a replica, as the app role); undefined means `url`. */
    readonly analyticsUrl: string | undefined;
    readonly poolMax: number;
    readonly statementTimeoutMs: number;
    readonly connectTimeoutMs: number;
  };
  readonly redis: { readonly url: string | undefined };
  readonly embedded: {
    readonly dataDir: string;
    readonly pgPort: number;
    readonly redisPort: number;
    readonly install: boolean;
  };
  readonly seedDemo: boolean;
  readonly discord: {
    readonly token: string | undefined;
    readonly applicationId: string | undefined;
    readonly apiUrl: string;
    /** OAuth2 login for the panel; the application id is the client id. */
    readonly clientSecret: string | undefined;
    readonly shardCount: number | undefined;
    readonly shardIds: readonly number[] | undefined;
    readonly messageContent: boolean;
    /** A start fails when no shard became ready for this long. */
    readonly startStallMs: number;
    /** Members cached per guild and users cached in all, besides the bot's own. */
    readonly cache: { readonly membersPerGuild: number; readonly users: number };
    /** Nice value of a bot-only process's main thread, the handlers (the gateway thread keeps 0). */
    readonly handlersNice: number;
    /** How long a first DM's server search may wait behind other players' (DM_SEARCH_MAX_WAIT_SECONDS). */
    readonly dmSearchMaxWaitMs: number;
  };
  readonly api: {
    readonly sessionIdleSeconds: number;
    readonly sessionAbsoluteSeconds: number;
    /** OAuth access token lifetime, refresh token idle expiry and a grant's absolute lifetime. */
    readonly oauth: {
      readonly accessSeconds: number;
      readonly refreshIdleSeconds: number;
      readonly refreshAbsoluteSeconds: number;
    };
    readonly cookieSecure: boolean;
    /** Behind a load balancer: which X-Forwarded-For entry is the client (TRUST_PROXY, config-schema.ts). */
    readonly trustProxy: TrustProxy;
    /** When set, GET /metrics needs `Authorization: Bearer <it>`. */
    readonly metricsToken: string | undefined;
  };
  readonly shutdownTimeoutMs: number;
  readonly storage: {
    readonly driver: 'local' | 's3';
    /** The local driver's folder (DATA_DIR/storage). */
    readonly dir: string;
    readonly s3: {
      /** Undefined means AWS (`https://s3.<region>.amazonaws.com`). */
      readonly endpoint: string | undefined;
      readonly region: string;
      readonly bucket: string | undefined;
      readonly accessKeyId: string | undefined;
      readonly secretAccessKey: string | undefined;
      readonly forcePathStyle: boolean;
    };
  };
  /**
   * Base64 of 32 bytes. Undefined only outside production, where the entry point generates one
   * under the data folder (lib/secret-key.ts) and hands it to the roles.
   */
  readonly secretKey: string | undefined;
  /** Signed download links live at most this long. */
  readonly downloadLinkMaxSeconds: number;
  readonly email: {
    /** The SMTP intake's port (0: a free one); undefined: no listener. */
    readonly smtpPort: number | undefined;
    readonly smtpHost: string;
    readonly maxBytes: number;
    /** Where replies are sent through; undefined: they are not sent. */
    readonly outboundUrl: string | undefined;
  };
  readonly webPush: {
    /** The VAPID subject (a mailto: or https: contact). */
    readonly subject: string;
    /** Configured keys; undefined: the stored, generated-once pair. */
    readonly vapid: { readonly publicKey: string; readonly privateKey: string } | undefined;
  };
  readonly workers: {
    readonly webhookAllowLoopback: boolean;
    readonly webhookAllowPrivate: boolean;
    readonly outboxRetentionDays: number;
    readonly concurrency: number;
    /** The share of `concurrency` one organization's webhook jobs may hold at once (0 < share ≤ 1). */
    readonly webhookOrgShare: number;
    /** Nice value of a workers-only process's main thread, the job processors (the relay thread keeps 0). */
    readonly processorsNice: number;
  };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Parses the environment. Throws one AppError naming every bad or missing variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  // An empty variable means "unset", as in most shells' `FOO= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  const issues = [...(parsed.error?.issues ?? []), ...productionIssues(cleaned), ...vapidPairIssues(cleaned)];
  if (!parsed.success || issues.length) {
    const details = issuesToDetails(issues);
    const lines = details.map((d) => `  ${d.path}: ${d.message}`).join('\n');
    throw new AppError('config_invalid', `Invalid configuration:\n${lines}`, { details });
  }
  const e = parsed.data;
  return deepFreeze({
    env: e.NODE_ENV,
    roles: [...new Set(e.ROLES)],
    http: {
      host: e.HOST,
      port: e.PORT,
      publicUrl: e.PUBLIC_URL ?? `http://localhost:${e.PORT}`,
      timeouts: {
        headersMs: e.HTTP_HEADERS_TIMEOUT_MS,
        bodyMs: e.HTTP_BODY_TIMEOUT_MS,
        uploadMs: e.HTTP_UPLOAD_TIMEOUT_MS,
        idleMs: e.HTTP_IDLE_TIMEOUT_MS,
        keepAliveMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      },
    },
    metrics: { port: e.METRICS_PORT, host: e.METRICS_HOST },
    logLevel: e.LOG_LEVEL,
    database: {
      url: e.DATABASE_URL,
      migrationUrl: e.MIGRATION_DATABASE_URL,
      analyticsUrl: e.ANALYTICS_DATABASE_URL,
      poolMax: e.DATABASE_POOL_MAX,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
    },
    redis: { url: e.REDIS_URL },
    embedded: {
      dataDir: e.DATA_DIR,
      pgPort: e.EMBEDDED_PG_PORT,
      redisPort: e.EMBEDDED_REDIS_PORT,
      install: e.EMBEDDED_INSTALL === 'auto',
    },
    seedDemo: e.SEED_DEMO,
    discord: {
      token: e.DISCORD_TOKEN,
      applicationId: e.DISCORD_APPLICATION_ID,
      apiUrl: e.DISCORD_API_URL,
      clientSecret: e.DISCORD_CLIENT_SECRET,
      shardCount: e.SHARD_COUNT,
      shardIds: e.SHARD_IDS ? expandShardIds(e.SHARD_IDS) : undefined,
      messageContent: e.DISCORD_MESSAGE_CONTENT,
      startStallMs: e.SHARD_START_STALL_MS,
      cache: { membersPerGuild: e.BOT_CACHE_MEMBERS_PER_GUILD, users: e.BOT_CACHE_USERS },
      handlersNice: e.BOT_HANDLERS_NICE,
      dmSearchMaxWaitMs: e.DM_SEARCH_MAX_WAIT_SECONDS * 1000,
    },
    api: {
      sessionIdleSeconds: e.SESSION_IDLE_MINUTES * 60,
      sessionAbsoluteSeconds: e.SESSION_ABSOLUTE_HOURS * 3600,
      oauth: {
        accessSeconds: e.OAUTH_ACCESS_TOKEN_MINUTES * 60,
        refreshIdleSeconds: e.OAUTH_REFRESH_IDLE_DAYS * 86_400,
        refreshAbsoluteSeconds: e.OAUTH_REFRESH_ABSOLUTE_DAYS * 86_400,
      },
      cookieSecure: e.COOKIE_SECURE,
      trustProxy: e.TRUST_PROXY,
      metricsToken: e.METRICS_TOKEN,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    storage: {
      driver: e.STORAGE_DRIVER,
      dir: `${e.DATA_DIR.replace(/\/+$/, '')}/storage`,
      s3: {
        endpoint: e.S3_ENDPOINT,
        region: e.S3_REGION,
        bucket: e.S3_BUCKET,
        accessKeyId: e.S3_ACCESS_KEY_ID,
        secretAccessKey: e.S3_SECRET_ACCESS_KEY,
        forcePathStyle: e.S3_FORCE_PATH_STYLE,
      },
    },
    secretKey: e.SECRET_KEY,
    downloadLinkMaxSeconds: e.DOWNLOAD_LINK_MAX_MINUTES * 60,
    email: {
      smtpPort: e.SMTP_PORT ?? (e.NODE_ENV === 'production' ? undefined : 0),
      smtpHost: e.SMTP_HOST,
      maxBytes: e.SMTP_MAX_BYTES,
      outboundUrl: e.SMTP_OUTBOUND_URL,
    },
    webPush: {
      subject: e.WEB_PUSH_SUBJECT ?? vapidSubject(e.PUBLIC_URL ?? `http://localhost:${e.PORT}`),
      vapid:
        e.WEB_PUSH_VAPID_PUBLIC_KEY && e.WEB_PUSH_VAPID_PRIVATE_KEY
          ? { publicKey: e.WEB_PUSH_VAPID_PUBLIC_KEY, privateKey: e.WEB_PUSH_VAPID_PRIVATE_KEY }
          : undefined,
    },
    workers: {
      webhookAllowLoopback: e.WEBHOOK_ALLOW_LOOPBACK,
      webhookAllowPrivate: e.WEBHOOK_ALLOW_PRIVATE,
      outboxRetentionDays: e.OUTBOX_RETENTION_DAYS,
      concurrency: e.WORKER_CONCURRENCY,
      webhookOrgShare: e.WEBHOOK_ORG_SHARE,
      processorsNice: e.WORKER_PROCESSORS_NICE,
    },
  });
}

let defaults: Config | undefined;

/**
 * The configuration with nothing set: every default in one place. Code that can run without a
 * full Config (buildApp in tests, the workers runtime) falls back to these, never to numbers of
 * its own, so a default changed here changes everywhere.
 */
export function configDefaults(): Config {
  defaults ??= loadConfig({});
  return defaults;
}

/**
 * What production requires beyond the schema. Read from the raw environment, so the message
 * names SECRET_KEY even when other variables fail the schema too.
 */
function productionIssues(env: Record<string, string | undefined>): { path: string[]; message: string }[] {
  if (env.NODE_ENV !== 'production' || env.SECRET_KEY !== undefined) return [];
  return [
    {
      path: ['SECRET_KEY'],
      message: `required in production (32 random bytes, base64); ${SECRET_KEY_HOWTO}`,
    },
  ];
}

/** Half a VAPID pair would sign with a key the browsers were not given. */
function vapidPairIssues(env: Record<string, string | undefined>): { path: string[]; message: string }[] {
  const pub = env.WEB_PUSH_VAPID_PUBLIC_KEY !== undefined;
  const priv = env.WEB_PUSH_VAPID_PRIVATE_KEY !== undefined;
  if (pub === priv) return [];
  const missing = pub ? 'WEB_PUSH_VAPID_PRIVATE_KEY' : 'WEB_PUSH_VAPID_PUBLIC_KEY';
  return [{ path: [missing], message: 'give both halves of the VAPID key pair, or neither' }];
}

/** "0,2-4" → [0, 2, 3, 4]. */
function expandShardIds(spec: string): number[] {
  const ids = spec.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    const from = a ?? 0;
    const to = b ?? from;
    return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
  });
  return [...new Set(ids)].sort((x, y) => x - y);
}
