import { z } from 'zod';
import type { SecretBox } from '../lib/secret-box.js';
import { type Actor, recordChange, SYSTEM } from './changes.js';
import { orgsOfUser } from './memberships.js';
import type { Pool } from './pool.js';
import { id } from './schemas.js';
import { type Tx, withTenant } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * A member's devices that receive Web Push (the installed panel): the browser's push endpoint and
 * the keys a payload is encrypted to (RFC 8291), sealed with SECRET_KEY. The endpoint's host is
 * the browser's push service (FCM, Mozilla, Apple...); the workers check its address again when
 * they connect (lib/ssrf.ts), so this is where a URL is accepted, not where it is trusted.
 */

const b64url = (bytes: number) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+=*$/, 'base64url')
    .refine((v) => Buffer.from(v, 'base64url').length === bytes, `${bytes} bytes once decoded`);

/** What `PushSubscription.toJSON()` gives in the browser, plus an optional device label. */
export const subscribeInput = z
  .object({
    endpoint: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      // Runs even when the URL check above failed (zod goes on to collect every issue).
      .refine(
        (u) => URL.canParse(u) && !new URL(u).username && !new URL(u).password,
        'no user or password in the URL',
      ),
    // The browser's P-256 public key (uncompressed point) and its 16-byte auth secret.
    keys: z.object({ p256dh: b64url(65), auth: b64url(16) }).strict(),
    expirationTime: z.number().nullable().optional(),
    label: z.string().trim().min(1).max(100).optional(),
  })
  .strict();

export const unsubscribeInput = z.object({ endpoint: z.url().max(2000) }).strict();

export interface PushDevice {
  id: string;
  /** The push service's origin only: the full endpoint is a capability and stays on the server. */
  service: string;
  label: string | null;
  createdAt: Date;
  lastOkAt: Date | null;
}

export interface PushTarget {
  id: string;
  userId: string;
  endpoint: string;
  keys: { p256dh: string; auth: string };
  /** The session it was made in, when its liveness can be asked (lib/session-marks.ts). */
  markedSession: string | null;
}

const serviceOf = (endpoint: string) => new URL(endpoint).origin;

/**
 * Records (or takes over) a device for the member. A browser has one endpoint per site; when it
 * subscribes again, or another member signs in on it, the row moves to this member, and to the
 * sign-in session it was made in (`sessionRef`, api/sessions.ts): signing out of that session
 * removes it (forgetPushDevices), so a browser signed out stops showing the org's tickets even if
 * its page never got to unsubscribe.
 */
export async function subscribePush(
  tx: Tx,
  box: SecretBox,
  userId: string,
  raw: z.input<typeof subscribeInput>,
  actor: Actor,
  sessionRef: string | null = null,
): Promise<PushDevice> {
  const input = parseInput(subscribeInput, raw);
  const r = await tx.query<{ id: string; label: string | null; createdAt: Date; lastOkAt: Date | null }>(
    `insert into push_subscriptions (org_id, user_id, endpoint, keys_sealed, label, session_ref, session_marked)
     values ($1::uuid, $2::uuid, $3::text, $4::text, $5::text, $6::text, $6::text is not null)
     on conflict (org_id, endpoint) do update set user_id = excluded.user_id, keys_sealed = excluded.keys_sealed,
       label = excluded.label, session_ref = excluded.session_ref, session_marked = excluded.session_marked,
       created_at = now(), last_ok_at = null
     returning id, label, created_at as "createdAt", last_ok_at as "lastOkAt"`,
    [tx.orgId, userId, input.endpoint, box.seal(JSON.stringify(input.keys)), input.label ?? null, sessionRef],
  );
  const row = r.rows[0]!;
  await recordChange(tx, actor, {
    action: 'push_subscription.added',
    target: { type: 'user', id: userId },
    data: { service: serviceOf(input.endpoint) },
  });
  return { ...row, service: serviceOf(input.endpoint) };
}

/** Removes one of the member's own devices by endpoint; false when it was not theirs or not there. */
export async function unsubscribePush(
  tx: Tx,
  userId: string,
  raw: z.input<typeof unsubscribeInput>,
  actor: Actor,
): Promise<boolean> {
  const input = parseInput(unsubscribeInput, raw);
  const r = await tx.query(
    'delete from push_subscriptions where org_id = $1::uuid and user_id = $2::uuid and endpoint = $3::text',
    [tx.orgId, userId, input.endpoint],
  );
  if (!r.rowCount) return false;
  await recordChange(tx, actor, {
    action: 'push_subscription.removed',
    target: { type: 'user', id: userId },
    data: { service: serviceOf(input.endpoint) },
  });
  return true;
}

/** Which of a person's devices a sign-out removes: all, or those of one browser. */
export type SignedOutDevices = { all: true } | { sessionRef: string; endpoint?: string | undefined };

/**
 * A sign-out ends Web Push where it ends the session: in every organization the person belongs
 * to (a device subscribes per org), each removal audited there. `all` (sign-out everywhere) takes
 * every device of the person; otherwise those subscribed in that session, and the endpoint the
 * page names (a browser that subscribed in an earlier session, or before rows were tied to one).
 * Returns how many devices were removed.
 */
