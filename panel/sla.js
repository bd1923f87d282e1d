// @ts-check
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { label } from './labels.js';

/** @typedef {{ metric: string, dueAt: string, breached: boolean } | null | undefined} Sla */

const TICK_MS = 30_000;
const SOON_MS = 60 * 60_000;

/** @type {Set<(now: number) => void>} */
const listeners = new Set();
/** @type {ReturnType<typeof setInterval> | null} */
let timer = null;

/**
 * The time, refreshed every 30 s by one timer shared by every badge on the page (a list of
 * 500 rows must not run 500 timers), so countdowns move without asking the API again.
 */
export function useNow() {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    listeners.add(setNow);
    if (!timer)
      timer = setInterval(() => {
        const t = Date.now();
        for (const l of listeners) l(t);
      }, TICK_MS);
    return () => {
      listeners.delete(setNow);
      if (!listeners.size && timer) {
        clearInterval(timer);
        timer = null;
      }
    };
  }, []);
  return now;
}

/** "2h 14m", "14m", "3d 2h": a span short enough for a list row. @param {number} ms */
export function span(ms) {
  const m = Math.max(0, Math.floor(ms / 60_000));
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/**
 * The badge's state and words at `now`: breached when the API says so or the due time has
 * passed since it answered.
 * @param {NonNullable<Sla>} sla
 * @param {number} now
 */
export function slaState(sla, now) {
  const left = new Date(sla.dueAt).getTime() - now;
  if (sla.breached || left <= 0) return { state: 'breached', text: `breached ${span(-left)} ago` };
  return { state: left < SOON_MS ? 'soon' : 'ok', text: span(left) };
}

const METRIC = /** @type {Record<string, string>} */ ({
  first_response: 'First response',
  next_response: 'Next response',
  resolution: 'Resolution',
});

/**
 * The SLA countdown: colour and words (an icon-free text like "2h 14m" or "breached 5m ago",
 * with the metric named for screen readers and in the tooltip), updated every 30 s.
 * @param {{ sla: Sla }} props
 */
export function SlaBadge({ sla }) {
  const now = useNow();
  if (!sla) return null;
  const { state, text } = slaState(sla, now);
  const metric = METRIC[sla.metric] ?? label(sla.metric);
  const due = new Date(sla.dueAt);
  // The words carry the state (colour only repeats it): "SLA 2h 14m", "SLA breached 5m ago";
  // a screen reader hears which clock it is and "due in".
  return html`<span class=${`badge sla sla-${state}`} title=${`${metric} due ${due.toLocaleString()}`} data-sla=${state}>
    <span aria-hidden="true">SLA </span><span class="visually-hidden">${metric} ${state === 'breached' ? '' : 'due in '}</span>${text}
  </span>`;
}
