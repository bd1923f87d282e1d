import { randomUUID } from 'node:crypto';
import { type DestinationStream, type Logger, pino, stdSerializers } from 'pino';
import { traceFields } from './trace-context.js';

export type { Logger };

interface LoggedRequest {
  method?: string;
  url?: string;
  ip?: string;
}

/**
 * JSON logs on stdout; secrets that may ride along in objects are redacted by path. Request URLs
 * are logged without their query string: it carries OAuth codes and state, and the tokens of
 * signed download links. Errors go through `serializeError`: Discord and PostgreSQL errors carry
 * tokens and people's data where no redaction path reaches. A line written inside a span carries
 * its trace_id and span_id (nothing without one, or with tracing off), so logs and traces join up.
 */
export function createLogger(
  level: string,
  base: Record<string, unknown> = {},
  destination?: DestinationStream,
): Logger {
  return pino(
    {
      level,
      base: { service: 'gamemod', ...base },
      mixin: traceFields,
      serializers: {
        err: serializeError,
        req: (req: LoggedRequest) => ({
          method: req.method,
          url: req.url?.split('?')[0],
          remoteAddress: req.ip,
        }),
      },
      redact: {
        paths: ['*.password', '*.token', '*.secret', 'req.headers.authorization', 'req.headers.cookie'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

type ErrorLike = Error & Record<string, unknown>;

const isErrorLike = (v: unknown): v is ErrorLike =>
  typeof v === 'object' && v !== null && typeof (v as Error).message === 'string' && 'stack' in v;

const typeOf = (err: ErrorLike) => err.constructor?.name ?? err.name;

/**
 * @discordjs/rest's DiscordAPIError, HTTPError and RateLimitError. Their `url` holds webhook and
 * interaction tokens in its path (`/webhooks/<id>/<token>`, `/interactions/<id>/<token>/callback`,
 * good for posting as the bot until the webhook is deleted or for 15 minutes), and their
 * `requestBody` the message sent: a staff reply, a player's DM, a notification.
 */
const isDiscordRestError = (err: ErrorLike) =>
  typeof err.url === 'string' &&
  typeof err.method === 'string' &&
  ('requestBody' in err || /^(DiscordAPIError|HTTPError|RateLimitError)$/.test(typeOf(err)));

/** The path of a Discord URL without its query string, webhook and interaction tokens blanked. */
export function discordPath(url: string): string {
  let path = url.split(/[?#]/)[0] ?? '';
  try {
    path = new URL(url).pathname;
  } catch {
    // Already a bare path.
  }
  return path.replace(/(\/(?:webhooks|interactions)\/[^/]+\/)[^/]+/g, '$1[redacted]');
}

function discordRestError(err: ErrorLike): Record<string, unknown> {
  return {
    type: typeOf(err),
    // Discord's own text, with the names of refused fields and why (never their values).
    message: err.message,
    stack: err.stack,
    code: err.code,
    status: err.status,
    method: err.method,
    url: discordPath(err.url as string),
    ...(typeof err.retryAfter === 'number'
      ? { retryAfter: err.retryAfter, global: err.global, scope: err.scope }
      : {}),
  };
}

/** node-postgres's DatabaseError: a SQLSTATE `code` and the server's `severity`. */
const isPgError = (err: ErrorLike) =>
  typeof err.code === 'string' &&
  /^[0-9A-Z]{5}$/.test(err.code) &&
  (typeOf(err) === 'DatabaseError' || typeof err.severity === 'string');

/**
 * What names the failure, without the values: `detail` holds the row or key ("Key (email)=(...)
 * already exists", "Failing row contains (...)"), `where` and `internalQuery` the statement's
 * context, and data exceptions (class 22) quote the refused input in their message
 * (`invalid input syntax for type uuid: "..."`), so those quotes are blanked. The stack only
 * repeats the message from inside the driver's parser.
 */
const pgMessage = (err: ErrorLike) =>
  (err.code as string).startsWith('22') ? err.message.replace(/"[^"]*"/g, '"[redacted]"') : err.message;

function pgError(err: ErrorLike): Record<string, unknown> {
  return {
    type: typeOf(err),
    message: pgMessage(err),
    code: err.code,
    severity: err.severity,
    schema: err.schema,
    table: err.table,
    column: err.column,
    constraint: err.constraint,
    routine: err.routine,
  };
}

/**
 * pino's error serializer, but Discord REST and PostgreSQL errors, wherever they sit in the error
 * (the error itself, a property, one of an AggregateError's), are cut down to what names the
 * failure. A cause adds only its message and stack: no token, no body, no row, once a database
 * error's quoted input is blanked there too.
 */
export function serializeError(err: unknown, depth = 0): unknown {
  if (!isErrorLike(err)) return err;
  if (isDiscordRestError(err)) return discordRestError(err);
  if (isPgError(err)) return pgError(err);
  const out = stdSerializers.err(err) as unknown as Record<string, unknown>;
  // pino appends each cause's message and stack to the error's own: a database error's too.
  let cause: unknown = err.cause;
  for (let n = 0; isErrorLike(cause) && n < 10; cause = cause.cause, n++) {
    if (!isPgError(cause)) continue;
    const [raw, safe] = [cause.message, pgMessage(cause)];
    out.message = String(out.message).replaceAll(raw, safe);
    out.stack = String(out.stack).replaceAll(raw, safe);
  }
  if (depth > 5) return out;
  for (const key of Object.keys(out)) {
    if (key !== 'raw' && isErrorLike(err[key])) out[key] = serializeError(err[key], depth + 1);
  }
  if (Array.isArray(err.errors)) out.aggregateErrors = err.errors.map((e) => serializeError(e, depth + 1));
  return out;
}

/** Request ids: taken from a trusted upstream header when well formed, otherwise new. */
export function requestId(incoming?: string | string[]): string {
  const v = Array.isArray(incoming) ? incoming[0] : incoming;
  return v && /^[A-Za-z0-9._-]{8,128}$/.test(v) ? v : randomUUID();
}

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type LogFn = (...args: unknown[]) => void;

/**
 * A child of `parent` with `bindings` (a request's `reqId`) that becomes a real pino child only
 * when a line is written at a level that is on, or when asked for more than logging. The API
 * gives every request its own logger, and making a pino child (its bindings serialized, its
 * prototype chain set up) cost more than the rest of a `/health` answer's own code; most
 * requests never write a line at the configured level.
 */
export class LazyChildLogger {
  #child: Logger | undefined;
  constructor(
    private readonly parent: Logger,
    private readonly childBindings: Record<string, unknown>,
  ) {}

  private get real(): Logger {
    this.#child ??= this.parent.child(this.childBindings);
    return this.#child;
  }

  private write(level: Level, args: unknown[]): void {
    if ((this.#child ?? this.parent).isLevelEnabled(level)) (this.real[level] as LogFn)(...args);
  }

  get level(): string {
    return (this.#child ?? this.parent).level;
  }
  set level(level: string) {
    this.real.level = level;
  }
  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  silent(): void {}
  isLevelEnabled(level: string): boolean {
    return (this.#child ?? this.parent).isLevelEnabled(level);
  }
  child(bindings: Record<string, unknown>, options?: Record<string, unknown>): Logger {
    return this.real.child(bindings, options);
  }
  bindings(): Record<string, unknown> {
    return this.real.bindings();
  }
}
