import { z } from 'zod';
import { type BusinessCalendar, isValidTimeZone, WEEKDAYS } from '../lib/business-time.js';
import { AppError } from '../lib/errors.js';
import { type Actor, changedAny, diffChanges, recordChange } from './changes.js';
import { id } from './schemas.js';
import { slaChanged } from './sla-policies.js';
import type { Tx } from './tenant.js';
import { knownTimeZone, ZONE_HINT } from './time-zones.js';
import { parseInput } from './validate.js';

/**
 * Business calendars: the working hours and holidays SLA clocks count in (lib/business-time.ts
 * walks them), and the organization's default one. A change that moves due times emits
 * `sla.settings_changed` (sla-policies.ts), so the workers recompute the open tickets' clocks.
 */

const minute = z.number().int().min(0).max(1440);
const range = z.tuple([minute, minute]).refine(([s, e]) => s < e, 'a range ends after it starts');
const dayRanges = z
  .array(range)
  .max(12)
  .refine((rs) => {
    const sorted = [...rs].sort((a, b) => a[0] - b[0]);
    return sorted.every((r, i) => i === 0 || (sorted[i - 1] as [number, number])[1] <= r[0]);
  }, 'ranges of one day must not overlap');
const weeklyHoursSchema = z
  .partialRecord(z.enum(WEEKDAYS), dayRanges)
  .refine(
    (w) => Object.values(w).some((rs) => rs && rs.length > 0),
    'at least one working range in the week',
  );
const localDate = z.iso.date();

export const calendarInput = z.object({
  name: z.string().trim().min(1).max(100),
  timezone: z.string().max(64).refine(isValidTimeZone, ZONE_HINT),
  /** Minute-of-day [start, end) ranges per weekday (sun..sat), e.g. { mon: [[540, 1080]] } for 9–18. */
  weeklyHours: weeklyHoursSchema,
  holidays: z.array(localDate).max(1000).default([]),
});
// Without its default here, a change that leaves out holidays would clear them.
export const updateCalendarInput = calendarInput
  .extend({ holidays: z.array(localDate).max(1000).optional() })
  .partial()
  .extend({ id });

