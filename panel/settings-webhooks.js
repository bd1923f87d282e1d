// @ts-check
import { useState } from 'preact/hooks';
import { api, query } from './api.js';
import { ConfirmButton, ErrorFor, invalid, SecretOnce, useForm, useLoad, when } from './forms.js';
import { html } from './html.js';

/**
 * @typedef {{ id: string, url: string, description: string | null, eventTypes: string[], enabled: boolean, disabledReason: string | null, failingSince: string | null, createdAt: string }} Webhook
 * @typedef {{ id: string, subscriptionId: string, eventType: string, messageId: string, attempt: number, replay: boolean, status: string, responseStatus: number | null, latencyMs: number | null, error: string | null, createdAt: string }} Delivery
 */

/** The events a subscription can ask for (db/webhooks.ts WEBHOOK_EVENT_TYPES). */
export const EVENT_TYPES = [
  'ticket.created',
  'ticket.updated',
  'ticket.status_changed',
  'ticket.assigned',
  'ticket.priority_changed',
  'ticket.closed',
  'ticket.reopened',
  'ticket.rated',
  'ticket.sla_warning',
  'ticket.sla_breached',
  'message.created',
  'note.created',
  'player.reported',
  'member.added',
  'member.removed',
];

/**
 * Webhooks: subscribe a URL (the signing secret is shown once), list, pause or resume, send a
 * test ping, delete; and the delivery log with replay.
 * @param {import('./settings.js').SectionProps} props
 */
export function WebhooksSettings({ org }) {
  const base = `/v1/orgs/${org.id}/webhooks`;
  const hooks = useLoad(
    async () => /** @type {{ subscriptions: Webhook[] }} */ (await api('GET', base)).subscriptions,
    [base],
  );
  const form = useForm('create');
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState(/** @type {string[]} */ (['ticket.created']));
  const [secret, setSecret] = useState('');
  // Which secret is shown: a new webhook's, or a rotated one (the old one still signs for a while).
  const [secretLabel, setSecretLabel] = useState('Signing secret');
  const [note, setNote] = useState('');
  const [logFor, setLogFor] = useState('');

  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    setSecret('');
    setNote('');
    await form.run('create', async () => {
      /** @type {{ secret: string }} */
      const r = await api('POST', base, {
        url,
        eventTypes: events,
        ...(description.trim() ? { description } : {}),
      });
      setSecret(r.secret);
      setSecretLabel('Signing secret');
      setUrl('');
      setDescription('');
      await hooks.reload();
    });
  };
  /** @param {Webhook} h @param {string} id @param {() => Promise<unknown>} fn */
  const act = (h, id, fn) =>
    form.run(`${id}-${h.id}`, async () => {
      await fn();
      await hooks.reload();
    });

  return html`<section aria-labelledby="hooks-h">
      <h1 id="hooks-h">Webhooks</h1>
      <p class="muted">GameMod posts signed events (Standard Webhooks) to these URLs.</p>
      <form class="card stack" onSubmit=${submit}>
        <div class="field">
          <label for="wh-url">URL</label>
          <input id="wh-url" type="url" value=${url} placeholder="https://example.com/gamemod" onInput=${(/** @type {any} */ e) => setUrl(e.currentTarget.value)} ...${invalid('url', form.errors)} />
          <${ErrorFor} id="url" errors=${form.errors} />
        </div>
        <div class="field">
          <label for="wh-desc">Description <span class="muted">(optional)</span></label>
          <input id="wh-desc" value=${description} maxlength="500" onInput=${(/** @type {any} */ e) => setDescription(e.currentTarget.value)} ...${invalid('description', form.errors)} />
          <${ErrorFor} id="description" errors=${form.errors} />
        </div>
        <fieldset ...${invalid('eventTypes', form.errors)}>
          <legend>Events</legend>
          <div class="checks">
            ${EVENT_TYPES.map(
              (t) => html`<label key=${t}>
                <input
                  type="checkbox"
                  checked=${events.includes(t)}
                  onChange=${(/** @type {any} */ e) =>
                    setEvents(e.currentTarget.checked ? [...events, t] : events.filter((x) => x !== t))}
                />
                <code>${t}</code>
              </label>`,
            )}
          </div>
          <${ErrorFor} id="eventTypes" errors=${form.errors} />
        </fieldset>
        <div><button class="primary" disabled=${form.busy === 'create'}>Add webhook</button></div>
        <${ErrorFor} id="create" errors=${form.errors} />
      </form>
      ${secret ? html`<${SecretOnce} label=${secretLabel} value=${secret} onDone=${() => setSecret('')} />` : null}
      ${note ? html`<p class="notice" role="status">${note}</p>` : null}
      <h2>Subscriptions</h2>
      ${hooks.error ? html`<p class="error" role="alert">The webhooks could not be loaded: ${hooks.error}</p>` : null}
      ${
        hooks.data?.length
          ? html`<ul class="cards">
              ${hooks.data.map(
                (h) => html`<li key=${h.id} class="card" data-webhook=${h.id}>
                  <p><strong class="break">${h.url}</strong> ${h.enabled ? html`<span class="badge">On</span>` : html`<span class="badge prio-high">Off</span>`}</p>
                  ${h.description ? html`<p>${h.description}</p>` : null}
                  ${h.disabledReason ? html`<p class="error">Turned off: ${h.disabledReason}</p>` : null}
                  ${h.failingSince ? html`<p class="muted">Failing since ${when(h.failingSince)}</p>` : null}
                  <p class="muted">${h.eventTypes.join(', ')}</p>
                  <div class="row">
                    <button
                      type="button"
                      onClick=${() =>
                        act(h, 'test', async () => {
                          /** @type {{ messageId: string }} */
                          const r = await api('POST', `${base}/${h.id}/test`);
                          setNote(
                            `Test event sent to ${h.url}: look for ${r.messageId} in the delivery log.`,
                          );
                        })}
                    >
                      Send test
                    </button>
                    <button type="button" onClick=${() => act(h, 'toggle', () => api('PATCH', `${base}/${h.id}`, { enabled: !h.enabled }))}>
                      ${h.enabled ? 'Turn off' : 'Turn on'}
                    </button>
                    <button type="button" aria-pressed=${logFor === h.id} onClick=${() => setLogFor(logFor === h.id ? '' : h.id)}>Delivery log</button>
                    <${ConfirmButton}
                      label="New secret"
                      name=${`New signing secret for ${h.url}`}
                      confirm="Make a new secret"
                      onConfirm=${() =>
                        act(h, 'rotate', async () => {
                          /** @type {{ secret: string }} */
                          const r = await api('POST', `${base}/${h.id}/rotate-secret`, { graceHours: 24 });
                          setSecretLabel('New signing secret (the old one also signs for 24 hours)');
                          setSecret(r.secret);
                          scrollTo({ top: 0 });
                        })}
                    />
                    <${ConfirmButton} label="Delete" name=${`Delete webhook ${h.url}`} confirm="Delete webhook" onConfirm=${() => act(h, 'delete', () => api('DELETE', `${base}/${h.id}`))} />
                  </div>
                  <${ErrorFor} id=${`test-${h.id}`} errors=${form.errors} />
                  <${ErrorFor} id=${`toggle-${h.id}`} errors=${form.errors} />
                  <${ErrorFor} id=${`rotate-${h.id}`} errors=${form.errors} />
                  <${ErrorFor} id=${`delete-${h.id}`} errors=${form.errors} />
                </li>`,
              )}
            </ul>`
          : hooks.data
            ? html`<p class="muted">No webhooks yet.</p>`
            : null
      }
    </section>
    ${logFor ? html`<${DeliveryLog} key=${logFor} org=${org} subscriptionId=${logFor} />` : null}`;
}

