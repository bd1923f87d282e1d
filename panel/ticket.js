// @ts-check
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import {
  ApiError,
  api,
  apiWithEtag,
  cachedList,
  describeError,
  mayFrom,
  permissionsOf,
  retryable,
  sendKey,
} from './api.js';
import { html } from './html.js';
import { KeyHelp } from './keys.js';
import { ago, label } from './labels.js';
import { live } from './live.js';
import { PresenceDot, usePresence } from './presence.js';
import { navigate } from './router.js';
import { markSeen } from './seen.js';
import { SentimentBadge } from './sentiment.js';
import { SlaBadge } from './sla.js';
import { ErrorFor } from './ticket-actions.js';
import { CannedPicker } from './ticket-canned.js';
import { AttachButton, Attachments, PendingFiles } from './ticket-files.js';
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

/** @param {string} ticketId @param {'reply' | 'note'} mode */
const draftKey = (ticketId, mode) => `gm.draft.${ticketId}.${mode}`;
/** @param {string} ticketId */
const filesKey = (ticketId) => `gm.draft.${ticketId}.reply.files`;

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
  const [mode, setMode] = useState(/** @type {'reply' | 'note'} */ ('reply'));
  const [draft, setDraft] = useState(() => sessionStorage.getItem(draftKey(ticketId, 'reply')) ?? '');
  const [help, setHelp] = useState(false);
  // Files uploaded in the reply tab, sent with the reply; kept with the draft across a reload.
  const [pending, setPending] = useState(
    /** @type {import('./ticket-files.js').Attachment[]} */ (
      JSON.parse(sessionStorage.getItem(filesKey(ticketId)) ?? '[]')
    ),
  );
  const composer = useRef(/** @type {HTMLTextAreaElement | null} */ (null));
  const base = `/v1/orgs/${org.id}/tickets/${ticketId}`;
  const [perms, setPerms] = useState(/** @type {Set<string> | null | undefined} */ (undefined));
  useEffect(() => {
    permissionsOf(org).then(setPerms);
  }, [org.id, org.role]);
  const may = mayFrom(perms);
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
    if (moved) setDraft('');
    setMergedInto({ id: mergedId, moved });
    api('GET', `/v1/orgs/${org.id}/tickets/${mergedId}`).then(
      (r) => setMergedInto({ id: mergedId, number: r.ticket.number, moved }),
      () => {},
    );
  }, [mergedId]);
  const canWrite = !mergedId && (may('tickets.reply') || may('tickets.note'));
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

  // Typing presence: on while there is text being written, back to viewing after 5 s idle.
  const typingTimer = useRef(/** @type {ReturnType<typeof setTimeout> | null} */ (null));
  /** @param {string} text */
  const onDraft = (text) => {
    setDraft(text);
    if (text) sessionStorage.setItem(draftKey(ticketId, mode), text);
    else sessionStorage.removeItem(draftKey(ticketId, mode));
    live.setPresence(org.id, ticketId, text ? 'typing' : 'viewing');
    if (typingTimer.current) clearTimeout(typingTimer.current);
    typingTimer.current = setTimeout(() => live.setPresence(org.id, ticketId, 'viewing'), 5000);
  };
  useEffect(
    () => () => {
      if (typingTimer.current) clearTimeout(typingTimer.current);
    },
    [],
  );

  /** Puts a canned reply's text in the composer at the cursor (or after the draft). @param {string} text */
  const insertText = (text) => {
    const el = composer.current;
    const at = el && document.activeElement === el ? el.selectionStart : draft.length;
    const before = draft.slice(0, at);
    const glue = before && !before.endsWith('\n') ? '\n' : '';
    onDraft(`${before}${glue}${text}${draft.slice(at)}`);
    requestAnimationFrame(() => {
      composer.current?.focus();
      const end = before.length + glue.length + text.length;
      composer.current?.setSelectionRange(end, end);
    });
  };

  /** @param {import('./ticket-files.js').Attachment[]} next */
  const keepPending = (next) => {
    setPending(next);
    if (next.length) sessionStorage.setItem(filesKey(ticketId), JSON.stringify(next));
    else sessionStorage.removeItem(filesKey(ticketId));
    // Another set of files is another request: a new key, so the old answer is not replayed.
    sessionStorage.removeItem(`${draftKey(ticketId, 'reply')}.key`);
  };

  /** @param {'reply' | 'note'} m */
  const switchMode = (m) => {
    setMode(m);
    setDraft(sessionStorage.getItem(draftKey(ticketId, m)) ?? '');
    setErrors((e) => ({ ...e, compose: '' }));
    composer.current?.focus();
  };

  // This page's own changes go one at a time, each conditioned on the version the one before
  // answered with: a second click while the first is on its way is not refused as someone else's.
  /** Whether a reply or note is on its way (a second Ctrl+Enter must not send it again). */
  const sending = useRef(false);
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

  /** @param {Event} e */
  const send = async (e) => {
    e.preventDefault();
    const text = draft.trim();
    if (!text) {
      setErrors((x) => ({
        ...x,
        compose: mode === 'reply' ? 'Write a reply first.' : 'Write a note first.',
      }));
      return;
    }
    // A second Ctrl+Enter while the first send is on its way would post again and be refused.
    if (sending.current) return;
    sending.current = true;
    try {
      const files = mode === 'reply' ? pending.map((f) => f.id) : [];
      const key = sendKey(`${draftKey(ticketId, mode)}.key`, JSON.stringify([text, files]));
      /** @type {unknown} */
      let failure = null;
      const ok = await act('compose', () =>
        api(
          'POST',
          `${base}/${mode === 'reply' ? 'replies' : 'notes'}`,
          files.length ? { body: text, attachmentIds: files } : { body: text },
          { 'idempotency-key': key.id },
        ).catch((err) => {
          failure = err;
          throw err;
        }),
      );
      // The API keeps a refusal (a closed ticket, a 403) as the key's answer: once the cause is
      // gone (the ticket reopened), the same key would only replay it. Only an answer that never
      // came (network, 5xx) or one still being processed keeps the key for the retry.
      if (!ok && !retryable(failure)) key.drop();
      if (ok) {
        if (mode === 'reply') keepPending([]);
        sessionStorage.removeItem(draftKey(ticketId, mode));
        key.drop();
        setDraft('');
        live.setPresence(org.id, ticketId, 'viewing');
      }
    } finally {
      sending.current = false;
    }
  };

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
        switchMode(e.key === 'r' ? 'reply' : 'note');
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

  const t = data.ticket;
  const nameOf = (/** @type {string | null} */ id) =>
    !id
      ? 'someone'
      : id === me.id
        ? 'You'
        : (members?.find((m) => m.userId === id)?.displayName ?? 'A staff member');
  const timeline = [
    ...data.messages.map((m) => ({ kind: /** @type {const} */ ('message'), at: m.createdAt, m })),
    ...data.notes.map((n) => ({ kind: /** @type {const} */ ('note'), at: n.createdAt, n })),
  ].sort((a, b) => a.at.localeCompare(b.at));

  return html`<main class="ticket-page" id="main">
    <nav class="crumbs" aria-label="Breadcrumb"><a href=${`/o/${org.id}`}>← Inbox</a></nav>
    <header class="ticket-head">
      <h1><span class="num">#${t.number}</span> ${t.subject}</h1>
      <p class="meta">
        <span class=${`badge status-${t.status}`}>${label(t.status)}</span>
        <span class=${`badge prio-${t.priority}`}>${label(t.priority)}</span>
        <${SlaBadge} sla=${data.sla} />
        <span>from ${label(t.origin)}</span>
        <span>opened <time datetime=${t.createdAt}>${ago(t.createdAt)}</time></span>
        <span>${
          t.assigneeId
            ? html`assigned to <${PresenceDot} state=${presence(t.assigneeId)} name=${nameOf(t.assigneeId)} /> ${nameOf(t.assigneeId)}`
            : 'unassigned'
        }</span>
        ${t.tags.map((tag) => html`<span class="tag">${tag}</span>`)}
      </p>
      ${
        viewers.length
          ? html`<p class="presence" role="status">
              ${viewers.map(
                (v) =>
                  html`<span class=${`viewer ${v.state}`}>${nameOf(v.userId)} ${v.state === 'typing' ? 'is typing…' : 'is viewing'}</span>`,
              )}
            </p>`
          : null
      }
      ${
        mergedInto
          ? html`<p class="merged-into" role="status">
              Merged into <a href=${`/o/${org.id}/t/${mergedInto.id}`}>${mergedInto.number ? `#${mergedInto.number}` : 'another ticket'}</a>:
              replies and changes go there.${mergedInto.moved ? ' Your unsent draft was moved there.' : ''}
            </p>`
          : null
      }
      ${
        changedElsewhere
          ? html`<p class="error changed-elsewhere" role="alert">
              Someone else changed this ticket while you had it open, so your change was not made.
              The ticket now shows their change: check it and make yours again if it still applies.
              <button type="button" onClick=${() => setChangedElsewhere(false)}>Dismiss</button>
            </p>`
          : null
      }
    </header>

    <div class="ticket-grid">
      <section class="conversation" aria-labelledby="conv-title">
        <h2 id="conv-title">Conversation</h2>
        ${timeline.length === 0 ? html`<p class="muted">No messages yet.</p>` : null}
        <ol class="timeline">
          ${timeline.map((item) =>
            item.kind === 'message'
              ? html`<li key=${item.m.id} class=${`msg ${item.m.authorType === 'player' ? 'from-player' : 'from-staff'}`}>
                  <p class="who">
                    ${
                      // Someone staff added or a forum bystander has a player profile too: not the player.
                      item.m.authorKind === 'participant'
                        ? html`<span class="participant-label" title="Not the ticket's player">Participant</span>`
                        : item.m.authorType === 'player'
                          ? 'Player'
                          : item.m.authorUserId
                            ? nameOf(item.m.authorUserId)
                            : label(item.m.authorType)
                    }
                    <span class="muted"> · public · via ${label(item.m.origin)} · <time datetime=${item.m.createdAt}>${ago(item.m.createdAt)}</time></span>
                    ${' '}<${SentimentBadge} sentiment=${item.m.sentiment} />
                  </p>
                  <div class="body">${item.m.body}</div>
                </li>`
              : html`<li key=${item.n.id} class="note">
                  <p class="who">
                    <span class="note-label">Internal note</span> ${nameOf(item.n.authorUserId)}
                    <span class="muted"> · not shown to the player · <time datetime=${item.n.createdAt}>${ago(item.n.createdAt)}</time></span>
                  </p>
                  <div class="body">${item.n.body}</div>
                </li>`,
          )}
        </ol>

        <${Attachments} attachments=${data.attachments ?? []} />

        ${
          canWrite
            ? html`<form class=${`composer ${mode}`} onSubmit=${send} aria-label=${mode === 'reply' ? 'Public reply' : 'Internal note'}>
          <div class="tabs" role="radiogroup" aria-label="Write">
            <label><input type="radio" name="mode" checked=${mode === 'reply'} disabled=${!may('tickets.reply')} onChange=${() => switchMode('reply')} /> Reply to player <kbd>r</kbd></label>
            <label><input type="radio" name="mode" checked=${mode === 'note'} disabled=${!may('tickets.note')} onChange=${() => switchMode('note')} /> Internal note <kbd>n</kbd></label>
          </div>
          <label for="composer-text" class="visually-hidden">${mode === 'reply' ? 'Reply to the player' : 'Internal note for staff'}</label>
          <textarea
            id="composer-text"
            ref=${composer}
            rows="4"
            placeholder=${mode === 'reply' ? 'Write a public reply — the player sees this' : 'Write an internal note — only staff see this'}
            value=${draft}
            onInput=${(/** @type {any} */ e) => onDraft(e.currentTarget.value)}
            onKeyDown=${(/** @type {KeyboardEvent} */ e) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) send(e);
            }}
            aria-invalid=${errors.compose ? 'true' : 'false'}
            aria-describedby=${errors.compose ? 'err-compose' : undefined}
          ></textarea>
          <${ErrorFor} id="compose" errors=${errors} />
          <div class="row composer-tools">
            <${CannedPicker} orgId=${org.id} ticketId=${ticketId} onInsert=${insertText} />
            ${
              mode === 'reply'
                ? html`<${AttachButton}
                    base=${base}
                    room=${10 - pending.length}
                    note="ready to send with the reply"
                    onUploaded=${(/** @type {import('./ticket-files.js').Attachment[]} */ got) => {
                      keepPending([...pending, ...got]);
                      load();
                    }}
                  />`
                : html`<${AttachButton} base=${base} note="attached for staff only" onUploaded=${load} />`
            }
          </div>
          ${
            mode === 'reply'
              ? html`<${PendingFiles}
                  files=${pending}
                  onRemove=${(/** @type {string} */ id) => keepPending(pending.filter((f) => f.id !== id))}
                />`
              : null
          }
          <div class="row">
            <button class="primary" disabled=${busy === 'compose'}>${mode === 'reply' ? 'Send reply' : 'Add note'}</button>
            <span class="muted">Ctrl+Enter sends. The draft is kept if the page reloads.</span>
          </div>
        </form>`
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
