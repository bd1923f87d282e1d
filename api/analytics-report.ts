import type { Bucket, Sums } from '../db/analytics-read.js';
import { binLowerSeconds, HIST_BINS } from '../db/analytics-sql.js';

/** Pure helpers of the analytics routes: dates, buckets, percentiles, metrics and CSV. */

const DAY = 86_400_000;
const parseDay = (d: string) => Date.parse(`${d}T00:00:00Z`);
const dayText = (ms: number) => new Date(ms).toISOString().slice(0, 10);
export const addDays = (d: string, n: number) => dayText(parseDay(d) + n * DAY);
export const daysBetween = (from: string, to: string) =>
  Math.round((parseDay(to) - parseDay(from)) / DAY) + 1;

/** Every bucket label of the range, so series have no holes (labels as rollupSums writes them). */
export function bucketsOf(from: string, to: string, bucket: Bucket): string[] {
  const out: string[] = [];
  const days = daysBetween(from, to);
  if (bucket === 'hour') {
    for (let d = 0; d < days; d++) {
      const day = addDays(from, d);
      for (let h = 0; h < 24; h++) out.push(`${day}T${String(h).padStart(2, '0')}:00`);
    }
  } else if (bucket === 'day') {
    for (let d = 0; d < days; d++) out.push(addDays(from, d));
  } else {
    // ISO weeks start on Monday, as Postgres's date_trunc('week').
    const first = parseDay(from);
    const monday = first - ((new Date(first).getUTCDay() + 6) % 7) * DAY;
    for (let t = monday; t <= parseDay(to); t += 7 * DAY) out.push(dayText(t));
  }
  return out;
}

/** A percentile read off the 24-bin histogram, interpolated inside its bin (seconds). */
export function percentile(hist: readonly number[], q: number): number | null {
  const total = hist.reduce((a, b) => a + b, 0);
  if (total <= 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let k = 0; k < HIST_BINS; k++) {
    const c = hist[k] ?? 0;
    if (c > 0 && seen + c >= rank) {
      const lo = binLowerSeconds(k);
      const hi = k === 0 ? 90 : binLowerSeconds(k) * 1.5;
      return Math.round(lo + ((rank - seen) / c) * (hi - lo));
    }
    seen += c;
  }
  return Math.round(binLowerSeconds(HIST_BINS - 1));
}

export interface Durations {
  count: number;
  mean: number | null;
  median: number | null;
  p90: number | null;
}

/** Calendar time, or working hours only (as the fold counted them, migration 170). */
export type TimeBasis = 'calendar' | 'business';

export function durations(s: Sums | undefined, time: TimeBasis = 'calendar'): Durations {
  const [n, sum, hist] = s
    ? time === 'business'
      ? [s.bdurN, s.bdurSum, s.bdurHist]
      : [s.durN, s.durSum, s.durHist]
    : [0, 0, []];
  return n <= 0
    ? { count: 0, mean: null, median: null, p90: null }
    : { count: n, mean: Math.round(sum / n), median: percentile(hist, 0.5), p90: percentile(hist, 0.9) };
}

const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 10_000) / 10_000 : null);

const zero = (bucket: string, group: string | null): Sums => ({
  bucket,
  group,
  n: 0,
  durN: 0,
  durSum: 0,
  durHist: Array(HIST_BINS).fill(0),
  sla: 0,
  breached: 0,
  escalated: 0,
  reopened: 0,
  merged: 0,
  rated: 0,
  ratingSum: 0,
  ratingHist: [0, 0, 0, 0, 0],
  bdurN: 0,
  bdurSum: 0,
  bdurHist: Array(HIST_BINS).fill(0),
});

/** Adds b into a (same shape). */
export function add(a: Sums, b: Sums): Sums {
  return {
    ...a,
    n: a.n + b.n,
    durN: a.durN + b.durN,
    durSum: a.durSum + b.durSum,
    durHist: a.durHist.map((v, i) => v + (b.durHist[i] ?? 0)),
    sla: a.sla + b.sla,
    breached: a.breached + b.breached,
    escalated: a.escalated + b.escalated,
    reopened: a.reopened + b.reopened,
    merged: a.merged + b.merged,
    rated: a.rated + b.rated,
    ratingSum: a.ratingSum + b.ratingSum,
    ratingHist: a.ratingHist.map((v, i) => v + (b.ratingHist[i] ?? 0)),
    bdurN: a.bdurN + b.bdurN,
    bdurSum: a.bdurSum + b.bdurSum,
    bdurHist: a.bdurHist.map((v, i) => v + (b.bdurHist[i] ?? 0)),
  };
}

