// @ts-check
import { useMemo, useRef } from 'preact/hooks';
import { Chart, COLORS, DataTable, duration, percent } from './analytics-chart.js';
import { html } from './html.js';
import { navigate } from './router.js';

/**
 * The time-series dashboards, one section per analytics endpoint. Each shows its totals (with the
 * previous period's beside them when compared), a chart, the chart's numbers as a table and a
 * link to the same data as CSV.
 * @typedef {{ bucket: string, [k: string]: any }} Point
 * @typedef {{ group: string | null, points: Point[], total: Record<string, any> }} Series
 * @typedef {{ from: string, to: string, bucket: string, time?: string, series: Series[], previous: { from: string, to: string, series: Series[] } | null }} SeriesData
 * @typedef {{ data: SeriesData, csv: string }} SectionProps
 * @typedef {import('./analytics-chart.js').Line} Line
 * @typedef {import('./analytics-chart.js').Column} Column
 * @typedef {{ label: string, value: (t: Record<string, any>) => string }} Total
 */

/** The series without a group (the dashboards ask for none). @param {{ series: Series[] } | null} d */
export const only = (d) => d?.series[0] ?? null;

/**
 * A previous period's values on the current period's buckets, position by position (the two
 * periods have the same length; a week range can differ by one bucket at the end).
 * @param {Point[]} points
 * @param {Point[] | undefined} prev
 * @param {(p: Point) => number | null} pick
 */
export const aligned = (points, prev, pick) => points.map((_, i) => (prev?.[i] ? pick(prev[i]) : null));

/** @param {number | null | undefined} v */
export const num = (v) => (v === null || v === undefined ? '–' : String(v));

/**
 * The frame every series dashboard shares.
 * With `drill` (a bucket label to the URL of its tickets), a chart point and a table row open them.
 * With `note`, a sentence under the title (what the section's numbers do not follow).
 * @param {{ id: string, title: string, data: SeriesData, csv: string, totals: Total[], lines: Line[], columns: Column[], summary: string, format: (v: number) => string, drill?: ((label: string) => string) | undefined, note?: string | undefined }} props
 */
export function SeriesSection({
  id,
  title,
  data,
  csv,
  totals,
  lines,
  columns,
  summary,
  format,
  drill,
  note,
}) {
  const cur = only(data);
  const prev = only(data.previous);
  const labels = useMemo(() => cur?.points.map((p) => p.bucket) ?? [], [data]);
  // The latest drill through a ref: a new function each render must not redraw the chart.
  const drillRef = useRef(drill);
  drillRef.current = drill;
  const onPick = useMemo(
    () =>
      drill
        ? (/** @type {number} */ i) => {
            const to = labels[i] && drillRef.current?.(labels[i]);
            if (to) navigate(to);
          }
        : undefined,
    [!drill, labels],
  );
  const href = drill ? (/** @type {number} */ i) => drill(labels[i] ?? '') : undefined;
  return html`<section class="dash" aria-labelledby=${`${id}-title`} data-dashboard=${id}>
    <div class="dash-head">
      <h2 id=${`${id}-title`}>${title}</h2>
      <a class="button" href=${csv} download>Download CSV<span class="visually-hidden"> of ${title.toLowerCase()}</span></a>
    </div>
    ${note ? html`<p class="muted" data-note>${note}</p>` : null}
    <dl class="totals">
      ${totals.map(
        (t) =>
          html`<div data-total=${t.label}>
            <dt>${t.label}</dt>
            <dd>
              <span class="value">${cur ? t.value(cur.total) : '–'}</span>
              ${prev ? html` <span class="previous">previous period: <span class="value">${t.value(prev.total)}</span></span>` : null}
            </dd>
          </div>`,
      )}
    </dl>
    <${Chart} labels=${labels} lines=${lines} summary=${summary} format=${format} onPick=${onPick} />
    <${DataTable} caption=${`${title} per ${data.bucket}`} rows=${labels} columns=${columns} href=${href} hrefLabel="the tickets opened" />
  </section>`;
}

/** The busiest bucket of a series, for the chart's spoken summary. @param {Point[]} points @param {(p: Point) => number} pick */
function peak(points, pick) {
  let best = points[0];
  for (const p of points) if (best && pick(p) > pick(best)) best = p;
  return best && pick(best) > 0 ? `, most on ${best.bucket} (${pick(best)})` : '';
}

