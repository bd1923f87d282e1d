import type { RestReply } from './context.js';
import { matchRequest, type RequestMatcher, type RequestRecord } from './log.js';

/** A route prefix (`/channels/123/messages`, with or without `/api/v10`) or a request matcher. */
export type FaultMatcher = string | RequestMatcher;

interface Fault {
  match: FaultMatcher;
  remaining: number;
  reply: () => RestReply;
}

/**
 * One-shot (or n-shot) failures injected by tests: 429s and 5xxs answered instead of the
 * request, and answers lost after the request was carried out (the connection drops).
 */
export class Faults {
  private faults: Fault[] = [];
  private losses: { match: FaultMatcher; remaining: number }[] = [];
  /**
   * Discord's global limit, requests per second per bot token (Discord: 50); 0 enforces none.
   * Past it a request is answered 429 with `global: true`, as Discord does. Only bot-token
   * requests count: interaction callbacks and webhook-token routes carry none and are exempt.
   */
  globalPerSecond = 0;
  /** Requests refused by the global limit so far. */
  globalRefusals = 0;
  private recent = new Map<string, number[]>();

  /** The global limit's 429 for this bot-token request, or null when it is within the limit. */
  takeGlobal(token: string, now = Date.now()): RestReply | null {
    if (this.globalPerSecond <= 0) return null;
    const window = (this.recent.get(token) ?? []).filter((at) => at > now - 1000);
    this.recent.set(token, window);
    if (window.length < this.globalPerSecond) {
      window.push(now);
      return null;
    }
    this.globalRefusals += 1;
    const retryAfter = Math.max(0.001, ((window[0] ?? now) + 1000 - now) / 1000);
    return {
      status: 429,
      headers: {
        'Retry-After': String(Math.ceil(retryAfter)),
        'X-RateLimit-Global': 'true',
        'X-RateLimit-Scope': 'global',
      },
      body: { message: 'You are being rate limited.', retry_after: retryAfter, global: true, code: 0 },
    };
  }

  rateLimitNext(
    match: FaultMatcher,
    retryAfterSeconds: number,
    opts: { global?: boolean; count?: number; bucket?: string } = {},
  ): void {
    const global = opts.global ?? false;
    this.faults.push({
      match,
      remaining: opts.count ?? 1,
      reply: () => ({
        status: 429,
        headers: {
          'Retry-After': String(retryAfterSeconds),
          'X-RateLimit-Limit': '5',
          'X-RateLimit-Remaining': '0',
          'X-RateLimit-Reset': String(Date.now() / 1000 + retryAfterSeconds),
          'X-RateLimit-Reset-After': String(retryAfterSeconds),
          'X-RateLimit-Bucket': opts.bucket ?? 'fakebucket0000000000000000000000',
          'X-RateLimit-Scope': global ? 'global' : 'user',
          ...(global ? { 'X-RateLimit-Global': 'true' } : {}),
        },
        body: { message: 'You are being rate limited.', retry_after: retryAfterSeconds, global, code: 0 },
      }),
    });
  }

  failNext(match: FaultMatcher, status = 500, opts: { count?: number } = {}): void {
    const message =
      status === 502 ? '502: Bad Gateway' : status === 503 ? '503: Service Unavailable' : `${status}: Error`;
    this.faults.push({
      match,
      remaining: opts.count ?? 1,
      reply: () => ({ status, body: { message, code: 0 } }),
    });
  }

  /**
   * The next matching request is carried out, then its connection is closed without an answer:
   * a response lost on the way back, which the client can only retry.
   */
  loseAnswerNext(match: FaultMatcher, opts: { count?: number } = {}): void {
    this.losses.push({ match, remaining: opts.count ?? 1 });
  }

  /** Takes the first fault that matches this request, if any. */
  take(req: Probe): RestReply | null {
    const fault = takeFirst(this.faults, req);
    return fault ? fault.reply() : null;
  }

  /** Whether this request's answer is to be lost (after the request was carried out). */
  takeLoss(req: Probe): boolean {
    return takeFirst(this.losses, req) !== undefined;
  }

  clear(): void {
    this.faults = [];
    this.losses = [];
  }
}

type Probe = Pick<RequestRecord, 'method' | 'path' | 'route' | 'status'> & Partial<RequestRecord>;

function takeFirst<T extends { match: FaultMatcher; remaining: number }>(
  list: T[],
  req: Probe,
): T | undefined {
  const probe = {
    query: {},
    headers: {},
    body: null,
    response: null,
    at: 0,
    durationMs: 0,
    ...req,
  } as RequestRecord;
  const i = list.findIndex((f) => matches(f.match, probe));
  const fault = list[i];
  if (!fault) return undefined;
  fault.remaining -= 1;
  if (fault.remaining <= 0) list.splice(i, 1);
  return fault;
}

function matches(m: FaultMatcher, r: RequestRecord): boolean {
  if (typeof m !== 'string') return matchRequest(m, r);
  const apiPath = r.path.replace(/^\/api(\/v\d+)?/, '');
  return r.path.startsWith(m) || apiPath.startsWith(m) || (r.route ?? '').startsWith(m);
}
