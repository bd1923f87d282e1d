// @ts-check
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, retryable, sendKey } from './api.js';
import { html } from './html.js';
import { live } from './live.js';
import { ErrorFor } from './ticket-actions.js';
import { CannedPicker } from './ticket-canned.js';
import { AttachButton, PendingFiles } from './ticket-files.js';

/** @typedef {import('./ticket-files.js').Attachment} Attachment */

/** @param {string} ticketId @param {'reply' | 'note'} mode */
export const draftKey = (ticketId, mode) => `gm.draft.${ticketId}.${mode}`;
/** @param {string} ticketId */
const filesKey = (ticketId) => `gm.draft.${ticketId}.reply.files`;

/**
 * The reply/note composer's state: the tab, the draft and the files waiting to go with a reply,
 * all kept in sessionStorage so a reload loses nothing, and the send. Sending goes through the
 * page's `act`, so its error shows under the composer and a 412 reloads the ticket.
 * @param {{ orgId: string, ticketId: string, base: string, act: import('./ticket-actions.js').Act,
 *   setErrors: (f: (e: Record<string, string>) => Record<string, string>) => void }} props
 */
export function useComposer({ orgId, ticketId, base, act, setErrors }) {
  const [mode, setMode] = useState(/** @type {'reply' | 'note'} */ ('reply'));
  const [draft, setDraft] = useState(() => sessionStorage.getItem(draftKey(ticketId, 'reply')) ?? '');
  // Files uploaded in the reply tab, sent with the reply; kept with the draft across a reload.
  const [pending, setPending] = useState(
    /** @type {Attachment[]} */ (JSON.parse(sessionStorage.getItem(filesKey(ticketId)) ?? '[]')),
  );
  const composer = useRef(/** @type {HTMLTextAreaElement | null} */ (null));

  // Typing presence: on while there is text being written, back to viewing after 5 s idle.
  const typingTimer = useRef(/** @type {ReturnType<typeof setTimeout> | null} */ (null));
  /** @param {string} text */
  const onDraft = (text) => {
    setDraft(text);
    if (text) sessionStorage.setItem(draftKey(ticketId, mode), text);
    else sessionStorage.removeItem(draftKey(ticketId, mode));
    live.setPresence(orgId, ticketId, text ? 'typing' : 'viewing');
    if (typingTimer.current) clearTimeout(typingTimer.current);
    typingTimer.current = setTimeout(() => live.setPresence(orgId, ticketId, 'viewing'), 5000);
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

  /** @param {Attachment[]} next */
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

  /** Whether a reply or note is on its way (a second Ctrl+Enter must not send it again). */
  const sending = useRef(false);
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
        live.setPresence(orgId, ticketId, 'viewing');
      }
    } finally {
      sending.current = false;
    }
  };

  return { mode, draft, setDraft, pending, composer, onDraft, insertText, keepPending, switchMode, send };
}

/** @typedef {ReturnType<typeof useComposer>} ComposerState */

/**
 * The composer form: the Reply / Internal note tabs (each only for a role the API lets write it),
 * the text, canned replies, files (with a reply they wait and go with it; with a note they are
 * attached at once, for staff only) and Send.
 * @param {{ c: ComposerState, orgId: string, ticketId: string, base: string, busy: string,
 *   errors: Record<string, string>, may: (perm: string) => boolean, load: () => unknown }} props
 */
export function Composer({ c, orgId, ticketId, base, busy, errors, may, load }) {
  const { mode, pending } = c;
  return html`<form class=${`composer ${mode}`} onSubmit=${c.send} aria-label=${mode === 'reply' ? 'Public reply' : 'Internal note'}>
          <div class="tabs" role="radiogroup" aria-label="Write">
            <label><input type="radio" name="mode" checked=${mode === 'reply'} disabled=${!may('tickets.reply')} onChange=${() => c.switchMode('reply')} /> Reply to player <kbd>r</kbd></label>
            <label><input type="radio" name="mode" checked=${mode === 'note'} disabled=${!may('tickets.note')} onChange=${() => c.switchMode('note')} /> Internal note <kbd>n</kbd></label>
          </div>
          <label for="composer-text" class="visually-hidden">${mode === 'reply' ? 'Reply to the player' : 'Internal note for staff'}</label>
          <textarea
            id="composer-text"
            ref=${c.composer}
            rows="4"
            placeholder=${mode === 'reply' ? 'Write a public reply — the player sees this' : 'Write an internal note — only staff see this'}
            value=${c.draft}
            onInput=${(/** @type {any} */ e) => c.onDraft(e.currentTarget.value)}
            onKeyDown=${(/** @type {KeyboardEvent} */ e) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) c.send(e);
            }}
            aria-invalid=${errors.compose ? 'true' : 'false'}
            aria-describedby=${errors.compose ? 'err-compose' : undefined}
          ></textarea>
          <${ErrorFor} id="compose" errors=${errors} />
          <div class="row composer-tools">
            <${CannedPicker} orgId=${orgId} ticketId=${ticketId} onInsert=${c.insertText} />
            ${
              mode === 'reply'
                ? html`<${AttachButton}
                    base=${base}
                    room=${10 - pending.length}
                    note="ready to send with the reply"
                    onUploaded=${(/** @type {Attachment[]} */ got) => {
                      c.keepPending([...pending, ...got]);
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
                  onRemove=${(/** @type {string} */ id) => c.keepPending(pending.filter((f) => f.id !== id))}
                />`
              : null
          }
          <div class="row">
            <button class="primary" disabled=${busy === 'compose'}>${mode === 'reply' ? 'Send reply' : 'Add note'}</button>
            <span class="muted">Ctrl+Enter sends. The draft is kept if the page reloads.</span>
          </div>
        </form>`;
}
