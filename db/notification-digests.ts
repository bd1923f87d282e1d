import { mapDbError } from './errors.js';
import type { NotificationEvent } from './notification-prefs.js';
import { markDelivery, sendCheck, withdrawn } from './notifications.js';
import type { Pool } from './pool.js';
import type { Tx } from './tenant.js';

/**
 * The daily email digest: email deliveries a member chose to receive as one mail a day are held
 * (`notification_deliveries.status = 'digest'`) until their hour comes in their own time zone.
 * A digest is one `notification_digests` row per member and local day: claimed before the mail is
 * sent, marked sent after, so a retried or repeated job never sends a day twice. Held items are
 * tied to the day when it is claimed (`digest_day`); what arrives later waits for the next day.
 */

export interface DueDigest {
  userId: string;
  /** The member's local calendar day, YYYY-MM-DD. */
  day: string;
}

/**
 * Members holding digest items whose hour has come today (in their zone) and whose digest for
 * today is not done. Local day and hour are computed by PostgreSQL from the member's zone.
 */
export async function dueDigests(tx: Tx, now: Date): Promise<DueDigest[]> {
  const r = await tx.query<DueDigest>(
    `with held as (
       select distinct n.user_id, s.time_zone, coalesce(s.digest_hour, 8) as hour
       from notification_deliveries d
       join notifications n on n.org_id = d.org_id and n.id = d.notification_id
       left join notification_settings s on s.org_id = n.org_id and s.user_id = n.user_id
       where d.org_id = $1::uuid and d.channel = 'email' and d.status = 'digest'
     ), local as (
       -- A zone PostgreSQL does not know (stored before zones were checked against its list) is
       -- read as UTC: that member's digest comes at their hour in UTC, and no one else's stops.
       select user_id, ($2::timestamptz at time zone coalesce(gm_known_time_zone(time_zone), 'UTC')) as at, hour
       from held
     )
     select l.user_id as "userId", to_char(l.at::date, 'YYYY-MM-DD') as day from local l
     where extract(hour from l.at) >= l.hour
       and not exists (select 1 from notification_digests g where g.org_id = $1::uuid and g.user_id = l.user_id
                       and g.day = l.at::date and g.status <> 'sending')
     order by l.user_id`,
    [tx.orgId, now],
  );
  return r.rows;
}

export interface DigestItem {
  event: NotificationEvent;
  title: string;
  body: string | null;
  ticketId: string | null;
  ticketNumber: number | null;
  createdAt: Date;
}

export interface ClaimedDigest {
  email: string | null;
  displayName: string;
  items: DigestItem[];
}

/** How long a claim keeps another attempt off a digest it may be sending (a stalled job's rerun). */
export const DIGEST_CLAIM_SECONDS = 300;

/**
 * Claims the member's digest for `day` and ties the held items to it, less those the member may
 * no longer read or no longer wants (marked skipped with the reason); null when that day's
 * digest is already done (sent, empty or failed for good), `busy` while another attempt's claim
 * is fresh (it may be talking to the relay right now). A claim released by a failed attempt, or
 * older than DIGEST_CLAIM_SECONDS, is taken again with the same items (and those held since).
 */