export interface Calendar extends BusinessCalendar {
  id: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

const CALENDAR_COLUMNS = `id, name, timezone, weekly_hours as "weeklyHours",
  coalesce((select array_agg(to_char(h, 'YYYY-MM-DD') order by h) from unnest(holidays) h), '{}') as holidays,
  created_at as "createdAt", updated_at as "updatedAt"`;

const calendarTarget = (cid: string) => ({ type: 'business_calendar', id: cid });

export async function createCalendar(
  tx: Tx,
  raw: z.input<typeof calendarInput>,
  actor: Actor,
): Promise<Calendar> {
  const input = parseInput(calendarInput, raw);
  input.timezone = await knownTimeZone(tx, input.timezone, 'timezone');
  const r = await tx.query<Calendar>(
    `insert into business_calendars (org_id, name, timezone, weekly_hours, holidays)
     values ($1::uuid, $2::text, $3::text, $4::jsonb, $5::date[]) returning ${CALENDAR_COLUMNS}`,
    [tx.orgId, input.name, input.timezone, JSON.stringify(input.weeklyHours), [...new Set(input.holidays)]],
  );
  const cal = r.rows[0] as Calendar;
  await recordChange(tx, actor, {
    action: 'sla.calendar_created',
    data: { name: cal.name },
    target: calendarTarget(cal.id),
  });
  return cal;
}

export async function updateCalendar(
  tx: Tx,
  raw: z.input<typeof updateCalendarInput>,
  actor: Actor,
): Promise<Calendar> {
  const input = parseInput(updateCalendarInput, raw);
  if (input.timezone !== undefined) input.timezone = await knownTimeZone(tx, input.timezone, 'timezone');
  const b = await tx.query<Calendar>(
    `select ${CALENDAR_COLUMNS} from business_calendars where org_id = $1::uuid and id = $2::uuid for update`,
    [tx.orgId, input.id],
  );
  const before = b.rows[0];
  if (!before) throw new AppError('not_found', 'business calendar not found');
  const r = await tx.query<Calendar>(
    `update business_calendars set name = coalesce($3::text, name), timezone = coalesce($4::text, timezone),
       weekly_hours = coalesce($5::jsonb, weekly_hours), holidays = coalesce($6::date[], holidays)
     where org_id = $1::uuid and id = $2::uuid returning ${CALENDAR_COLUMNS}`,
    [
      tx.orgId,
      input.id,
      input.name ?? null,
      input.timezone ?? null,
      input.weeklyHours ? JSON.stringify(input.weeklyHours) : null,
      input.holidays ? [...new Set(input.holidays)] : null,
    ],
  );
  const cal = r.rows[0] as Calendar;
  // Saved unchanged, no due time moves: no entry and no recompute.
  const changes = diffChanges(before, cal, ['name', 'timezone', 'weeklyHours', 'holidays']);
  if (changedAny(changes)) {
    await recordChange(tx, actor, {
      action: 'sla.calendar_updated',
      target: calendarTarget(cal.id),
      data: { changes },
      event: slaChanged(tx.orgId),
    });
  }
  return cal;
}

/**
 * Refused (`conflict`) while a policy uses it; the organization's default is cleared, and then
 * the due times that counted in it move to calendar time (`sla.settings_changed`).
 */
export async function deleteCalendar(tx: Tx, calendarId: string, actor: Actor): Promise<void> {
  const used = await tx.query(
    'select 1 from sla_policies where org_id = $1::uuid and business_calendar_id = $2::uuid',
    [tx.orgId, parseInput(id, calendarId)],
  );
  if (used.rowCount) throw new AppError('conflict', 'an SLA policy still uses this calendar');
  // The organization row held as setDefaultCalendar holds it, so the default read is the one cleared.
  const d = await tx.query(
    'select 1 from organizations where id = $1::uuid and business_calendar_id = $2::uuid for update',
    [tx.orgId, calendarId],
  );
  const wasDefault = (d.rowCount ?? 0) > 0;
  const r = await tx.query('delete from business_calendars where org_id = $1::uuid and id = $2::uuid', [
    tx.orgId,
    calendarId,
  ]);
  if (!r.rowCount) throw new AppError('not_found', 'business calendar not found');
  await recordChange(tx, actor, {
    action: 'sla.calendar_deleted',
    target: calendarTarget(calendarId),
    ...(wasDefault ? { event: slaChanged(tx.orgId) } : {}),
  });
}

export async function listCalendars(tx: Tx): Promise<Calendar[]> {
  const r = await tx.query<Calendar>(
    `select ${CALENDAR_COLUMNS} from business_calendars where org_id = $1::uuid order by name`,
    [tx.orgId],
  );
  return r.rows;
}

/** The organization's default calendar id; null when SLA targets count calendar time. */
export async function getDefaultCalendarId(tx: Tx): Promise<string | null> {
  const r = await tx.query<{ id: string | null }>(
    'select business_calendar_id as id from organizations where id = $1::uuid',
    [tx.orgId],
  );
  return r.rows[0]?.id ?? null;
}

/** The organization's default calendar (used by policies without their own); null for calendar time. */
export async function setDefaultCalendar(tx: Tx, calendarId: string | null, actor: Actor): Promise<void> {
  const r = await tx.query<{ calendarId: string | null }>(
    `with old as (select business_calendar_id from organizations where id = $1::uuid for update)
     update organizations set business_calendar_id = $2::uuid from old where id = $1::uuid
     returning old.business_calendar_id as "calendarId"`,
    [tx.orgId, calendarId === null ? null : parseInput(id, calendarId)],
  );
  const changes = diffChanges(r.rows[0], { calendarId }, ['calendarId']);
  // The same default again moves no due time: no entry and no recompute.
  if (!changedAny(changes)) return;
  await recordChange(tx, actor, {
    action: 'sla.default_calendar_set',
    data: { calendarId, changes },
    target: { type: 'organization', id: tx.orgId },
    event: slaChanged(tx.orgId),
  });
}
