import { z } from 'zod';
import { isValidTimeZone } from '../lib/business-time.js';
import { type Actor, changedAny, diffChanges, type FieldChanges, recordChange } from './changes.js';
import type { Tx } from './tenant.js';
import { knownTimeZone, ZONE_HINT } from './time-zones.js';
import { parseInput } from './validate.js';

/**
 * A member's notification preferences in one org: per event and channel on or off, quiet hours in
 * their own time zone, and whether email comes as one daily digest instead of one mail per event.
 * Only changed choices are stored; everything else is `DEFAULT_PREFS`.
 */

export const NOTIFICATION_EVENTS = [
  'assigned',
  'mentioned',
  'player_replied',
  'sla_warning',
  'sla_breached',
  'new_in_queue',
  'rule',
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];
export const NOTIFICATION_CHANNELS = ['panel', 'discord', 'email', 'push'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];
/** The channels that leave the panel (and so honour quiet hours). */
export type OutboundChannel = Exclude<NotificationChannel, 'panel'>;

type Matrix = Record<NotificationEvent, Record<NotificationChannel, boolean>>;

// The panel hears of everything. A DM interrupts, so only what is the member's own business does
// by default; a new ticket in a busy team's queue would be a DM a minute. Email is opt-in. Push
// interrupts like a DM and reaches only devices the member turned it on for, so it follows the
// DM's defaults.
const on = (discord: boolean) => ({ panel: true, discord, email: false, push: discord });
export const DEFAULT_PREFS: Matrix = {
  assigned: on(true),
  mentioned: on(true),
  player_replied: on(false),
  sla_warning: on(true),
  sla_breached: on(true),
  new_in_queue: on(false),
  rule: on(true),
};

export interface NotificationSettings {
  /** IANA zone the quiet hours are read in. */
  timeZone: string;
  /** Minutes after midnight; equal start and end: no quiet hours. */
  quietStart: number;
  quietEnd: number;
  emailDigest: boolean;
  /** The hour (0..23, in `timeZone`) the daily digest goes out. */
  digestHour: number;
}

export interface NotificationPrefs extends NotificationSettings {
  events: Matrix;
}

const DEFAULT_SETTINGS: NotificationSettings = {
  timeZone: 'UTC',
  quietStart: 0,
  quietEnd: 0,
  emailDigest: false,
  digestHour: 8,
};

const minuteOfDay = z.number().int().min(0).max(1439);
const channelFlags = z
  .object({ panel: z.boolean(), discord: z.boolean(), email: z.boolean(), push: z.boolean() })
  .partial()
  .strict();

/** A change to some of a member's preferences; what is left out stays as it is. */
export const prefsInput = z
  .object({
    timeZone: z.string().max(64).refine(isValidTimeZone, ZONE_HINT),
    quietStart: minuteOfDay,
    quietEnd: minuteOfDay,
    emailDigest: z.boolean(),
    digestHour: z.number().int().min(0).max(23),
    events: z
      .object(
        Object.fromEntries(NOTIFICATION_EVENTS.map((e) => [e, channelFlags.optional()])) as Record<
          NotificationEvent,
          z.ZodOptional<typeof channelFlags>
        >,
      )
      .strict(),
  })
  .partial()
  .strict();

function matrixWith(rows: { event: NotificationEvent; channel: NotificationChannel; enabled: boolean }[]) {
  const m = Object.fromEntries(
    NOTIFICATION_EVENTS.map((e) => [e, { ...DEFAULT_PREFS[e] }]),
  ) as unknown as Matrix;
  for (const r of rows) m[r.event][r.channel] = r.enabled;
  return m;
}

/** The preferences of several members at once (the worker's fan-out reads them in one go). */
export async function prefsOf(tx: Tx, userIds: readonly string[]): Promise<Map<string, NotificationPrefs>> {
  // One after the other: a transaction's connection runs one query at a time.
  const choices = await tx.query<{
    userId: string;
    event: NotificationEvent;
    channel: NotificationChannel;
    enabled: boolean;
  }>(
    `select user_id as "userId", event, channel, enabled from notification_prefs
     where org_id = $1::uuid and user_id = any($2::uuid[])`,
    [tx.orgId, userIds],
  );
  const settings = await tx.query<NotificationSettings & { userId: string }>(
    `select user_id as "userId", time_zone as "timeZone", quiet_start as "quietStart", quiet_end as "quietEnd",
       email_digest as "emailDigest", digest_hour as "digestHour"
     from notification_settings where org_id = $1::uuid and user_id = any($2::uuid[])`,
    [tx.orgId, userIds],
  );
  const out = new Map<string, NotificationPrefs>();
  for (const userId of userIds) {
    const s = settings.rows.find((r) => r.userId === userId);
    out.set(userId, {
      timeZone: s?.timeZone ?? DEFAULT_SETTINGS.timeZone,
      quietStart: s?.quietStart ?? DEFAULT_SETTINGS.quietStart,
      quietEnd: s?.quietEnd ?? DEFAULT_SETTINGS.quietEnd,
      emailDigest: s?.emailDigest ?? DEFAULT_SETTINGS.emailDigest,
      digestHour: s?.digestHour ?? DEFAULT_SETTINGS.digestHour,
      events: matrixWith(choices.rows.filter((r) => r.userId === userId)),
    });
  }
  return out;
}

