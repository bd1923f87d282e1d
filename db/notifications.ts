import { z } from 'zod';
import { currentTraceparent } from '../lib/trace-context.js';
import { membersHolding } from './memberships.js';
import {
  inQuietHours,
  type NotificationEvent,
  type NotificationPrefs,
  type OutboundChannel,
  prefsOf,
} from './notification-prefs.js';
import type { OutboxRow } from './outbox.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * Staff notifications: what the worker (workers/notifications.ts) records for each member an
 * outbox event concerns, the deliveries it owes on the outbound channels, and the member's own
 * notification centre as the API reads it. Every read and write here is scoped to one member.
 */

/** The live event the panel's bell hears; published on the member's own topic only (lib/live.ts). */
export const NOTIFICATION_CREATED = 'notification.created';

const NOTIFYING_EVENTS = new Set([
  'ticket.created',
  'ticket.assigned',
  'note.created',
  'ticket.sla_warning',
  'ticket.sla_breached',
  'rule.notify',
]);

/**
 * Whether an outbox event may notify a member (pure: the relay enqueues `notify.fanout` on it). Of
 * the messages, only a player's on a ticket: staff hear of their colleagues' replies in the ticket.
 */
export function notifies(row: Pick<OutboxRow, 'eventType' | 'aggregateType' | 'payload'>): boolean {
  if (NOTIFYING_EVENTS.has(row.eventType)) return true;
  const message = row.payload.message as { authorType?: unknown } | undefined;
  // A participant's message (someone else in a public forum post) is not the player replying.
  return (
    row.eventType === 'message.created' &&
    row.aggregateType === 'ticket' &&
    message?.authorType === 'player' &&
    row.payload.participant !== true
  );
}

export interface Notification {
  id: string;
  event: NotificationEvent;
  ticketId: string | null;
  ticketNumber: number | null;
  title: string;
  body: string | null;
  readAt: Date | null;
  createdAt: Date;
}

export type DeliveryStatus = 'pending' | 'sent' | 'failed' | 'skipped' | 'digest';

export interface NewNotification {
  userId: string;
  event: NotificationEvent;
  ticketId: string | null;
  title: string;
  body: string | null;
  inPanel: boolean;
  deliveries: { channel: OutboundChannel; status: DeliveryStatus; reason?: string }[];
}

/**
 * Records one event's notifications, each member once: a member who already has a row for this
 * outbox event is left out (a replayed job), with its deliveries. The panel's live event is
 * written to the outbox in the same transaction, so the bell hears only of what was stored.
 * Returns the members notified now.
 */
