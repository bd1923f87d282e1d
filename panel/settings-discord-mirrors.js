// @ts-check
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { ConfirmButton, ErrorFor, invalid, useForm, useLoad, when } from './forms.js';
import { html } from './html.js';

/**
 * @typedef {{ id: string, guildId: string, discordChannelId: string, channelId: string, name: string | null,
 *   createdAt: string, backfillState: 'pending' | 'done' | 'refused', backfilledCount: number | null,
 *   backfillProblem: string | null, backfilledAt: string | null }} Mirror
 */

/**
 * How often the list is asked again while a backfill is waiting or running: every 2 s, unless
 * the page set `gmMirrorPollMs` on window before this module loaded (the panel's tests, which
 * would otherwise wait up to 2 s for each state they check).
 */
const POLL_MS = Number(/** @type {{ gmMirrorPollMs?: unknown }} */ (window).gmMirrorPollMs) || 2000;

/** `<#123>` is Discord's channel mention: outside Discord it reads as the channel's id. */
const plain = (/** @type {string} */ text) => text.replace(/<#(\d+)>/g, 'channel $1');

/**
 * What a mirror's backfill did, in words.
 * @param {Mirror} m
 */
export function mirrorState(m) {
  if (m.backfillState === 'pending') return 'Copying the last 100 messages…';
  if (m.backfillState === 'refused')
    return plain(m.backfillProblem ?? 'The bot could not read this channel.');
  const n = m.backfilledCount ?? 0;
  const at = m.backfilledAt ? ` (${when(m.backfilledAt)})` : '';
  // A copy after the first finds most messages there already: only new ones are counted.
  return n ? `Copied ${n} message${n === 1 ? '' : 's'}${at}.` : `No new message to copy${at}.`;
}

/**
 * The channels of one server mirrored read-only into the inbox: their backfill in words (copying,
 * copied N messages, or what the bot lacks), add one by its Discord channel id, stop one (asked
 * twice), and ask for the backfill again ("Try again" after a refusal, "Copy again" otherwise).
 * While a backfill waits or runs the list is asked again every 2 s.
 * @param {{ base: string, guildId: string }} props
 */
export function DiscordMirrors({ base, guildId }) {
  const g = guildId;
  const url = `${base}/discord-mirrors`;
  const orgId = base.split('/').at(-1) ?? '';
  const mirrors = useLoad(
    async () =>
      /** @type {{ mirrors: Mirror[] }} */ (await api('GET', url)).mirrors.filter((m) => m.guildId === g),
    [url, g],
  );
  const form = useForm(`mirror-add-${g}`);
  const [channelId, setChannelId] = useState('');
  const [name, setName] = useState('');
  const [done, setDone] = useState('');
  const title = (/** @type {Mirror} */ m) => (m.name ? `#${m.name}` : `channel ${m.discordChannelId}`);

  const pending = mirrors.data?.some((m) => m.backfillState === 'pending') ?? false;
  useEffect(() => {
    if (!pending) return;
    const t = setTimeout(() => mirrors.reload(), POLL_MS);
    return () => clearTimeout(t);
  }, [pending, mirrors.data]);

  /** @param {Event} e */
  const add = async (e) => {
    e.preventDefault();
    setDone('');
    const body = {
      guildId: g,
      discordChannelId: channelId.trim(),
      ...(name.trim() ? { name: name.trim() } : {}),
    };
    if (await form.run(`mirror-add-${g}`, () => api('POST', url, body))) {
      setDone(`Mirroring channel ${body.discordChannelId}.`);
      setChannelId('');
      setName('');
      await mirrors.reload();
    }
  };
  /** @param {Mirror} m */
  const backfill = async (m) => {
    setDone('');
    await form.run(`mirror-backfill-${m.id}`, () => api('POST', `${url}/${m.id}/backfill`));
    await mirrors.reload();
  };
  /** @param {Mirror} m */
  const remove = async (m) => {
    setDone('');
    if (await form.run(`mirror-remove-${m.id}`, () => api('DELETE', `${url}/${m.id}`)))
      setDone(`Stopped mirroring ${title(m)}; its conversation stays in Conversations, archived.`);
    await mirrors.reload();
  };
  // A 422 names `body.discordChannelId` or `body.name`: each goes under its field of this server.
  const errors = Object.fromEntries(
    Object.entries(form.errors).map(([k, v]) => [
      k === 'discordChannelId' || k === 'name' ? `mirror-${k}-${g}` : k,
      v,
    ]),
  );
  const fid = (/** @type {string} */ f) => `mirror-${f}-${g}`;

  return html`<section class="stack mirrors" aria-labelledby=${fid('h')}>
    <h3 class="small-h" id=${fid('h')}>Mirrored channels <span class="muted">(read-only copies in Conversations)</span></h3>
    ${mirrors.error ? html`<p class="error" role="alert">The mirrors could not be loaded: ${mirrors.error}</p>` : null}
    ${
      mirrors.data
        ? mirrors.data.length
          ? html`<ul class="mirror-list">
              ${mirrors.data.map(
                (m) => html`<li key=${m.id} data-mirror=${m.id} class=${`mirror mirror-${m.backfillState}`}>
                  <p>
                    <a href=${`/o/${orgId}/conversations/${m.channelId}`}>${title(m)}</a>
                    ${m.name ? html` <span class="muted">(${m.discordChannelId})</span>` : null}
                  </p>
                  <p class=${m.backfillState === 'refused' ? 'error mirror-state' : 'muted mirror-state'} role="status">${mirrorState(m)}</p>
                  <div class="row">
                    ${
                      m.backfillState === 'pending'
                        ? null
                        : html`<button
                            type="button"
                            aria-label=${`${m.backfillState === 'refused' ? 'Try again' : 'Copy again'}: ${title(m)}`}
                            disabled=${form.busy === `mirror-backfill-${m.id}`}
                            onClick=${() => backfill(m)}
                          >
                            ${m.backfillState === 'refused' ? 'Try again' : 'Copy again'}
                          </button>`
                    }
                    <${ConfirmButton}
                      label="Stop mirroring"
                      name=${`Stop mirroring ${title(m)}`}
                      confirm=${`Stop mirroring ${title(m)}`}
                      onConfirm=${() => remove(m)}
                    />
                  </div>
                  <${ErrorFor} id=${`mirror-backfill-${m.id}`} errors=${errors} />
                  <${ErrorFor} id=${`mirror-remove-${m.id}`} errors=${errors} />
                </li>`,
              )}
            </ul>`
          : html`<p class="muted">No channel of this server is mirrored.</p>`
        : html`<p role="status">Loading…</p>`
    }
    <form class="stack" onSubmit=${add} aria-label=${`Mirror a channel of server ${g}`}>
      <div class="row">
        <div class="field">
          <label for=${fid('discordChannelId')}>Discord channel id</label>
          <input id=${fid('discordChannelId')} inputmode="numeric" value=${channelId} onInput=${(/** @type {any} */ e) => setChannelId(e.currentTarget.value)} ...${invalid(fid('discordChannelId'), errors)} />
          <${ErrorFor} id=${fid('discordChannelId')} errors=${errors} />
        </div>
        <div class="field">
          <label for=${fid('name')}>Name in Conversations <span class="muted">(optional)</span></label>
          <input id=${fid('name')} maxlength="100" value=${name} onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)} ...${invalid(fid('name'), errors)} />
          <${ErrorFor} id=${fid('name')} errors=${errors} />
        </div>
      </div>
      <p class="muted">The bot needs View Channel and Read Message History there. Its last 100 messages and its threads’ are copied; nothing goes back to Discord.</p>
      <div><button disabled=${!channelId.trim() || form.busy === `mirror-add-${g}`}>Mirror channel</button></div>
      <${ErrorFor} id=${`mirror-add-${g}`} errors=${errors} />
    </form>
    ${done ? html`<p class="notice" role="status">${done}</p>` : null}
  </section>`;
}
