import { describe, expect, it } from 'vitest';
import { GameMod, MemoryStorage, type Report } from '../../sdk/js/src/index.js';

/**
 * The JavaScript SDK's retry rules, against answers scripted the way a busy server gives them:
 * a `409 conflict` on a request with an idempotency key means "the first try is still being
 * processed, retry shortly" (sdk/PROTOCOL.md), so it is retried and a report is never dropped for it.
 */
type Scripted = { status: number; body?: unknown };

function scriptedFetch(answers: Scripted[]) {
  const calls: Array<{ method: string; url: string; key: string | null }> = [];
  const fetch = async (url: string, init: { method: string; headers: Record<string, string> }) => {
    calls.push({ method: init.method, url, key: init.headers['idempotency-key'] ?? null });
    const a = answers.shift() ?? { status: 500 };
    return new Response(a.body === undefined ? null : JSON.stringify(a.body), {
      status: a.status,
      headers: { 'content-type': 'application/json' },
    });
  };
  return { fetch: fetch as unknown as typeof globalThis.fetch, calls };
}

const conflict = {
  status: 409,
  body: { error: { code: 'conflict', message: 'still processing', details: null } },
};
const report: Report = {
  reporter: { id: 'r:1', name: 'R' },
  reported: { id: 'r:2', name: 'X' },
  reason: 'cheating',
  message: 'aimbot',
};
const filed = { status: 201, body: { report: { id: 'rep-1', ticketId: 't-1' } } };

const client = (fetch: typeof globalThis.fetch, storage = new MemoryStorage()) =>
  new GameMod({
    baseUrl: 'http://127.0.0.1:9',
    key: 'gmk_x',
    fetch,
    baseDelayMs: 1,
    sleep: async () => {},
    storage,
  });

describe('the JavaScript SDK and 409 conflict', () => {
  it('retries a report the server is still processing, with the same key, and files it once', async () => {
    const s = scriptedFetch([conflict, filed]);
    const r = await client(s.fetch).reportPlayer(report);
    expect(r).toMatchObject({ queued: false, report: { id: 'rep-1' } });
    expect(s.calls).toHaveLength(2);
    expect(s.calls[0]?.key).toBeTruthy();
    expect(s.calls[1]?.key).toBe(s.calls[0]?.key);
  });

  it('keeps a queued report when the server still answers conflict, and sends it later', async () => {
    const storage = new MemoryStorage();
    // Offline at first: the report is queued.
    const offline = client(
      (async () => {
        throw new TypeError('fetch failed');
      }) as unknown as typeof globalThis.fetch,
      storage,
    );
    expect((await offline.reportPlayer(report)).queued).toBe(true);
    // The server has the first try but is still on it: conflict on every retry of this flush.
    const busy = scriptedFetch([conflict, conflict, conflict, conflict, conflict]);
    const flushed = await client(busy.fetch, storage).flushQueue();
    expect(flushed).toMatchObject({ sent: [], rejected: [], remaining: 1 });
    const later = scriptedFetch([filed]);
    expect(await client(later.fetch, storage).flushQueue()).toMatchObject({ rejected: [], remaining: 0 });
    expect(later.calls[0]?.key).toBe(busy.calls[0]?.key);
  });
});
