// @ts-check
import { useState } from 'preact/hooks';
import { ApiError, api, describeError } from './api.js';
import { useLoad } from './forms.js';
import { html } from './html.js';

/**
 * Words for a code the API will not honour. Its 404 does not say which of unknown, used up,
 * revoked or expired (a guesser learns nothing), so neither can the page: it says what to do.
 * @param {unknown} err
 */
function refusal(err) {
  if (err instanceof ApiError && err.status === 404)
    return 'This invite link can no longer be used: it is unknown, already used, revoked or expired. Ask whoever sent it for a new link.';
  if (err instanceof ApiError && err.status === 403)
    return `This invite link is no longer valid: ${err.message}. Ask whoever sent it for a new link.`;
  return describeError(err);
}

/**
 * `/invite/<code>`: says which organization and role the link joins (`POST /v1/invites/lookup`),
 * and joins on Accept (`POST /v1/invites/redeem`). Looking does not spend the link.
 * @param {{ code: string, onJoined: (orgId: string) => void }} props
 */
export function InvitePage({ code, onJoined }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const found = useLoad(async () => {
    try {
      /** @type {{ orgId: string, orgName: string, role: { key: string, name: string }, expiresAt: string, alreadyMember: boolean }} */
      const d = await api('POST', '/v1/invites/lookup', { code });
      return { ok: /** @type {const} */ (true), ...d };
    } catch (err) {
      return { ok: /** @type {const} */ (false), message: refusal(err) };
    }
  }, [code]);
  const accept = async () => {
    setBusy(true);
    setError('');
    try {
      /** @type {{ orgId: string }} */
      const r = await api('POST', '/v1/invites/redeem', { code });
      onJoined(r.orgId);
    } catch (err) {
      setError(refusal(err));
      setBusy(false);
    }
  };
  const d = found.data;
  let body;
  if (!d) body = html`<p role="status">Checking the invitation…</p>`;
  else if (!d.ok) body = html`<p class="error" role="alert">${d.message}</p>`;
  else if (d.alreadyMember)
    body = html`<p>You are already a member of <strong>${d.orgName}</strong>.</p>
      <a class="button primary" href=${`/o/${d.orgId}`}>Go to its inbox</a>`;
  else
    body = html`<p>
        You are invited to join <strong class="invite-org">${d.orgName}</strong> as
        <strong class="invite-role">${d.role.name}</strong>.
      </p>
      <p class="muted">The link works until ${new Date(d.expiresAt).toLocaleString()}.</p>
      <div class="row">
        <button type="button" class="primary" disabled=${busy} onClick=${accept} aria-describedby=${error ? 'invite-error' : undefined}>
          Accept and join
        </button>
        <a class="button subtle" href="/">Not now</a>
      </div>
      ${error ? html`<p class="error" id="invite-error" role="alert">${error}</p>` : null}`;
  return html`<main class="signin" id="main">
    <div class="card signin-card invite">
      <h1>Invitation</h1>
      ${body}
    </div>
  </main>`;
}
