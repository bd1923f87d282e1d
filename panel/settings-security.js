// @ts-check
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { ErrorFor, invalid, useForm } from './forms.js';
import { html } from './html.js';

/**
 * The member's own two-factor sign-in: enrol (QR code and the key to type), confirm with a first
 * code (recovery codes shown once), turn off with a current code. The session says whether this
 * sign-in passed TOTP (`mfa: 'verified'`), which is the only way it can be on for a signed-in
 * member; enrolling when it is already on answers 409 and the page then offers to turn it off.
 * @param {import('./settings.js').SectionProps} props
 */
export function SecuritySettings({ mfa }) {
  const [on, setOn] = useState(mfa === 'verified');
  const [enrolment, setEnrolment] = useState(/** @type {{ qrSvg: string, secret: string } | null} */ (null));
  const [code, setCode] = useState('');
  const [recovery, setRecovery] = useState(/** @type {string[] | null} */ (null));
  const [note, setNote] = useState('');
  const form = useForm('totp');

  const start = () =>
    form.run('enrol', async () => {
      setNote('');
      try {
        setEnrolment(await api('POST', '/auth/totp/enrol'));
      } catch (err) {
        if (/** @type {{ status?: number }} */ (err).status === 409) setOn(true);
        throw err;
      }
    });
  /** @param {Event} e */
  const confirm = (e) => {
    e.preventDefault();
    return form.run('code', async () => {
      /** @type {{ recoveryCodes: string[] }} */
      const r = await api('POST', '/auth/totp/confirm', { code: code.trim() });
      setRecovery(r.recoveryCodes);
      setEnrolment(null);
      setCode('');
      setOn(true);
    });
  };
  /** @param {Event} e */
  const disable = (e) => {
    e.preventDefault();
    return form.run('code', async () => {
      await api('DELETE', '/auth/totp', { code: code.trim() });
      setOn(false);
      setCode('');
      setRecovery(null);
      setNote('Two-factor sign-in is off.');
    });
  };

  const codeField = html`<div class="field">
    <label for="totp-code">Code from the app</label>
    <input id="totp-code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" value=${code} onInput=${(/** @type {any} */ e) => setCode(e.currentTarget.value)} ...${invalid('code', form.errors)} />
    <${ErrorFor} id="code" errors=${form.errors} />
  </div>`;

  return html`<section aria-labelledby="sec-h">
    <h1 id="sec-h">Your sign-in security</h1>
    <p>Two-factor sign-in is <strong class="totp-state">${on ? 'on' : 'off'}</strong>.</p>
    ${note ? html`<p class="notice" role="status">${note}</p>` : null}
    ${
      recovery
        ? html`<div class="notice recovery" role="status">
            <p><strong>Recovery codes</strong>: each signs you in once if you lose the app. Keep them somewhere safe; they will not be shown again.</p>
            <ul class="codes">${recovery.map((c) => html`<li><code>${c}</code></li>`)}</ul>
            <button type="button" onClick=${() => navigator.clipboard?.writeText(recovery.join('\n')).catch(() => {})}>Copy codes</button>
            <button type="button" class="subtle" onClick=${() => setRecovery(null)}>Done</button>
          </div>`
        : null
    }
    ${
      !on && !enrolment
        ? html`<button type="button" class="primary" onClick=${start} disabled=${form.busy === 'enrol'}>Turn on two-factor sign-in</button>
            <${ErrorFor} id="enrol" errors=${form.errors} />`
        : null
    }
    ${
      enrolment
        ? html`<form class="card stack" onSubmit=${confirm}>
            <p>Scan this code with an authenticator app, or type the key in it.</p>
            <img class="qr" width="200" height="200" alt="QR code for the authenticator app" src=${`data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrolment.qrSvg)}`} />
            <p>Key: <code class="totp-secret">${enrolment.secret}</code></p>
            ${codeField}
            <div><button class="primary" disabled=${form.busy === 'code'}>Confirm</button></div>
          </form>`
        : null
    }
    ${
      on
        ? html`<form class="card stack" onSubmit=${disable}>
            <p>To turn it off, give a current code.</p>
            ${codeField}
            <div><button class="danger" disabled=${form.busy === 'code'}>Turn off two-factor sign-in</button></div>
          </form>`
        : null
    }
  </section>`;
}
