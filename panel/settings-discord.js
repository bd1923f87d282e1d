// @ts-check
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { ConfirmButton, ErrorFor, invalid, SecretOnce, useForm, useLoad, when } from './forms.js';
import { html } from './html.js';
import { CategoryTargets } from './settings-discord-categories.js';
import { DiscordMirrors } from './settings-discord-mirrors.js';

/**
 * @typedef {{ guildId: string, name: string, settings: Record<string, any>, linkedAt: string }} Guild
 * @typedef {{ discordRoleId: string, roleId: string, roleKey: string }} Mapping
 * @typedef {{ key: string, name: string }} Role
 */

/** Channel settings a server has; Discord ids, copied from Discord with developer mode on. */
const CHANNELS = /** @type {const} */ ([
  ['supportChannelId', 'Support channel', 'where private ticket threads are made when a category names none'],
  ['alertChannelId', 'Alert channel', 'where SLA warnings and breaches are posted'],
  ['transcriptChannelId', 'Transcript channel', 'where closed tickets’ transcripts are posted'],
]);
const LIMITS = /** @type {const} */ ([
  ['maxOpenPerPlayer', 'Open tickets per player', 3],
  ['cooldownSeconds', 'Seconds between two tickets of a player', 60],
  ['reopenWindowHours', 'Hours after closing in which a player’s message reopens', 48],
]);

/**
 * The Discord servers linked to the org: a one-time code to link another (pasted into the bot's
 * `/setup link`), and for each server its channels, limits, where each ticket category's tickets
 * go, which Discord roles act as which org role, and its channels mirrored into Conversations.
 * Shown to `guilds.manage`.
 * @param {import('./settings.js').SectionProps} props
 */
export function DiscordSettings({ org }) {
  const base = `/v1/orgs/${org.id}`;
  const guilds = useLoad(
    async () => /** @type {{ guilds: Guild[] }} */ (await api('GET', `${base}/guilds`)).guilds,
    [base],
  );
  const roles = useLoad(
    async () => /** @type {{ roles: Role[] }} */ (await api('GET', `${base}/roles`)).roles,
    [base],
  );
  const form = useForm('link-code');
  const [code, setCode] = useState(/** @type {{ code: string, expiresAt: string } | null} */ (null));
  const makeCode = () =>
    form.run('link-code', async () => {
      setCode(await api('POST', `${base}/guilds/link-codes`, { ttlMinutes: 60 }));
    });

  return html`<section aria-labelledby="discord-h">
      <h1 id="discord-h">Discord servers</h1>
      ${guilds.error ? html`<p class="error" role="alert">The servers could not be loaded: ${guilds.error}</p>` : null}
      ${
        guilds.data
          ? guilds.data.length
            ? html`<ul class="cards">
                ${guilds.data.map(
                  (g) => html`<li key=${g.guildId} class="card" data-guild=${g.guildId}>
                    <${GuildCard} base=${base} guild=${g} roles=${roles.data ?? []} onChanged=${guilds.reload} />
                  </li>`,
                )}
              </ul>`
            : html`<p class="muted">No Discord server is linked yet.</p>`
          : html`<p role="status">Loading…</p>`
      }
    </section>
    <section aria-labelledby="discord-link-h">
      <h2 id="discord-link-h">Link a server</h2>
      <p>Make a code, then in the Discord server run <code>/setup link</code> with it. The code works once, for an hour.</p>
      <button type="button" onClick=${makeCode} disabled=${form.busy === 'link-code'}>Make a link code</button>
      <${ErrorFor} id="link-code" errors=${form.errors} />
      ${
        code
          ? html`<${SecretOnce} label=${`Link code (until ${when(code.expiresAt)})`} value=${code.code} onDone=${() => setCode(null)} />`
          : null
      }
    </section>`;
}

/**
 * One linked server.
 * @param {{ base: string, guild: Guild, roles: Role[], onChanged: () => Promise<void> }} props
 */
