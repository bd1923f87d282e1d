import { isIP } from 'node:net';
import { z } from 'zod';
import { secretKeyProblem } from './secret-key.js';

/**
 * The environment's variables as zod reads them: each one's type, bounds and default. Only
 * lib/config.ts parses the environment with it (once, at startup) and turns the result into the
 * Config the roles are handed; the README's configuration table is written from this schema.
 */
const roleName = z.enum(['api', 'bot', 'workers']);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number().int().min(1).max(65535);

/** Whom the API believes about a request's origin (X-Forwarded-For): see `trustProxy` below. */
export type TrustProxy = boolean | number | readonly string[];

function isAddressOrRange(v: string): boolean {
  const [address = '', prefix, ...rest] = v.split('/');
  const family = isIP(address);
  if (!family || rest.length) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY. `true` trusts every hop, so the leftmost X-Forwarded-For entry wins, and that one
 * the client writes itself: only for a proxy that replaces the header. A number trusts that many
 * proxies in front, so the address the outermost one appended wins: right when nothing reaches
 * the API but through them (Cloud Run). A list trusts only those addresses and ranges.
 */
const trustProxy = z
  .string()
  .trim()
  .transform((v, ctx): TrustProxy => {
    if (['true', 'yes'].includes(v)) return true;
    if (['false', 'no', '0'].includes(v)) return false;
    if (/^\d+$/.test(v)) {
      const hops = Number(v);
      if (hops <= 10) return hops;
    } else {
      const list = v.split(',').map((x) => x.trim());
      if (list.every(isAddressOrRange)) return list;
    }
    ctx.addIssue({
      code: 'custom',
      message:
        'true, false, a number of proxies in front (1 to 10), or their addresses and ranges (10.0.0.0/8,127.0.0.1)',
    });
    return z.NEVER;
  });
// Connection strings: postgres://, redis://, rediss:// (an empty variable counts as unset).
const optionalUrl = z.string().trim().url('a connection URL').optional();

/**
 * A bot start fails when no shard became ready for this long (bot/shard-start.ts); shards start
 * one per `max_concurrency` bucket per 5 s, so the whole start of many shards may take far longer.
 */
export const DEFAULT_SHARD_START_STALL_MS = 120_000;

/**
 * discord.js caches beyond the bot's own member and user. A message's member is found through the
 * member cache when the event arrives (so at least 1 per guild), then held by the handler; nothing
 * else reads members or users from the cache (bot/README.md, "Cache and memory").
 */
export const DEFAULT_BOT_CACHE = { membersPerGuild: 5, users: 0 } as const;

/** Every variable, with its default; exported so a test holds the README's table to it. */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  ROLES: z
    .string()
    .default('api,bot,workers')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(roleName).min(1, 'name at least one of api, bot, workers')),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  PUBLIC_URL: z.string().url().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  DATABASE_URL: optionalUrl,
  MIGRATION_DATABASE_URL: optionalUrl,
  // A read replica for the analytics API's reads; unset: they go to DATABASE_URL.
  ANALYTICS_DATABASE_URL: optionalUrl,
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).default(5_000),
  REDIS_URL: optionalUrl,

  DATA_DIR: z.string().min(1).default('.data'),
  EMBEDDED_PG_PORT: port.default(54329),
  EMBEDDED_REDIS_PORT: port.default(63790),
  EMBEDDED_INSTALL: z.enum(['auto', 'never']).default('auto'),
  SEED_DEMO: bool.default(true),

  DISCORD_TOKEN: z.string().min(1).optional(),
  DISCORD_APPLICATION_ID: z
    .string()
    .regex(/^\d{17,20}$/, 'a Discord snowflake')
    .optional(),
  DISCORD_API_URL: z.string().url().default('https://discord.com/api'),
  // The total shard count and the shard ids this process runs ("0,1" or "0-3"); unset means one shard.
  SHARD_COUNT: z.coerce.number().int().min(1).max(10_000).optional(),
  SHARD_IDS: z
    .string()
    .regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, 'shard ids like "0,1" or "0-3"')
    .optional(),
  // The privileged MessageContent intent: needed to mirror thread messages (see bot/README.md).
  DISCORD_MESSAGE_CONTENT: bool.default(true),
  SHARD_START_STALL_MS: z.coerce.number().int().min(100).default(DEFAULT_SHARD_START_STALL_MS),
  BOT_CACHE_MEMBERS_PER_GUILD: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000)
    .default(DEFAULT_BOT_CACHE.membersPerGuild),
  BOT_CACHE_USERS: z.coerce.number().int().min(0).max(100_000).default(DEFAULT_BOT_CACHE.users),
  // The nice value of a bot-only process's main thread (the handlers): above the gateway thread,
  // which keeps 0 and acknowledges interactions, so they do not wait behind the handlers' work.
  BOT_HANDLERS_NICE: z.coerce.number().int().min(0).max(19).default(5),
  // How long a first DM's server search may wait behind other players' searches before the player
  // is asked to write again (bot/dm-open.ts), rather than waiting silently through a burst.
  DM_SEARCH_MAX_WAIT_SECONDS: z.coerce.number().min(1).max(300).default(10),
  DISCORD_CLIENT_SECRET: z.string().min(1).optional(),

  SESSION_IDLE_MINUTES: z.coerce.number().int().min(1).max(43_200).default(480),
  SESSION_ABSOLUTE_HOURS: z.coerce.number().int().min(1).max(8_760).default(168),
  OAUTH_ACCESS_TOKEN_MINUTES: z.coerce.number().int().min(1).max(1_440).default(15),
  OAUTH_REFRESH_IDLE_DAYS: z.coerce.number().int().min(1).max(365).default(14),
  OAUTH_REFRESH_ABSOLUTE_DAYS: z.coerce.number().int().min(1).max(3_650).default(90),
  COOKIE_SECURE: bool.default(true),
  TRUST_PROXY: trustProxy.default(false),
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  // A separate listener for /metrics (then never on the public port); loopback unless told.
  METRICS_PORT: port.optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  // Slow clients (see api/http-timeouts.ts): headers, a JSON body, an upload, silence, keep-alive.
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(300_000).default(10_000),
  HTTP_BODY_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(30_000),
  HTTP_UPLOAD_TIMEOUT_MS: z.coerce.number().int().min(10_000).max(86_400_000).default(600_000),
  HTTP_IDLE_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(72_000),

  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),

  // Seals secrets at rest and signs download links: 32 random bytes, base64 (lib/secret-key.ts).
  // Required in production; development generates one under DATA_DIR.
  SECRET_KEY: z
    .string()
    .superRefine((v, ctx) => {
      const problem = secretKeyProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  // The longest a signed download link lives, however it was asked for.
  DOWNLOAD_LINK_MAX_MINUTES: z.coerce.number().int().min(1).max(10_080).default(15),
  // Outgoing webhooks may target loopback / private networks (SSRF guard off for those ranges).
  WEBHOOK_ALLOW_LOOPBACK: bool.default(false),
  WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  // At least 9 days: a webhook retry schedule spans about 28 hours, but Retry-After (up to 24 h
  // per attempt) can stretch it to about a week, and every retry needs its event.
  OUTBOX_RETENTION_DAYS: z.coerce.number().int().min(9).max(3650).default(14),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(50),
  // The share of WORKER_CONCURRENCY one organization's webhook jobs may hold at once (counted
  // across all worker processes), so a studio with a slow endpoint and a burst of events leaves
  // the other slots to everyone else (workers/webhook-slots.ts).
  WEBHOOK_ORG_SHARE: z.coerce.number().gt(0).max(1).default(0.5),
  // The nice value of a workers-only process's main thread (the job processors): above the outbox
  // relay's thread, which keeps 0, so on a busy machine the relay does not wait behind them. Not
  // higher: at 10 the processors fell a minute behind on a saturated machine (bench/README.md).
  WORKER_PROCESSORS_NICE: z.coerce.number().int().min(0).max(19).default(5),

  // Attachments and transcripts: the local folder DATA_DIR/storage, or an S3-compatible bucket
  // (AWS S3, MinIO, Cloud Storage's XML API with HMAC keys).
  STORAGE_DRIVER: z.enum(['local', 's3']).default('local'),
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'a bucket name')
    .optional(),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: bool.default(false),

  // The email bridge (workers/email-*.ts). The SMTP intake listens on SMTP_PORT; unset, it takes
  // a free loopback port outside production and is off in production.
  SMTP_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  SMTP_HOST: z.string().min(1).default('127.0.0.1'),
  // The largest mail taken, raw (attachments are base64: a third larger than the files).
  SMTP_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1_024)
    .max(100 * 1024 * 1024)
    .default(35 * 1024 * 1024),
  // Staff replies to email tickets go out through this relay (smtp://user:pass@host:587 or
  // smtps://...:465); unset, they are not sent by email.
  SMTP_OUTBOUND_URL: z
    .string()
    .url()
    .refine((u) => /^smtps?:\/\//.test(u), 'an smtp:// or smtps:// URL')
    .optional(),
  // Web Push (workers/notification-push.ts). The VAPID subject is the contact push services see;
  // unset, PUBLIC_URL when it is https, else mailto:webpush@ its host. The key pair is generated
  // once and stored sealed unless both halves are given here (db/vapid-keys.ts).
  WEB_PUSH_SUBJECT: z
    .string()
    .refine((v) => /^(mailto:[^@\s]+@[^@\s]+|https:\/\/\S+)$/.test(v), 'a mailto: address or an https:// URL')
    .optional(),
  WEB_PUSH_VAPID_PUBLIC_KEY: z
    .string()
    .regex(/^[A-Za-z0-9_-]{87}$/, 'an uncompressed P-256 public key, base64url (87 characters)')
    .optional(),
  WEB_PUSH_VAPID_PRIVATE_KEY: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, 'a P-256 private key, base64url (43 characters)')
    .optional(),
});

export type RoleName = z.infer<typeof roleName>;
