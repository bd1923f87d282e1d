// @ts-check
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { ConfirmButton, ErrorFor, invalid, SecretOnce, useForm, useLoad, when } from './forms.js';
import { html } from './html.js';

/**
 * @typedef {{ id: string, name: string, prefix: string, scopes: string[], createdAt: string, lastUsedAt: string | null, expiresAt: string | null, revokedAt: string | null }} ApiToken
 */

/** The API's token scopes (db/api-tokens.ts), with what each lets an integration do. */
export const SCOPES = /** @type {const} */ ([
  ['tickets:read', 'read tickets'],
  ['tickets:write', 'open, answer and change tickets'],
  ['players:read', 'read players'],
  ['players:write', 'change players'],
  ['reports:read', 'read player reports'],
  ['reports:write', 'file and handle reports'],
  ['members:read', 'read members'],
  ['games:manage', 'manage games and keys'],
  ['webhooks:manage', 'manage webhooks'],
  ['guilds:manage', 'manage Discord servers'],
  ['settings:manage', 'manage categories, canned replies, SLA'],
  ['audit:read', 'read the audit log'],
  ['analytics:read', 'read analytics'],
]);

/**
 * API tokens: create with scopes (the plaintext is shown once, with a copy button), list, revoke.
 * @param {import('./settings.js').SectionProps} props
 */
export function TokensSettings({ org }) {
  const base = `/v1/orgs/${org.id}/api-tokens`;
  const tokens = useLoad(
    async () => /** @type {{ tokens: ApiToken[] }} */ (await api('GET', base)).tokens,
    [base],
  );
  const form = useForm('create');
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState(/** @type {string[]} */ ([]));
  const [expires, setExpires] = useState('');
  const [plaintext, setPlaintext] = useState('');

  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    setPlaintext('');
    await form.run('create', async () => {
      /** @type {{ plaintext: string }} */
      const r = await api('POST', base, {
        name,
        scopes,
        // A date input means the end of that day where the admin is.
        ...(expires ? { expiresAt: new Date(`${expires}T23:59:59`).toISOString() } : {}),
      });
      setPlaintext(r.plaintext);
      setName('');
      setScopes([]);
      setExpires('');
      await tokens.reload();
    });
  };
  /** @param {ApiToken} t */
  const revoke = (t) =>
    form.run(`revoke-${t.id}`, async () => {
      await api('DELETE', `${base}/${t.id}`);
      await tokens.reload();
    });

  return html`<section aria-labelledby="tokens-h">
    <h1 id="tokens-h">API tokens</h1>
    <p class="muted">For a game server or a tool calling the API as this organization. A token is shown once, when it is made.</p>
    <form class="card stack" onSubmit=${submit}>
      <div class="field">
        <label for="tok-name">Name</label>
        <input id="tok-name" value=${name} maxlength="100" onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)} ...${invalid('name', form.errors)} />
        <${ErrorFor} id="name" errors=${form.errors} />
      </div>
      <fieldset ...${invalid('scopes', form.errors)}>
        <legend>Scopes</legend>
        <div class="checks">
          ${SCOPES.map(
            ([key, words]) => html`<label key=${key}>
              <input
                type="checkbox"
                checked=${scopes.includes(key)}
                onChange=${(/** @type {any} */ e) =>
                  setScopes(e.currentTarget.checked ? [...scopes, key] : scopes.filter((s) => s !== key))}
              />
              <code>${key}</code> <span class="muted">${words}</span>
            </label>`,
          )}
        </div>
        <${ErrorFor} id="scopes" errors=${form.errors} />
      </fieldset>
      <div class="field">
        <label for="tok-exp">Expires on <span class="muted">(optional)</span></label>
        <input id="tok-exp" type="date" value=${expires} onInput=${(/** @type {any} */ e) => setExpires(e.currentTarget.value)} ...${invalid('expiresAt', form.errors)} />
        <${ErrorFor} id="expiresAt" errors=${form.errors} />
      </div>
      <div><button class="primary" disabled=${form.busy === 'create'}>Create token</button></div>
      <${ErrorFor} id="create" errors=${form.errors} />
    </form>
    ${plaintext ? html`<${SecretOnce} label="New API token" value=${plaintext} onDone=${() => setPlaintext('')} />` : null}
    <h2>Tokens</h2>
    ${tokens.error ? html`<p class="error" role="alert">The tokens could not be loaded: ${tokens.error}</p>` : null}
    ${
      tokens.data?.length
        ? html`<div class="table-scroll"><table class="grid tokens">
            <thead><tr><th scope="col">Name</th><th scope="col">Starts with</th><th scope="col">Scopes</th><th scope="col">Last used</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              ${tokens.data.map(
                (t) => html`<tr key=${t.id} data-token=${t.id}>
                  <th scope="row">${t.name}</th>
                  <td><code>${t.prefix}…</code></td>
                  <td>${t.scopes.join(', ')}</td>
                  <td>${t.lastUsedAt ? when(t.lastUsedAt) : 'never'}</td>
                  <td>${t.revokedAt ? `Revoked ${when(t.revokedAt)}` : t.expiresAt ? `Expires ${when(t.expiresAt)}` : 'Active'}</td>
                  <td>
                    ${t.revokedAt ? null : html`<${ConfirmButton} label="Revoke" name=${`Revoke ${t.name}`} confirm=${`Revoke ${t.name}`} onConfirm=${() => revoke(t)} />`}
                    <${ErrorFor} id=${`revoke-${t.id}`} errors=${form.errors} />
                  </td>
                </tr>`,
              )}
            </tbody>
          </table></div>`
        : tokens.data
          ? html`<p class="muted">No tokens yet.</p>`
          : null
    }
  </section>`;
}
