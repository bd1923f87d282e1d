import type { Json } from './state.js';

export interface RequestRecord {
  method: string;
  /** The path as received, without the query string (e.g. `/api/v10/channels/1/messages`). */
  path: string;
  /** The route template that answered (e.g. `/channels/:channel_id/messages`), or null. */
  route: string | null;
  query: Record<string, string>;
  /** Headers that matter for assertions, lower-cased names. */
  headers: {
    authorization?: string;
    'content-type'?: string;
    'user-agent'?: string;
    'x-audit-log-reason'?: string;
  };
  body: unknown;
  status: number;
  response: unknown;
  at: number;
  durationMs: number;
  /** Carried out, but the connection was dropped instead of answering (`loseAnswerNext`). */
  answerLost?: true;
}

export interface FrameRecord {
  shardId: number | null;
  direction: 'in' | 'out';
  op: number;
  t: string | null;
  s: number | null;
  d: unknown;
  at: number;
}

export type RequestMatcher =
  | { method?: string; path?: string | RegExp; route?: string; status?: number }
  | ((r: RequestRecord) => boolean);

/** A request's path without the `/api/v10` prefix (`/webhooks/1/t/messages/@original`), decoded or not. */
export function apiPath(r: RequestRecord, decoded = false): string {
  const path = r.path.replace(/^\/api(\/v\d+)?/, '');
  return decoded ? decodeURIComponent(path) : path;
}

export function matchRequest(m: RequestMatcher, r: RequestRecord): boolean {
  if (typeof m === 'function') return m(r);
  if (m.method && m.method.toUpperCase() !== r.method) return false;
  if (m.route && m.route !== r.route) return false;
  if (m.status !== undefined && m.status !== r.status) return false;
  if (m.path !== undefined) {
    const bare = apiPath(r);
    if (typeof m.path === 'string') {
      if (m.path !== r.path && m.path !== bare && apiPath(r, true) !== m.path) return false;
    } else if (!m.path.test(r.path) && !m.path.test(bare)) {
      return false;
    }
  }
  return true;
}

/** Every REST request and gateway frame the fake saw, with helpers to query and wait. */
export class TrafficLog {
  readonly requests: RequestRecord[] = [];
  readonly frames: FrameRecord[] = [];
  private waiters: { match: RequestMatcher; resolve: (r: RequestRecord) => void }[] = [];
  private frameWaiters: { match: (f: FrameRecord) => boolean; resolve: (f: FrameRecord) => void }[] = [];

  addRequest(r: RequestRecord): void {
    this.requests.push(r);
    this.waiters = this.waiters.filter((w) => {
      if (!matchRequest(w.match, r)) return true;
      w.resolve(r);
      return false;
    });
  }

  addFrame(f: FrameRecord): void {
    this.frames.push(f);
    this.frameWaiters = this.frameWaiters.filter((w) => {
      if (!w.match(f)) return true;
      w.resolve(f);
      return false;
    });
  }

  find(m: RequestMatcher = {}): RequestRecord[] {
    return this.requests.filter((r) => matchRequest(m, r));
  }

  waitForRequest(m: RequestMatcher, timeoutMs = 5000): Promise<RequestRecord> {
    const existing = this.requests.find((r) => matchRequest(m, r));
    if (existing) return Promise.resolve(existing);
    return withTimeout(
      new Promise<RequestRecord>((resolve) => this.waiters.push({ match: m, resolve })),
      timeoutMs,
      `no request matching ${describe(m)} within ${timeoutMs} ms`,
    );
  }

  /** Waits for a frame that arrives after this call (past frames are not considered). */
  waitForFrame(match: (f: FrameRecord) => boolean, timeoutMs = 5000): Promise<FrameRecord> {
    return withTimeout(
      new Promise<FrameRecord>((resolve) => this.frameWaiters.push({ match, resolve })),
      timeoutMs,
      `no gateway frame matched within ${timeoutMs} ms`,
    );
  }
}

function describe(m: RequestMatcher): string {
  if (typeof m === 'function') return 'a predicate';
  return JSON.stringify({ ...m, path: m.path instanceof RegExp ? String(m.path) : m.path } satisfies Json);
}

export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
