// @ts-check
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, apiWithEtag, cachedList, describeError, mayFrom, permissionsOf } from './api.js';
import { html } from './html.js';
import { KeyHelp } from './keys.js';
import { live } from './live.js';
import { usePresence } from './presence.js';
import { navigate } from './router.js';
import { markSeen } from './seen.js';
import { Composer, draftKey, useComposer } from './ticket-composer.js';
import { Timeline } from './ticket-conversation.js';
import { Attachments } from './ticket-files.js';
import { TicketHead } from './ticket-head.js';
import { TicketSidebar } from './ticket-sidebar.js';
import { createTurns } from './turns.js';

/**
 * @typedef {{ id: string, number: number, subject: string, status: string, priority: string, origin: string,
 *   assigneeId: string | null, requesterId: string | null, teamId: string | null, tags: string[], createdAt: string,
 *   updatedAt: string, closeReason: string | null, mergedIntoId?: string | null, playerSentiment: import('./sentiment.js').Sentiment | null }} Ticket
 * @typedef {{ id: string, authorType: string, authorKind?: string, authorUserId: string | null, authorPlayerId: string | null, origin: string, body: string, createdAt: string,
 *   sentiment: import('./sentiment.js').Sentiment | null }} Message
 * @typedef {{ id: string, authorUserId: string | null, body: string, createdAt: string }} Note
 * @typedef {{ id: number, type: string, actorType: string, actorId: string | null, data: Record<string, unknown>, createdAt: string }} TicketEvent
 * @typedef {{ ticket: Ticket, sla: { metric: string, dueAt: string, breached: boolean } | null, messages: Message[],
 *   notes: Note[], events: TicketEvent[], attachments: import('./ticket-files.js').Attachment[] }} TicketData
 * @typedef {{ userId: string, displayName: string }} Member
 */

/**
 * A ticket asked for before its view mounted: on the press that opens it (pointerdown comes
 * before click) or while the view first renders (effects only run after the first paint). Kept
 * a few seconds and used once, by the first load of that ticket's view; later loads ask afresh.
 * @type {{ url: string, data: Promise<{ data: any, etag: string | null }>, at: number } | null}
 */
let early = null;
const EARLY_MS = 5000;

/** Starts loading a ticket that is about to be opened. @param {string} orgId @param {string} ticketId */
export function prefetchTicket(orgId, ticketId) {
  const url = `/v1/orgs/${orgId}/tickets/${ticketId}`;
  if (early?.url === url && Date.now() - early.at < EARLY_MS) return;
  const data = apiWithEtag('GET', url);
  // Its failure is the view's to show, when it loads.
  data.catch(() => {});
  early = { url, data, at: Date.now() };
}

/** @param {string} url */
function takeEarly(url) {
  const e = early;
  early = null;
  return e && e.url === url && Date.now() - e.at < EARLY_MS ? e.data : null;
}

/** @param {HTMLElement | null} el */
const typingIn = (el) => !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));

/**
 * A ticket: the conversation (public replies and internal notes clearly apart), its history,
 * the composer and the actions. Live: changes refetch; presence shows who else is here.
 * @param {{ org: { id: string, role: string }, ticketId: string, me: { id: string, displayName: string } }} props
 */
