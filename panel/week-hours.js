// @ts-check
/**
 * Hours in a week as people type them, shared by the SLA calendars' editor and a member's
 * working hours: a day is ranges "09:00-12:00, 13:00-18:00", kept as minutes from midnight.
 */

export const DAYS = /** @type {const} */ ([
  ['mon', 'Monday'],
  ['tue', 'Tuesday'],
  ['wed', 'Wednesday'],
  ['thu', 'Thursday'],
  ['fri', 'Friday'],
  ['sat', 'Saturday'],
  ['sun', 'Sunday'],
]);

/** 540 → "09:00". @param {number} m */
const hhmm = (m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

/** A day's ranges as typed: "09:00-12:00, 13:00-18:00". @param {[number, number][] | undefined} ranges */
export const formatRanges = (ranges) => (ranges ?? []).map(([s, e]) => `${hhmm(s)}-${hhmm(e)}`).join(', ');

/**
 * "09:00-12:00, 13:00-18:00" → [[540, 720], [780, 1080]]; empty → no hours that day. Throws a
 * sentence naming what is wrong, shown next to the day's field; the API checks overlaps and order.
 * @param {string} text
 * @returns {[number, number][]}
 */
export function parseRanges(text) {
  const parts = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return parts.map((part) => {
    const m = part.match(/^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/);
    if (!m) throw new Error(`"${part}" is not a range like 09:00-17:00`);
    const start = Number(m[1]) * 60 + Number(m[2]);
    const end = Number(m[3]) * 60 + Number(m[4]);
    if (Number(m[2]) > 59 || Number(m[4]) > 59 || start > 1440 || end > 1440)
      throw new Error(`"${part}" is not a time of day`);
    return /** @type {[number, number]} */ ([start, end]);
  });
}
