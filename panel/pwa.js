// @ts-check

/**
 * Registers the service worker (served at /sw.js so its scope is the whole site), after the page
 * has loaded so it never competes with the first load. It caches this release's files and answers
 * a page load without network with the offline page; API calls never go through its cache.
 */
if ('serviceWorker' in navigator) {
  const register = () =>
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err) => {
      // The panel works without it (only offline use is lost): a warning, not an error.
      console.warn('GameMod: the service worker did not register', err);
    });
  if (document.readyState === 'complete') register();
  else addEventListener('load', register, { once: true });
}
