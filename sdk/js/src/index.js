import {
  AuthError,
  ConflictError,
  errorFor,
  GameModError,
  NetworkError,
  RateLimitError,
  ServerError,
} from './errors.js';
import { MemoryStorage } from './storage.js';

export {
  AuthError,
  ConflictError,
  ForbiddenError,
  GameModError,
  NetworkError,
  NotFoundError,
  RateLimitError,
  ServerError,
  ValidationError,
} from './errors.js';
export { MemoryStorage } from './storage.js';

export const VERSION = '0.2.0';
const QUEUE_KEY = 'gamemod.reports.queue';
const RETRYABLE = new Set([429, 500, 502, 503, 504]);

/** A 409 `conflict`: the server is still on an earlier try of the same key; ask again shortly. */
const stillProcessing = (/** @type {unknown} */ err) =>
  err instanceof ConflictError && err.code === 'conflict';

/** A failure that may pass on a later try (a report is kept queued for it, not dropped). */
const mayPassLater = (/** @type {unknown} */ err) =>
  err instanceof NetworkError ||
  err instanceof ServerError ||
  err instanceof RateLimitError ||
  stillProcessing(err);

/** A random id for an idempotency key (crypto.randomUUID where there is one). */
function newKey() {
  const c = /** @type {any} */ (globalThis).crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  let s = '';
  for (let i = 0; i < 32; i++) s += Math.floor(Math.random() * 16).toString(16);
  return s;
}

const wait = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The GameMod in-game client. One per game key. See README.md and ../PROTOCOL.md.
 */
export class GameMod {
  /** @param {import('./index.js').GameModOptions} options */
  constructor(options) {
    if (!options || typeof options.baseUrl !== 'string' || typeof options.key !== 'string')
      throw new TypeError('GameMod needs { baseUrl, key }');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.key = options.key;
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') throw new TypeError('no fetch: pass options.fetch');
    this.fetch = f.bind(globalThis);
    this.storage = options.storage ?? new MemoryStorage();
    this.retries = options.retries ?? 4;
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.sleep = options.sleep ?? wait;
    /** @type {Promise<unknown>} serialises queue reads and writes */
    this.queueLock = Promise.resolve();
  }

