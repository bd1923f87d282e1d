import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, RefusedTargetError, refusedAddress, type TargetPolicy } from '../lib/ssrf.js';

/**
 * The HTTP call of a webhook delivery (webhooks.ts makes the attempts and logs them): one POST,
 * no redirects, the target policy checked on the address actually connected to, a time bound for
 * the whole exchange, and what came back.
 */

/** The most of a receiver's answer kept in the delivery log. */
const EXCERPT = 500;

// Keep-alive agents, one pair per target policy: a pooled socket was checked by the policy it
// was opened under, so sockets must never be shared between policies.
const agents = new Map<string, { http: http.Agent; https: https.Agent; lookup: never }>();
function agentsFor(policy: TargetPolicy) {
  const key = `${policy.allowLoopback}:${policy.allowPrivate}`;
  let a = agents.get(key);
  if (!a) {
    const lookup = guardedLookup(policy) as never;
    const opts = { keepAlive: true, maxSockets: 50, lookup };
    a = { http: new http.Agent(opts), https: new https.Agent(opts), lookup };
    agents.set(key, a);
  }
  return a;
}

/** A subscription URL taken apart once: every delivery to it reuses this. */
interface Target {
  https: boolean;
  /** The host without IPv6 brackets, and whether it is an address literal. */
  host: string;
  literal: boolean;
  options: { protocol: string; hostname: string; port: string; path: string; auth?: string };
}
const targets = new Map<string, Target | null>();
function targetOf(url: string): Target | null {
  let t = targets.get(url);
  if (t !== undefined) return t;
  try {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const auth =
      u.username || u.password ? `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}` : '';
    t = {
      https: u.protocol === 'https:',
      host,
      literal: isIP(host) !== 0,
      options: {
        protocol: u.protocol,
        hostname: host,
        port: u.port,
        path: `${u.pathname}${u.search}`,
        ...(auth ? { auth } : {}),
      },
    };
  } catch {
    t = null;
  }
  // Bounded: subscriptions are few, but a URL is whatever a subscription says.
  if (targets.size >= 1000) targets.clear();
  targets.set(url, t);
  return t;
}

// One 'abort' listener per shutdown signal, however many requests are in flight. EventTarget
// looks through a type's listeners on every add and remove, so a listener per request made each
// delivery's cost grow with the number in flight: thousands during a burst of fan-outs.
const inFlight = new WeakMap<AbortSignal, Set<() => void>>();
function onAbortOf(signal: AbortSignal, fn: () => void): () => void {
  let waiting = inFlight.get(signal);
  if (!waiting) {
    const all = new Set<() => void>();
    waiting = all;
    inFlight.set(signal, all);
    signal.addEventListener(
      'abort',
      () => {
        for (const f of [...all]) f();
        all.clear();
      },
      { once: true },
    );
  }
  const set = waiting;
  set.add(fn);
  return () => {
    set.delete(fn);
  };
}

export interface SendResult {
  status: number | null;
  latencyMs: number;
  excerpt: string | null;
  error: string | null;
  retryAfterMs: number | null;
  /** Interrupted by `signal` (the process is stopping): says nothing about the receiver. */
  aborted?: boolean;
}

function parseRetryAfter(v: string | undefined, now: number): number | null {
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * POSTs the body with the given headers. Never follows redirects (a 3xx is a failure), refuses
 * forbidden addresses (checked on the resolved address at connect time), and gives up after
 * `timeoutMs` for the whole exchange.
 */
export function sendWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  opts: { timeoutMs: number; targets: TargetPolicy; now?: number; signal?: AbortSignal },
): Promise<SendResult> {
  const started = Date.now();
  const done = (r: Partial<SendResult>): SendResult => ({
    status: null,
    excerpt: null,
    error: null,
    retryAfterMs: null,
    ...r,
    latencyMs: Date.now() - started,
  });
  const target = targetOf(url);
  if (!target) return Promise.resolve(done({ error: 'invalid URL' }));
  if (target.literal) {
    const why = refusedAddress(target.host, opts.targets);
    if (why) return Promise.resolve(done({ error: `refused ${target.host}: ${why}` }));
  }
  const policy = agentsFor(opts.targets);
  const lib = target.https ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    let unlisten = () => {};
    const finish = (r: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unlisten();
      resolve(r);
    };
    const onAbort = () => {
      finish(done({ error: 'interrupted: the worker is shutting down', aborted: true }));
      req.destroy();
    };
    const req = lib.request(
      {
        ...target.options,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'GameMod-Webhooks/1',
          ...headers,
        },
        lookup: policy.lookup,
        agent: target.https ? policy.https : policy.http,
      },
      (res) => {
        let excerpt = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (excerpt.length < EXCERPT) excerpt += chunk.slice(0, EXCERPT - excerpt.length);
        });
        res.on('end', () =>
          finish(
            done({
              status: res.statusCode ?? null,
              excerpt: excerpt || null,
              retryAfterMs: parseRetryAfter(res.headers['retry-after'], opts.now ?? Date.now()),
            }),
          ),
        );
        res.on('error', (err) => finish(done({ status: res.statusCode ?? null, error: err.message })));
      },
    );
    const timer = setTimeout(() => {
      finish(done({ error: `no complete answer within ${opts.timeoutMs / 1000} s` }));
      req.destroy();
    }, opts.timeoutMs);
    req.on('error', (err) =>
      finish(done({ error: err instanceof RefusedTargetError ? err.message : `${err.message}` })),
    );
    if (opts.signal?.aborted) onAbort();
    else if (opts.signal) unlisten = onAbortOf(opts.signal, onAbort);
    req.end(body);
  });
}
