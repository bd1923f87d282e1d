// @ts-check
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { ConfirmButton, ErrorFor, invalid, SecretOnce, useForm, useLoad, when } from './forms.js';
import { html } from './html.js';
import { WorkingHoursForm } from './working-hours.js';

/**
 * @typedef {{ userId: string, displayName: string, roleKey: string, joinedAt: string }} Member
 * @typedef {{ id: string, key: string, name: string, description: string | null, isSystem: boolean, permissions: string[], members: number }} Role
 * @typedef {{ id: string, roleKey: string, discordUserId: string | null, maxUses: number, uses: number, expiresAt: string, createdAt: string, revokedAt: string | null }} Invite
 */

/**
 * Members with their roles, the roles themselves, and invitations. The API refuses a grant beyond
 * what the caller holds (403 naming the permission, or "only an owner can..."): the refusal shows
 * under the member's role control, and the control goes back to the role that was saved.
 * @param {import('./settings.js').SectionProps} props
 */
export function MembersSettings({ org, me, perms }) {
  const base = `/v1/orgs/${org.id}`;
  const manage = perms.has('members.manage');
  const members = useLoad(
    async () => /** @type {{ members: Member[] }} */ (await api('GET', `${base}/members`)).members,
    [base],
  );
  const roles = useLoad(
    async () => /** @type {{ roles: Role[] }} */ (await api('GET', `${base}/roles`)).roles,
    [base],
  );
  const form = useForm();
  const [saved, setSaved] = useState('');

  /** @param {Member} m @param {string} role */
  const changeRole = async (m, role) => {
    setSaved('');
    const ok = await form.run(`role-${m.userId}`, async () => {
      await api('PATCH', `${base}/members/${m.userId}`, { role });
    });
    if (ok) setSaved(`${m.displayName} is now ${roles.data?.find((r) => r.key === role)?.name ?? role}.`);
    await members.reload();
    await roles.reload();
  };
  /** @param {Member} m */
  const remove = async (m) => {
    setSaved('');
    if (await form.run(`remove-${m.userId}`, () => api('DELETE', `${base}/members/${m.userId}`)))
      setSaved(`${m.displayName} was removed.`);
    await members.reload();
  };

  return html`<section aria-labelledby="members-h">
      <h1 id="members-h">Members</h1>
      ${members.error ? html`<p class="error" role="alert">The members could not be loaded: ${members.error}</p>` : null}
      ${saved ? html`<p class="notice" role="status">${saved}</p>` : null}
      ${
        members.data
          ? html`<div class="table-scroll"><table class="grid">
              <thead>
                <tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Joined</th>${manage ? html`<th scope="col"><span class="visually-hidden">Actions</span></th>` : null}</tr>
              </thead>
              <tbody>
                ${members.data.map(
                  (m) => html`<tr key=${m.userId} data-member=${m.userId}>
                    <th scope="row">${m.displayName}${m.userId === me.id ? html` <span class="muted">(you)</span>` : null}</th>
                    <td>
                      ${
                        manage && roles.data
                          ? html`<select
                              aria-label=${`Role of ${m.displayName}`}
                              value=${m.roleKey}
                              disabled=${form.busy === `role-${m.userId}`}
                              ...${invalid(`role-${m.userId}`, form.errors)}
                              onChange=${(/** @type {any} */ e) => changeRole(m, e.currentTarget.value)}
                            >
                              ${roles.data.map((r) => html`<option value=${r.key}>${r.name}</option>`)}
                            </select>`
                          : (roles.data?.find((r) => r.key === m.roleKey)?.name ?? m.roleKey)
                      }
                      <${ErrorFor} id=${`role-${m.userId}`} errors=${form.errors} />
                    </td>
                    <td>${when(m.joinedAt)}</td>
                    ${
                      manage
                        ? html`<td>
                            <${ConfirmButton}
                              label="Remove"
                              name=${`Remove ${m.displayName}`}
                              confirm=${`Remove ${m.displayName}`}
                              onConfirm=${() => remove(m)}
                            />
                            <${ErrorFor} id=${`remove-${m.userId}`} errors=${form.errors} />
                          </td>`
                        : null
                    }
                  </tr>`,
                )}
              </tbody>
            </table></div>`
          : html`<p role="status">Loading…</p>`
      }
    </section>
    ${manage && members.data ? html`<${MemberHours} orgId=${org.id} members=${members.data} />` : null}
    ${manage && roles.data ? html`<${Invites} base=${base} roles=${roles.data} />` : null}
    <${Roles} roles=${roles.data} error=${roles.error} />`;
}

/**
 * Another member's working hours, set by whoever holds members.manage (a member sets their own
 * under the bell): automatic assignment gives tickets only within them. One member at a time.
 * @param {{ orgId: string, members: Member[] }} props
 */
function MemberHours({ orgId, members }) {
  const [userId, setUserId] = useState('');
  const chosen = members.find((m) => m.userId === userId);
  return html`<section aria-labelledby="member-hours-h">
    <h2 id="member-hours-h">Working hours</h2>
    <div class="field">
      <label for="member-hours-who">Member</label>
      <select id="member-hours-who" value=${userId} onChange=${(/** @type {any} */ e) => setUserId(e.currentTarget.value)}>
        <option value="">Choose a member…</option>
        ${members.map((m) => html`<option value=${m.userId}>${m.displayName}</option>`)}
      </select>
    </div>
    ${chosen ? html`<${WorkingHoursForm} key=${chosen.userId} orgId=${orgId} userId=${chosen.userId} name=${chosen.displayName} />` : null}
  </section>`;
}

/**
 * Invitations: to one Discord account (joins at its next sign-in) or a link, shown once.
 * @param {{ base: string, roles: Role[] }} props
 */
