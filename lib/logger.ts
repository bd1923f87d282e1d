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
