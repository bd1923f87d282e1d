/** Which function runs each job of the map (workers/jobs.ts), bound to one set of dependencies. */
import { foldAnalytics } from './analytics.js';
import { copyAttachments } from './attachments.js';
import { autoCloseSweep } from './auto-close.js';
import { expireCloseRequestJob } from './close-requests.js';
import type { WorkerDeps } from './deps.js';
import { deliverAlert, deliverMessage, sweepUndeliveredMessages } from './discord-delivery.js';
import { relayDm } from './dm-relay.js';
import { sendEmailReply } from './email-outbound.js';
import { forgetLiveBacklogs } from './live-backlog.js';
import {
  pruneIdempotencyKeys,
  pruneOAuth,
  pruneOutbox,
  retryFailedJobs,
  sweepWebhookRetries,
} from './maintenance.js';
import { backfillMirror } from './mirror-backfill.js';
import { digestSweep, sendDigest } from './notification-digest.js';
import { notifyForEvent } from './notifications.js';
import { syncPanels } from './panels.js';
import { privacySweep } from './privacy.js';
import type { Handlers } from './queues.js';
import { endErasedPlayerRatingSessions } from './rating-sessions.js';
import { reassignSweep } from './reassign.js';
import { foldPlayerReports } from './report-fold.js';
import { retentionSweep } from './retention.js';
import { ruleTimerSweep } from './rule-timers.js';
import { runRulesJob } from './rules.js';
import { fireSlaTimer, recomputeOrg, recomputeSla, slaSweep } from './sla.js';
import { syncTicket } from './ticket-sync.js';
import { withDeliverySlot } from './webhook-slots.js';
import { deliver, fanout } from './webhooks.js';

/** The handlers of every job in the map, bound to one set of dependencies. */
export function handlersFor(deps: WorkerDeps, retentionDays: number): Handlers {
  return {
    // Webhook jobs hold one of their organization's slots while they run (webhook-slots.ts).
    'webhook.fanout': (d, job, token) =>
      withDeliverySlot(deps, d.orgId, job, token, d.outboxId, async () => {
        await fanout(deps, d);
      }),
    'webhook.deliver': (d, job, token) =>
      withDeliverySlot(deps, d.orgId, job, token, undefined, async () => {
        await deliver(deps, d);
      }),
    'discord.message': (d, job) => deliverMessage(deps, d, job.id),
    'discord.alert': (d) => deliverAlert(deps, d),
    'discord.dm_relay': (d) => relayDm(deps, d),
    'email.reply': async (d) => {
      await sendEmailReply(deps, d);
    },
    'discord.ticket_sync': (d, job) => syncTicket(deps, d, job.id),
    'discord.panel_sync': (d) => syncPanels(deps, d),
    'closerequest.expire': (d) => expireCloseRequestJob(deps, d),
    'rules.run': (d) => runRulesJob(deps, d),
    'rules.sweep': async () => {
      await ruleTimerSweep(deps);
    },
    'notify.fanout': async (d) => {
      await notifyForEvent(deps, d);
    },
    'notify.digest_sweep': async () => {
      await digestSweep(deps);
    },
    'notify.digest': async (d) => {
      await sendDigest(deps, d);
    },
    'attachment.copy': async (d) => {
      await copyAttachments(deps, d);
    },
    'discord.mirror_backfill': (d) => backfillMirror(deps, d),
    'sla.recompute': async (d) => {
      await recomputeSla(deps, d);
    },
    'sla.recompute_org': async (d) => {
      await recomputeOrg(deps, d);
    },
    'sla.fire': async (d) => {
      await fireSlaTimer(deps, d);
    },
    'sla.sweep': async () => {
      await slaSweep(deps);
    },
    'autoclose.sweep': async () => {
      await autoCloseSweep(deps);
    },
    'reassign.sweep': async () => {
      await reassignSweep(deps);
    },
    'webhook.sweep': async () => {
      await sweepWebhookRetries(deps);
    },
    'outbox.prune': async () => {
      await pruneOutbox(deps, retentionDays);
      // Idempotency-Key answers are kept 24 h: the same hourly pass over transient rows clears them.
      await pruneIdempotencyKeys(deps);
    },
    'oauth.prune': async () => {
      await pruneOAuth(deps);
    },
    'jobs.retry_failed': async () => {
      await retryFailedJobs(deps);
    },
    'discord.sweep': async () => {
      await sweepUndeliveredMessages(deps);
    },
    'analytics.fold': async () => {
      await foldAnalytics(deps);
    },
    'reports.fold': async () => {
      await foldPlayerReports(deps);
    },
    'retention.apply': async () => {
      await retentionSweep(deps);
    },
    'live.forget': async (d) => {
      await forgetLiveBacklogs(deps, d);
    },
    'rating.sessions_end': async (d) => {
      await endErasedPlayerRatingSessions(deps, d);
    },
    'privacy.sweep': async () => {
      await privacySweep(deps);
    },
  };
}
