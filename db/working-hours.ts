import { z } from 'zod';
import { isValidTimeZone, localWeekMinute } from '../lib/business-time.js';
import { AppError } from '../lib/errors.js';
import { type Actor, recordChange } from './changes.js';
import type { Tx } from './tenant.js';
import { knownTimeZone, ZONE_HINT } from './time-zones.js';
import { parseInput } from './validate.js';

/**
 * A member's working hours in one organization: when auto-assignment may give them tickets. Each
 * day holds shifts as [start, end) in minutes after local midnight of `timeZone`; a day left out
 * (or empty) is a day off. A night shift crossing midnight is two shifts, one on each day. Null
 * (the default) means always: a member who never set hours is judged by presence alone.
 */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const shift = z
  .tuple([z.number().int().min(0).max(1439), z.number().int().min(1).max(1440)])
  .refine(([start, end]) => start < end, 'a shift ends after it starts (split a night shift at midnight)');
const day = z
  .array(shift)
  .max(6)
  .refine((shifts) => {
    const sorted = [...shifts].sort((a, b) => a[0] - b[0]);
    return sorted.every((s, i) => i === 0 || (sorted[i - 1] as [number, number])[1] <= s[0]);
  }, 'shifts of a day do not overlap');

export const workingHoursSchema = z
  .object({
    timeZone: z.string().max(64).refine(isValidTimeZone, ZONE_HINT),
    week: z
      .object(
        Object.fromEntries(WEEKDAYS.map((d) => [d, day.optional()])) as Record<
          Weekday,
          z.ZodOptional<typeof day>
        >,
      )
      .strict(),
  })
  .strict();
export type WorkingHours = z.infer<typeof workingHoursSchema>;

/** The body of a change: the hours, or null for always. */
export const workingHoursInput = z.object({ workingHours: workingHoursSchema.nullable() }).strict();

/** Whether `at` falls in one of the member's shifts (always, for null hours). */
export function inWorkingHours(hours: WorkingHours | null, at: Date): boolean {
  if (!hours) return true;
  // A zone this Node no longer knows: better a ticket than none for someone who set hours.
  if (!isValidTimeZone(hours.timeZone)) return true;
  const { weekday, minute } = localWeekMinute(at, hours.timeZone);
  return (hours.week[weekday] ?? []).some(([start, end]) => minute >= start && minute < end);
}

/** Stored hours read back; a shape the schema no longer takes counts as always rather than never. */
export function readWorkingHours(raw: unknown): WorkingHours | null {
  if (raw === null || raw === undefined) return null;
  const parsed = workingHoursSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

export async function getWorkingHours(tx: Tx, userId: string): Promise<WorkingHours | null> {
  const r = await tx.query<{ hours: unknown }>(
    'select working_hours as hours from memberships where org_id = $1::uuid and user_id = $2::uuid',
    [tx.orgId, userId],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'member not found');
  return readWorkingHours(r.rows[0].hours);
}

/** Every member's working hours (null: always), for showing who is at work now. */
export async function listWorkingHours(tx: Tx): Promise<Map<string, WorkingHours | null>> {
  const r = await tx.query<{ userId: string; hours: unknown }>(
    'select user_id as "userId", working_hours as hours from memberships where org_id = $1::uuid',
    [tx.orgId],
  );
  return new Map(r.rows.map((row) => [row.userId, readWorkingHours(row.hours)]));
}

/**
 * Sets a member's working hours (null: always), audited as `member.working_hours_set`. Who may
 * is the caller's business (the member themself, or members.manage).
 */
export async function setWorkingHours(
  tx: Tx,
  userId: string,
  raw: z.input<typeof workingHoursInput>,
  actor: Actor,
): Promise<WorkingHours | null> {
  const { workingHours } = parseInput(workingHoursInput, raw);
  const hours = workingHours && {
    ...workingHours,
    timeZone: await knownTimeZone(tx, workingHours.timeZone, 'workingHours.timeZone'),
  };
  const r = await tx.query<{ before: unknown }>(
    `update memberships m set working_hours = $3::jsonb, updated_at = now()
     from (select working_hours from memberships
            where org_id = $1::uuid and user_id = $2::uuid for no key update) b
     where m.org_id = $1::uuid and m.user_id = $2::uuid
     returning b.working_hours as before`,
    [tx.orgId, userId, hours ? JSON.stringify(hours) : null],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'member not found');
  await recordChange(tx, actor, {
    action: 'member.working_hours_set',
    target: { type: 'user', id: userId },
    data: { from: readWorkingHours(r.rows[0].before), to: hours },
  });
  return hours;
}
