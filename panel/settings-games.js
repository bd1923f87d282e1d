// @ts-check
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { ConfirmButton, ErrorFor, invalid, SecretOnce, useForm, useLoad, when } from './forms.js';
import { html } from './html.js';

/**
 * @typedef {{ id: string, name: string, slug: string }} Game
 * @typedef {{ id: string, gameId: string, name: string, prefix: string, scopes: string[], createdAt: string, lastUsedAt: string | null, revokedAt: string | null }} GameKey
 */

/** What a game key lets the game's SDK do (db/games.ts GAME_KEY_SCOPES). */
const KEY_SCOPES = /** @type {const} */ ([
  ['tickets:create', 'open tickets for players'],
  ['tickets:read_own', "read a player's own tickets"],
  ['reports:create', 'file player reports'],
  ['sessions:write', 'record play sessions'],
]);

/**
 * Games and their SDK keys: add, rename or delete a game; make a key (its secret shown once),
 * list and revoke keys. Shown to `games.manage`.
 * @param {import('./settings.js').SectionProps} props
 */
export function GamesSettings({ org }) {
  const base = `/v1/orgs/${org.id}/games`;
  const games = useLoad(async () => /** @type {{ games: Game[] }} */ (await api('GET', base)).games, [base]);
  const form = useForm('create');
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');

  /** @param {Event} e */
  const create = async (e) => {
    e.preventDefault();
    if (await form.run('create', () => api('POST', base, { name, slug }))) {
      setName('');
      setSlug('');
      await games.reload();
    }
  };

  return html`<section aria-labelledby="games-h">
      <h1 id="games-h">Games and keys</h1>
      <p class="muted">A game's keys let its client or server open tickets and file reports through the SDK.</p>
      ${games.error ? html`<p class="error" role="alert">The games could not be loaded: ${games.error}</p>` : null}
      ${
        games.data
          ? games.data.length
            ? html`<ul class="cards">
                ${games.data.map(
                  (g) => html`<li key=${g.id} class="card" data-game=${g.slug}>
                    <${GameCard} base=${base} game=${g} onChanged=${games.reload} />
                  </li>`,
                )}
              </ul>`
            : html`<p class="muted">No games yet.</p>`
          : html`<p role="status">Loading…</p>`
      }
    </section>
    <section aria-labelledby="game-new-h">
      <h2 id="game-new-h">New game</h2>
      <form class="card stack" onSubmit=${create} aria-label="New game">
        <div class="row">
          <div class="field">
            <label for="game-name">Game name</label>
            <input id="game-name" value=${name} onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)} ...${invalid('name', form.errors)} />
            <${ErrorFor} id="name" errors=${form.errors} />
          </div>
          <div class="field">
            <label for="game-slug">Slug <span class="muted">(letters, digits and -)</span></label>
            <input id="game-slug" value=${slug} onInput=${(/** @type {any} */ e) => setSlug(e.currentTarget.value)} ...${invalid('slug', form.errors)} />
            <${ErrorFor} id="slug" errors=${form.errors} />
          </div>
        </div>
        <div><button class="primary" disabled=${form.busy === 'create'}>Add game</button></div>
        <${ErrorFor} id="create" errors=${form.errors} />
      </form>
    </section>`;
}

/**
 * One game: rename, delete, and its keys.
 * @param {{ base: string, game: Game, onChanged: () => Promise<void> }} props
 */
