import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import webpush from 'web-push';
import type { PendingDelivery } from '../db/notifications.js';
import {
  forgetEndedSessionDevices,
  markPushSent,
  type PushTarget,
  pushTargets,
  removePushSubscription,
} from '../db/push-subscriptions.js';
import { withTenant } from '../db/tenant.js';
import { type VapidKeys, vapidKeys } from '../db/vapid-keys.js';
import { liveSessionRefs } from '../lib/session-marks.js';
import { guardedLookup, refusedAddress, type TargetPolicy } from '../lib/ssrf.js';
import type { WorkerDeps } from './deps.js';

/**
 * Web Push to the member's installed panels (RFC 8030 with VAPID, RFC 8292, and the aes128gcm
 * payload encryption of RFC 8291). `web-push` signs and encrypts (`generateRequestDetails`); the
 * request itself is ours, so it goes through the same address guard as webhooks (lib/ssrf.ts:
 * the push endpoint comes from a browser, that is from anyone signed in, and must not reach the
 * machine or its network) with the same timeout and shutdown signal.
 *
 * Per device: 201 is recorded (a retry skips it), 404/410 mean the browser dropped the
 * subscription and its row is deleted, 429 and 5xx fail the job so the queue's backoff retries
 * it, any other answer is final for that device (a retry would get the same).
 */

export interface WebPushSettings {
  /** VAPID `sub`: a mailto: or https: contact for the push service's operator. */
  subject: string;
  /** WEB_PUSH_VAPID_*; the stored, generated-once pair when absent. */
  vapid?: VapidKeys | undefined;
}

/** What the service worker (panel/sw.js) gets, decrypted, in its `push` event. */
export interface PushPayload {
  title: string;
  body: string | null;
  /** The panel address to open on click. */
  url: string;
  /** One notification per event on a device: a repeat replaces rather than stacks. */
  tag: string;
}

// A notification older than a day is noise: the push service may drop it after that.
const TTL_SECONDS = 24 * 3600;

export class RetryablePushError extends Error {}

type Outcome = { status: 'sent' | 'skipped' | 'failed'; reason?: string };

/**
 * The devices whose sign-in session is still alive: a push subscription ends with the session it
 * was made in, whether signed out (the API removes it then) or timed out (found here, removed and
 * audited). Without marks to ask (deps.sessionMarks), every device is kept.
 */
async function withoutEndedSessions(
  deps: WorkerDeps,
  orgId: string,
  userId: string,
  targets: PushTarget[],
): Promise<PushTarget[]> {
  const marked = targets.flatMap((t) => (t.markedSession ? [t.markedSession] : []));
  if (!deps.sessionMarks || !marked.length) return targets;
  const live = await liveSessionRefs(deps.sessionMarks.redis, marked);
  const ended = targets.filter((t) => t.markedSession && !live.has(t.markedSession));
  if (!ended.length) return targets;
  await withTenant(deps.pool, orgId, (tx) =>
    forgetEndedSessionDevices(
      tx,
      userId,
      ended.map((t) => t.id),
    ),
  );
  deps.logger.info({ userId, devices: ended.length }, 'push devices of a timed-out session removed');
  return targets.filter((t) => !ended.includes(t));
}

