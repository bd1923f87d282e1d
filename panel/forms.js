// @ts-check
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, describeError } from './api.js';
import { html } from './html.js';

/**
 * Errors keyed by the field that failed, so each shows next to its control. The API's 422 names
 * field paths (`body.name`, `body.scopes.1`); the first segment after `body.` is the field. What
 * names no field (a 403, a 409, a network failure) goes under `fallback`, the control that acted.
 * @param {unknown} err
 * @param {string} fallback
 * @returns {Record<string, string>}
 */
export function fieldErrors(err, fallback) {
  /** @type {Record<string, string>} */
  const out = {};
  if (err instanceof ApiError && err.status === 422 && Array.isArray(err.details)) {
    for (const d of /** @type {{ path?: string, message?: string }[]} */ (err.details)) {
      const field = String(d.path ?? '')
        .replace(/^body\.?/, '')
        .split('.')[0];
      const key = field || fallback;
      out[key] = out[key] ? `${out[key]}; ${d.message}` : `${d.message ?? err.message}`;
    }
    if (Object.keys(out).length) return out;
  }
  out[fallback] = describeError(err);
  return out;
}

/**
 * An error line under a control, tied to it with `aria-describedby` (see `invalid`).
 * @param {{ id: string, errors: Record<string, string> }} props
 */
export function ErrorFor({ id, errors }) {
  return errors[id] ? html`<p class="error" id=${`err-${id}`} role="alert">${errors[id]}</p>` : null;
}

/**
 * The attributes that mark a control invalid and point at its error line.
 * @param {string} id
 * @param {Record<string, string>} errors
 */
export const invalid = (id, errors) => ({
  'aria-invalid': errors[id] ? 'true' : 'false',
  'aria-describedby': errors[id] ? `err-${id}` : undefined,
});

/**
 * Loads something once (and again on `reload`), with its error kept in words.
 * @template T
 * @param {() => Promise<T>} fn
 * @param {unknown[]} deps what the loader depends on, as with useCallback
 * @returns {{ data: T | null, error: string, reload: () => Promise<void> }}
 */
export function useLoad(fn, deps) {
  const [data, setData] = useState(/** @type {T | null} */ (null));
  const [error, setError] = useState('');
  const reload = useCallback(async () => {
    try {
      setData(await fn());
      setError('');
    } catch (err) {
      setError(describeError(err));
    }
  }, deps);
  useEffect(() => {
    reload();
  }, [reload]);
  return { data, error, reload };
}

/**
 * A form's state: its errors by field, whether it is sending, and `run`, which clears the errors,
 * runs the action and files any failure under its field (or under `fallback`).
 * @param {string} [fallback]
 */
export function useForm(fallback = 'form') {
  const [errors, setErrors] = useState(/** @type {Record<string, string>} */ ({}));
  const [busy, setBusy] = useState('');
  /**
   * @param {string} id the control acting, where an error naming no field is shown
   * @param {() => Promise<void>} fn
   * @returns {Promise<boolean>} whether it succeeded
   */
  const run = async (id, fn) => {
    setErrors({});
    setBusy(id);
    try {
      await fn();
      return true;
    } catch (err) {
      setErrors(fieldErrors(err, id || fallback));
      return false;
    } finally {
      setBusy('');
    }
  };
  return { errors, busy, run, setErrors };
}

/**
 * A secret the API shows once (a token, a signing secret, an invite link): read-only, selected
 * on focus, with a copy button, and a plain warning that it will not be shown again.
 * @param {{ label: string, value: string, onDone: () => void }} props
 */
export function SecretOnce({ label, value, onDone }) {
  const [copied, setCopied] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('Copied.');
    } catch {
      setCopied('Copying is blocked here: select the text and copy it yourself.');
    }
  };
  return html`<div class="secret-once notice" role="status">
    <p><strong>${label}</strong>: copy it now, it will not be shown again.</p>
    <div class="row">
      <input
        class="secret"
        readonly
        aria-label=${label}
        value=${value}
        onFocus=${(/** @type {any} */ e) => e.currentTarget.select()}
      />
      <button type="button" onClick=${copy}>Copy</button>
      <button type="button" class="subtle" onClick=${onDone}>Done</button>
    </div>
    ${copied ? html`<p class="muted">${copied}</p>` : null}
  </div>`;
}

/**
 * A button that asks once more before a destructive action ("Revoke" then "Really revoke?"),
 * instead of `confirm()`, which blocks the page and can't be styled or tested.
 * @param {{ label: string, confirm: string, onConfirm: () => void, disabled?: boolean, name?: string }} props
 */
export function ConfirmButton({ label, confirm, onConfirm, disabled, name }) {
  const [armed, setArmed] = useState(false);
  if (!armed)
    return html`<button type="button" class="danger" disabled=${disabled} aria-label=${name} onClick=${() => setArmed(true)}>
      ${label}
    </button>`;
  return html`<span class="confirm">
    <button
      type="button"
      class="danger"
      onClick=${() => {
        setArmed(false);
        onConfirm();
      }}
    >
      ${confirm}
    </button>
    <button type="button" class="subtle" onClick=${() => setArmed(false)}>Cancel</button>
  </span>`;
}

/** @param {string | null | undefined} iso */
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');