  /**
   * One request with retries: 429 always (the server refused before doing anything), 5xx and
   * network failures only when `safe` (a GET, or a POST carrying an idempotency key).
   * @param {string} method @param {string} path
   * @param {{ body?: unknown, idempotencyKey?: string, etag?: string, safe?: boolean, keepalive?: boolean }} [opts]
   * @returns {Promise<{ status: number, body: any, etag: string | null }>}
   */
  async request(method, path, opts = {}) {
    const safe = opts.safe ?? (method === 'GET' || opts.idempotencyKey !== undefined);
    /** @type {Record<string, string>} */
    const headers = { 'x-game-key': this.key, accept: 'application/json' };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey;
    if (opts.etag) headers['if-none-match'] = opts.etag;
    for (let attempt = 0; ; attempt++) {
      /** @type {GameModError} */
      let error;
      let res;
      try {
        res = await this.send(method, path, headers, opts.body, opts.keepalive);
      } catch (err) {
        error = new NetworkError(`no answer from ${this.baseUrl}: ${String(err)}`, { cause: err });
        if (!safe || attempt >= this.retries) throw error;
        await this.sleep(this.backoff(attempt, error));
        continue;
      }
      if (res.status === 304) return { status: 304, body: null, etag: res.headers.get('etag') };
      const text = await res.text();
      let body = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = null;
      }
      if (res.status < 400) return { status: res.status, body, etag: res.headers.get('etag') };
      const ra = Number(res.headers.get('retry-after'));
      error = errorFor(res.status, body, Number.isFinite(ra) && ra > 0 ? ra : undefined);
      // 409 `conflict`: the first try with this idempotency key is still being processed.
      const retryable =
        (RETRYABLE.has(res.status) && (res.status === 429 || safe)) || (safe && stillProcessing(error));
      if (!retryable || attempt >= this.retries) throw error;
      await this.sleep(this.backoff(attempt, error));
    }
  }

  /** Exponential backoff with jitter, never shorter than the server's Retry-After. */
  backoff(/** @type {number} */ attempt, /** @type {GameModError} */ error) {
    const exp = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** attempt) * (0.5 + Math.random() / 2);
    return Math.max(exp, (error.retryAfter ?? 0) * 1000);
  }

  /**
   * @param {string} method @param {string} path @param {Record<string, string>} headers @param {unknown} body
   * @param {boolean} [keepalive] let the request outlive the page (small bodies only, 64 KB in all)
   */
  async send(method, path, headers, body, keepalive) {
    const ctl = typeof AbortController === 'function' ? new AbortController() : undefined;
    const timer = ctl ? setTimeout(() => ctl.abort(), this.timeoutMs) : undefined;
    try {
      return await this.fetch(`${this.baseUrl}/sdk/v1${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: ctl?.signal,
        ...(keepalive ? { keepalive: true } : {}),
      });
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** @param {import('./index.js').OpenTicket} input @param {{ idempotencyKey?: string }} [opts] */
  async openTicket(input, opts = {}) {
    const r = await this.request('POST', '/tickets', {
      body: input,
      idempotencyKey: opts.idempotencyKey ?? newKey(),
    });
    return { ticket: r.body.ticket, created: r.status === 201 };
  }

  /** @param {string} playerId @param {{ since?: string, etag?: string }} [opts] */
  async listTickets(playerId, opts = {}) {
    const q = new URLSearchParams({ playerId, ...(opts.since ? { since: opts.since } : {}) });
    const r = await this.request('GET', `/tickets?${q}`, { etag: opts.etag });
    if (r.status === 304) return { notModified: true, tickets: [], cursor: opts.since ?? null, etag: r.etag };
    return { notModified: false, tickets: r.body.tickets, cursor: r.body.cursor, etag: r.etag };
  }

  /** @param {string} ticketId @param {string} playerId @param {{ since?: string, etag?: string }} [opts] */
  async getTicket(ticketId, playerId, opts = {}) {
    const q = new URLSearchParams({ playerId, ...(opts.since ? { since: opts.since } : {}) });
    const r = await this.request('GET', `/tickets/${encodeURIComponent(ticketId)}?${q}`, { etag: opts.etag });
    if (r.status === 304)
      return { notModified: true, ticket: null, messages: [], cursor: opts.since ?? null, etag: r.etag };
    // A server older than attachments sends none: every message has the list all the same.
    const messages = (r.body.messages ?? []).map((/** @type {any} */ m) => ({
      ...m,
      attachments: m.attachments ?? [],
    }));
    return { notModified: false, ...r.body, messages, etag: r.etag };
  }

  /**
   * A download link for a message's file (one of its `attachments`), valid `expiresInSeconds`
   * (60; null for a file still only on Discord's CDN). Use it at once, without the key: as an
   * `<img src>`, a download, or `fetch` from a server.
   * @param {{ url: string }} attachment
   */
  async attachmentLink(attachment) {
    const r = await this.request('GET', attachment.url.replace(/^\/sdk\/v1(?=\/)/, ''));
    return { url: r.body.url, expiresInSeconds: r.body.expiresInSeconds };
  }

  /** @param {string} ticketId @param {{ player: import('./index.js').Player, body: string }} input @param {{ idempotencyKey?: string }} [opts] */
  async reply(ticketId, input, opts = {}) {
    const r = await this.request('POST', `/tickets/${encodeURIComponent(ticketId)}/replies`, {
      body: input,
      idempotencyKey: opts.idempotencyKey ?? newKey(),
    });
    return { message: r.body.message, ticket: r.body.ticket, created: r.status === 201 };
  }

  /**
   * Reports a player. When the server can't be reached (or keeps failing or limiting) after the
   * retries, the report is kept in the offline queue and sent by flushQueue() later, with the
   * same idempotency key, so it is never filed twice.
   * @param {import('./index.js').Report} report
   */
  async reportPlayer(report) {
    const idempotencyKey = newKey();
    try {
      const r = await this.request('POST', '/reports', { body: report, idempotencyKey });
      return { queued: false, report: r.body.report, idempotencyKey };
    } catch (err) {
      if (!mayPassLater(err)) throw err;
      await this.withQueue((q) => [...q, { idempotencyKey, report, queuedAt: new Date().toISOString() }]);
      return { queued: true, report: null, idempotencyKey, error: err };
    }
  }

  /** The reports waiting to be sent. */
  async queued() {
    return this.readQueue();
  }

  /**
   * Sends the queued reports, oldest first. Sent ones leave the queue; a report the server refuses
   * for good (a 4xx) leaves it too and is returned in `rejected`; on the first failure that may
   * pass (network, 5xx, 429) or a refused key (401) it stops and keeps the rest.
   */
  async flushQueue() {
    /** @type {Array<{ idempotencyKey: string, report: any }>} */
    const sent = [];
    /** @type {Array<{ item: any, error: GameModError }>} */
    const rejected = [];
    const items = await this.readQueue();
    for (const item of items) {
      try {
        const r = await this.request('POST', '/reports', {
          body: item.report,
          idempotencyKey: item.idempotencyKey,
        });
        sent.push({ idempotencyKey: item.idempotencyKey, report: r.body.report });
      } catch (err) {
        // A refused key says nothing about the report: a game update may bring a new key, and
        // the Lua and C# queues keep theirs for it too.
        if (mayPassLater(err) || err instanceof AuthError) break;
        rejected.push({ item, error: /** @type {GameModError} */ (err) });
      }
      await this.withQueue((q) => q.filter((x) => x.idempotencyKey !== item.idempotencyKey));
    }
    return { sent, rejected, remaining: (await this.readQueue()).length };
  }

  async readQueue() {
    const raw = await this.storage.getItem(QUEUE_KEY);
    if (!raw) return [];
    try {
      const v = JSON.parse(raw);
      return Array.isArray(v) ? v : [];
    } catch {
      return [];
    }
  }

  /** @param {(q: any[]) => any[]} change */
  withQueue(change) {
    const next = this.queueLock.then(async () => {
      const q = change(await this.readQueue());
      await this.storage.setItem(QUEUE_KEY, JSON.stringify(q));
    });
    this.queueLock = next.catch(() => {});
    return next;
  }

  /** @param {{ player: import('./index.js').Player, platform?: string, build?: string }} input */
  async startSession(input) {
    const r = await this.request('POST', '/sessions', { body: input });
    return r.body;
  }

  /** @param {string} sessionId */
  async heartbeat(sessionId) {
    await this.request('POST', `/sessions/${encodeURIComponent(sessionId)}/heartbeat`, { safe: true });
  }

  /**
   * Ends a session. Safe to call from `pagehide`: the request is sent with fetch's keepalive, so
   * the browser finishes it after the page is gone instead of cancelling it (which left the
   * player online until the session timed out).
   * @param {string} sessionId
   */
  async endSession(sessionId) {
    await this.request('POST', `/sessions/${encodeURIComponent(sessionId)}/end`, {
      safe: true,
      keepalive: true,
    });
  }

  async onlineNow() {
    return /** @type {number} */ ((await this.request('GET', '/online')).body.online);
  }

  /** @param {import('./index.js').Player} player */
  async linkCode(player) {
    return (await this.request('POST', '/link-codes', { body: { player } })).body;
  }

  /** @param {{ etag?: string }} [opts] */
  async announcements(opts = {}) {
    const r = await this.request('GET', '/announcements', { etag: opts.etag });
    if (r.status === 304) return { notModified: true, announcements: [], etag: r.etag };
    return { notModified: false, announcements: r.body.announcements, etag: r.etag };
  }

  /** Server secret only. @param {{ title: string, body: string, expiresAt?: string }} input */
  async publishAnnouncement(input) {
    return (await this.request('POST', '/announcements', { body: input })).body.announcement;
  }

  /** Server secret only. @param {string} playerId the game's account id */
  async moderationStatus(playerId) {
    return (await this.request('GET', `/moderation/${encodeURIComponent(playerId)}`)).body;
  }
}
