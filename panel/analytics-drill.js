// @ts-check

/**
 * Drill-down from a chart point to the tickets behind it: the inbox, every status, filtered by
 * the ticket list's own filters (created in the bucket, and the dashboards' filters). Buckets are
 * local to the org's time zone; the list takes instants, so the bucket's wall-clock bounds are
 * turned into UTC here.
 */

/**
 * The offset of `timeZone` from UTC at the instant `ms`, in milliseconds.
 * @param {number} ms
 * @param {string} timeZone
 */
function offsetAt(ms, timeZone) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(ms));
  /** @param {string} t */
  const get = (t) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  const asUtc = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant a wall-clock time (`2026-11-30T14:00`, as UTC fields) has in `timeZone`. Twice
 * round, so a bound near a daylight-saving change lands on the offset in force then.
 * @param {number} wallMs
 * @param {string} timeZone
 */
export function wallToInstant(wallMs, timeZone) {
  let t = wallMs - offsetAt(wallMs, timeZone);
  t = wallMs - offsetAt(t, timeZone);
  return new Date(t).toISOString();
}

const DAY = 86_400_000;

/**
 * The local bounds of a bucket label of the analytics API: `[start, end)` as wall-clock ms.
 * @param {string} label `2026-11-30` (day or week) or `2026-11-30T14:00` (hour)
 * @param {string} bucket hour, day or week
 */
function wallRange(label, bucket) {
  const start = Date.parse(label.length > 10 ? `${label}:00Z` : `${label}T00:00:00Z`);
  const length = bucket === 'hour' ? 3_600_000 : bucket === 'week' ? 7 * DAY : DAY;
  return [start, start + length];
}

/**
 * The inbox URL listing the tickets opened in one bucket, with the dashboards' filters.
 * @param {{ orgId: string, label: string, bucket: string, timeZone: string, filters: Record<string, string> }} p
 */
export function openedTicketsHref({ orgId, label, bucket, timeZone, filters }) {
  const [from, to] = wallRange(label, bucket);
  const q = new URLSearchParams({ status: 'all', sort: 'created' });
  q.set('createdFrom', wallToInstant(/** @type {number} */ (from), timeZone));
  q.set('createdTo', wallToInstant(/** @type {number} */ (to), timeZone));
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  return `/o/${orgId}?${q}`;
}