function GameCard({ base, game, onChanged }) {
  const url = `${base}/${game.id}`;
  const p = game.id.slice(0, 8);
  const id = (/** @type {string} */ f) => `${f}-${p}`;
  const keys = useLoad(
    async () => /** @type {{ keys: GameKey[] }} */ (await api('GET', `${url}/keys`)).keys,
    [url],
  );
  const form = useForm(id('save'));
  const keyForm = useForm(id('key'));
  const [name, setName] = useState(game.name);
  const [slug, setSlug] = useState(game.slug);
  const [keyName, setKeyName] = useState('');
  const [scopes, setScopes] = useState(/** @type {string[]} */ (KEY_SCOPES.map(([s]) => s)));
  const [secret, setSecret] = useState('');
  const [saved, setSaved] = useState('');

  /** @param {Event} e */
  const save = async (e) => {
    e.preventDefault();
    setSaved('');
    if (await form.run(id('save'), () => api('PATCH', url, { name, slug }))) {
      setSaved('Saved.');
      await onChanged();
    }
  };
  const del = async () => {
    if (await form.run(id('delete'), () => api('DELETE', url))) await onChanged();
  };
  const makeKey = async () => {
    setSecret('');
    setSaved('');
    await keyForm.run(id('key'), async () => {
      /** @type {{ plaintext: string }} */
      const r = await api('POST', `${url}/keys`, { name: keyName, scopes });
      setSecret(r.plaintext);
      setKeyName('');
      await keys.reload();
    });
  };
  /** @param {GameKey} k */
  const revoke = async (k) => {
    await keyForm.run(id(`revoke-${k.id}`), () => api('DELETE', `${url}/keys/${k.id}`));
    await keys.reload();
  };
  // 422 paths name the body's field; the game's and the key's forms both have a `name`.
  const errors = {
    ...Object.fromEntries(Object.entries(form.errors).map(([k, v]) => [k.endsWith(p) ? k : id(k), v])),
    ...Object.fromEntries(
      Object.entries(keyForm.errors).map(([k, v]) => [k.endsWith(p) ? k : id(`key-${k}`), v]),
    ),
  };

  return html`<form class="stack" onSubmit=${save} aria-label=${`Game ${game.name}`}>
      <div class="row">
        <div class="field">
          <label for=${id('name')}>Game name</label>
          <input id=${id('name')} value=${name} onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)} ...${invalid(id('name'), errors)} />
          <${ErrorFor} id=${id('name')} errors=${errors} />
        </div>
        <div class="field">
          <label for=${id('slug')}>Slug</label>
          <input id=${id('slug')} value=${slug} onInput=${(/** @type {any} */ e) => setSlug(e.currentTarget.value)} ...${invalid(id('slug'), errors)} />
          <${ErrorFor} id=${id('slug')} errors=${errors} />
        </div>
      </div>
      <div class="row">
        <button class="primary" disabled=${form.busy === id('save')}>Save</button>
        <${ConfirmButton} label="Delete" name=${`Delete game ${game.name}`} confirm=${`Delete ${game.name} and its keys`} onConfirm=${del} />
      </div>
      <${ErrorFor} id=${id('save')} errors=${errors} />
      <${ErrorFor} id=${id('delete')} errors=${errors} />
      ${saved ? html`<p class="notice" role="status">${saved}</p>` : null}
    </form>
    <div class="stack">
      <h3 class="small-h">Keys of ${game.name}</h3>
      ${keys.error ? html`<p class="error" role="alert">${keys.error}</p>` : null}
      ${
        keys.data?.length
          ? html`<div class="table-scroll"><table class="grid">
              <thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Scopes</th><th scope="col">Last used</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
              <tbody>
                ${keys.data.map(
                  (k) => html`<tr key=${k.id} data-key=${k.name}>
                    <td>${k.name}</td>
                    <td><code>${k.prefix}…</code></td>
                    <td>${k.scopes.join(', ')}</td>
                    <td>${k.lastUsedAt ? when(k.lastUsedAt) : 'never'}</td>
                    <td>
                      ${
                        k.revokedAt
                          ? `Revoked ${when(k.revokedAt)}`
                          : html`<${ConfirmButton} label="Revoke" name=${`Revoke key ${k.name}`} confirm=${`Revoke ${k.name}`} onConfirm=${() => revoke(k)} />`
                      }
                      <${ErrorFor} id=${id(`revoke-${k.id}`)} errors=${errors} />
                    </td>
                  </tr>`,
                )}
              </tbody>
            </table></div>`
          : keys.data
            ? html`<p class="muted">No keys yet.</p>`
            : null
      }
      <div class="field">
        <label for=${id('key-name')}>New key's name</label>
        <input id=${id('key-name')} value=${keyName} onInput=${(/** @type {any} */ e) => setKeyName(e.currentTarget.value)} ...${invalid(id('key-name'), errors)} />
        <${ErrorFor} id=${id('key-name')} errors=${errors} />
      </div>
      <fieldset aria-describedby=${errors[id('key-scopes')] ? `err-${id('key-scopes')}` : undefined}>
        <legend>What the key may do</legend>
        <div class="checks">
          ${KEY_SCOPES.map(
            ([s, what]) => html`<label key=${s}>
              <input
                type="checkbox"
                checked=${scopes.includes(s)}
                onChange=${(/** @type {any} */ e) =>
                  setScopes(e.currentTarget.checked ? [...scopes, s] : scopes.filter((x) => x !== s))}
              />
              <code>${s}</code> <span class="muted">${what}</span>
            </label>`,
          )}
        </div>
        <${ErrorFor} id=${id('key-scopes')} errors=${errors} />
      </fieldset>
      <div><button type="button" onClick=${makeKey} disabled=${keyForm.busy === id('key')}>Create key</button></div>
      <${ErrorFor} id=${id('key')} errors=${errors} />
      ${secret ? html`<${SecretOnce} label="New game key" value=${secret} onDone=${() => setSecret('')} />` : null}
    </div>`;
}