export async function claimDigest(
  tx: Tx,
  userId: string,
  day: string,
): Promise<ClaimedDigest | null | 'busy'> {
  const made = await tx.query(
    `insert into notification_digests (org_id, user_id, day) values ($1::uuid, $2::uuid, $3::date)
     on conflict (org_id, user_id, day) do nothing returning day`,
    [tx.orgId, userId, day],
  );
  // The row lock makes a second attempt on the same digest wait for this transaction, then see it.
  const row = await tx.query<{ status: string; fresh: boolean }>(
    `select status, claimed_at > now() - make_interval(secs => $4::int) as fresh from notification_digests
     where org_id = $1::uuid and user_id = $2::uuid and day = $3::date for update`,
    [tx.orgId, userId, day, DIGEST_CLAIM_SECONDS],
  );
  const current = row.rows[0];
  if (current?.status !== 'sending') return null;
  if (!made.rowCount && current.fresh) return 'busy';
  if (!made.rowCount)
    await tx.query(
      `update notification_digests set claimed_at = now()
       where org_id = $1::uuid and user_id = $2::uuid and day = $3::date`,
      [tx.orgId, userId, day],
    );
  await tx.query(
    `update notification_deliveries d set digest_day = $3::date
     from notifications n
     where d.org_id = $1::uuid and n.org_id = d.org_id and n.id = d.notification_id and n.user_id = $2::uuid
       and d.channel = 'email' and d.status = 'digest' and d.digest_day is null`,
    [tx.orgId, userId, day],
  );
  // An item waits up to a day: whether the member may still read tickets and still wants this
  // mail is asked now, as it goes out (the rule of the per-event deliveries, pendingDeliveries).
  const held = await tx.query<{ notificationId: string; event: NotificationEvent }>(
    `select d.notification_id as "notificationId", n.event
     from notification_deliveries d
     join notifications n on n.org_id = d.org_id and n.id = d.notification_id
     where d.org_id = $1::uuid and n.user_id = $2::uuid and d.channel = 'email' and d.status = 'digest'
       and d.digest_day = $3::date`,
    [tx.orgId, userId, day],
  );
  const check = await sendCheck(tx, held.rows.length ? [userId] : []);
  for (const h of held.rows) {
    const why = withdrawn(check, userId, h.event, 'email', true);
    if (why) await markDelivery(tx, h.notificationId, 'email', 'skipped', why);
  }
  const items = await tx.query<DigestItem>(
    `select n.event, n.title, n.body, n.ticket_id as "ticketId", t.number as "ticketNumber",
       n.created_at as "createdAt"
     from notification_deliveries d
     join notifications n on n.org_id = d.org_id and n.id = d.notification_id
     left join tickets t on t.org_id = n.org_id and t.id = n.ticket_id
     where d.org_id = $1::uuid and n.user_id = $2::uuid and d.channel = 'email' and d.status = 'digest'
       and d.digest_day = $3::date
     order by n.created_at, n.id`,
    [tx.orgId, userId, day],
  );
  const user = await tx.query<{ email: string | null; displayName: string }>(
    'select email, display_name as "displayName" from users where id = $1::uuid',
    [userId],
  );
  return {
    email: user.rows[0]?.email ?? null,
    displayName: user.rows[0]?.displayName ?? '',
    items: items.rows,
  };
}

/** A failed attempt lets the next one claim the digest at once (its retry, or the next sweep's). */
export async function releaseDigest(tx: Tx, userId: string, day: string): Promise<void> {
  await tx.query(
    `update notification_digests set claimed_at = '-infinity'
     where org_id = $1::uuid and user_id = $2::uuid and day = $3::date and status = 'sending'`,
    [tx.orgId, userId, day],
  );
}

/**
 * Ends the member's digest for `day`: `sent` (with the mail's Message-ID), `empty` (nothing was
 * held after all) or `failed` (for good; the reason goes on each item). Its items follow.
 */
export async function finishDigest(
  tx: Tx,
  userId: string,
  day: string,
  end: { status: 'sent'; messageId: string; items: number } | { status: 'empty' | 'failed'; reason?: string },
): Promise<void> {
  await tx.query(
    `update notification_digests set status = $4::text, message_id = $5::text, items = $6::int,
       sent_at = case when $4::text = 'sent' then now() end
     where org_id = $1::uuid and user_id = $2::uuid and day = $3::date`,
    [
      tx.orgId,
      userId,
      day,
      end.status,
      end.status === 'sent' ? end.messageId : null,
      end.status === 'sent' ? end.items : 0,
    ],
  );
  await tx.query(
    `update notification_deliveries d set status = $4::text, reason = $5::text, updated_at = now()
     from notifications n
     where d.org_id = $1::uuid and n.org_id = d.org_id and n.id = d.notification_id and n.user_id = $2::uuid
       and d.channel = 'email' and d.status = 'digest' and d.digest_day = $3::date`,
    [
      tx.orgId,
      userId,
      day,
      end.status === 'sent' ? 'sent' : end.status === 'failed' ? 'failed' : 'skipped',
      end.status === 'sent' ? null : (end.reason?.slice(0, 500) ?? null),
    ],
  );
}

/** The organizations holding email for a digest (a cross-tenant look-up: gm_orgs_with_digests). */
export async function orgsWithDigests(pool: Pool): Promise<string[]> {
  const r = await pool
    .query<{ id: string }>({ text: 'select id from gm_orgs_with_digests() as id', values: [] })
    .catch((e) => {
      throw mapDbError(e);
    });
  return r.rows.map((x) => x.id);
}
