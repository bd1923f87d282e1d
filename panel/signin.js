// @ts-check
import { useState } from 'preact/hooks';
import { api, describeError } from './api.js';
import { html } from './html.js';

/**
 * @typedef {{ demoSignIn: boolean, discord: { configured: boolean, missing: string[] } }} PanelConfig
 */

/**
 * The door for someone without a session: Discord when it is configured, the development demo
 * sign-in when this server offers it, and otherwise words naming what the operator must set.
 * @param {{ config: PanelConfig, reason?: string }} props
 */
export function SignIn({ config, reason }) {
  const returnTo = location.pathname === '/' ? '/' : location.pathname + location.search;
  return html`<main class="signin" id="main">
    <div class="card signin-card">
      <h1>Sign in to GameMod</h1>
      ${reason ? html`<p class="notice" role="status">${reason}</p>` : null}
      ${
        config.discord.configured
          ? html`<a class="button primary wide" href=${`/auth/discord/login?returnTo=${encodeURIComponent(returnTo)}`}
              >Sign in with Discord</a
            >`
          : html`<p class="notice" role="note">
              Discord sign-in is not configured on this server. The operator must set
              ${' '}${config.discord.missing.map((m, i) => html`${i ? ' and ' : ''}<code>${m}</code>`)}.
            </p>`
      }
      ${
        config.demoSignIn
          ? html`<section class="demo" aria-labelledby="demo-title">
              <h2 id="demo-title">Demo workspace</h2>
              <p class="muted">Development only, from this machine: look around as a demo staff member.</p>
              <div class="row">
                <a class="button" href="/auth/demo?as=admin">Sign in as the demo admin</a>
                <a class="button" href="/auth/demo?as=moderator">Sign in as the demo moderator</a>
              </div>
            </section>`
          : null
      }
    </div>
  </main>`;
}

/**
 * The second step for a member with TOTP: a code from the app, or a recovery code.
 * @param {{ onDone: () => void }} props
 */
export function TotpStep({ onDone }) {
  const [code, setCode] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const value = code.replace(/\s/g, '');
      // Six digits are a code from the app; anything else is one of the recovery codes.
      await api(
        'POST',
        '/auth/totp/verify',
        /^\d{6}$/.test(value) ? { code: value } : { recoveryCode: value },
      );
      onDone();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin" id="main">
    <form class="card signin-card" onSubmit=${submit}>
      <h1>Two-factor check</h1>
      <p>Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>
      <label for="totp-code">Code</label>
      <input
        id="totp-code"
        autocomplete="one-time-code"
        inputmode="text"
        required
        value=${code}
        onInput=${(/** @type {any} */ e) => setCode(e.currentTarget.value)}
        aria-invalid=${error ? 'true' : 'false'}
        aria-describedby=${error ? 'totp-error' : undefined}
      />
      ${error ? html`<p class="error" id="totp-error" role="alert">${error}</p>` : null}
      <button class="primary" disabled=${busy}>Verify</button>
    </form>
  </main>`;
}
