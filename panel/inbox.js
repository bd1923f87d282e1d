// @ts-check
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, cachedList, describeError, mayFrom, permissionsOf, query } from './api.js';
import { BulkBar } from './bulk.js';
import { html } from './html.js';
import { InboxFilters } from './inbox-filters.js';
import { useLiveRefresh } from './inbox-live.js';
import {
  apiQuery,
  DEFAULT_STATUS,
  FILTERS,
  filtersOf,
  PAGE,
  takeArrived,
  takePrefetched,
} from './inbox-query.js';
import { SavedViews } from './inbox-views.js';
import { useRowWindow } from './inbox-window.js';
import { KeyHelp } from './keys.js';
import { ago, label } from './labels.js';
import { navigate } from './router.js';
import { isUnread } from './seen.js';
import { SlaBadge } from './sla.js';
import { prefetchTicket } from './ticket.js';
import { createTurns } from './turns.js';

/**
 * @typedef {{ id: string, number: number, subject: string, status: string, priority: string, origin: string,
 *   assigneeId: string | null, assigneeName: string | null, requesterName: string | null, tags: string[],
 *   lastPlayerMessageAt: string | null, lastStaffMessageAt: string | null, createdAt: string, updatedAt: string,
 *   sla: { metric: string, dueAt: string, breached: boolean } | null }} TicketItem
 * @typedef {{ userId: string, displayName: string }} Member
 * @typedef {{ id: string, name: string }} Category
 */

/** @param {HTMLElement | null} el */
const typingIn = (el) => !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));

/**
 * The ticket list: filters, search, sort, "load more" pages, live updates, j/k/Enter keys.
 * @param {{ org: { id: string, name: string, role: string }, me: { id: string }, search: string }} props
 */
