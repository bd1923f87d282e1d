// @ts-check
import { duration } from './analytics-chart.js';
import { html } from './html.js';

/**
 * The dashboards that are tables by nature: workload per assignee and the peak-hours heatmap (a
 * weekday × hour grid whose cells are shaded by count; the number is in each cell, so the shading
 * only repeats what is written).
 * @typedef {{ assigneeId: string | null, open: number, replies: number, resolved: number, handleTime: { median: number | null, p90: number | null } }} Assignee
 */

/** @param {{ id: string, title: string, csv: string, children: any }} props */
function Frame({ id, title, csv, children }) {
  return html`<section class="dash" aria-labelledby=${`${id}-title`} data-dashboard=${id}>
    <div class="dash-head">
      <h2 id=${`${id}-title`}>${title}</h2>
      <a class="button" href=${csv} download>Download CSV<span class="visually-hidden"> of ${title.toLowerCase()}</span></a>
    </div>
    ${children}
  </section>`;
}

/** @param {{ data: { from: string, to: string, assignees: Assignee[] }, names: Map<string, string>, csv: string }} props */
export function WorkloadSection({ data, names, csv }) {
  return html`<${Frame} id="workload" title="Workload" csv=${csv}>
    ${
      data.assignees.length
        ? html`<div class="table-scroll">
            <table class="workload">
              <caption class="visually-hidden">Per assignee: open tickets now, replies, tickets resolved and handle time from ${data.from} to ${data.to}</caption>
              <thead>
                <tr>
                  <th scope="col">Assignee</th>
                  <th scope="col">Open now</th>
                  <th scope="col">Replies</th>
                  <th scope="col">Resolved</th>
                  <th scope="col">Handle time, median</th>
                  <th scope="col">Handle time, p90</th>
                </tr>
              </thead>
              <tbody>
                ${data.assignees.map(
                  (a) =>
                    html`<tr data-assignee=${a.assigneeId ?? 'unassigned'}>
                      <th scope="row">${a.assigneeId ? (names.get(a.assigneeId) ?? a.assigneeId) : 'Unassigned'}</th>
                      <td>${a.open}</td>
                      <td>${a.replies}</td>
                      <td>${a.resolved}</td>
                      <td>${duration(a.handleTime.median)}</td>
                      <td>${duration(a.handleTime.p90)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
        : html`<p class="muted">Nobody has open tickets, replies or resolved tickets in this range.</p>`
    }
  <//>`;
}

const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/** @param {{ data: { from: string, to: string, timeZone: string, cells: number[][] }, csv: string }} props */
export function HeatmapSection({ data, csv }) {
  const max = Math.max(0, ...data.cells.flat());
  let busiest = '';
  for (const [d, hours] of data.cells.entries()) {
    const h = hours.indexOf(max);
    if (max > 0 && h >= 0 && !busiest) busiest = `${WEEKDAYS[d]} ${String(h).padStart(2, '0')}:00`;
  }
  // Five shades: the class carries the level (no inline style: the CSP allows none in markup).
  const level = (/** @type {number} */ n) =>
    n === 0 || max === 0 ? 0 : Math.min(5, Math.ceil((n / max) * 5));
  return html`<${Frame} id="heatmap" title="Peak hours" csv=${csv}>
    <p class="muted">
      Tickets opened per weekday and hour (${data.timeZone}), ${data.from} to ${data.to}${busiest ? `; busiest: ${busiest} (${max})` : ''}.
    </p>
    <div class="table-scroll">
      <table class="heatmap">
        <caption class="visually-hidden">Tickets opened per weekday (rows) and hour of the day (columns)</caption>
        <thead>
          <tr>
            <th scope="col"><span class="visually-hidden">Weekday</span></th>
            ${Array.from({ length: 24 }, (_, h) => html`<th scope="col">${String(h).padStart(2, '0')}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${data.cells.map(
            (hours, d) =>
              html`<tr>
                <th scope="row">${WEEKDAYS[d]?.slice(0, 3)}<span class="visually-hidden">${WEEKDAYS[d]?.slice(3)}</span></th>
                ${hours.map((n) => html`<td class=${`heat-${level(n)}`}>${n}</td>`)}
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
  <//>`;
}
