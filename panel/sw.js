// @ts-check

/**
 * The panel's service worker, served at /sw.js (scope: the whole site) with `no-cache`, so the
 * browser checks it on every visit: the API fills BUILD below with this release's id and files
 * at startup (api/routes/panel.ts), so a new release is a changed worker, which installs, takes
 * over at once and drops the previous release's cache.
 *
 * What it does: keeps this release's files (modules, styles, icons, the offline page, the pinned
 * libraries) in a cache, and serves them from there; answers a page load that fails for want of
 * network with the offline page. What it never does: touch API requests (/v1, /auth...) or cache
 * anything the API answers, so a signed-out or revoked session is never served from a cache.
 */

/**
 * @typedef {{ release: string, shell: string[], offline: string }} Build
 * @typedef {Event & { waitUntil(p: Promise<unknown>): void }} ExtendableEvent
 * @typedef {ExtendableEvent & { request: Request, respondWith(r: Response | Promise<Response>): void }} FetchEvent
 * @typedef {{
 *   addEventListener(type: 'install' | 'activate', fn: (e: ExtendableEvent) => void): void,
 *   addEventListener(type: 'fetch', fn: (e: FetchEvent) => void): void,
 *   addEventListener(type: 'push', fn: (e: PushEvent) => void): void,
 *   addEventListener(type: 'notificationclick', fn: (e: NotificationClickEvent) => void): void,
 *   skipWaiting(): Promise<void>,
 *   clients: {
 *     claim(): Promise<void>,
 *     matchAll(o: { type: 'window', includeUncontrolled: boolean }): Promise<WindowClientLike[]>,
 *     openWindow(url: string): Promise<unknown>,
 *   },
 *   registration: { showNotification(title: string, o: NotificationOptions & { data?: unknown }): Promise<void> },
 *   location: Location,
 * }} WorkerScope
 * @typedef {ExtendableEvent & { data: { json(): unknown } | null }} PushEvent
 * @typedef {ExtendableEvent & { notification: { close(): void, data: unknown } }} NotificationClickEvent
 * @typedef {{ url: string, focus(): Promise<unknown>, navigate(url: string): Promise<unknown> }} WindowClientLike
 */

/** @type {Build} */
const BUILD = { release: 'dev', shell: [], offline: '' };

const worker = /** @type {WorkerScope} */ (/** @type {unknown} */ (self));
const PREFIX = 'gm-shell-';
const CACHE = PREFIX + BUILD.release;

/** The API's paths (the server's list less /panel) and the worker itself: always the network. */
const API = ['/v1', '/auth', '/docs', '/sdk', '/health', '/ready', '/metrics', '/sw.js'];
const isApi = (/** @type {string} */ path) => API.some((p) => path === p || path.startsWith(`${p}/`));

worker.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(BUILD.shell))
      .then(() => worker.skipWaiting()),
  );
});

worker.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(keys.filter((k) => k.startsWith(PREFIX) && k !== CACHE).map((k) => caches.delete(k))),
      )
      .then(() => worker.clients.claim()),
  );
});

/** The offline page, or a plain answer if even that is missing (a cache cleared by the user). */
async function offlinePage() {
  const cached = await caches.match(BUILD.offline, { ignoreVary: true });
  return (
    cached ??
    new Response('You are offline, and GameMod needs the network.', {
      status: 503,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    })
  );
}

/** A release file: the cache first (they never change under one URL), else the network. */
async function releaseFile(/** @type {Request} */ request) {
  const cached = await caches.match(request, { ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) {
    const copy = response.clone();
    caches
      .open(CACHE)
      .then((cache) => cache.put(request, copy))
      .catch(() => {});
  }
  return response;
}

worker.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== worker.location.origin || isApi(url.pathname)) return;
  if (request.mode === 'navigate') {
    event.respondWith(fetch(request).catch(() => offlinePage()));
    return;
  }
  if (url.pathname.startsWith('/panel/')) event.respondWith(releaseFile(request));
});

/** A path of this site, or `/`: `//host` and absolute URLs would leave it. */
const sitePath = (/** @type {unknown} */ v) =>
  typeof v === 'string' && v.startsWith('/') && !v.startsWith('//') && !v.startsWith('/\\') ? v : '/';

/**
 * Web Push (workers/notification-push.ts): the payload, decrypted by the browser, is
 * `{ title, body, url, tag }`. Shown as a system notification; one per notification (`tag`), so a
 * repeat replaces rather than stacks. A payload that does not parse still shows something: a
 * push that shows nothing counts against the site in Chromium.
 */
worker.addEventListener('push', (event) => {
  /** @type {{ title?: unknown, body?: unknown, url?: unknown, tag?: unknown }} */
  let data = {};
  try {
    data = /** @type {typeof data} */ (event.data?.json() ?? {});
  } catch {}
  const title = typeof data.title === 'string' ? data.title : 'GameMod';
  const url = sitePath(data.url);
  event.waitUntil(
    worker.registration.showNotification(title, {
      body: typeof data.body === 'string' ? data.body : '',
      ...(typeof data.tag === 'string' ? { tag: data.tag } : {}),
      icon: `/panel/${BUILD.release}/icon-192.png`,
      data: { url },
    }),
  );
});

/** A click opens the ticket: in a panel window already open (focused, then sent there), else a new one. */
worker.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const raw = /** @type {{ url?: unknown } | null} */ (event.notification.data)?.url;
  // Only a path of this site: a notification never sends the panel elsewhere.
  const target = new URL(sitePath(raw), worker.location.origin).href;
  event.waitUntil(
    (async () => {
      const windows = await worker.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const open = windows.find((w) => new URL(w.url).origin === worker.location.origin);
      if (open) {
        await open.focus();
        if (open.url !== target) await open.navigate(target);
        return;
      }
      await worker.clients.openWindow(target);
    })(),
  );
});