/** Sums by group, then by bucket label (every bucket present, zeros where nothing happened). */
export function byGroup(rows: Sums[][], buckets: string[]): Map<string | null, Map<string, Sums[]>> {
  const groups = new Map<string | null, Map<string, Sums[]>>();
  rows.forEach((list, kindIndex) => {
    for (const r of list) {
      if (!groups.has(r.group)) groups.set(r.group, new Map());
    }
    for (const [g, m] of groups) {
      for (const b of buckets) {
        if (!m.has(b))
          m.set(
            b,
            rows.map(() => zero(b, g)),
          );
      }
    }
    for (const r of list) {
      const slot = groups.get(r.group)?.get(r.bucket);
      if (slot) slot[kindIndex] = r;
    }
  });
  if (groups.size === 0) groups.set(null, new Map(buckets.map((b) => [b, rows.map(() => zero(b, null))])));
  return groups;
}

/**
 * What each endpoint reports from its kinds' sums (in the order its route asks for them);
 * durations in the time basis asked for.
 */
export const METRICS = {
  volume: ([opened, resolved]: Sums[]) => ({
    opened: opened?.n ?? 0,
    solved: (resolved?.n ?? 0) - (resolved?.merged ?? 0),
    merged: resolved?.merged ?? 0,
  }),
  responseTimes: ([opened, resolved, reply]: Sums[], time: TimeBasis = 'calendar') => ({
    firstResponse: durations(opened, time),
    // Reply rows carry the waits they ended (db/analytics-sql.ts).
    nextResponse: durations(reply, time),
    resolution: durations(resolved, time),
  }),
  sla: ([opened]: Sums[]) => ({
    tickets: opened?.n ?? 0,
    withSla: opened?.sla ?? 0,
    breached: opened?.breached ?? 0,
    attainment: ratio((opened?.sla ?? 0) - (opened?.breached ?? 0), opened?.sla ?? 0),
    escalations: opened?.escalated ?? 0,
  }),
  reopens: ([resolved]: Sums[]) => ({
    resolved: resolved?.n ?? 0,
    reopened: resolved?.reopened ?? 0,
    rate: ratio(resolved?.reopened ?? 0, resolved?.n ?? 0),
  }),
  csat: ([resolved]: Sums[]) => ({
    rated: resolved?.rated ?? 0,
    average:
      resolved && resolved.rated > 0 ? Math.round((resolved.ratingSum / resolved.rated) * 100) / 100 : null,
    distribution: resolved?.ratingHist ?? [0, 0, 0, 0, 0],
    responseRate: ratio(resolved?.rated ?? 0, (resolved?.n ?? 0) - (resolved?.merged ?? 0)),
  }),
};

type Flat = Record<string, string | number | null>;

function flatten(prefix: string, v: unknown, out: Flat) {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(prefix ? `${prefix}.${k}` : k, x, out);
  } else if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) flatten(`${prefix}.${i + 1}`, x, out);
  } else {
    out[prefix] = (v as string | number | null) ?? null;
  }
}

const cell = (v: string | number | null) => {
  if (v === null) return '';
  const s = String(v);
  // Quote what CSV needs quoted, and defuse cells a spreadsheet would run as a formula.
  const safe = /^[=+\-@\t\r]/.test(s) && typeof v === 'string' ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
};

/** Rows of nested objects as CSV (RFC 4180, CRLF), columns from the union of their keys. */
export function toCsv(rows: Record<string, unknown>[]): string {
  const flat = rows.map((r) => {
    const out: Flat = {};
    flatten('', r, out);
    return out;
  });
  const columns = [...new Set(flat.flatMap((r) => Object.keys(r)))];
  const lines = [columns.map(cell).join(',')];
  for (const r of flat) lines.push(columns.map((c) => cell(r[c] ?? null)).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** One bucket's player activity (db/analytics-player-read.ts) as the API reports it. */
export function playerMetrics(b: { sessions: number; players: number; reports: number; opened: number }) {
  return {
    sessions: b.sessions,
    activePlayers: b.players,
    reports: b.reports,
    ticketsOpened: b.opened,
    // Tickets opened per 1,000 players active in the same bucket (none when nobody played).
    ticketsPer1000Players: b.players > 0 ? Math.round((b.opened / b.players) * 1000 * 100) / 100 : null,
  };
}
