/**
 * Business-hours arithmetic in an IANA time zone, with holidays, across DST changes. Uses only
 * `Intl.DateTimeFormat` (no time-zone library): local wall times are turned into instants by
 * asking the zone for its offset, so a working day that spans a DST switch is as long as the
 * clock on the office wall says, not 24 h.
 */

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface BusinessCalendar {
  timezone: string;
  /** Per weekday, [start, end) minute-of-day ranges in local time (end may be 1440). */
  weeklyHours: Partial<Record<Weekday, ReadonlyArray<readonly [number, number]>>>;
  /** Local dates (YYYY-MM-DD) with no working hours. */
  holidays: readonly string[];
}

const MINUTE = 60_000;
// Walking further than this without finding enough working time means the calendar is empty.
const MAX_DAYS = 3 * 366;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** True when the runtime knows the zone. */
export function isValidTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

interface LocalParts {
  y: number;
  m: number;
  d: number;
  minute: number;
}

function localParts(ts: number, tz: string): LocalParts {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(ts))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    y: parts.year ?? 0,
    m: parts.month ?? 0,
    d: parts.day ?? 0,
    minute: (parts.hour ?? 0) * 60 + (parts.minute ?? 0),
  };
}

/** The local weekday and minute of the day of instant `at` in zone `tz` (which must be valid). */
export function localWeekMinute(
  at: Date,
  tz: string,
): { weekday: (typeof WEEKDAYS)[number]; minute: number } {
  const p = localParts(at.getTime(), tz);
  return { weekday: WEEKDAYS[new Date(Date.UTC(p.y, p.m - 1, p.d)).getUTCDay()] ?? 'sun', minute: p.minute };
}

/** The zone's offset from UTC at instant ts, in ms (local = utc + offset). */
function offsetAt(ts: number, tz: string): number {
  const p = localParts(ts, tz);
  const secs = new Date(Math.floor(ts / 1000) * 1000).getUTCSeconds();
  const asUtc = Date.UTC(p.y, p.m - 1, p.d, 0, p.minute, secs);
  return asUtc - Math.floor(ts / 1000) * 1000;
}

/**
 * The instant of a local wall time. In a DST gap (a time that does not exist) it gives the
 * instant the clock jumps to; in an overlap (a time that happens twice) the earlier one.
 */
export function zonedTimeToInstant(y: number, m: number, d: number, minuteOfDay: number, tz: string): number {
  const wall = Date.UTC(y, m - 1, d, 0, minuteOfDay);
  const day = 24 * 60 * MINUTE;
  // Offsets in force around that day: a zone changes offset at most once within it.
  const before = offsetAt(wall - day, tz);
  const offsets = new Set([before, offsetAt(wall, tz), offsetAt(wall + day, tz)]);
  const valid = [...offsets].map((o) => wall - o).filter((t) => offsetAt(t, tz) === wall - t);
  if (valid.length) return Math.min(...valid);
  // A gap: read the wall time with the offset before the jump, which lands after it.
  return wall - before;
}

const pad = (n: number) => String(n).padStart(2, '0');
const dateKey = (y: number, m: number, d: number) => `${y}-${pad(m)}-${pad(d)}`;

/** Working intervals [start, end) as instants, local day by local day, from the day holding `from`. */
function* workingIntervals(from: number, cal: BusinessCalendar): Generator<[number, number]> {
  const start = localParts(from, cal.timezone);
  const holidays = new Set(cal.holidays);
  for (let i = 0; i < MAX_DAYS; i++) {
    const day = new Date(Date.UTC(start.y, start.m - 1, start.d + i));
    const [y, m, d] = [day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate()];
    if (holidays.has(dateKey(y, m, d))) continue;
    const ranges = cal.weeklyHours[WEEKDAYS[day.getUTCDay()] as Weekday] ?? [];
    for (const [s, e] of [...ranges].sort((a, b) => a[0] - b[0])) {
      const a = zonedTimeToInstant(y, m, d, s, cal.timezone);
      const b = zonedTimeToInstant(y, m, d, e, cal.timezone);
      if (b > a) yield [a, b];
    }
  }
}

/**
 * `start` plus `minutes` of working time (calendar time when `cal` is null). Starting outside
 * working hours counts from the next opening. Null when that lies beyond the three years the
 * walk covers (a very large target on a sparse calendar): never due, rather than an error that
 * would fail every recompute of the ticket for good.
 */
export function addBusinessMinutes(start: Date, minutes: number, cal: BusinessCalendar | null): Date | null {
  const t0 = start.getTime();
  if (!cal) return new Date(t0 + minutes * MINUTE);
  let left = minutes * MINUTE;
  if (left <= 0) return new Date(t0);
  for (const [a, b] of workingIntervals(t0, cal)) {
    if (b <= t0) continue;
    const from = Math.max(a, t0);
    if (b - from >= left) return new Date(from + left);
    left -= b - from;
  }
  return null;
}

/** Working minutes in [from, to) (calendar minutes when `cal` is null). */
export function businessMinutesBetween(from: Date, to: Date, cal: BusinessCalendar | null): number {
  const [t0, t1] = [from.getTime(), to.getTime()];
  if (t1 <= t0) return 0;
  if (!cal) return (t1 - t0) / MINUTE;
  let total = 0;
  for (const [a, b] of workingIntervals(t0, cal)) {
    if (a >= t1) break;
    total += Math.max(0, Math.min(b, t1) - Math.max(a, t0));
  }
  return total / MINUTE;
}
