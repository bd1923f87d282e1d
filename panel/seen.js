// @ts-check

/**
 * Which tickets this browser has read, so the inbox can mark the ones where the player spoke
 * since. Kept in localStorage: ticket ids and times only, nothing secret. Per browser, not per
 * person: the API has no read state for tickets yet (it has one for channels).
 */
const KEY = (/** @type {string} */ orgId) => `gm.seen.${orgId}`;
const MAX = 2000;

/** The last text read and what it parsed to: the inbox asks twice per row, up to 2,000 marks. */
let cache = { raw: /** @type {string | null} */ (null), marks: /** @type {Record<string, string>} */ ({}) };

/** @param {string} orgId @returns {Record<string, string>} */
function read(orgId) {
  const raw = localStorage.getItem(KEY(orgId)) ?? '{}';
  if (raw === cache.raw) return cache.marks;
  /** @type {Record<string, string>} */
  let marks = {};
  try {
    marks = JSON.parse(raw);
  } catch {
    // A damaged entry reads as nothing seen yet.
  }
  cache = { raw, marks };
  return marks;
}

/**
 * Unread: the player wrote after this browser last opened the ticket (or it was never opened).
 * @param {string} orgId
 * @param {{ id: string, lastPlayerMessageAt: string | null, lastStaffMessageAt: string | null }} t
 */
export function isUnread(orgId, t) {
  if (!t.lastPlayerMessageAt) return false;
  const seen = read(orgId)[t.id];
  const since = seen ?? t.lastStaffMessageAt;
  return !since || new Date(t.lastPlayerMessageAt) > new Date(since);
}

/** @param {string} orgId @param {string} ticketId */
export function markSeen(orgId, ticketId) {
  // A copy: the cached marks must not change under a reader.
  const all = { ...read(orgId) };
  delete all[ticketId];
  all[ticketId] = new Date().toISOString();
  const ids = Object.keys(all);
  // Oldest first (insertion order): drop the oldest past the cap.
  for (const id of ids.slice(0, Math.max(0, ids.length - MAX))) delete all[id];
  localStorage.setItem(KEY(orgId), JSON.stringify(all));
}
