import {
  type Anomaly,
  type Baseline,
  lockBaseline,
  openedPerHour,
  recordAnomaly,
  saveBaseline,
} from '../db/analytics-anomalies.js';
import type { Tx } from '../db/tenant.js';

/**
 * Spikes in an organization's hourly ticket volume, against an exponentially weighted moving
 * average (EWMA) of the hours before. The count of the hour in progress is compared, as it grows,
 * with a whole hour's threshold, so a spike alerts within the fold that sees it cross and never
 * early in a quiet hour. One alert per spike: the spike stays open until a finished hour falls back
 * under the threshold, and nothing more is raised meanwhile. Run after each analytics fold that
 * folded something (workers/analytics.ts): a spike always brings new tickets, and the hours
 * between are folded in on the next run.
 */
export interface DetectorSettings {
  /** Weight of each new hour in the EWMA: 0.05 ≈ the last 40 hours. */
  alpha: number;
  /**
   * Standard deviations above the mean that count as a spike. The deviation adds the mean to the
   * variance (a Poisson count's own variance): hourly counts of a few tickets have heavier tails
   * than the EWMA variance of a quiet org says.
   */
  sigmas: number;
  /** And at least this many times the mean (a very regular org has a tiny deviation). */
  ratio: number;
  /** And at least this many tickets in the hour: small orgs' bursts of a few never page anyone. */
  minCount: number;
  /** Hours of baseline needed before anything alerts. */
  minHours: number;
  /** How far back a first run, or a run after downtime, reads. */
  lookbackHours: number;
}

export const ANOMALY_DEFAULTS: DetectorSettings = {
  alpha: 0.05,
  sigmas: 4.5,
  ratio: 2,
  minCount: 20,
  minHours: 24,
  lookbackHours: 168,
};

type State = Pick<Baseline, 'mean' | 'variance' | 'hours' | 'spikeSince'>;

/** The count an hour must reach to be a spike, given the baseline before it. */
export function threshold(s: State, cfg: DetectorSettings): number {
  return Math.max(cfg.minCount, s.mean + cfg.sigmas * Math.sqrt(s.variance + s.mean), cfg.ratio * s.mean);
}

/**
 * Folds one finished hour into the baseline (West's incremental EWMA variance). The first hour
 * seeds the mean. A spike alerted earlier ends when a finished hour is back under the threshold.
 */
export function foldHour(s: State, count: number, cfg: DetectorSettings): State {
  const spikeSince = s.spikeSince && count < threshold(s, cfg) ? null : s.spikeSince;
  if (s.hours === 0) return { mean: count, variance: 0, hours: 1, spikeSince };
  const diff = count - s.mean;
  const incr = cfg.alpha * diff;
  return {
    mean: s.mean + incr,
    variance: (1 - cfg.alpha) * (s.variance + diff * incr),
    hours: s.hours + 1,
    spikeSince,
  };
}

/** Whether the hour in progress, at `count` so far, starts a new spike. */
export function isNewSpike(s: State, count: number, cfg: DetectorSettings): boolean {
  return !s.spikeSince && s.hours >= cfg.minHours && count >= threshold(s, cfg);
}

const HOUR = 3_600_000;
const hourOf = (d: Date) => new Date(Math.floor(d.getTime() / HOUR) * HOUR);

/**
 * Brings the org's ticket-volume baseline up to `now` and records an anomaly (with its
 * `anomaly.detected` outbox event) when the hour in progress is a new spike. Returns the anomaly
 * recorded, if any.
 */
export async function detectAnomalies(
  tx: Tx,
  now: Date,
  cfg: DetectorSettings = ANOMALY_DEFAULTS,
): Promise<Anomaly | null> {
  const current = hourOf(now);
  const b = await lockBaseline(tx, 'tickets_opened', current, cfg.lookbackHours);
  // After a long stop, the hours older than the lookback are skipped rather than read.
  const oldest = new Date(current.getTime() - cfg.lookbackHours * HOUR);
  const from = b.upto < oldest ? oldest : b.upto;
  if (from > current) return null;
  const counts = await openedPerHour(tx, from, now);
  let state: State = b;
  for (const n of counts.slice(0, -1)) state = foldHour(state, n, cfg);
  const observed = counts.at(-1) ?? 0;
  let anomaly: Anomaly | null = null;
  if (isNewSpike(state, observed, cfg)) {
    anomaly = await recordAnomaly(tx, {
      metric: 'tickets_opened',
      hour: current,
      observed,
      baseline: state.mean,
      threshold: threshold(state, cfg),
    });
    state = { ...state, spikeSince: current };
  }
  await saveBaseline(tx, { ...b, ...state, upto: current });
  return anomaly;
}