/**
 * One subscription's delivery log, newest first, a page at a time, with replay per delivery.
 * @param {{ org: { id: string }, subscriptionId: string }} props
 */
function DeliveryLog({ org, subscriptionId }) {
  const base = `/v1/orgs/${org.id}/webhook-deliveries`;
  const [cursor, setCursor] = useState('');
  const log = useLoad(
    async () =>
      /** @type {{ deliveries: Delivery[], next: string | null }} */ (
        await api('GET', `${base}${query({ subscriptionId, limit: 25, cursor })}`)
      ),
    [base, subscriptionId, cursor],
  );
  const form = useForm('log');
  const [note, setNote] = useState('');
  /** @param {Delivery} d */
  const replay = async (d) => {
    setNote('');
    if (await form.run(`replay-${d.id}`, () => api('POST', `${base}/${d.id}/replay`)))
      setNote(`${d.eventType} (${d.messageId}) will be sent again.`);
    await log.reload();
  };
  return html`<section aria-labelledby="log-h" class="delivery-log">
    <h2 id="log-h">Delivery log</h2>
    <button type="button" onClick=${() => (cursor ? setCursor('') : log.reload())}>Refresh</button>
    ${note ? html`<p class="notice" role="status">${note}</p>` : null}
    ${log.error ? html`<p class="error" role="alert">The log could not be loaded: ${log.error}</p>` : null}
    ${
      log.data?.deliveries.length
        ? html`<div class="table-scroll"><table class="grid">
            <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Attempt</th><th scope="col">Result</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              ${log.data.deliveries.map(
                (d) => html`<tr key=${d.id} data-delivery=${d.id}>
                  <td>${when(d.createdAt)}</td>
                  <td><code>${d.eventType}</code> <span class="muted">${d.messageId}</span></td>
                  <td>${d.replay ? `replay ${d.attempt}` : d.attempt}</td>
                  <td>${d.status}${d.responseStatus ? ` (HTTP ${d.responseStatus}${d.latencyMs !== null ? `, ${d.latencyMs} ms` : ''})` : ''}${d.error ? html`<br /><span class="muted">${d.error}</span>` : null}</td>
                  <td>
                    <button type="button" aria-label=${`Replay ${d.eventType} ${d.messageId}`} disabled=${form.busy === `replay-${d.id}`} onClick=${() => replay(d)}>Replay</button>
                    <${ErrorFor} id=${`replay-${d.id}`} errors=${form.errors} />
                  </td>
                </tr>`,
              )}
            </tbody>
          </table></div>`
        : log.data
          ? html`<p class="muted">Nothing delivered yet.</p>`
          : null
    }
    ${log.data?.next ? html`<button type="button" onClick=${() => setCursor(/** @type {string} */ (log.data?.next))}>Older</button>` : null}
  </section>`;
}