/** @param {SectionProps & { drill?: (label: string) => string }} props */
export function VolumeSection({ data, csv, drill }) {
  const pts = only(data)?.points ?? [];
  const prev = only(data.previous)?.points;
  const lines = useMemo(() => {
    /** @type {Line[]} */
    const l = [
      { label: 'Opened', values: pts.map((p) => p.opened), color: COLORS[0] ?? '', bars: true },
      { label: 'Solved', values: pts.map((p) => p.solved), color: COLORS[1] ?? '' },
      { label: 'Backlog', values: pts.map((p) => p.backlog), color: COLORS[2] ?? '' },
    ];
    if (prev)
      l.push({
        label: 'Opened, previous period',
        values: aligned(pts, prev, (p) => p.opened),
        color: COLORS[5] ?? '',
        dashed: true,
      });
    return l;
  }, [data]);
  const t = only(data)?.total;
  return html`<${SeriesSection}
    id="volume"
    title="Volume and backlog"
    data=${data}
    csv=${csv}
    drill=${drill}
    totals=${[
      { label: 'Opened', value: (/** @type {any} */ x) => num(x.opened) },
      { label: 'Solved', value: (/** @type {any} */ x) => num(x.solved) },
      { label: 'Merged', value: (/** @type {any} */ x) => num(x.merged) },
      { label: 'Backlog at the end', value: (/** @type {any} */ x) => num(x.backlog) },
    ]}
    lines=${lines}
    format=${(/** @type {number} */ v) => String(v)}
    summary=${`Tickets per ${data.bucket} from ${data.from} to ${data.to}: ${t?.opened ?? 0} opened, ${t?.solved ?? 0} solved, backlog ${t?.backlog ?? 0} at the end${peak(pts, (p) => p.opened)}.`}
    columns=${[
      { label: 'Opened', value: (/** @type {number} */ i) => num(pts[i]?.opened) },
      { label: 'Solved', value: (/** @type {number} */ i) => num(pts[i]?.solved) },
      { label: 'Merged', value: (/** @type {number} */ i) => num(pts[i]?.merged) },
      { label: 'Backlog', value: (/** @type {number} */ i) => num(pts[i]?.backlog) },
      ...(prev
        ? [{ label: 'Opened, previous period', value: (/** @type {number} */ i) => num(prev[i]?.opened) }]
        : []),
    ]}
  />`;
}

/** @param {SectionProps} props */
export function TimesSection({ data, csv }) {
  const pts = only(data)?.points ?? [];
  const hours = (/** @type {number | null} */ s) => (s === null ? null : Math.round((s / 3600) * 100) / 100);
  // First response, next response (from a player's message after a staff reply to the next
  // staff reply) and resolution, each as a median and a dashed p90 in one colour.
  const metrics = /** @type {const} */ ([
    ['firstResponse', 'First response', 0],
    ['nextResponse', 'Next response', 2],
    ['resolution', 'Resolution', 4],
  ]);
  const lines = useMemo(
    () =>
      /** @type {Line[]} */ (
        metrics.flatMap(([key, name, color]) => [
          {
            label: `${name}, median`,
            values: pts.map((p) => hours(p[key].median)),
            color: COLORS[color] ?? '',
          },
          {
            label: `${name}, p90`,
            values: pts.map((p) => hours(p[key].p90)),
            color: COLORS[color] ?? '',
            dashed: true,
          },
        ])
      ),
    [data],
  );
  const t = only(data)?.total;
  const business = data.time === 'business';
  const stats = metrics.flatMap(([key, name]) => [
    { key, name: `${name}, median`, stat: /** @type {'median' | 'p90'} */ ('median') },
    { key, name: `${name}, p90`, stat: /** @type {'median' | 'p90'} */ ('p90') },
  ]);
  return html`<${SeriesSection}
    id="times"
    title=${business ? 'Response and resolution times, business hours' : 'Response and resolution times'}
    data=${data}
    csv=${csv}
    totals=${stats.map((m) => ({ label: m.name, value: (/** @type {any} */ x) => duration(x[m.key][m.stat]) }))}
    lines=${lines}
    format=${(/** @type {number} */ v) => `${v}h`}
    summary=${`Response times in ${business ? 'business ' : ''}hours per ${data.bucket} from ${data.from} to ${data.to}: ${metrics
      .map(
        ([key, name]) =>
          `${name.toLowerCase()} median ${duration(t?.[key].median)}, p90 ${duration(t?.[key].p90)}`,
      )
      .join('; ')}.`}
    columns=${stats.map((m) => ({
      label: m.name,
      value: (/** @type {number} */ i) => duration(pts[i]?.[m.key][m.stat]),
    }))}
  />`;
}

