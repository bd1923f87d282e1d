import type { RestReply } from './context.js';
import { matchRequest, type RequestMatcher, type RequestRecord } from './log.js';

/** A route prefix (`/channels/123/messages`, with or without `/api/v10`) or a request matcher. */
export type FaultMatcher = string | RequestMatcher;

interface Fault {
  match: FaultMatcher;
  remaining: number;
  reply: () => RestReply;
}

/** One-shot (or n-shot) failures injected by tests: 429s and 5xxs. */
export class Faults {
  private faults: Fault[] = [];

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

  /** Takes the first fault that matches this request, if any. */
  take(
    req: Pick<RequestRecord, 'method' | 'path' | 'route' | 'status'> & Partial<RequestRecord>,
  ): RestReply | null {
    const probe = {
      query: {},
      headers: {},
      body: null,
      response: null,
      at: 0,
      durationMs: 0,
      ...req,
    } as RequestRecord;
    const i = this.faults.findIndex((f) => matches(f.match, probe));
    const fault = this.faults[i];
    if (!fault) return null;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(i, 1);
    return fault.reply();
  }

  clear(): void {
    this.faults = [];
  }
}

function matches(m: FaultMatcher, r: RequestRecord): boolean {
  if (typeof m !== 'string') return matchRequest(m, r);
  const apiPath = r.path.replace(/^\/api(\/v\d+)?/, '');
  return r.path.startsWith(m) || apiPath.startsWith(m) || (r.route ?? '').startsWith(m);
}
