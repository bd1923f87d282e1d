// @ts-check
import { useEffect } from 'preact/hooks';
import { live } from './live.js';

/** The least time between two live refetches of the list, so a burst of events costs a few requests. */
const REFRESH_GAP_MS = 250;

/**
 * Live: any change in the org refetches the inbox's first page at once (the event carries too
 * little to place a row under the filters and sort on screen), but at most one request every
 * 250 ms: events during a request or right after one are answered by a single refetch when it
 * is due.
 * @param {string} orgId
 * @param {(opts: { refresh: boolean }) => Promise<void>} load
 */
export function useLiveRefresh(orgId, load) {
  useEffect(() => {
    const stop = live.subscribe(orgId);
    /** @type {ReturnType<typeof setTimeout> | null} */
    let timer = null;
    let lastStart = 0;
    let inFlight = false;
    let pending = false;
    const refresh = async () => {
      timer = null;
      inFlight = true;
      pending = false;
      lastStart = performance.now();
      await load({ refresh: true });
      inFlight = false;
      if (pending) schedule();
    };
    const schedule = () => {
      if (inFlight) {
        pending = true;
        return;
      }
      if (timer) return;
      const wait = Math.max(0, lastStart + REFRESH_GAP_MS - performance.now());
      if (wait === 0) refresh();
      else timer = setTimeout(refresh, wait);
    };
    const off = live.listen((m) => {
      if ((m.kind === 'event' || m.kind === 'resync') && m.topic === `org:${orgId}`) schedule();
    });
    return () => {
      off();
      stop();
      pending = false;
      if (timer) clearTimeout(timer);
    };
  }, [orgId, load]);
}
