// @ts-check
import { useEffect, useState } from 'preact/hooks';

/** Moves to a panel path without reloading (history API). @param {string} path */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

/** The current path and query, re-rendering on navigation. */
export function useLocation() {
  const [loc, setLoc] = useState(() => ({ path: location.pathname, search: location.search }));
  useEffect(() => {
    const on = () => setLoc({ path: location.pathname, search: location.search });
    addEventListener('popstate', on);
    return () => removeEventListener('popstate', on);
  }, []);
  return loc;
}

/**
 * A click handler for in-panel links: plain clicks navigate in place, modified clicks (new tab)
 * are left to the browser.
 * @param {MouseEvent} e
 */
export function onLinkClick(e) {
  const a = /** @type {HTMLElement} */ (e.target).closest('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const href = a.getAttribute('href');
  // A download link (an API export) is the browser's to fetch, not a page to route to.
  if (!href?.startsWith('/') || href.startsWith('/auth/') || a.target || a.hasAttribute('download')) return;
  e.preventDefault();
  navigate(href);
}

/**
 * The code of an invite link (`/invite/<code>`, made by `POST .../invites`), or null. Here rather
 * than in invite.js so the app can route to the page without loading it.
 * @param {string} path
 */
export const inviteCode = (path) => path.match(/^\/invite\/([A-Za-z0-9_-]{1,200})\/?$/)?.[1] ?? null;

/** Where a signed-out visitor's invite path waits while they sign in (the demo sign-in returns to `/`). */
export const PENDING_INVITE = 'gm.invite';
