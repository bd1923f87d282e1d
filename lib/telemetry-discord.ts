import { createRequire } from 'node:module';
import {
  REST as EsmRest,
  type InternalRequest,
  type RateLimitData,
  type ResponseLike,
} from '@discordjs/rest';
import { type Attributes, context, createContextKey, type Span, SpanStatusCode } from '@opentelemetry/api';
import { activeSpan, SpanKind, tracer } from './trace-context.js';

/**
 * A client span per Discord REST request, for every `@discordjs/rest` client in the process: the
 * workers' own and the one discord.js builds for the bot. Loaded by lib/telemetry-sdk.ts only, so
 * with tracing off nothing here is imported and no REST method is touched.
 *
 * Why the prototype and not an option or an event: the clients are built in several places
 * (workers/runtime.ts, discord.js's Client, scripts), and @discordjs/rest has no per-request
 * hook that runs in the caller's context. `queueRequest` is the one method every call goes
 * through (get/post/put/patch/delete → request → queueRequest) and runs in the caller's async
 * context, so the span is a child of the job's span. It covers the whole call as the caller
 * waits for it: the bucket queue, rate limit waits and @discordjs/rest's own resends. The
 * attempts inside are seen through the client's `makeRequest` option (wrapped once per client)
 * and its `rateLimited` event (emitted synchronously in the request's context): each resend
 * counts in `http.request.resend_count`, each 429 and each wait for a bucket is an event.
 *
 * Only inside a trace, as pg and ioredis: the bot's replies to gateway events and the workers'
 * sweeps outside a job would each start a trace of one span.
 *
 * The span follows the HTTP client semantic conventions: named by method and route template,
 * never raw ids (`discord.rest PATCH /channels/{id}`), `url.full` with tokens redacted, the
 * final `http.response.status_code`, `error.type` the status code or the error's name. The
 * request never carries a `traceparent` to Discord (undici is not instrumented), nor should it.
 */

/** The state of one traced request, found by the attempts through the active context. */
interface Traced {
  span: Span;
  attempts: number;
}
const TRACED = createContextKey('gamemod.discord.rest.request');
const PATCHED = Symbol.for('gamemod.discord.rest.traced');
const CLIENT_WRAPPED = Symbol.for('gamemod.discord.rest.client');

/** The parts of a route after which comes a secret or free text rather than an id. */
const SECRET_AFTER_ID = new Set(['webhooks', 'interactions']);
const NAMED_AFTER = new Map([
  ['reactions', '{emoji}'],
  ['invites', '{code}'],
  ['templates', '{code}'],
]);

/**
 * A route as a template: snowflakes become `{id}`, the token after a webhook or interaction id
 * `{token}`, an emoji or invite code its name. `/webhooks/1/abc/messages/2` →
 * `/webhooks/{id}/{token}/messages/{id}`. Exported for the tests.
 */
export function routeTemplate(fullRoute: string): string {
  const parts = fullRoute.split('?')[0]?.split('/') ?? [];
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    const before = parts[i - 1];
    const twoBefore = parts[i - 2];
    if (/^\d+$/.test(part)) out.push('{id}');
    else if (twoBefore && SECRET_AFTER_ID.has(twoBefore) && before && /^\d+$/.test(before))
      out.push('{token}');
    else if (before && NAMED_AFTER.has(before) && part !== '@me') out.push(NAMED_AFTER.get(before) as string);
    else out.push(part);
  }
  return out.join('/');
}

type RestLike = {
  options: {
    api: string;
    version: string;
    makeRequest: (url: string, init: RequestInit) => Promise<ResponseLike>;
  };
  on(event: 'rateLimited', listener: (info: RateLimitData) => void): unknown;
  [CLIENT_WRAPPED]?: true;
};

