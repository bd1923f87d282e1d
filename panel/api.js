// @ts-check

/** An answer from the API that was not a success, in the API's own words. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the server could not be reached
   * @param {string} code the API's error code (`not_found`, `validation_failed`...)
   * @param {string} message a sentence a person can read
   * @param {unknown} [details]
   */
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

// The CSRF token lives in memory only: it comes from GET /auth/session on every page load, and
// nothing secret is kept in localStorage (the session itself is an httpOnly cookie).
let csrfToken = '';

/** @param {string} token */
export function setCsrfToken(token) {
  csrfToken = token;
}

/**
 * Calls the API with the session cookie; writes carry the CSRF header. Resolves with the JSON
 * body, rejects with an ApiError whose message can be shown as it is.
 * @param {'GET'|'POST'|'PATCH'|'PUT'|'DELETE'} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {Record<string, string>} [extraHeaders]
 * @returns {Promise<any>}
 */
export async function api(method, path, body, extraHeaders = {}) {
  return (await apiWithEtag(method, path, body, extraHeaders)).data;
}

/**
 * `api`, also handing back the answer's ETag (the version a later change can be conditioned on
 * with If-Match; null when the answer has none).
 * @param {'GET'|'POST'|'PATCH'|'PUT'|'DELETE'} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {Record<string, string>} [extraHeaders]
 * @returns {Promise<{ data: any, etag: string | null }>}
 */
export async function apiWithEtag(method, path, body, extraHeaders = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json', ...extraHeaders };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') {
    headers['x-csrf-token'] = csrfToken;
    // A write may change any list kept below; the next read asks the API again.
    lists.clear();
  }
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'network', 'The server could not be reached. Check the connection and try again.');
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    const e = data && typeof data === 'object' ? data.error : null;
    throw new ApiError(
      res.status,
      e?.code ?? `http_${res.status}`,
      e?.message ?? `The server answered ${res.status} ${res.statusText}.`,
      e?.details,
    );
  }
  return { data, etag: res.headers.get('etag') };
}

const LIST_MS = 30_000;
/** @type {Map<string, { at: number, value: Promise<any> }>} */
const lists = new Map();

/**
 * A GET of an org-wide list (members, teams, tags, canned replies, games) shared by the views
 * that show it for 30 s, so opening ticket after ticket does not ask for each again. Cleared by
 * any write from this page; a failed answer is not kept.
 * @param {string} path
 */
export function cachedList(path) {
  const hit = lists.get(path);
  if (hit && Date.now() - hit.at < LIST_MS) return hit.value;
  const value = api('GET', path);
  lists.set(path, { at: Date.now(), value });
  value.catch(() => {
    if (lists.get(path)?.value === value) lists.delete(path);
  });
  return value;
}

/**
 * A sentence for an error of any kind, for showing next to what failed.
 * @param {unknown} err
 */
export function describeError(err) {
  if (err instanceof ApiError) {
    if (err.status === 403) return `Not allowed: ${err.message}`;
    if (err.status === 429) return 'Too many requests: wait a moment and try again.';
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * A query string from the filled-in fields of `params`.
 * @param {Record<string, string | number | undefined | null>} params
 */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * Uploads a file as the request body (its type as Content-Type, its name in the query), with the
 * CSRF header: the attachment routes stream the body, so it is not wrapped in JSON or a form.
 * @param {string} path
 * @param {File} file
 * @returns {Promise<any>}
 */
export async function uploadFile(path, file) {
  let res;
  try {
    res = await fetch(`${path}${query({ filename: file.name })}`, {
      method: 'POST',
      headers: {
        accept: 'application/json',
        'content-type': file.type || 'application/octet-stream',
        'x-csrf-token': csrfToken,
      },
      body: file,
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'network', 'The server could not be reached. Check the connection and try again.');
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const e = data && typeof data === 'object' ? data.error : null;
    throw new ApiError(
      res.status,
      e?.code ?? `http_${res.status}`,
      e?.message ?? `The server answered ${res.status}.`,
    );
  }
  return data;
}

/**
 * The Idempotency-Key of a write kept across reloads in sessionStorage under `storeKey`, so a
 * retry after a lost answer does not post twice. It goes with the request it was made for
 * (`request`, e.g. the draft's text and files): a changed request gets a new key, since the API
 * refuses a key used for a different request.
 * @param {string} storeKey
 * @param {string} request
 * @returns {{ id: string, drop: () => void }}
 */
export function sendKey(storeKey, request) {
  /** @type {{ id?: unknown, request?: unknown }} */
  let kept = {};
  try {
    kept = JSON.parse(sessionStorage.getItem(storeKey) ?? '{}') ?? {};
  } catch {
    // A key kept before keys carried their request: a new one.
  }
  const id = typeof kept.id === 'string' && kept.request === request ? kept.id : crypto.randomUUID();
  sessionStorage.setItem(storeKey, JSON.stringify({ id, request }));
  return { id, drop: () => sessionStorage.removeItem(storeKey) };
}

/**
 * Whether a failed write may be sent again with the same key: its answer never came (network,
 * 5xx) or the API is still processing it. Any other answer is kept by the API as the key's
 * final one and would only be replayed.
 * @param {unknown} err
 */
export const retryable = (err) =>
  !(err instanceof ApiError) ||
  err.status === 0 ||
  err.status >= 500 ||
  (err.status === 409 && err.code === 'conflict');

/**
 * The member's permissions in the org, from their role in `GET .../roles` (kept 30 s), so the
 * panel offers only what the API's routes allow. Null when the list can't be read: every control
 * is then offered and the API's answer decides.
 * @param {{ id: string, role: string }} org
 * @returns {Promise<Set<string> | null>}
 */
export const permissionsOf = (org) =>
  cachedList(`/v1/orgs/${org.id}/roles`).then(
    (r) =>
      new Set(
        r.roles.find((/** @type {{ key: string, permissions: string[] }} */ x) => x.key === org.role)
          ?.permissions ?? [],
      ),
    () => null,
  );

/**
 * `may(perm)` for a component: false until the permissions are known (a control never flashes
 * up for a role that lacks it), true for all when they can't be read.
 * @param {Set<string> | null | undefined} perms
 */
export const mayFrom = (perms) => (/** @type {string} */ perm) => perms === null || !!perms?.has(perm);