/** @param {SectionProps} props */
export function SlaSection({ data, csv }) {
  const pts = only(data)?.points ?? [];
  const prev = only(data.previous)?.points;
  const pc = (/** @type {number | null} */ r) => (r === null ? null : Math.round(r * 1000) / 10);
  const lines = useMemo(() => {
    /** @type {Line[]} */
    const l = [{ label: 'SLA attainment', values: pts.map((p) => pc(p.attainment)), color: COLORS[1] ?? '' }];
    if (prev)
      l.push({
        label: 'Attainment, previous period',
        values: aligned(pts, prev, (p) => pc(p.attainment)),
        color: COLORS[5] ?? '',
        dashed: true,
      });
    return l;
  }, [data]);
  const t = only(data)?.total;
  return html`<${SeriesSection}
    id="sla"
    title="SLA attainment"
    data=${data}
    csv=${csv}
    totals=${[
      { label: 'Attainment', value: (/** @type {any} */ x) => percent(x.attainment) },
      { label: 'Tickets with an SLA', value: (/** @type {any} */ x) => num(x.withSla) },
      { label: 'Breached', value: (/** @type {any} */ x) => num(x.breached) },
      { label: 'Escalations', value: (/** @type {any} */ x) => num(x.escalations) },
    ]}
    lines=${lines}
    format=${(/** @type {number} */ v) => `${v}%`}
    summary=${`SLA attainment per ${data.bucket} from ${data.from} to ${data.to}: ${percent(t?.attainment)} overall, ${t?.breached ?? 0} of ${t?.withSla ?? 0} tickets with an SLA breached.`}
    columns=${[
      { label: 'Opened', value: (/** @type {number} */ i) => num(pts[i]?.tickets) },
      { label: 'With an SLA', value: (/** @type {number} */ i) => num(pts[i]?.withSla) },
      { label: 'Breached', value: (/** @type {number} */ i) => num(pts[i]?.breached) },
      { label: 'Attainment', value: (/** @type {number} */ i) => percent(pts[i]?.attainment) },
      { label: 'Escalations', value: (/** @type {number} */ i) => num(pts[i]?.escalations) },
    ]}
  />`;
}

/** @param {SectionProps} props */
export function CsatSection({ data, csv }) {
  const pts = only(data)?.points ?? [];
  const lines = useMemo(
    () =>
      /** @type {Line[]} */ ([
        { label: 'Average rating', values: pts.map((p) => p.average), color: COLORS[4] ?? '' },
      ]),
    [data],
  );
  const t = only(data)?.total;
  return html`<${SeriesSection}
    id="csat"
    title="Satisfaction (CSAT)"
    data=${data}
    csv=${csv}
    totals=${[
      { label: 'Average rating', value: (/** @type {any} */ x) => num(x.average) },
      { label: 'Ratings', value: (/** @type {any} */ x) => num(x.rated) },
      { label: 'Response rate', value: (/** @type {any} */ x) => percent(x.responseRate) },
      { label: 'Ratings 1 to 5', value: (/** @type {any} */ x) => x.distribution.join(' / ') },
    ]}
    lines=${lines}
    format=${(/** @type {number} */ v) => String(v)}
    summary=${`Average satisfaction rating (1 to 5) per ${data.bucket} from ${data.from} to ${data.to}: ${num(t?.average)} over ${t?.rated ?? 0} ratings.`}
    columns=${[
      { label: 'Ratings', value: (/** @type {number} */ i) => num(pts[i]?.rated) },
      { label: 'Average', value: (/** @type {number} */ i) => num(pts[i]?.average) },
      { label: 'Response rate', value: (/** @type {number} */ i) => percent(pts[i]?.responseRate) },
    ]}
  />`;
}

