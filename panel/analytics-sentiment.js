// @ts-check
import { useMemo } from 'preact/hooks';
import { COLORS, percent } from './analytics-chart.js';
import { aligned, num, only, SeriesSection } from './analytics-series.js';
import { html } from './html.js';

/**
 * @typedef {import('./analytics-series.js').SectionProps} SectionProps
 * @typedef {import('./analytics-chart.js').Line} Line
 */

/** An average score as shown: two decimals at most, a sign when above zero. @param {number | null | undefined} v */
const score = (v) =>
  v === null || v === undefined ? '–' : `${v > 0 ? '+' : ''}${Math.round(v * 100) / 100}`;

/**
 * Player sentiment: the average score of the player messages written in each bucket (a line)
 * and the share of them that read negative (against the percent axis on the right), with the
 * counts per label in the totals and the table. `note` says which of the page's filters the
 * numbers do not follow (messages carry their ticket's team and category, one at a time, and no
 * origin filter applies).
 * @param {SectionProps & { note?: string | undefined }} props
 */
export function SentimentSection({ data, csv, note }) {
  const pts = only(data)?.points ?? [];
  const prev = only(data.previous)?.points;
  const lines = useMemo(() => {
    /** @type {Line[]} */
    const l = [
      { label: 'Average score', values: pts.map((p) => p.averageScore), color: COLORS[0] ?? '' },
      {
        label: 'Negative share',
        values: pts.map((p) => p.negativeShare),
        color: COLORS[3] ?? '',
        share: true,
      },
    ];
    if (prev)
      l.push({
        label: 'Average score, previous period',
        values: aligned(pts, prev, (p) => p.averageScore),
        color: COLORS[5] ?? '',
        dashed: true,
      });
    return l;
  }, [data]);
  const t = only(data)?.total;
  return html`<${SeriesSection}
    id="sentiment"
    title="Player sentiment"
    data=${data}
    csv=${csv}
    note=${note}
    totals=${[
      { label: 'Scored messages', value: (/** @type {any} */ x) => num(x.messages) },
      { label: 'Average score', value: (/** @type {any} */ x) => score(x.averageScore) },
      { label: 'Negative share', value: (/** @type {any} */ x) => percent(x.negativeShare) },
      { label: 'Negative', value: (/** @type {any} */ x) => num(x.negative) },
      { label: 'Neutral', value: (/** @type {any} */ x) => num(x.neutral) },
      { label: 'Positive', value: (/** @type {any} */ x) => num(x.positive) },
    ]}
    lines=${lines}
    format=${(/** @type {number} */ v) => score(v)}
    summary=${`Player sentiment per ${data.bucket} from ${data.from} to ${data.to}: ${t?.messages ?? 0} scored player messages, average score ${score(t?.averageScore)}, ${percent(t?.negativeShare)} negative (${t?.negative ?? 0} negative, ${t?.neutral ?? 0} neutral, ${t?.positive ?? 0} positive).`}
    columns=${[
      { label: 'Scored messages', value: (/** @type {number} */ i) => num(pts[i]?.messages) },
      { label: 'Average score', value: (/** @type {number} */ i) => score(pts[i]?.averageScore) },
      { label: 'Negative share', value: (/** @type {number} */ i) => percent(pts[i]?.negativeShare) },
      { label: 'Negative', value: (/** @type {number} */ i) => num(pts[i]?.negative) },
      { label: 'Neutral', value: (/** @type {number} */ i) => num(pts[i]?.neutral) },
      { label: 'Positive', value: (/** @type {number} */ i) => num(pts[i]?.positive) },
      ...(prev
        ? [
            {
              label: 'Average score, previous period',
              value: (/** @type {number} */ i) => score(prev[i]?.averageScore),
            },
          ]
        : []),
    ]}
  />`;
}