function Invites({ base, roles }) {
  const invites = useLoad(
    async () => /** @type {{ invites: Invite[] }} */ (await api('GET', `${base}/invites`)).invites,
    [base],
  );
  const form = useForm('invite');
  const [role, setRole] = useState(roles.find((r) => r.key === 'agent')?.key ?? roles[0]?.key ?? '');
  const [discordUserId, setDiscordUserId] = useState('');
  const [maxUses, setMaxUses] = useState('1');
  const [hours, setHours] = useState('72');
  const [link, setLink] = useState('');
  const [sent, setSent] = useState('');

  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    setLink('');
    setSent('');
    await form.run('invite', async () => {
      /** @type {{ code: string | null, url: string | null }} */
      const r = await api('POST', `${base}/invites`, {
        role,
        ...(discordUserId.trim() ? { discordUserId: discordUserId.trim() } : {}),
        maxUses: Number(maxUses),
        expiresInHours: Number(hours),
      });
      if (r.url ?? r.code) setLink(/** @type {string} */ (r.url ?? r.code));
      else setSent(`Invited: the Discord account ${discordUserId.trim()} joins at its next sign-in.`);
      setDiscordUserId('');
      await invites.reload();
    });
  };
  /** @param {Invite} i */
  const revoke = (i) =>
    form.run(`revoke-${i.id}`, async () => {
      await api('DELETE', `${base}/invites/${i.id}`);
      await invites.reload();
    });
  const roleName = (/** @type {string} */ k) => roles.find((r) => r.key === k)?.name ?? k;

  return html`<section aria-labelledby="invites-h">
    <h2 id="invites-h">Invitations</h2>
    <form class="card stack" onSubmit=${submit}>
      <div class="field">
        <label for="inv-role">Role</label>
        <select id="inv-role" value=${role} onChange=${(/** @type {any} */ e) => setRole(e.currentTarget.value)} ...${invalid('role', form.errors)}>
          ${roles.map((r) => html`<option value=${r.key}>${r.name}</option>`)}
        </select>
        <${ErrorFor} id="role" errors=${form.errors} />
      </div>
      <div class="field">
        <label for="inv-discord">Discord user id <span class="muted">(leave empty for a link)</span></label>
        <input id="inv-discord" inputmode="numeric" value=${discordUserId} onInput=${(/** @type {any} */ e) => setDiscordUserId(e.currentTarget.value)} ...${invalid('discordUserId', form.errors)} />
        <${ErrorFor} id="discordUserId" errors=${form.errors} />
      </div>
      <div class="field">
        <label for="inv-uses">Uses</label>
        <input id="inv-uses" type="number" min="1" max="1000" value=${maxUses} onInput=${(/** @type {any} */ e) => setMaxUses(e.currentTarget.value)} ...${invalid('maxUses', form.errors)} />
        <${ErrorFor} id="maxUses" errors=${form.errors} />
      </div>
      <div class="field">
        <label for="inv-hours">Expires after (hours)</label>
        <input id="inv-hours" type="number" min="1" max="720" value=${hours} onInput=${(/** @type {any} */ e) => setHours(e.currentTarget.value)} ...${invalid('expiresInHours', form.errors)} />
        <${ErrorFor} id="expiresInHours" errors=${form.errors} />
      </div>
      <div><button class="primary" disabled=${form.busy === 'invite'}>Invite</button></div>
      <${ErrorFor} id="invite" errors=${form.errors} />
    </form>
    ${link ? html`<${SecretOnce} label="Invite link" value=${link} onDone=${() => setLink('')} />` : null}
    ${sent ? html`<p class="notice" role="status">${sent}</p>` : null}
    ${invites.error ? html`<p class="error" role="alert">The invitations could not be loaded: ${invites.error}</p>` : null}
    ${
      invites.data?.length
        ? html`<div class="table-scroll"><table class="grid">
            <thead><tr><th scope="col">For</th><th scope="col">Role</th><th scope="col">Used</th><th scope="col">Expires</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              ${invites.data.map(
                (i) => html`<tr key=${i.id}>
                  <td>${i.discordUserId ? `Discord ${i.discordUserId}` : 'Link'}</td>
                  <td>${roleName(i.roleKey)}</td>
                  <td>${i.uses} of ${i.maxUses}</td>
                  <td>${i.revokedAt ? `Revoked ${when(i.revokedAt)}` : when(i.expiresAt)}</td>
                  <td>
                    ${i.revokedAt ? null : html`<${ConfirmButton} label="Revoke" name=${`Revoke invite for ${roleName(i.roleKey)}`} confirm="Revoke invite" onConfirm=${() => revoke(i)} />`}
                    <${ErrorFor} id=${`revoke-${i.id}`} errors=${form.errors} />
                  </td>
                </tr>`,
              )}
            </tbody>
          </table></div>`
        : invites.data
          ? html`<p class="muted">No invitations yet.</p>`
          : null
    }
  </section>`;
}

/**
 * The roles and what each allows, so an admin choosing a role sees what it grants.
 * @param {{ roles: Role[] | null, error: string }} props
 */
function Roles({ roles, error }) {
  return html`<section aria-labelledby="roles-h">
    <h2 id="roles-h">Roles</h2>
    ${error ? html`<p class="error" role="alert">The roles could not be loaded: ${error}</p>` : null}
    ${
      roles
        ? html`<dl class="roles">
            ${roles.map(
              (r) => html`<div key=${r.id}>
                <dt>${r.name} <span class="muted">(${r.members} ${r.members === 1 ? 'member' : 'members'})</span></dt>
                <dd>${r.permissions.join(', ')}</dd>
              </div>`,
            )}
          </dl>`
        : null
    }
  </section>`;
}