function GuildCard({ base, guild, roles, onChanged }) {
  const url = `${base}/guilds/${guild.guildId}`;
  const g = guild.guildId;
  const id = (/** @type {string} */ f) => `${f}-${g}`;
  const detail = useLoad(
    async () => /** @type {Guild & { roleMappings: Mapping[] }} */ (await api('GET', url)),
    [url],
  );
  const form = useForm(id('save'));
  const mapForm = useForm(id('map'));
  const [values, setValues] = useState(
    /** @type {Record<string, string>} */ (
      Object.fromEntries(
        [...CHANNELS, ...LIMITS].map(([k]) => [
          k,
          guild.settings[k] === undefined ? '' : String(guild.settings[k]),
        ]),
      )
    ),
  );
  const [roleId, setRoleId] = useState('');
  const [roleKey, setRoleKey] = useState(roles.find((r) => r.key === 'agent')?.key ?? roles[0]?.key ?? '');
  const [saved, setSaved] = useState('');

  /** @param {Event} e */
  const save = async (e) => {
    e.preventDefault();
    setSaved('');
    /** @type {Record<string, string | number | null>} */
    const patch = {};
    // The API takes a merge patch: what is filled in is set, a field emptied is cleared (null:
    // a channel back to none, a limit back to its default), what was empty and stays so is left.
    for (const [k] of [...CHANNELS, ...LIMITS]) {
      const v = values[k]?.trim() ?? '';
      const isLimit = LIMITS.some(([l]) => l === k);
      if (v) patch[k] = isLimit ? Number(v) : v;
      else if (guild.settings[k] !== undefined) patch[k] = null;
    }
    if (!Object.keys(patch).length) return setSaved('Nothing changed.');
    if (await form.run(id('save'), () => api('PATCH', `${url}/settings`, patch))) {
      setSaved('Saved.');
      await onChanged();
    }
  };
  const map = async () => {
    setSaved('');
    if (
      await mapForm.run(id('map'), () =>
        api('PUT', `${url}/role-mappings/${encodeURIComponent(roleId.trim())}`, { roleKey }),
      )
    )
      setRoleId('');
    await detail.reload();
  };
  /** @param {Mapping} m */
  const unmap = async (m) => {
    await mapForm.run(id(`unmap-${m.discordRoleId}`), () =>
      api('DELETE', `${url}/role-mappings/${m.discordRoleId}`),
    );
    await detail.reload();
  };
  const unlink = async () => {
    if (await form.run(id('unlink'), () => api('DELETE', url))) await onChanged();
  };
  const errors = {
    ...Object.fromEntries(Object.entries(form.errors).map(([k, v]) => [k.endsWith(g) ? k : id(k), v])),
    // A bad Discord role id is in the path (`params.discordRoleId`): it goes under the id field.
    ...Object.fromEntries(Object.entries(mapForm.errors).map(([k, v]) => [k.endsWith(g) ? k : id('map'), v])),
  };
  const roleName = (/** @type {string} */ k) => roles.find((r) => r.key === k)?.name ?? k;

  return html`<form class="stack" onSubmit=${save} aria-label=${`Server ${guild.name}`}>
      <h2 class="small-h">${guild.name} <span class="muted">(${guild.guildId}, linked ${when(guild.linkedAt)})</span></h2>
      <fieldset class="stack">
        <legend>Channels <span class="muted">(Discord channel ids)</span></legend>
        ${CHANNELS.map(
          ([k, label, what]) => html`<div class="field" key=${k}>
            <label for=${id(k)}>${label} <span class="muted">(${what})</span></label>
            <input id=${id(k)} inputmode="numeric" value=${values[k]} onInput=${(/** @type {any} */ e) => setValues({ ...values, [k]: e.currentTarget.value })} ...${invalid(id(k), errors)} />
            <${ErrorFor} id=${id(k)} errors=${errors} />
          </div>`,
        )}
      </fieldset>
      <fieldset class="stack">
        <legend>Limits</legend>
        ${LIMITS.map(
          ([k, label, dflt]) => html`<div class="field" key=${k}>
            <label for=${id(k)}>${label}</label>
            <input id=${id(k)} type="number" min="0" placeholder=${String(dflt)} value=${values[k]} onInput=${(/** @type {any} */ e) => setValues({ ...values, [k]: e.currentTarget.value })} ...${invalid(id(k), errors)} />
            <${ErrorFor} id=${id(k)} errors=${errors} />
          </div>`,
        )}
      </fieldset>
      <div class="row">
        <button class="primary" disabled=${form.busy === id('save')}>Save</button>
        <${ConfirmButton} label="Unlink" name=${`Unlink ${guild.name}`} confirm=${`Unlink ${guild.name}`} onConfirm=${unlink} />
      </div>
      <${ErrorFor} id=${id('save')} errors=${errors} />
      <${ErrorFor} id=${id('unlink')} errors=${errors} />
      ${saved ? html`<p class="notice" role="status">${saved}</p>` : null}
    </form>
    <${CategoryTargets} base=${base} guildId=${g} settings=${guild.settings.categories ?? {}} onSaved=${onChanged} />
    <div class="stack">
      <h3 class="small-h">Discord roles that act as staff</h3>
      ${detail.error ? html`<p class="error" role="alert">${detail.error}</p>` : null}
      ${
        detail.data?.roleMappings.length
          ? html`<ul class="chips">
              ${detail.data.roleMappings.map(
                (m) => html`<li key=${m.discordRoleId} data-mapping=${m.discordRoleId}>
                  <code>${m.discordRoleId}</code> → ${roleName(m.roleKey)}
                  <button type="button" class="subtle" aria-label=${`Remove the mapping of ${m.discordRoleId}`} onClick=${() => unmap(m)}>Remove</button>
                  <${ErrorFor} id=${id(`unmap-${m.discordRoleId}`)} errors=${errors} />
                </li>`,
              )}
            </ul>`
          : detail.data
            ? html`<p class="muted">No Discord role is mapped.</p>`
            : null
      }
      <div class="row">
        <div class="field">
          <label for=${id('map-role')}>Discord role id</label>
          <input id=${id('map-role')} inputmode="numeric" value=${roleId} onInput=${(/** @type {any} */ e) => setRoleId(e.currentTarget.value)} ...${invalid(id('map'), errors)} />
        </div>
        <div class="field">
          <label for=${id('map-key')}>Acts as</label>
          <select id=${id('map-key')} value=${roleKey} onChange=${(/** @type {any} */ e) => setRoleKey(e.currentTarget.value)}>
            ${roles.map((r) => html`<option value=${r.key}>${r.name}</option>`)}
          </select>
        </div>
      </div>
      <div><button type="button" onClick=${map} disabled=${!roleId.trim() || mapForm.busy === id('map')}>Map role</button></div>
      <${ErrorFor} id=${id('map')} errors=${errors} />
    </div>
    <${DiscordMirrors} base=${base} guildId=${g} />`;
}
