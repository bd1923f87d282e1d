// @ts-check
import { api, query } from './api.js';

/**
 * The inbox's filters as its URL keeps them (so a view can be bookmarked and survives reload),
 * the list request they make, and the first page asked for before the app has rendered.
 * @typedef {import('./inbox.js').TicketItem} TicketItem
 */

export const PAGE = 50;
/** The filters the inbox keeps in its URL, so a view can be bookmarked and survives reload. */
export const FILTERS = [
  'q',
  'status',
  'assignee',
  'priority',
  'category',
  'team',
  'game',
  'tag',
  'source',
  'sla',
  'sort',
  // Set by the analytics drill-down (panel/analytics-drill.js): tickets created in a bucket.
  'createdFrom',
  'createdTo',
];
export const DEFAULT_STATUS = 'open,pending,on_hold';

/** @param {string} search */
export function filtersOf(search) {
  const p = new URLSearchParams(search);
  /** @type {Record<string, string>} */
  const f = {};
  for (const k of FILTERS) f[k] = p.get(k) ?? '';
  if (!p.has('status')) f.status = DEFAULT_STATUS;
  return f;
}

/**
 * @param {Record<string, string>} f
 * @param {string} userId
 */
export function apiQuery(f, userId) {
  return {
    q: f.q,
    status: f.status === 'all' ? '' : f.status,
    assignee: f.assignee === 'me' ? userId : f.assignee,
    priority: f.priority,
    category: f.category,
    team: f.team,
    game: f.game,
    tag: f.tag,
    source: f.source,
    sla: f.sla,
    sort: f.sort,
    createdFrom: f.createdFrom,
    createdTo: f.createdTo,
  };
}

/**
 * The first page of the inbox, asked for while the session is still being checked: on a cold
 * load the list request would otherwise wait for the session answer, then for the first render.
 * Used once, by the Inbox whose first request has exactly this URL; left unused otherwise.
 * @type {{ url: string, page: Promise<any>, value: any } | null}
 */
let prefetched = null;

/**
 * Starts the first page's request for `/o/:orgId?search` before the app has rendered. Skipped
 * when the filters need the member's id (assignee=me), which only the session gives.
 * @param {string} orgId
 * @param {string} search
 */
export function prefetchInbox(orgId, search) {
  const f = filtersOf(search);
  if (f.assignee === 'me') return;
  const url = `/v1/orgs/${orgId}/tickets${query({ ...apiQuery(f, ''), limit: PAGE })}`;
  const page = api('GET', url);
  const entry = { url, page, value: /** @type {any} */ (null) };
  // Kept once it arrives, so an Inbox mounting later renders its rows at once, without waiting
  // for an effect (they run after a paint) and a promise turn. A refusal (signed out) is the
  // app's session check's to handle, not this one's.
  page.then((v) => (entry.value = v)).catch(() => {});
  prefetched = entry;
}

/** @param {string} url */
export function takePrefetched(url) {
  const p = prefetched;
  prefetched = null;
  return p?.url === url ? p.page : null;
}

/** The prefetched page for `url` if it has already arrived (and then it is used up). @param {string} url */
export function takeArrived(url) {
  if (prefetched?.url !== url || !prefetched.value) return null;
  const v = prefetched.value;
  prefetched = null;
  return /** @type {{ tickets: TicketItem[], next: string | null }} */ (v);
}
