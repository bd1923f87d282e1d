// @ts-check
import { useEffect, useState } from 'preact/hooks';
import { openedTicketsHref } from './analytics-drill.js';
import { SentimentSection } from './analytics-sentiment.js';
import {
  CsatSection,
  PlayersSection,
  ReopensSection,
  SlaSection,
  TimesSection,
  VolumeSection,
} from './analytics-series.js';
import { HeatmapSection, WorkloadSection } from './analytics-tables.js';
import { ApiError, api, cachedList, describeError } from './api.js';
import { html } from './html.js';
import { label, SOURCES } from './labels.js';
import { navigate } from './router.js';

/**
 * @typedef {{ id: string, name: string, role: string }} Org
 * @typedef {{ from: string, to: string, bucket: string, team: string, category: string, source: string, compare: boolean, time: string }} Choice
 * @typedef {{ volume: any, times: any, sla: any, reopens: any, csat: any, workload: any, heatmap: any, players: any, sentiment: any }} Report
 */

/** What the dashboards read, one request each, asked together. */
const SERIES = /** @type {const} */ ([
  ['volume', 'volume'],
  ['times', 'response-times'],
  ['sla', 'sla'],
  ['reopens', 'reopens'],
  ['csat', 'csat'],
]);

/** The choices as the page's query string holds them (a dashboard is a bookmark). @param {string} search */
function choiceOf(search) {
  const q = new URLSearchParams(search);
  return {
    from: q.get('from') ?? '',
    to: q.get('to') ?? '',
    bucket: q.get('bucket') ?? 'day',
    team: q.get('team') ?? '',
    category: q.get('category') ?? '',
    source: q.get('source') ?? '',
    compare: q.get('compare') === 'true',
    // Response times in calendar time, or in the working hours of each ticket's SLA calendar.
    time: q.get('time') === 'business' ? 'business' : 'calendar',
  };
}

/**
 * The API query for a choice: the range and filters always, bucket and compare only for the
 * series endpoints. Empty values are left out so the API's defaults (last 30 days) apply.
 * @param {Choice} c
 * @param {boolean} series
 */
function queryOf(c, series) {
  const q = new URLSearchParams();
  for (const k of /** @type {const} */ (['from', 'to', 'team', 'category', 'source']))
    if (c[k]) q.set(k, c[k]);
  if (series) {
    q.set('bucket', c.bucket);
    if (c.compare) q.set('compare', 'true');
    if (c.time === 'business') q.set('time', 'business');
  }
  return q;
}

/**
 * The player activity query: range, bucket and comparison only. Sessions and reports carry no
 * team, category or origin, and the API refuses those filters for them.
 * @param {Choice} c
 */
function playerQueryOf(c) {
  const q = new URLSearchParams();
  for (const k of /** @type {const} */ (['from', 'to'])) if (c[k]) q.set(k, c[k]);
  q.set('bucket', c.bucket);
  if (c.compare) q.set('compare', 'true');
  return q;
}

/**
 * The sentiment query: range, bucket, comparison and the team or the category (messages count
 * under their ticket's, one dimension per query: with both chosen, neither applies).
 * @param {Choice} c
 */
function sentimentQueryOf(c) {
  const q = playerQueryOf(c);
  if (c.team && !c.category) q.set('team', c.team);
  if (c.category && !c.team) q.set('category', c.category);
  return q;
}

/** What the sentiment numbers do not follow of the chosen filters, in a sentence. @param {Choice} c */
function sentimentNote(c) {
  if (c.team && c.category)
    return 'Player sentiment filters by a team or a category, not both: these numbers are not filtered by either.';
  if (c.source) return 'Player messages are not filtered by origin here: these numbers include every origin.';
  return undefined;
}

/** A bucket in words: "dayly" is not one. @type {Record<string, string>} */
const EVERY = { hour: 'hourly', day: 'daily', week: 'weekly' };

/**
 * The dashboards: volume and backlog, response times, SLA, CSAT, reopens, workload, the peak
 * hours, player activity and player sentiment, over a range with a bucket and filters, each with its table and its CSV. Needs
 * `analytics.read`; without it the API's 403 becomes a sentence saying so.
 * @param {{ org: Org, search: string }} props
 */
