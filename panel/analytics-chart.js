// @ts-check
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { html } from './html.js';

/**
 * @typedef {{ label: string, values: (number | null)[], color: string, bars?: boolean, dashed?: boolean, share?: boolean }} Line
 * @typedef {{ label: string, value: (row: number) => string }} Column
 */

/** Colours readable on both the light and the dark panel background (canvas can't use CSS variables). */
export const COLORS = ['#4f6bed', '#0f9d76', '#d97706', '#c2410c', '#7c3aed', '#64748b'];

/**
 * A bucket label of the API (`2026-11-30`, `2026-11-30T14:00`, local to the org) as seconds on a
 * UTC axis: the chart shows the org's wall-clock labels as they are, whatever the browser's zone.
 * @param {string} label
 */
export const labelSeconds = (label) =>
  Date.parse(label.length > 10 ? `${label}:00Z` : `${label}T00:00:00Z`) / 1000;

/** @param {string} name */
const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';

/**
 * A uPlot time-series chart: bars or lines, a previous period dashed on the same x positions. The
 * canvas is a picture (role img, described by `summary`); the same numbers are in the table the
 * caller puts beside it, so nothing is only in the canvas.
 * With `onPick`, a click on the plot picks the bucket under the cursor (the drill-down; the table
 * beside the chart links the same buckets for the keyboard). Lines marked `share` (ratios 0..1)
 * are drawn against a percent axis on the right, so a share and a score can share one chart.
 * @param {{ labels: string[], lines: Line[], summary: string, format: (v: number) => string, height?: number, onPick?: (row: number) => void }} props
 */
export function Chart({ labels, lines, summary, format, height = 220, onPick }) {
  const box = useRef(/** @type {HTMLDivElement | null} */ (null));
  useEffect(() => {
    const el = box.current;
    if (!el || !labels.length) return;
    const axis = {
      stroke: cssVar('--muted'),
      grid: { stroke: cssVar('--border'), width: 1 },
      ticks: { show: false },
    };
    const bars = uPlot.paths.bars?.({ size: [0.7, 24] });
    const shares = lines.some((l) => l.share);
    /** @type {uPlot.Options} */
    const opts = {
      width: Math.max(280, el.clientWidth),
      height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      scales: { x: { time: true }, ...(shares ? { share: { range: [0, 1] } } : {}) },
      axes: [
        axis,
        { ...axis, size: 60, values: (_u, vals) => vals.map((v) => format(v)) },
        ...(shares
          ? [
              {
                ...axis,
                scale: 'share',
                side: 1,
                size: 50,
                grid: { show: false },
                values: (/** @type {uPlot} */ _u, /** @type {number[]} */ vals) =>
                  vals.map((v) => percent(v)),
              },
            ]
          : []),
      ],
      series: [
        {},
        ...lines.map((l) => ({
          label: l.label,
          scale: l.share ? 'share' : 'y',
          stroke: l.color,
          width: l.bars ? 1 : 2,
          fill: l.bars ? `${l.color}88` : undefined,
          dash: l.dashed ? [6, 4] : undefined,
          paths: l.bars ? bars : undefined,
          points: { show: false },
          spanGaps: false,
        })),
      ],
    };
    /** @type {uPlot.AlignedData} */
    const data = [labels.map(labelSeconds), ...lines.map((l) => l.values)];
    const plot = new uPlot(opts, data, el);
    const pick = () => {
      const i = plot.cursor.idx;
      if (onPick && i !== null && i !== undefined) onPick(i);
    };
    if (onPick) {
      plot.over.addEventListener('click', pick);
      plot.over.style.cursor = 'pointer';
    }
    // Follows the page's width (phones, a resized window) without drawing again on every frame.
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [labels, lines, height, onPick]);
  return html`<div class="chart-wrap">
    <div class="chart" role="img" aria-label=${summary} ref=${box}></div>
    <ul class="chart-key" aria-hidden="true">
      ${lines.map(
        (l) =>
          html`<li><span class=${`swatch${l.dashed ? ' dashed' : ''}`} style=${{ borderColor: l.color }}></span>${l.label}</li>`,
      )}
    </ul>
  </div>`;
}

/**
 * The numbers behind a chart as a table, folded away by default: the accessible way to read the
 * chart, and the place the values can be copied from.
 * @param {{ caption: string, rows: string[], columns: Column[], open?: boolean, href?: ((row: number) => string) | undefined, hrefLabel?: string }} props
 */
export function DataTable({ caption, rows, columns, open = false, href, hrefLabel = '' }) {
  return html`<details class="chart-table" open=${open}>
    <summary>Show the numbers as a table</summary>
    <div class="table-scroll">
      <table>
        <caption class="visually-hidden">${caption}</caption>
        <thead>
          <tr>
            <th scope="col">Period</th>
            ${columns.map((c) => html`<th scope="col">${c.label}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${rows.map(
            (r, i) =>
              html`<tr>
                <th scope="row">${href ? html`<a href=${href(i)} aria-label=${`${r}: ${hrefLabel}`}>${r}</a>` : r}</th>
                ${columns.map((c) => html`<td>${c.value(i)}</td>`)}
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
  </details>`;
}

/**
 * Seconds in words a person reads at a glance: 45s, 12m, 3h 20m, 2d 4h.
 * @param {number | null | undefined} s
 */
export function duration(s) {
  if (s === null || s === undefined) return '–';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.round((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.round((s % 86_400) / 3600)}h`;
}

/** @param {number | null | undefined} r a ratio 0..1 */
export const percent = (r) => (r === null || r === undefined ? '–' : `${Math.round(r * 1000) / 10}%`);