export function TicketView({ org, ticketId, me }) {
  const [data, setData] = useState(/** @type {TicketData | null} */ (null));
  const [loadError, setLoadError] = useState('');
  const [errors, setErrors] = useState(/** @type {Record<string, string>} */ ({}));
  const [busy, setBusy] = useState('');
  const [members, setMembers] = useState(/** @type {Member[] | null} */ (null));
  const presence = usePresence(org.id);
  const [viewers, setViewers] = useState(/** @type {{ userId: string, state: string }[]} */ ([]));
  const [help, setHelp] = useState(false);
  const base = `/v1/orgs/${org.id}/tickets/${ticketId}`;
  const [perms, setPerms] = useState(/** @type {Set<string> | null | undefined} */ (undefined));
  useEffect(() => {
    permissionsOf(org).then(setPerms);
  }, [org.id, org.role]);
  const may = mayFrom(perms);
  useState(() => prefetchTicket(org.id, ticketId));
  const first = useRef(true);
  // The version of the ticket as last loaded: the page's changes are made only if the ticket is
  // still at it (If-Match), so a change made from a view someone else has since changed is
  // refused instead of silently undoing theirs.
  const version = useRef(/** @type {string | null} */ (null));
  const [changedElsewhere, setChangedElsewhere] = useState(false);

  // Live events and this member's own actions both load the ticket.
  const [turns] = useState(createTurns);
  const load = useCallback(async () => {
    const current = turns.take();
    try {
      const e = first.current ? takeEarly(base) : null;
      first.current = false;
      const got = await (e ?? apiWithEtag('GET', base));
      if (!current()) return;
      version.current = got.etag;
      setData(got.data);
      setLoadError('');
      markSeen(org.id, ticketId);
    } catch (err) {
      if (current()) setLoadError(describeError(err));
    }
  }, [base, org.id, ticketId, turns]);

  useEffect(() => {
    load();
  }, [load]);

  // Asked once the ticket is here, so the ticket's own request does not share the server with it.
  const loaded = data !== null;
  useEffect(() => {
    if (!loaded) return;
    cachedList(`/v1/orgs/${org.id}/members`).then(
      (r) => setMembers(r.members),
      () => setMembers(null),
    );
  }, [loaded, org.id]);

  useEffect(() => {
    const stop = live.subscribe(org.id, ticketId);
    live.setPresence(org.id, ticketId, 'viewing');
    const off = live.listen((m) => {
      if ((m.kind === 'event' || m.kind === 'resync') && m.topic === `ticket:${ticketId}`) load();
      if (m.kind === 'presence' && m.ticketId === ticketId)
        setViewers(m.viewers.filter((v) => v.userId !== me.id));
    });
    return () => {
      live.setPresence(org.id, ticketId, null);
      off();
      stop();
    };
  }, [org.id, ticketId, me.id, load]);

  // This page's own changes go one at a time, each conditioned on the version the one before
  // answered with: a second click while the first is on its way is not refused as someone else's.
  const edits = useRef(/** @type {Promise<unknown>} */ (Promise.resolve()));
  /** @type {import('./ticket-actions.js').Edit} */
  const edit = (path, body) => {
    const sent = edits.current.then(async () => {
      const got = await apiWithEtag(
        'POST',
        path,
        body,
        version.current ? { 'if-match': version.current } : {},
      );
      if (got.etag) version.current = got.etag;
      return got.data;
    });
    edits.current = sent.catch(() => {});
    return sent;
  };

  /**
   * Runs one action; its error shows under the control named `id`. A change refused because the
   * ticket changed since this page loaded it (412) reloads the ticket and says so above it.
   * @param {string} id
   * @param {() => Promise<unknown>} run
   */
  const act = async (id, run) => {
    setBusy(id);
    setErrors((e) => ({ ...e, [id]: '' }));
    try {
      await run();
      setChangedElsewhere(false);
      await load();
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) {
        setChangedElsewhere(true);
        await load();
      } else setErrors((e) => ({ ...e, [id]: describeError(err) }));
      return false;
    } finally {
      setBusy('');
    }
  };

  const compose = useComposer({ orgId: org.id, ticketId, base, act, setErrors });

  /** The ticket this one was merged into, once known: {id, number}; the draft moved there. */
  const [mergedInto, setMergedInto] = useState(
    /** @type {{ id: string, number?: number, moved: boolean } | null} */ (null),
  );
  const mergedId = data?.ticket.mergedIntoId ?? null;
  useEffect(() => {
    if (!mergedId) return setMergedInto(null);
    // Replies and notes go to the target now: an unsent draft moves there unless it has its own.
    let moved = false;
    for (const m of /** @type {const} */ (['reply', 'note'])) {
      const mine = sessionStorage.getItem(draftKey(ticketId, m));
      if (mine && !sessionStorage.getItem(draftKey(mergedId, m))) {
        sessionStorage.setItem(draftKey(mergedId, m), mine);
        sessionStorage.removeItem(draftKey(ticketId, m));
        moved = true;
      }
    }
    if (moved) compose.setDraft('');
    setMergedInto({ id: mergedId, moved });
    api('GET', `/v1/orgs/${org.id}/tickets/${mergedId}`).then(
      (r) => setMergedInto({ id: mergedId, number: r.ticket.number, moved }),
      () => {},
    );
  }, [mergedId]);
  const canWrite = !mergedId && (may('tickets.reply') || may('tickets.note'));

  useEffect(() => {
    /** @param {KeyboardEvent} e */
    const onKey = (e) => {
      if (e.key === 'Escape' && typingIn(/** @type {HTMLElement} */ (e.target))) {
        /** @type {HTMLElement} */ (e.target).blur();
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey || typingIn(/** @type {HTMLElement} */ (e.target))) return;
      if ((e.key === 'r' || e.key === 'n') && canWrite) {
        e.preventDefault();
        compose.switchMode(e.key === 'r' ? 'reply' : 'note');
      } else if (e.key === 'a') {
        // Assign: focus the assignee control, where arrow keys or typing pick a member.
        e.preventDefault();
        document.getElementById('assign-select')?.focus();
      } else if (
        e.key === 'e' &&
        data &&
        !mergedId &&
        may('tickets.close') &&
        !['solved', 'closed'].includes(data.ticket.status)
      ) {
        e.preventDefault();
        act('close', () => edit(`${base}/close`));
      } else if (e.key === 'Escape' && !help) {
        navigate(`/o/${org.id}`);
      } else if (e.key === '?') {
        e.preventDefault();
        setHelp(true);
      }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  });

  if (loadError && !data)
    return html`<main class="ticket-page" id="main">
      <p><a href=${`/o/${org.id}`}>← Inbox</a></p>
      <p class="error" role="alert">This ticket could not be loaded: ${loadError}</p>
      <button type="button" onClick=${load}>Try again</button>
    </main>`;
  if (!data) return html`<main class="ticket-page" id="main"><p role="status">Loading ticket…</p></main>`;

  const nameOf = (/** @type {string | null} */ id) =>
    !id
      ? 'someone'
      : id === me.id
        ? 'You'
        : (members?.find((m) => m.userId === id)?.displayName ?? 'A staff member');

  return html`<main class="ticket-page" id="main">
    <nav class="crumbs" aria-label="Breadcrumb"><a href=${`/o/${org.id}`}>← Inbox</a></nav>
    <${TicketHead}
      orgId=${org.id}
      data=${data}
      presence=${presence}
      nameOf=${nameOf}
      viewers=${viewers}
      mergedInto=${mergedInto}
      changedElsewhere=${changedElsewhere}
      onDismiss=${() => setChangedElsewhere(false)}
    />

    <div class="ticket-grid">
      <section class="conversation" aria-labelledby="conv-title">
        <h2 id="conv-title">Conversation</h2>
        <${Timeline} messages=${data.messages} notes=${data.notes} nameOf=${nameOf} />

        <${Attachments} attachments=${data.attachments ?? []} />

        ${
          canWrite
            ? html`<${Composer}
                c=${compose}
                orgId=${org.id}
                ticketId=${ticketId}
                base=${base}
                busy=${busy}
                errors=${errors}
                may=${may}
                load=${load}
              />`
            : html`<p class="muted composer-off">
                ${mergedId ? 'This ticket was merged: reply on the ticket it was merged into.' : 'Your role can read this ticket but not reply to it or add notes.'}
              </p>`
        }
      </section>

      <${TicketSidebar}
        orgId=${org.id}
        base=${base}
        data=${data}
        me=${me}
        members=${members}
        act=${act}
        edit=${edit}
        busy=${busy}
        errors=${errors}
        nameOf=${nameOf}
        may=${may}
      />
    </div>
    ${help ? html`<${KeyHelp} onClose=${() => setHelp(false)} />` : null}
  </main>`;
}