export function AnalyticsPage({ org, search }) {
  const choice = choiceOf(search);
  const key = JSON.stringify(choice);
  const [report, setReport] = useState(/** @type {Report | null} */ (null));
  const [error, setError] = useState(/** @type {{ status: number, message: string } | null} */ (null));
  const [loading, setLoading] = useState(true);
  const [teams, setTeams] = useState(/** @type {{ id: string, name: string }[]} */ ([]));
  const [categories, setCategories] = useState(/** @type {{ id: string, name: string }[]} */ ([]));
  const [members, setMembers] = useState(/** @type {Map<string, string>} */ (new Map()));
  const base = `/v1/orgs/${org.id}/analytics`;

  useEffect(() => {
    let gone = false;
    setLoading(true);
    const s = queryOf(choice, true).toString();
    const r = queryOf(choice, false).toString();
    Promise.all([
      ...SERIES.map(([, path]) => api('GET', `${base}/${path}?${s}`)),
      api('GET', `${base}/workload?${r}`),
      api('GET', `${base}/heatmap?${r}`),
      api('GET', `${base}/player-activity?${playerQueryOf(choice)}`),
      api('GET', `${base}/sentiment?${sentimentQueryOf(choice)}`),
    ]).then(
      ([volume, times, sla, reopens, csat, workload, heatmap, players, sentiment]) => {
        if (gone) return;
        setReport({ volume, times, sla, reopens, csat, workload, heatmap, players, sentiment });
        setError(null);
        setLoading(false);
      },
      (err) => {
        if (gone) return;
        setError({ status: err instanceof ApiError ? err.status : 0, message: describeError(err) });
        setLoading(false);
      },
    );
    return () => {
      gone = true;
    };
  }, [org.id, key]);

  // Names for the filters and the workload table; a list the role can't read leaves ids shown.
  useEffect(() => {
    cachedList(`/v1/orgs/${org.id}/teams`).then(
      (r) => setTeams(r.teams),
      () => setTeams([]),
    );
    cachedList(`/v1/orgs/${org.id}/categories`).then(
      (r) => setCategories(r.categories),
      () => setCategories([]),
    );
    cachedList(`/v1/orgs/${org.id}/members`).then(
      (r) => setMembers(new Map(r.members.map((/** @type {any} */ m) => [m.userId, m.displayName]))),
      () => setMembers(new Map()),
    );
  }, [org.id]);

  /** @param {Partial<Choice>} change */
  const choose = (change) => {
    const next = { ...choice, ...change };
    const q = queryOf(next, true);
    if (next.bucket === 'day') q.delete('bucket');
    const qs = q.toString();
    navigate(`/o/${org.id}/analytics${qs ? `?${qs}` : ''}`, { replace: true });
  };

  if (error?.status === 403)
    return html`<main class="analytics" id="main">
      <h1>Analytics</h1>
      <p role="alert">
        Your role in ${org.name} does not include the analytics permission (<code>analytics.read</code>), so the
        dashboards are not shown. An admin can add it to your role.
      </p>
    </main>`;

  /** CSV of one endpoint for the current choice (the API's `?format=csv`). @param {string} path @param {boolean} series */
  const csv = (path, series) => {
    const q = queryOf(choice, series);
    q.set('format', 'csv');
    return `${base}/${path}?${q}`;
  };
  /** The player activity CSV for the current choice (range, bucket and comparison). */
  const playersCsv = () => {
    const q = playerQueryOf(choice);
    q.set('format', 'csv');
    return `${base}/player-activity?${q}`;
  };
  /** The sentiment CSV for the current choice. */
  const sentimentCsv = () => {
    const q = sentimentQueryOf(choice);
    q.set('format', 'csv');
    return `${base}/sentiment?${q}`;
  };
  const range = report ? `${report.volume.from} to ${report.volume.to}` : '';
  /** The tickets opened in a bucket, with the dashboards' filters. @param {string} label */
  const drill = (label) =>
    openedTicketsHref({
      orgId: org.id,
      label,
      bucket: report?.volume.bucket ?? 'day',
      timeZone: report?.volume.timeZone ?? 'UTC',
      filters: { team: choice.team, category: choice.category, source: choice.source },
    });
  return html`<main class="analytics" id="main" aria-busy=${loading ? 'true' : 'false'}>
    <h1>Analytics</h1>
    <${Controls} choice=${choice} report=${report} teams=${teams} categories=${categories} onChoose=${choose} />
    ${error ? html`<p class="error" role="alert">The dashboards could not be loaded: ${error.message}</p>` : null}
    ${loading && !report ? html`<p role="status">Loading the dashboards…</p>` : null}
    ${
      report
        ? html`<p class="muted" role="status">
              ${loading ? 'Updating… ' : ''}${range}, ${EVERY[report.volume.bucket] ?? report.volume.bucket}, ${`times in ${report.volume.timeZone}`}${report.volume.previous ? `, compared with ${report.volume.previous.from} to ${report.volume.previous.to}` : ''}.
            </p>
            <${VolumeSection} data=${report.volume} csv=${csv('volume', true)} drill=${drill} />
            <${TimesSection} data=${report.times} csv=${csv('response-times', true)} />
            <${SlaSection} data=${report.sla} csv=${csv('sla', true)} />
            <${CsatSection} data=${report.csat} csv=${csv('csat', true)} />
            <${ReopensSection} data=${report.reopens} csv=${csv('reopens', true)} />
            <${WorkloadSection} data=${report.workload} names=${members} csv=${csv('workload', false)} />
            <${HeatmapSection} data=${report.heatmap} csv=${csv('heatmap', false)} />
            <${PlayersSection}
              data=${report.players}
              csv=${playersCsv()}
              filtered=${Boolean(choice.team || choice.category || choice.source)}
            />
            <${SentimentSection} data=${report.sentiment} csv=${sentimentCsv()} note=${sentimentNote(choice)} />`
        : null
    }
  </main>`;
}

