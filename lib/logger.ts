import { randomUUID } from 'node:crypto';
import { type DestinationStream, type Logger, pino } from 'pino';
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
 * signed download links. A line written inside a span carries its trace_id and span_id (nothing
 * without one, or with tracing off), so logs and traces join up.
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