export function Inbox({ org, me, search }) {
  const f = filtersOf(search);
  const key = JSON.stringify(f);
  const base = `/v1/orgs/${org.id}/tickets`;
  // The first page, when the app's early request for it has already come back.
  const [arrived] = useState(() => takeArrived(base + query({ ...apiQuery(f, me.id), limit: PAGE })));
  const [tickets, setTickets] = useState(/** @type {TicketItem[]} */ (arrived?.tickets ?? []));
  const [next, setNext] = useState(/** @type {string | null} */ (arrived?.next ?? null));
  const [loading, setLoading] = useState(!arrived);
  const [error, setError] = useState('');
  const [selected, setSelected] = useState(0);
  const [fresh, setFresh] = useState(/** @type {Set<string>} */ (new Set()));
  const [categories, setCategories] = useState(/** @type {Category[]} */ ([]));
  const [help, setHelp] = useState(false);
  // Ticked tickets (by id, kept across pages and refreshes) and whether the bulk bar is open.
  const [checked, setChecked] = useState(/** @type {Map<string, number>} */ (new Map()));
  const [bulkOpen, setBulkOpen] = useState(false);
  const [members, setMembers] = useState(/** @type {Member[] | null} */ (null));
  const [tags, setTags] = useState(/** @type {string[]} */ ([]));
  /** Teams and games to filter by; a list the member may not read stays empty and its filter hidden. */
  const [teams, setTeams] = useState(/** @type {{ id: string, name: string }[]} */ ([]));
  const [games, setGames] = useState(/** @type {{ id: string, name: string }[]} */ ([]));
  const searchRef = useRef(/** @type {HTMLInputElement | null} */ (null));
  const listRef = useRef(/** @type {HTMLOListElement | null} */ (null));
  const known = useRef(/** @type {Set<string>} */ (new Set(arrived?.tickets.map((t) => t.id))));
  const skipFirstLoad = useRef(!!arrived);
  const shown = useRef(0);
  /** Whether j/k move the focus with the selection (they do once a row had the focus). */
  const followFocus = useRef(false);
  const movingFocus = useRef(false);
  shown.current = tickets.length;
  const onScreen = useRef(tickets);
  onScreen.current = tickets;

  const [turns] = useState(createTurns);
  // Tick boxes and the bulk bar only for a role that may change tickets (bulk needs tickets.update).
  const [perms, setPerms] = useState(/** @type {Set<string> | null | undefined} */ (undefined));
  useEffect(() => {
    permissionsOf(org).then(setPerms);
  }, [org.id, org.role]);
  const bulk = mayFrom(perms)('tickets.update');

  const load = useCallback(
    /** @param {{ after?: string, refresh?: boolean }} [opts] */
    async (opts = {}) => {
      // Answers come back in any order: the list for filters chosen a moment ago must not land
      // over the one for the filters on screen, nor a page for them be appended to it.
      const current = opts.after ? turns.peek() : turns.take();
      setError('');
      if (!opts.refresh) setLoading(true);
      try {
        const limit = opts.refresh ? Math.min(100, Math.max(PAGE, known.current.size)) : PAGE;
        const url = base + query({ ...apiQuery(f, me.id), limit, after: opts.after });
        const early = opts.refresh || opts.after ? null : takePrefetched(url);
        // An early request that failed is asked again, now that the session is known good.
        /** @type {{ tickets: TicketItem[], next: string | null }} */
        const page = await (early ? early.catch(() => api('GET', url)) : api('GET', url));
        // A live refresh asks again for as many rows as are shown, so the list does not shrink
        // back to 100 rows under someone scrolling through hundreds, each row's status is current
        // and "Load more" goes on from the last row. It goes on until the last row shown is back
        // too: a ticket that arrived at the top pushes every row down one.
        if (opts.refresh) {
          const want = shown.current;
          const before = onScreen.current.map((t) => t.id);
          const last = before[before.length - 1];
          while (page.next && current() && page.tickets.length < want + 100) {
            const have = new Set(page.tickets.map((t) => t.id));
            const short =
              Math.max(0, want - page.tickets.length) ||
              (last && !have.has(last) ? before.filter((id) => !have.has(id)).length : 0);
            if (!short) break;
            const moreUrl =
              base + query({ ...apiQuery(f, me.id), limit: Math.min(100, short), after: page.next });
            /** @type {{ tickets: TicketItem[], next: string | null }} */
            const more = await api('GET', moreUrl);
            page.tickets.push(...more.tickets.filter((t) => !have.has(t.id)));
            page.next = more.next;
          }
        }
        if (!current()) return;
        if (opts.refresh) {
          // Tickets that were not on screen before arrived live: mark them until opened.
          const arrived = page.tickets.filter((t) => !known.current.has(t.id)).map((t) => t.id);
          if (arrived.length) setFresh((s) => new Set([...s, ...arrived]));
        }
        for (const t of page.tickets) known.current.add(t.id);
        setTickets((old) => (opts.after ? [...old, ...page.tickets] : page.tickets));
        setNext(page.next);
      } catch (err) {
        if (current()) setError(describeError(err));
      } finally {
        if (current()) setLoading(false);
      }
    },
    // `f` is rebuilt on every render; `key` (its JSON) is what changes when the filters do.
    [base, key, me.id],
  );

  useEffect(() => {
    if (skipFirstLoad.current) {
      skipFirstLoad.current = false;
      return;
    }
    known.current = new Set();
    setSelected(0);
    load();
  }, [load]);

  useEffect(() => {
    api('GET', `/v1/orgs/${org.id}/categories`).then(
      (r) => setCategories(r.categories),
      () => setCategories([]),
    );
    cachedList(`/v1/orgs/${org.id}/tickets/tags`).then(
      (r) => setTags(r.tags.map((/** @type {{ tag: string }} */ t) => t.tag)),
      () => setTags([]),
    );
    cachedList(`/v1/orgs/${org.id}/teams`).then(
      (r) => setTeams(r.teams),
      () => setTeams([]),
    );
    cachedList(`/v1/orgs/${org.id}/games`).then(
      (r) => setGames(r.games),
      () => setGames([]),
    );
  }, [org.id]);

  // The members list, for bulk assignment: asked for on the first tick only.
  useEffect(() => {
    if (!bulkOpen || members) return;
    cachedList(`/v1/orgs/${org.id}/members`).then(
      (r) => setMembers(r.members),
      () => setMembers([]),
    );
  }, [bulkOpen, org.id]);

  /** @param {TicketItem} t */
  const toggle = (t) => {
    setChecked((c) => {
      const n = new Map(c);
      if (n.has(t.id)) n.delete(t.id);
      else n.set(t.id, t.number);
      return n;
    });
    setBulkOpen(true);
  };

  useLiveRefresh(org.id, load);

  /** @param {Record<string, string>} change @param {boolean} [whole] replace every filter (a saved view) */
  const setFilters = (change, whole = false) => {
    const nextF = whole ? { ...change } : { ...f, ...change };
    /** @type {Record<string, string>} */
    const params = {};
    for (const k of FILTERS)
      if (nextF[k] && !(k === 'status' && nextF[k] === DEFAULT_STATUS)) params[k] = nextF[k];
    navigate(`/o/${org.id}${query(params)}`, { replace: true });
  };

  /** @param {TicketItem} t */
  const open = (t) => navigate(`/o/${org.id}/t/${t.id}`);

  useEffect(() => {
    /** @param {KeyboardEvent} e */
    const onKey = (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey || typingIn(/** @type {HTMLElement} */ (e.target))) return;
      if (e.key === 'j' || e.key === 'k') {
        e.preventDefault();
        const at = document.activeElement;
        followFocus.current = !!at?.closest('.ticket-list') || (followFocus.current && at === document.body);
        setSelected((i) => Math.max(0, Math.min(tickets.length - 1, i + (e.key === 'j' ? 1 : -1))));
      } else if (
        e.key === 'Enter' &&
        tickets[selected] &&
        !(/** @type {HTMLElement} */ (e.target).closest('a,button'))
      ) {
        e.preventDefault();
        open(/** @type {TicketItem} */ (tickets[selected]));
      } else if (e.key === 'x' && bulk && tickets[selected]) {
        e.preventDefault();
        toggle(/** @type {TicketItem} */ (tickets[selected]));
      } else if (e.key === '/') {
        e.preventDefault();
        searchRef.current?.focus();
      } else if (e.key === '?') {
        e.preventDefault();
        setHelp(true);
      }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  });

  // A mark for bench/panel.ts: when the first rows were put on screen.
  useEffect(() => {
    if (tickets.length && !performance.getEntriesByName('gm:inbox-rows').length)
      performance.mark('gm:inbox-rows');
  }, [tickets]);

  const win = useRowWindow(listRef, tickets.length);

  // Keep the selected row in view and focused, so the screen reader follows j/k. In a long list
  // the row may not be rendered yet: scroll to where it will be, and the window brings it in (this
  // runs again when the window moves). Focus follows only while j/k drive it from the list: a
  // focused row that scrolled out of the window was unmounted and left focus on the body.
  const shownAt = useRef(-1);
  useEffect(() => {
    if (shownAt.current === selected) return;
    const list = listRef.current;
    const row = list?.querySelector(`li[data-index="${selected}"] a.ticket`);
    if (!row && list && win.stride) {
      const top = list.getBoundingClientRect().top + scrollY + selected * win.stride;
      scrollTo({ top: top - innerHeight / 3 });
      return;
    }
    shownAt.current = selected;
    if (row instanceof HTMLElement && followFocus.current) {
      // The row's onFocus must not set the selection back to it: presses of j that arrived
      // while this render was pending have already moved the selection further.
      movingFocus.current = true;
      row.focus();
      movingFocus.current = false;
    }
    row?.scrollIntoView({ block: 'nearest' });
  }, [selected, win.start]);

  return html`<main class="inbox" id="main">
    <h1 class="visually-hidden">Inbox of ${org.name}</h1>
    <${InboxFilters}
      f=${f}
      setFilters=${setFilters}
      searchRef=${searchRef}
      categories=${categories}
      teams=${teams}
      games=${games}
      tags=${tags}
    />
    <${SavedViews} orgId=${org.id} filters=${f} onApply=${(/** @type {Record<string, string>} */ v) => setFilters(v, true)} />
    ${
      bulkOpen && bulk
        ? html`<${BulkBar}
            orgId=${org.id}
            targets=${[...checked].map(([id, number]) => ({ id, number }))}
            members=${members}
            tags=${tags}
            onDone=${(/** @type {{ id: string, ok: boolean }[]} */ outcomes) => {
              // Done tickets are unticked; failed ones stay ticked, to retry or look at.
              setChecked((c) => {
                const n = new Map(c);
                for (const o of outcomes) if (o.ok) n.delete(o.id);
                return n;
              });
              load({ refresh: true });
            }}
            onClear=${() => {
              setChecked(new Map());
              setBulkOpen(false);
            }}
          />`
        : null
    }
    ${error ? html`<p class="error" role="alert">Tickets could not be loaded: ${error} <button type="button" onClick=${() => load()}>Retry</button></p>` : null}
    <p class="muted list-status" role="status">
      ${loading ? 'Loading tickets…' : `${tickets.length}${next ? '+' : ''} ticket${tickets.length === 1 ? '' : 's'}`}
      <span class="hint"> · x selects · press ? for keys</span>
    </p>
    ${
      !loading && !error && tickets.length === 0
        ? html`<p class="empty">No tickets match these filters.</p>`
        : html`<ol class=${`ticket-list${win.stride ? ' windowed' : ''}`} ref=${listRef} aria-label="Tickets">
            ${win.start > 0 ? html`<li class="spacer" aria-hidden="true" style=${{ height: `${win.start * win.stride}px` }}></li>` : null}
            ${tickets.slice(win.start, win.end).map((t, j) => {
              const i = win.start + j;
              const unread = isUnread(org.id, t);
              return html`<li key=${t.id} data-index=${i} class=${i === selected ? 'selected' : ''}>
                ${
                  bulk
                    ? html`<input
                  type="checkbox"
                  class="pick"
                  checked=${checked.has(t.id)}
                  aria-label=${`Select #${t.number}`}
                  onChange=${() => toggle(t)}
                />`
                    : null
                }
                <a
                  class=${`ticket ${unread ? 'unread' : ''}`}
                  href=${`/o/${org.id}/t/${t.id}`}
                  aria-current=${i === selected ? 'true' : undefined}
                  onFocus=${() => {
                    if (!movingFocus.current) setSelected(i);
                  }}
                  onPointerDown=${() => prefetchTicket(org.id, t.id)}
                >
                  <span class="num">#${t.number}</span>
                  <span class="subject">${t.subject}</span>
                  ${fresh.has(t.id) ? html`<span class="badge new">New</span>` : null}
                  ${unread ? html`<span class="badge unread-badge">Unread</span>` : null}
                  <span class="meta">
                    <${SlaBadge} sla=${t.sla} />
                    <span class=${`badge status-${t.status}`}>${label(t.status)}</span>
                    <span class=${`badge prio-${t.priority}`}>${label(t.priority)}</span>
                    <span>${label(t.origin)}</span>
                    <span>${t.requesterName ?? 'No requester'}</span>
                    <span>${t.assigneeName ? `→ ${t.assigneeName}` : 'Unassigned'}</span>
                    <time datetime=${t.updatedAt}>${ago(t.updatedAt)}</time>
                  </span>
                </a>
              </li>`;
            })}
            ${win.end < tickets.length ? html`<li class="spacer" aria-hidden="true" style=${{ height: `${(tickets.length - win.end) * win.stride}px` }}></li>` : null}
          </ol>`
    }
    ${next ? html`<button type="button" class="more" disabled=${loading} onClick=${() => load({ after: next })}>Load more</button>` : null}
    ${help ? html`<${KeyHelp} onClose=${() => setHelp(false)} />` : null}
  </main>`;
}