export async function recordNotifications(
  tx: Tx,
  outboxId: number,
  items: readonly NewNotification[],
): Promise<string[]> {
  if (!items.length) return [];
  const r = await tx.query<{ id: string; userId: string; inPanel: boolean; createdAt: Date }>(
    `insert into notifications (org_id, user_id, outbox_id, event, ticket_id, title, body, in_panel)
     select $1::uuid, u, $2::bigint, e, t, ti, b, p
     from unnest($3::uuid[], $4::text[], $5::uuid[], $6::text[], $7::text[], $8::boolean[]) as x(u, e, t, ti, b, p)
     on conflict (org_id, outbox_id, user_id) do nothing
     returning id, user_id as "userId", in_panel as "inPanel", created_at as "createdAt"`,
    [
      tx.orgId,
      outboxId,
      items.map((i) => i.userId),
      items.map((i) => i.event),
      items.map((i) => i.ticketId),
      items.map((i) => i.title),
      items.map((i) => i.body),
      items.map((i) => i.inPanel),
    ],
  );
  const made = new Map(r.rows.map((row) => [row.userId, row]));
  const deliveries = items.flatMap((i) => {
    const row = made.get(i.userId);
    return row ? i.deliveries.map((d) => ({ ...d, notificationId: row.id })) : [];
  });
  if (deliveries.length) {
    await tx.query(
      `insert into notification_deliveries (org_id, notification_id, channel, status, reason)
       select $1::uuid, n, c, s, r from unnest($2::uuid[], $3::text[], $4::text[], $5::text[]) as x(n, c, s, r)`,
      [
        tx.orgId,
        deliveries.map((d) => d.notificationId),
        deliveries.map((d) => d.channel),
        deliveries.map((d) => d.status),
        deliveries.map((d) => d.reason ?? null),
      ],
    );
  }
  const live = items.flatMap((i) => {
    const row = made.get(i.userId);
    if (!row?.inPanel) return [];
    const notification = {
      id: row.id,
      event: i.event,
      ticketId: i.ticketId,
      title: i.title,
      body: i.body,
      readAt: null,
      createdAt: row.createdAt,
    };
    return [{ id: row.id, payload: JSON.stringify({ userId: i.userId, notification }) }];
  });
  if (live.length) {
    await tx.query(
      // With the trace they were recorded in, as recordChange writes its events.
      `insert into outbox (org_id, event_type, aggregate_type, aggregate_id, payload, traceparent)
       select $1::uuid, $2::text, 'notification', a, p, $5::text from unnest($3::uuid[], $4::jsonb[]) as x(a, p)`,
      [
        tx.orgId,
        NOTIFICATION_CREATED,
        live.map((l) => l.id),
        live.map((l) => l.payload),
        currentTraceparent(),
      ],
    );
  }
  return [...made.keys()];
}

export interface PendingDelivery {
  notificationId: string;
  channel: OutboundChannel;
  userId: string;
  displayName: string;
  email: string | null;
  discordUserId: string | null;
  event: NotificationEvent;
  title: string;
  body: string | null;
  ticketId: string | null;
  ticketNumber: number | null;
}

/**
 * What one outbox event's notifications still owe the outbound channels (a retry sends only
 * these). Access, wishes and quiet hours are checked again here, at send time (`now`), not only
 * when the notification was recorded: a retry may come hours later, after the member lost
 * `tickets.read`, was disabled, turned the channel off or went into their quiet hours. Those
 * deliveries are marked skipped, with the reason, and left out (the panel entry stays).
 */
export async function pendingDeliveries(tx: Tx, outboxId: number, now: Date): Promise<PendingDelivery[]> {
  const pending = await pendingRows(tx, outboxId);
  const check = await sendCheck(
    tx,
    pending.map((d) => d.userId),
  );
  const owed: PendingDelivery[] = [];
  for (const d of pending) {
    const prefs = check.prefs.get(d.userId);
    const why =
      withdrawn(check, d.userId, d.event, d.channel) ??
      (prefs && inQuietHours(prefs, now) ? 'quiet hours' : null);
    if (why) await markDelivery(tx, d.notificationId, d.channel, 'skipped', why);
    else owed.push(d);
  }
  return owed;
}

async function pendingRows(tx: Tx, outboxId: number): Promise<PendingDelivery[]> {
  const r = await tx.query<PendingDelivery>(
    `select d.notification_id as "notificationId", d.channel, n.user_id as "userId", u.display_name as "displayName",
       u.email, da.discord_user_id as "discordUserId", n.event, n.title, n.body, n.ticket_id as "ticketId",
       t.number as "ticketNumber"
     from notifications n
     join notification_deliveries d on d.org_id = n.org_id and d.notification_id = n.id and d.status = 'pending'
     join users u on u.id = n.user_id
     left join discord_accounts da on da.user_id = n.user_id
     left join tickets t on t.org_id = n.org_id and t.id = n.ticket_id
     where n.org_id = $1::uuid and n.outbox_id = $2::bigint
     order by n.user_id, d.channel`,
    [tx.orgId, outboxId],
  );
  return r.rows;
}