export async function forgetPushDevices(
  pool: Pool,
  userId: string,
  which: SignedOutDevices,
  actor: Actor,
): Promise<number> {
  const all = 'all' in which;
  const ref = all ? null : which.sessionRef;
  const endpoint = all ? null : (which.endpoint ?? null);
  let removed = 0;
  for (const org of await orgsOfUser(pool, userId)) {
    removed += await withTenant(pool, org.id, async (tx) => {
      const r = await tx.query<{ endpoint: string }>(
        `delete from push_subscriptions
         where org_id = $1::uuid and user_id = $2::uuid
           and ($3::boolean or session_ref = $4::text or endpoint = $5::text)
         returning endpoint`,
        [tx.orgId, userId, all, ref, endpoint],
      );
      if (!r.rowCount) return 0;
      await recordChange(tx, actor, {
        action: 'push_subscription.removed',
        target: { type: 'user', id: userId },
        data: {
          reason: all ? 'signed_out_everywhere' : 'signed_out',
          services: [...new Set(r.rows.map((x) => serviceOf(x.endpoint)))],
          devices: r.rowCount,
        },
      });
      return r.rowCount;
    });
  }
  return removed;
}

export async function listPushDevices(tx: Tx, userId: string): Promise<PushDevice[]> {
  const r = await tx.query<{
    id: string;
    endpoint: string;
    label: string | null;
    createdAt: Date;
    lastOkAt: Date | null;
  }>(
    `select id, endpoint, label, created_at as "createdAt", last_ok_at as "lastOkAt" from push_subscriptions
     where org_id = $1::uuid and user_id = $2::uuid order by created_at`,
    [tx.orgId, userId],
  );
  return r.rows.map(({ endpoint, ...d }) => ({ ...d, service: serviceOf(endpoint) }));
}

/** Of these members, those with at least one device (the fan-out plans push only for them). */
export async function membersWithPush(tx: Tx, userIds: readonly string[]): Promise<Set<string>> {
  if (!userIds.length) return new Set();
  const r = await tx.query<{ userId: string }>(
    `select distinct user_id as "userId" from push_subscriptions
     where org_id = $1::uuid and user_id = any($2::uuid[])`,
    [tx.orgId, userIds],
  );
  return new Set(r.rows.map((x) => x.userId));
}

/** The member's devices that have not yet taken this notification (a retry skips the others). */
export async function pushTargets(
  tx: Tx,
  box: SecretBox,
  userId: string,
  notificationId: string,
): Promise<PushTarget[]> {
  const r = await tx.query<{
    id: string;
    userId: string;
    endpoint: string;
    keysSealed: string;
    markedSession: string | null;
  }>(
    `select s.id, s.user_id as "userId", s.endpoint, s.keys_sealed as "keysSealed",
            case when s.session_marked then s.session_ref end as "markedSession"
       from push_subscriptions s
     where s.org_id = $1::uuid and s.user_id = $2::uuid
       and not exists (select 1 from push_sends p where p.org_id = s.org_id and p.subscription_id = s.id
                       and p.notification_id = $3::uuid)
     order by s.created_at`,
    [tx.orgId, userId, notificationId],
  );
  return r.rows.map((row) => ({
    id: row.id,
    userId: row.userId,
    endpoint: row.endpoint,
    keys: z.object({ p256dh: z.string(), auth: z.string() }).parse(JSON.parse(box.open(row.keysSealed))),
    markedSession: row.markedSession,
  }));
}

/** The device took the notification (the push service answered 201). */
export async function markPushSent(tx: Tx, notificationId: string, subscriptionId: string): Promise<void> {
  await tx.query(
    `with s as (update push_subscriptions set last_ok_at = now() where org_id = $1::uuid and id = $3::uuid)
     insert into push_sends (org_id, notification_id, subscription_id) values ($1::uuid, $2::uuid, $3::uuid)
     on conflict do nothing`,
    [tx.orgId, notificationId, subscriptionId],
  );
}

/** The push service says the subscription is gone (404/410): the device no longer listens. */
/**
 * The member's devices whose sign-in session has timed out: removed and audited, as a sign-out
 * removes them (a browser left signed in on a shared machine stops showing the org's tickets once
 * its session is over).
 */
export async function forgetEndedSessionDevices(
  tx: Tx,
  userId: string,
  subscriptionIds: string[],
): Promise<number> {
  if (!subscriptionIds.length) return 0;
  const r = await tx.query<{ endpoint: string }>(
    `delete from push_subscriptions where org_id = $1::uuid and user_id = $2::uuid and id = any($3::uuid[])
     returning endpoint`,
    [tx.orgId, userId, subscriptionIds],
  );
  if (!r.rowCount) return 0;
  await recordChange(tx, SYSTEM, {
    action: 'push_subscription.removed',
    target: { type: 'user', id: userId },
    data: {
      reason: 'session_ended',
      services: [...new Set(r.rows.map((x) => serviceOf(x.endpoint)))],
      devices: r.rowCount,
    },
  });
  return r.rowCount;
}

export async function removePushSubscription(tx: Tx, subscriptionId: string): Promise<void> {
  await tx.query('delete from push_subscriptions where org_id = $1::uuid and id = $2::uuid', [
    tx.orgId,
    id.parse(subscriptionId),
  ]);
}