/** @param {string} day @param {number} n */
const addDays = (day, n) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/**
 * The range, bucket, filters and comparison. Each control applies on change (the URL changes, the
 * dashboards load again); the dates show the range the API answered for when none was chosen.
 * @param {{ choice: Choice, report: Report | null, teams: { id: string, name: string }[], categories: { id: string, name: string }[], onChoose: (c: Partial<Choice>) => void }} props
 */
function Controls({ choice, report, teams, categories, onChoose }) {
  const to = choice.to || report?.volume.to || '';
  const from = choice.from || report?.volume.from || '';
  /** @param {Event} e */
  const value = (e) => /** @type {HTMLInputElement} */ (e.currentTarget).value;
  return html`<form class="analytics-controls" aria-label="Range and filters" onSubmit=${(/** @type {Event} */ e) => e.preventDefault()}>
    <div class="quick" role="group" aria-label="Range">
      ${[7, 30, 90].map(
        (n) =>
          html`<button type="button" class="subtle" disabled=${!to} onClick=${() => onChoose({ from: addDays(to, 1 - n), to })}>
            Last ${n} days
          </button>`,
      )}
    </div>
    <label class="field">From <input type="date" value=${from} max=${to} onChange=${(/** @type {Event} */ e) => onChoose({ from: value(e), to })} /></label>
    <label class="field">To <input type="date" value=${to} min=${from} onChange=${(/** @type {Event} */ e) => onChoose({ to: value(e), from })} /></label>
    <label class="field"
      >Bucket
      <select value=${choice.bucket} onChange=${(/** @type {Event} */ e) => onChoose({ bucket: value(e) })}>
        <option value="hour">Hour (up to 31 days)</option>
        <option value="day">Day</option>
        <option value="week">Week</option>
      </select></label
    >
    <label class="field"
      >Team
      <select value=${choice.team} onChange=${(/** @type {Event} */ e) => onChoose({ team: value(e) })}>
        <option value="">All teams</option>
        ${teams.map((t) => html`<option value=${t.id}>${t.name}</option>`)}
      </select></label
    >
    <label class="field"
      >Category
      <select value=${choice.category} onChange=${(/** @type {Event} */ e) => onChoose({ category: value(e) })}>
        <option value="">All categories</option>
        ${categories.map((c) => html`<option value=${c.id}>${c.name}</option>`)}
      </select></label
    >
    <label class="field"
      >Origin
      <select value=${choice.source} onChange=${(/** @type {Event} */ e) => onChoose({ source: value(e) })}>
        <option value="">All origins</option>
        ${SOURCES.map((s) => html`<option value=${s}>${label(s)}</option>`)}
      </select></label
    >
    <label class="field"
      >Durations in
      <select value=${choice.time} onChange=${(/** @type {Event} */ e) => onChoose({ time: value(e) })}>
        <option value="calendar">Calendar time</option>
        <option value="business">Business hours</option>
      </select></label
    >
    <label class="check"
      ><input
        type="checkbox"
        checked=${choice.compare}
        onChange=${(/** @type {Event} */ e) => onChoose({ compare: /** @type {HTMLInputElement} */ (e.currentTarget).checked })}
      />
      Compare with the previous period</label
    >
  </form>`;
}