/** What a member who changed nothing has. */
export const defaultPrefs = (): NotificationPrefs => ({ ...DEFAULT_SETTINGS, events: matrixWith([]) });

export async function getPrefs(tx: Tx, userId: string): Promise<NotificationPrefs> {
  return (await prefsOf(tx, [userId])).get(userId) as NotificationPrefs;
}

/** Changes the caller's own preferences (audited as a settings change) and returns them all. */
export async function updatePrefs(
  tx: Tx,
  userId: string,
  raw: z.input<typeof prefsInput>,
  actor: Actor,
): Promise<NotificationPrefs> {
  const input = parseInput(prefsInput, raw);
  if (input.timeZone !== undefined) input.timeZone = await knownTimeZone(tx, input.timeZone, 'timeZone');
  // The member's row locked while their preferences are read and changed, so the entry's
  // "from" is what the change replaced.
  await tx.query(
    'select 1 from memberships where org_id = $1::uuid and user_id = $2::uuid for no key update',
    [tx.orgId, userId],
  );
  const before = await getPrefs(tx, userId);
  const flags = Object.entries(input.events ?? {}).flatMap(([event, chans]) =>
    Object.entries(chans ?? {}).map(([channel, enabled]) => ({
      event,
      channel,
      enabled: enabled as boolean,
    })),
  );
  if (flags.length) {
    await tx.query(
      `insert into notification_prefs (org_id, user_id, event, channel, enabled)
       select $1::uuid, $2::uuid, e, c, v from unnest($3::text[], $4::text[], $5::boolean[]) as x(e, c, v)
       on conflict (org_id, user_id, event, channel) do update set enabled = excluded.enabled`,
      [tx.orgId, userId, flags.map((f) => f.event), flags.map((f) => f.channel), flags.map((f) => f.enabled)],
    );
  }
  const { events: _events, ...settings } = input;
  if (Object.keys(settings).length) {
    await tx.query(
      `insert into notification_settings (org_id, user_id, time_zone, quiet_start, quiet_end, email_digest,
         digest_hour)
       values ($1::uuid, $2::uuid, coalesce($3::text, 'UTC'), coalesce($4::int, 0), coalesce($5::int, 0),
               coalesce($6::boolean, false), coalesce($7::int, 8))
       on conflict (org_id, user_id) do update set
         time_zone = coalesce($3::text, notification_settings.time_zone),
         quiet_start = coalesce($4::int, notification_settings.quiet_start),
         quiet_end = coalesce($5::int, notification_settings.quiet_end),
         email_digest = coalesce($6::boolean, notification_settings.email_digest),
         digest_hour = coalesce($7::int, notification_settings.digest_hour),
         updated_at = now()`,
      [
        tx.orgId,
        userId,
        settings.timeZone ?? null,
        settings.quietStart ?? null,
        settings.quietEnd ?? null,
        settings.emailDigest ?? null,
        settings.digestHour ?? null,
      ],
    );
  }
  const after = await getPrefs(tx, userId);
  const changes = prefsChanges(before, after);
  if (changedAny(changes)) {
    await recordChange(tx, actor, {
      action: 'notification_prefs.updated',
      target: { type: 'user', id: userId },
      data: { changes },
    });
  }
  return after;
}

/** Settings by name and each event's channels as `<event>.<channel>`, as they were and became. */
function prefsChanges(before: NotificationPrefs, after: NotificationPrefs): FieldChanges {
  const { events: be, ...bs } = before;
  const { events: ae, ...as } = after;
  const changes = diffChanges(bs, as);
  for (const e of NOTIFICATION_EVENTS) Object.assign(changes, diffChanges(be[e], ae[e], undefined, `${e}.`));
  return changes;
}

/** The minute of the day at `at` in `timeZone` (0..1439). */
export function minuteIn(timeZone: string, at: Date): number {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const n = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return n('hour') * 60 + n('minute');
}

/** Whether `at` falls in the member's quiet hours (start inclusive, end exclusive, may wrap midnight). */
export function inQuietHours(
  s: Pick<NotificationSettings, 'timeZone' | 'quietStart' | 'quietEnd'>,
  at: Date,
): boolean {
  if (s.quietStart === s.quietEnd) return false;
  const m = minuteIn(s.timeZone, at);
  return s.quietStart < s.quietEnd
    ? m >= s.quietStart && m < s.quietEnd
    : m >= s.quietStart || m < s.quietEnd;
}