/** Whether any of these ids is a notification of the org (a mail answering one names it). */
export async function isNotification(tx: Tx, ids: readonly string[]): Promise<boolean> {
  if (!ids.length) return false;
  const r = await tx.query(
    'select 1 from notifications where org_id = $1::uuid and id = any($2::uuid[]) limit 1',
    [tx.orgId, ids],
  );
  return (r.rowCount ?? 0) > 0;
}

export async function markDelivery(
  tx: Tx,
  notificationId: string,
  channel: OutboundChannel,
  status: Exclude<DeliveryStatus, 'pending'>,
  reason?: string,
): Promise<void> {
  await tx.query(
    `update notification_deliveries set status = $4::text, reason = $5::text, updated_at = now()
     where org_id = $1::uuid and notification_id = $2::uuid and channel = $3::text`,
    [tx.orgId, notificationId, channel, status, reason?.slice(0, 500) ?? null],
  );
}

/** Of these users, the members who may read the org's tickets (the API's `tickets.read`). */
export function ticketReaders(tx: Tx, userIds: readonly string[]): Promise<Set<string>> {
  return membersHolding(tx, userIds, ['tickets.read']);
}

/** What a delivery is checked against when it is about to go out (sendCheck, then withdrawn). */
export interface SendCheck {
  readers: Set<string>;
  prefs: Map<string, NotificationPrefs>;
}

/** The access and preferences of these members now, read once for a batch of deliveries. */
export async function sendCheck(tx: Tx, userIds: readonly string[]): Promise<SendCheck> {
  const unique = [...new Set(userIds)];
  if (!unique.length) return { readers: new Set(), prefs: new Map() };
  return { readers: await ticketReaders(tx, unique), prefs: await prefsOf(tx, unique) };
}

/**
 * Why a delivery recorded earlier must not go out now, or null while it is still owed: the same
 * access rule as when it was recorded (ticketReaders), and the member's current wish for that
 * event on that channel (and, for an item held for the digest, for the digest itself).
 */
export function withdrawn(
  check: SendCheck,
  userId: string,
  event: NotificationEvent,
  channel: OutboundChannel,
  digest = false,
): string | null {
  if (!check.readers.has(userId)) return 'the member no longer has access to tickets';
  const prefs = check.prefs.get(userId);
  if (!prefs?.events[event][channel]) return `the member turned ${channel} off for this event`;
  if (digest && !prefs.emailDigest) return 'the member turned the email digest off';
  return null;
}

export async function teamMemberIds(tx: Tx, teamId: string): Promise<string[]> {
  const r = await tx.query<{ userId: string }>(
    'select user_id as "userId" from team_members where org_id = $1::uuid and team_id = $2::uuid',
    [tx.orgId, teamId],
  );
  return r.rows.map((x) => x.userId);
}

/**
 * Text and names compared as one spelling: NFKC folds compatibility forms (full-width letters,
 * ligatures) and composes what was typed decomposed (e + U+0301 is é); upper- then lower-casing
 * folds case as Unicode's full case folding does for the letters that matter here (ß and SS).
 */
const fold = (s: string) => s.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFC');

/** What may continue a name: a mention ends where none of these follows. */
const NAME_CHAR = /[\p{L}\p{M}\p{N}_.-]/u;
/** An @ right after one of these is inside an address (ana@studio.example), not a mention. */
const WORD_CHAR = /[\p{L}\p{M}\p{N}_]/u;

/**
 * The members a note mentions: `@` followed by a member's display name or Discord username, in
 * any Unicode spelling and case, ending at a character that cannot continue a name. Names may
 * hold spaces (`@Ana Lima`), so each member's names are looked for rather than words parsed out;
 * at each @ only the longest name found there counts, so `@Ana Lima` is not also `@Ana`.
 */
