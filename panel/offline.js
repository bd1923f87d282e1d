// @ts-check

/**
 * The offline page's one job besides saying so: go back to where the person was once the server
 * can be reached again, by itself or with the button. The service worker answers a page load that
 * failed with this page under the address that was asked for, so reloading asks for that page
 * again. The browser's `online` event is not enough on its own: it tells of the device's link,
 * not of the server (a captive portal, a server that was down), and is not always sent; so the
 * page also asks /health now and then (never cached: the worker leaves API paths alone).
 */
const reload = () => location.reload();
addEventListener('online', reload);
document.getElementById('retry')?.addEventListener('click', reload);

let waitMs = 2000;
async function probe() {
  const up = await fetch('/health', { cache: 'no-store' }).then(
    (r) => r.ok,
    () => false,
  );
  if (up) return reload();
  waitMs = Math.min(waitMs * 2, 30_000);
  setTimeout(probe, waitMs);
}
setTimeout(probe, waitMs);