export async function sendPush(deps: WorkerDeps, orgId: string, d: PendingDelivery): Promise<Outcome> {
  if (!deps.webPush) return { status: 'skipped', reason: 'Web Push is not configured' };
  const keys = await vapidKeys(deps.pool, deps.box, deps.webPush.vapid);
  const subscribed = await withTenant(deps.pool, orgId, (tx) =>
    pushTargets(tx, deps.box, d.userId, d.notificationId),
  );
  const targets = await withoutEndedSessions(deps, orgId, d.userId, subscribed);
  if (!targets.length) return { status: 'skipped', reason: 'no device subscribed' };
  const payload: PushPayload = {
    title: d.title,
    body: d.body,
    url: d.ticketId ? `/o/${orgId}/t/${d.ticketId}` : `/o/${orgId}`,
    tag: d.notificationId,
  };
  const urgent = d.event === 'sla_breached' || d.event === 'sla_warning';
  let sent = 0;
  let gone = 0;
  const final: string[] = [];
  const retry: string[] = [];
  for (const t of targets) {
    const r = await postOne(deps, t, JSON.stringify(payload), keys, urgent);
    if (r.status !== null && r.status >= 200 && r.status < 300) {
      await withTenant(deps.pool, orgId, (tx) => markPushSent(tx, d.notificationId, t.id));
      sent++;
    } else if (r.status === 404 || r.status === 410) {
      await withTenant(deps.pool, orgId, (tx) => removePushSubscription(tx, t.id));
      deps.logger.info({ subscriptionId: t.id, status: r.status }, 'push subscription gone: removed');
      gone++;
    } else if (r.status === null || r.status === 429 || r.status >= 500) {
      // Refused by the address guard is not worth retrying; a timeout or reset is.
      if (r.refused) final.push(r.error ?? 'refused');
      else retry.push(r.error ?? `HTTP ${r.status}`);
    } else {
      final.push(`HTTP ${r.status}${r.excerpt ? `: ${r.excerpt}` : ''}`);
    }
  }
  if (final.length)
    deps.logger.warn({ notificationId: d.notificationId, errors: final }, 'push refused by a device');
  if (retry.length) throw new RetryablePushError(`push not delivered yet: ${retry.join('; ')}`);
  if (sent) return { status: 'sent' };
  if (final.length) return { status: 'failed', reason: final.join('; ') };
  return { status: 'skipped', reason: gone ? 'every device unsubscribed' : 'no device subscribed' };
}

interface PostResult {
  status: number | null;
  error?: string;
  excerpt?: string;
  refused?: boolean;
}

function postOne(
  deps: WorkerDeps,
  t: PushTarget,
  payload: string,
  keys: VapidKeys,
  urgent: boolean,
): Promise<PostResult> {
  const policy: TargetPolicy = deps.webhookTargets;
  let url: URL;
  try {
    url = new URL(t.endpoint);
  } catch {
    return Promise.resolve({ status: null, error: 'invalid endpoint', refused: true });
  }
  // Push services are HTTPS; plain HTTP only where loopback targets are allowed (tests, development).
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowLoopback))
    return Promise.resolve({ status: null, error: `refused ${url.protocol} endpoint`, refused: true });
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // A literal address never goes through `lookup`: it is checked here.
  if (isIP(host)) {
    const why = refusedAddress(host, policy);
    if (why) return Promise.resolve({ status: null, error: `refused ${host}: ${why}`, refused: true });
  }
  const details = webpush.generateRequestDetails({ endpoint: t.endpoint, keys: t.keys }, payload, {
    vapidDetails: { subject: deps.webPush!.subject, publicKey: keys.publicKey, privateKey: keys.privateKey },
    TTL: TTL_SECONDS,
    urgency: urgent ? 'high' : 'normal',
    contentEncoding: 'aes128gcm',
  });
  const body = details.body as Buffer;
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      deps.shutdown?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const onAbort = () => {
      finish({ status: null, error: 'interrupted: the worker is shutting down' });
      req.destroy();
    };
    const req = lib.request(
      url,
      {
        method: 'POST',
        headers: { ...(details.headers as Record<string, string>), 'content-length': body.length },
        lookup: guardedLookup(policy) as never,
      },
      (res) => {
        let excerpt = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (excerpt.length < 200) excerpt += c.slice(0, 200 - excerpt.length);
        });
        res.on('end', () => finish({ status: res.statusCode ?? null, excerpt }));
        res.on('error', (err) => finish({ status: res.statusCode ?? null, error: err.message }));
      },
    );
    const timer = setTimeout(() => {
      finish({ status: null, error: `no answer within ${deps.webhookTimeoutMs / 1000} s` });
      req.destroy();
    }, deps.webhookTimeoutMs);
    deps.shutdown?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) =>
      finish({
        status: null,
        error: err.message,
        refused: (err as { code?: string }).code === 'ERR_SSRF_REFUSED',
      }),
    );
    req.end(body);
  });
}
