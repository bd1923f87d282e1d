import { OTHER_GROUP } from './analytics-read.js';
import type { SENTIMENT_DIMS } from './analytics-sentiment.js';
import type { Tx } from './tenant.js';

/** One sentiment dimension column, or none (the total). */
export type SentimentDim = (typeof SENTIMENT_DIMS)[number];

export interface SentimentQuery {
  /** Local dates (the org's time zone), both included. */
  from: string;
  to: string;
  bucket: 'hour' | 'day' | 'week';
  /** The one dimension filtered or grouped by (the rollups are keyed by one at a time). */
  dim: SentimentDim | null;
  /** Only these values of `dim` (ids). */
  values?: string[] | undefined;
  /** One series per value of `dim`. */
  grouped: boolean;
  /** Also the period from here to the day before `from`, its labels prefixed `prev:`. */
  previousFrom?: string | undefined;
  /**
   * When grouped: only the `groupLimit` values with the most messages over the current period
   * keep their own group; the rest are summed into one, OTHER_GROUP, in the statement.
   */
  groupLimit?: number | undefined;
}

/** The sums of one bucket (label) and group: every measure adds up, so averages are exact. */
export interface SentimentBucket {
  bucket: string;
  /** The dimension's value ('' for none), null when not grouped. */
  group: string | null;
  messages: number;
  scoreSum: number;
  negative: number;
  neutral: number;
  positive: number;
}

const LABEL = {
  hour: `to_char(bucket, 'YYYY-MM-DD"T"HH24:00')`,
  day: 'bucket::text',
  week: `date_trunc('week', bucket)::date::text`,
} as const;

/**
 * Scored player messages, their score sum and their count per label, per bucket and group, from
 * the sentiment rollups (analytics-sentiment.ts): one statement over the hourly rows for hour
 * buckets, the daily rows otherwise (a week is the sum of its days), the previous period in the
 * same statement.
 */
export async function sentimentTrend(tx: Tx, q: SentimentQuery): Promise<SentimentBucket[]> {
  const hourly = q.bucket === 'hour';
  const values: unknown[] = [tx.orgId, q.dim ?? '*', q.previousFrom ?? q.from, q.to, q.from];
  const range = hourly
    ? 'bucket >= $3::date::timestamp and bucket < ($4::date + 1)::timestamp'
    : 'bucket between $3::date and $4::date';
  let only = '';
  if (q.dim && q.values?.length) {
    // Stored as text: ids in Postgres's lowercase spelling.
    values.push(q.values.map((v) => v.toLowerCase()));
    only = ` and value = any($${values.length}::text[])`;
  }
  let sql = `select case when bucket < $5::date${hourly ? '::timestamp' : ''} then 'prev:' || ${LABEL[q.bucket]}
                else ${LABEL[q.bucket]} end as bucket,
            ${q.grouped ? 'value' : 'null::text'} as "group", false as other,
            sum(n)::int as messages, sum(score_sum)::float8 as "scoreSum", sum(negative)::int as negative,
            sum(neutral)::int as neutral, sum(positive)::int as positive
       from ${hourly ? 'analytics_sentiment_hourly' : 'analytics_sentiment_daily'}
      where org_id = $1::uuid and dim = $2::text and ${range}${only}
      group by 1, 2`;
  if (q.grouped && q.groupLimit !== undefined) {
    // Each group's messages over the current period, then its place by them (ties by value, so
    // the answer is stable); past the limit a row belongs to the one folded group.
    values.push(q.groupLimit);
    const limit = `$${values.length}::int`;
    sql = `select bucket, case when place <= ${limit} then "group" end as "group", place > ${limit} as other,
                  sum(messages)::int as messages, sum("scoreSum")::float8 as "scoreSum",
                  sum(negative)::int as negative, sum(neutral)::int as neutral, sum(positive)::int as positive
             from (select r2.*, dense_rank() over (order by counted desc, "group") as place
                     from (select r1.*,
                                  coalesce(sum(messages) filter (where bucket not like 'prev:%')
                                           over (partition by "group"), 0) as counted
                             from (${sql}) r1) r2) r3
            group by 1, 2, 3`;
  }
  const r = await tx.query<SentimentBucket & { other: boolean }>(sql, values);
  return r.rows.map(({ other, ...row }) => (other ? { ...row, group: OTHER_GROUP } : row));
}