/** @param {SectionProps} props */
export function ReopensSection({ data, csv }) {
  const pts = only(data)?.points ?? [];
  const lines = useMemo(
    () =>
      /** @type {Line[]} */ ([
        { label: 'Reopened', values: pts.map((p) => p.reopened), color: COLORS[3] ?? '', bars: true },
        { label: 'Resolved', values: pts.map((p) => p.resolved), color: COLORS[1] ?? '' },
      ]),
    [data],
  );
  const t = only(data)?.total;
  return html`<${SeriesSection}
    id="reopens"
    title="Reopens"
    data=${data}
    csv=${csv}
    totals=${[
      { label: 'Reopen rate', value: (/** @type {any} */ x) => percent(x.rate) },
      { label: 'Reopened', value: (/** @type {any} */ x) => num(x.reopened) },
      { label: 'Resolved', value: (/** @type {any} */ x) => num(x.resolved) },
    ]}
    lines=${lines}
    format=${(/** @type {number} */ v) => String(v)}
    summary=${`Tickets resolved and reopened per ${data.bucket} from ${data.from} to ${data.to}: ${t?.reopened ?? 0} of ${t?.resolved ?? 0} reopened (${percent(t?.rate)}).`}
    columns=${[
      { label: 'Resolved', value: (/** @type {number} */ i) => num(pts[i]?.resolved) },
      { label: 'Reopened', value: (/** @type {number} */ i) => num(pts[i]?.reopened) },
      { label: 'Rate', value: (/** @type {number} */ i) => percent(pts[i]?.rate) },
    ]}
  />`;
}

/**
 * Player activity from the game SDKs: sessions started, players active, reports filed, and the
 * tickets opened per 1,000 active players. Not filtered by team, category or origin (sessions
 * carry none of them): `filtered` says so under the title while such a filter is chosen.
 * @param {SectionProps & { filtered?: boolean }} props
 */
export function PlayersSection({ data, csv, filtered }) {
  const pts = only(data)?.points ?? [];
  const prev = only(data.previous)?.points;
  const lines = useMemo(() => {
    /** @type {Line[]} */
    const l = [
      {
        label: 'Active players',
        values: pts.map((p) => p.activePlayers),
        color: COLORS[0] ?? '',
        bars: true,
      },
      { label: 'Sessions', values: pts.map((p) => p.sessions), color: COLORS[1] ?? '' },
      { label: 'Reports', values: pts.map((p) => p.reports), color: COLORS[3] ?? '' },
      {
        label: 'Tickets per 1,000 players',
        values: pts.map((p) => p.ticketsPer1000Players),
        color: COLORS[4] ?? '',
      },
    ];
    if (prev)
      l.push({
        label: 'Active players, previous period',
        values: aligned(pts, prev, (p) => p.activePlayers),
        color: COLORS[5] ?? '',
        dashed: true,
      });
    return l;
  }, [data]);
  const t = only(data)?.total;
  return html`<${SeriesSection}
    id="players"
    title="Player activity"
    data=${data}
    csv=${csv}
    note=${filtered ? 'Sessions and reports carry no team, category or origin: these numbers are not filtered by them.' : undefined}
    totals=${[
      { label: 'Active players', value: (/** @type {any} */ x) => num(x.activePlayers) },
      { label: 'Sessions', value: (/** @type {any} */ x) => num(x.sessions) },
      { label: 'Reports', value: (/** @type {any} */ x) => num(x.reports) },
      { label: 'Tickets per 1,000 players', value: (/** @type {any} */ x) => num(x.ticketsPer1000Players) },
    ]}
    lines=${lines}
    format=${(/** @type {number} */ v) => String(v)}
    summary=${`Player activity per ${data.bucket} from ${data.from} to ${data.to}: ${t?.activePlayers ?? 0} players active in ${t?.sessions ?? 0} sessions, ${t?.reports ?? 0} reports, ${num(t?.ticketsPer1000Players)} tickets per 1,000 players${peak(pts, (p) => p.activePlayers)}.`}
    columns=${[
      { label: 'Active players', value: (/** @type {number} */ i) => num(pts[i]?.activePlayers) },
      { label: 'Sessions', value: (/** @type {number} */ i) => num(pts[i]?.sessions) },
      { label: 'Reports', value: (/** @type {number} */ i) => num(pts[i]?.reports) },
      { label: 'Tickets opened', value: (/** @type {number} */ i) => num(pts[i]?.ticketsOpened) },
      {
        label: 'Tickets per 1,000 players',
        value: (/** @type {number} */ i) => num(pts[i]?.ticketsPer1000Players),
      },
      ...(prev
        ? [
            {
              label: 'Active players, previous period',
              value: (/** @type {number} */ i) => num(prev[i]?.activePlayers),
            },
          ]
        : []),
    ]}
  />`;
}
