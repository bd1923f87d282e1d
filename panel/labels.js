// @ts-check

/** Words for the API's enum values, shared by the inbox and the ticket view. */
export const STATUSES = /** @type {const} */ (['open', 'pending', 'on_hold', 'solved', 'closed']);
export const PRIORITIES = /** @type {const} */ (['low', 'normal', 'high', 'urgent']);
export const SOURCES = /** @type {const} */ (['discord', 'game', 'email', 'panel', 'api']);

/** @type {Record<string, string>} */
export const LABEL = {
  open: 'Open',
  pending: 'Pending',
  on_hold: 'On hold',
  solved: 'Solved',
  closed: 'Closed',
  low: 'Low',
  normal: 'Normal',
  high: 'High',
  urgent: 'Urgent',
  discord: 'Discord',
  game: 'In game',
  email: 'Email',
  panel: 'Panel',
  api: 'API',
};

/** @param {string} v */
export const label = (v) => LABEL[v] ?? v.replaceAll('_', ' ');

/**
 * "5 min ago", "3 h ago", or a date: short enough for a list row.
 * @param {string | null | undefined} iso
 * @param {number} [now]
 */
export function ago(iso, now = Date.now()) {
  if (!iso) return '';
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}
