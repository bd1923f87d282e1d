import { recordChange, SYSTEM } from './changes.js';
import type { Tx } from './tenant.js';

/**
 * What the anomaly detector (workers/anomalies.ts) keeps per organization: the baseline of a
 * metric's hourly count, the hourly counts it folds in, and the spikes it alerted. The counts
 * come from the tickets themselves over a bounded, indexed range (tickets_org_id_created_at_idx),
 * in UTC hours: a local-time rollup hour repeats or vanishes at a clock change.
 */

export type AnomalyMetric = 'tickets_opened';

export interface Baseline {
  metric: AnomalyMetric;
  /** Start of the first hour not folded into the baseline yet. */
  upto: Date;
  mean: number;
  variance: number;
  hours: number;
  /** Start of the hour of the spike already alerted, while it lasts. */
  spikeSince: Date | null;
}

const HOUR = 3_600_000;

/**
 * The org's baseline of `metric`, locked for this transaction (two worker processes folding the
 * same org wait for each other instead of both alerting). A first call starts it at the hour of
 * the org's first ticket within `lookbackHours`, else at `hour`: hours before the org had any
 * traffic would teach the baseline that zero is normal.
 */
export async function lockBaseline(
  tx: Tx,
  metric: AnomalyMetric,
  hour: Date,
  lookbackHours: number,
): Promise<Baseline> {
  await tx.query(
    `insert into analytics_anomaly_baselines (org_id, metric, upto)
     values ($1::uuid, $2::text, coalesce(
       (select date_trunc('hour', min(created_at)) from tickets
         where org_id = $1::uuid and created_at >= $3::timestamptz and created_at < $4::timestamptz),
       $4::timestamptz))
     on conflict (org_id, metric) do nothing`,
    [tx.orgId, metric, new Date(hour.getTime() - lookbackHours * HOUR), hour],
  );
  const r = await tx.query<Baseline>(
    `select metric, upto, mean, variance, hours, spike_since as "spikeSince"
       from analytics_anomaly_baselines where org_id = $1::uuid and metric = $2::text for update`,
    [tx.orgId, metric],
  );
  return r.rows[0] as Baseline;
}

export async function saveBaseline(tx: Tx, b: Baseline): Promise<void> {
  await tx.query(
    `update analytics_anomaly_baselines
        set upto = $3::timestamptz, mean = $4::float8, variance = $5::float8, hours = $6::int,
            spike_since = $7::timestamptz
      where org_id = $1::uuid and metric = $2::text`,
    [tx.orgId, b.metric, b.upto, b.mean, b.variance, b.hours, b.spikeSince],
  );
}

/**
 * Tickets opened per UTC hour from `from` (an hour start) up to `until`, every hour present
 * (zeros included), oldest first; the last entry is the hour `until` falls in, so far.
 */
export async function openedPerHour(tx: Tx, from: Date, until: Date): Promise<number[]> {
  const r = await tx.query<{ n: number }>(
    `select coalesce(c.n, 0)::int as n
       from generate_series($2::timestamptz, date_trunc('hour', $3::timestamptz), interval '1 hour') h
       left join (select date_trunc('hour', created_at) as hour, count(*) as n from tickets
                   where org_id = $1::uuid and created_at >= $2::timestamptz and created_at <= $3::timestamptz
                   group by 1) c on c.hour = h
      order by h`,
    [tx.orgId, from, until],
  );
  return r.rows.map((x) => x.n);
}

export interface Anomaly {
  id: string;
  metric: AnomalyMetric;
  hour: Date;
  observed: number;
  baseline: number;
  threshold: number;
}

/**
 * Records a spike and its `anomaly.detected` event (audit and outbox in the same transaction,
 * so the webhook and the Discord alert go out once it commits). Returns null when this spike was
 * already recorded: a repeat raises nothing.
 */
export async function recordAnomaly(tx: Tx, a: Omit<Anomaly, 'id'>): Promise<Anomaly | null> {
  const r = await tx.query<{ id: string; detectedAt: Date }>(
    `insert into analytics_anomalies (org_id, metric, hour, observed, baseline, threshold)
     values ($1::uuid, $2::text, $3::timestamptz, $4::int, $5::float8, $6::float8)
     on conflict (org_id, metric, hour) do nothing
     returning id, detected_at as "detectedAt"`,
    [tx.orgId, a.metric, a.hour, a.observed, a.baseline, a.threshold],
  );
  const row = r.rows[0];
  if (!row) return null;
  const anomaly = { id: row.id, ...a };
  const payload = {
    anomaly: {
      id: row.id,
      metric: a.metric,
      hourStart: a.hour.toISOString(),
      observed: a.observed,
      baseline: Math.round(a.baseline * 10) / 10,
      threshold: Math.ceil(a.threshold),
      detectedAt: row.detectedAt.toISOString(),
    },
  };
  await recordChange(tx, SYSTEM, {
    action: 'anomaly.detected',
    data: payload.anomaly,
    target: { type: 'anomaly', id: row.id },
    event: { type: 'anomaly.detected', aggregateType: 'anomaly', aggregateId: row.id, payload },
  });
  return anomaly;
}

/** The spikes alerted, newest first. */
export async function listAnomalies(tx: Tx, limit = 50): Promise<Anomaly[]> {
  const r = await tx.query<Anomaly>(
    `select id, metric, hour, observed, baseline, threshold from analytics_anomalies
      where org_id = $1::uuid order by hour desc limit $2::int`,
    [tx.orgId, limit],
  );
  return r.rows;
}
