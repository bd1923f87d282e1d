import type { REST } from '@discordjs/rest';
import type { Redis } from 'ioredis';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../lib/logger.js';
import type { SecretBox } from '../lib/secret-box.js';
import type { TargetPolicy } from '../lib/ssrf.js';
import type { Storage } from '../lib/storage/index.js';
import type { TicketPages } from '../lib/ticket-links.js';
import type { Clock } from './clock.js';
import type { Mailer } from './email-outbound.js';
import type { WebPushSettings } from './notification-push.js';
import type { Queues } from './queues.js';
import type { WebhookSlots } from './webhook-slots.js';

/** What every processor gets. Built once by startWorkers; tests build their own. */
export interface WorkerDeps {
  pool: Pool;
  queues: Queues;
  logger: Logger;
  clock: Clock;
  box: SecretBox;
  /** The addresses outgoing requests may reach: webhook deliveries and attachment copies. */
  webhookTargets: TargetPolicy;
  /** A delivery that has no full answer within this is a failure (15 s). */
  webhookTimeoutMs: number;
  /** In [0, 1): the jitter on retry delays (tests pin it). */
  random: () => number;
  /** Aborted when the process stops: outgoing webhook requests still in flight are interrupted. */
  shutdown?: AbortSignal;
  /**
   * Each organization's share of the webhook slots (`webhook-slots.ts`); absent, webhook jobs are
   * not limited per organization (tests that call the processors directly).
   */
  webhookSlots?: WebhookSlots;
  /**
   * Where the API marks live sign-in sessions (lib/session-marks.ts): Web Push skips and removes
   * devices whose session timed out. Absent, devices are kept until signed out.
   */
  sessionMarks?: { redis: Redis };
  /**
   * Where staff presence is kept (lib/presence.ts): rules give tickets only to members online,
   * and the hand-on sweep moves tickets of offline assignees. Absent, assignment goes by working
   * hours and capacity alone and the sweep moves nothing.
   */
  presence?: { redis: Redis };
  /**
   * Where the live updates' backlogs are (lib/live.ts): retention voids those of the tickets it
   * removed (workers/live-backlog.ts). Absent, they age out on their own (a week).
   */
  live?: { redis: Redis };
  /**
   * Where the API keeps rating sign-in sessions (lib/rating-session-index.ts): an erased player's
   * end with the erasure. Absent, they end at the idle timeout.
   */
  ratingSessions?: { redis: Redis };
  /** Delays before webhook attempts 2..8; `RETRY_SCHEDULE_MS` unless a test shortens them. */
  retryScheduleMs?: readonly number[];
  /** Discord REST client; null when no bot token is configured (Discord delivery is skipped). */
  discord: REST | null;
  /** Where copies of Discord attachments go; null leaves them as links. */
  storage: Storage | null;
  /** Links to a ticket's rating and transcript pages for Discord messages; null leaves them out. */
  ticketPages: TicketPages | null;
  /** SMTP_OUTBOUND_URL's transport for email replies; null leaves them unsent (logged). */
  mailer: Mailer | null;
  /** VAPID subject (and configured keys) for Web Push; absent, push deliveries are skipped. */
  webPush?: WebPushSettings;
  /** PUBLIC_URL, for links to the panel in digest mails; absent, the mails carry none. */
  panelUrl?: string;
  /** Hosts a Discord attachment link may point at (`discordFileHosts`): nothing else is fetched. */
  discordFileHosts: ReadonlySet<string>;
}