export async function mentionedMembers(tx: Tx, text: string): Promise<string[]> {
  const folded = fold(text);
  if (!folded.includes('@')) return [];
  const r = await tx.query<{ userId: string; names: string[] }>(
    `select m.user_id as "userId", array_remove(array[u.display_name, da.username, da.global_name], null) as names
     from memberships m join users u on u.id = m.user_id
     left join discord_accounts da on da.user_id = m.user_id
     where m.org_id = $1::uuid`,
    [tx.orgId],
  );
  const byName = new Map<string, Set<string>>();
  for (const m of r.rows)
    for (const name of m.names) {
      const key = fold(name).trim();
      if (!key) continue;
      byName.set(key, (byName.get(key) ?? new Set()).add(m.userId));
    }
  const names = [...byName.keys()].sort((a, b) => b.length - a.length);
  const found = new Set<string>();
  for (let at = folded.indexOf('@'); at >= 0; at = folded.indexOf('@', at + 1)) {
    const before = [...folded.slice(Math.max(0, at - 2), at)].at(-1);
    if (before && WORD_CHAR.test(before)) continue;
    const rest = folded.slice(at + 1);
    const name = names.find((n) => {
      if (!rest.startsWith(n)) return false;
      const next = [...rest.slice(n.length, n.length + 2)][0];
      return !next || !NAME_CHAR.test(next);
    });
    for (const userId of name ? (byName.get(name) ?? []) : []) found.add(userId);
  }
  return [...found];
}

// ---------------------------------------------------------------------------------------------
// The member's notification centre (the API)

export const listInput = z.object({
  unread: z.boolean().default(false),
  /** Keyset cursor: the id of the last notification of the previous page. */
  before: id.optional(),
  limit: z.number().int().min(1).max(100).default(30),
});

const COLUMNS = `n.id, n.event, n.ticket_id as "ticketId", t.number as "ticketNumber", n.title, n.body,
  n.read_at as "readAt", n.created_at as "createdAt"`;

/** Newest first. */
export async function listNotifications(
  tx: Tx,
  userId: string,
  raw: z.input<typeof listInput> = {},
): Promise<Notification[]> {
  const input = parseInput(listInput, raw);
  const r = await tx.query<Notification>(
    `select ${COLUMNS} from notifications n
     left join tickets t on t.org_id = n.org_id and t.id = n.ticket_id
     where n.org_id = $1::uuid and n.user_id = $2::uuid and n.in_panel
       and (not $3::boolean or n.read_at is null)
       and ($4::uuid is null or (n.created_at, n.id) < (select created_at, id from notifications
                                                       where org_id = $1::uuid and id = $4::uuid))
     order by n.created_at desc, n.id desc limit $5::int`,
    [tx.orgId, userId, input.unread, input.before ?? null, input.limit],
  );
  return r.rows;
}

export async function unreadCount(tx: Tx, userId: string): Promise<number> {
  const r = await tx.query<{ n: number }>(
    `select count(*)::int as n from notifications
     where org_id = $1::uuid and user_id = $2::uuid and in_panel and read_at is null`,
    [tx.orgId, userId],
  );
  return r.rows[0]?.n ?? 0;
}

export const markReadInput = z.object({ ids: z.array(id).min(1).max(100) });

/** Marks some of the member's own notifications read; returns how many changed. */
export async function markRead(tx: Tx, userId: string, raw: z.input<typeof markReadInput>): Promise<number> {
  const input = parseInput(markReadInput, raw);
  const r = await tx.query(
    `update notifications set read_at = now()
     where org_id = $1::uuid and user_id = $2::uuid and id = any($3::uuid[]) and read_at is null`,
    [tx.orgId, userId, input.ids],
  );
  return r.rowCount ?? 0;
}

export async function markAllRead(tx: Tx, userId: string): Promise<number> {
  const r = await tx.query(
    `update notifications set read_at = now() where org_id = $1::uuid and user_id = $2::uuid and read_at is null`,
    [tx.orgId, userId],
  );
  return r.rowCount ?? 0;
}