/** Once per client: its attempts and rate limit waits report to the request's span. */
function watchClient(rest: RestLike): void {
  if (rest[CLIENT_WRAPPED]) return;
  rest[CLIENT_WRAPPED] = true;
  const send = rest.options.makeRequest;
  rest.options.makeRequest = async (url, init) => {
    const traced = context.active().getValue(TRACED) as Traced | undefined;
    if (!traced) return send(url, init);
    traced.attempts++;
    const res = await send(url, init);
    if (res.status === 429) {
      const retryAfter = Number(res.headers.get('retry-after'));
      traced.span.addEvent('discord.rate_limited', {
        'http.response.status_code': 429,
        'http.request.resend_count': traced.attempts - 1,
        ...(Number.isFinite(retryAfter) ? { 'discord.rate_limit.retry_after_ms': retryAfter * 1000 } : {}),
        'discord.rate_limit.scope': res.headers.get('x-ratelimit-scope') ?? 'user',
        'discord.rate_limit.global': res.headers.has('x-ratelimit-global'),
      });
    }
    return res;
  };
  // Emitted before a wait for a bucket (or the global limit) known to be spent, in the
  // waiting request's context.
  rest.on('rateLimited', (info) => {
    const traced = context.active().getValue(TRACED) as Traced | undefined;
    traced?.span.addEvent('discord.rate_limit_wait', {
      'discord.rate_limit.wait_ms': info.timeToReset,
      'discord.rate_limit.global': info.global,
      'discord.rate_limit.scope': info.scope,
      'discord.rate_limit.bucket_route': info.route,
    });
  });
}

function startAttributes(rest: RestLike, request: InternalRequest, method: string, template: string) {
  const base =
    request.versioned === false ? rest.options.api : `${rest.options.api}/v${rest.options.version}`;
  const attributes: Attributes = {
    'http.request.method': method,
    'url.template': template,
    // The template where the route holds a token; otherwise the path as sent (ids are not secret).
    'url.full': `${base}${template.includes('{token}') ? template : request.fullRoute}`,
  };
  try {
    const url = new URL(base);
    attributes['server.address'] = url.hostname;
    attributes['server.port'] = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  } catch {
    // An api option that is not a URL fails the request itself; the span just lacks the server.
  }
  return attributes;
}

function recordOutcome(span: Span, err: unknown): void {
  const e = err as { status?: unknown; name?: unknown; timeToReset?: unknown; message?: unknown };
  const status = typeof e.status === 'number' ? e.status : undefined;
  if (status !== undefined) span.setAttribute('http.response.status_code', status);
  span.setAttribute('error.type', status !== undefined ? String(status) : String(e.name ?? 'Error'));
  // rejectOnRateLimit: refused rather than waited out (lib/discord/rest.ts, isLongChannelEditWait).
  if (e.name === 'RateLimitError' && typeof e.timeToReset === 'number')
    span.setAttribute('discord.rate_limit.time_to_reset_ms', e.timeToReset);
  span.setStatus({ code: SpanStatusCode.ERROR, message: typeof e.message === 'string' ? e.message : '' });
}

type QueueRequest = (this: RestLike, request: InternalRequest) => Promise<ResponseLike>;

function patch(proto: { queueRequest: QueueRequest; [PATCHED]?: true }): void {
  if (proto[PATCHED]) return;
  proto[PATCHED] = true;
  const queueRequest = proto.queueRequest;
  proto.queueRequest = function traced(this: RestLike, request: InternalRequest) {
    if (!activeSpan()) return queueRequest.call(this, request);
    watchClient(this);
    const method = String(request.method).toUpperCase();
    const template = routeTemplate(request.fullRoute);
    return tracer.startActiveSpan(
      `discord.rest ${method} ${template}`,
      { kind: SpanKind.CLIENT, attributes: startAttributes(this, request, method, template) },
      async (span) => {
        const state: Traced = { span, attempts: 0 };
        try {
          const res = await context.with(context.active().setValue(TRACED, state), () =>
            queueRequest.call(this, request),
          );
          span.setAttribute('http.response.status_code', res.status);
          if (res.status >= 400) {
            span.setAttribute('error.type', String(res.status));
            span.setStatus({ code: SpanStatusCode.ERROR });
          }
          return res;
        } catch (err) {
          recordOutcome(span, err);
          throw err;
        } finally {
          if (state.attempts > 1) span.setAttribute('http.request.resend_count', state.attempts - 1);
          span.end();
        }
      },
    );
  };
}

/**
 * Patches every copy of @discordjs/rest the process can load: the ES module the app imports and
 * the CommonJS one discord.js requires (a dual package: two classes, two prototypes).
 */
export function instrumentDiscordRest(): void {
  patch(EsmRest.prototype as unknown as Parameters<typeof patch>[0]);
  const require = createRequire(import.meta.url);
  const fromDiscordJs = createRequire(require.resolve('discord.js'));
  for (const load of [require, fromDiscordJs]) {
    const cjs = load('@discordjs/rest') as { REST: { prototype: Parameters<typeof patch>[0] } };
    patch(cjs.REST.prototype);
  }
}
