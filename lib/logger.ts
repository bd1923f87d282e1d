import { randomUUID } from 'node:crypto';
import { type Logger, pino } from 'pino';

export type { Logger };

/** JSON logs on stdout; secrets that may ride along in objects are redacted by path. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'gamemod', ...base },
    redact: {
      paths: ['*.password', '*.token', '*.secret', 'req.headers.authorization', 'req.headers.cookie'],
      censor: '[redacted]',
    },
  });
}

/** Request ids: taken from a trusted upstream header when well formed, otherwise new. */
export function requestId(incoming?: string | string[]): string {
  const v = Array.isArray(incoming) ? incoming[0] : incoming;
  return v && /^[A-Za-z0-9._-]{8,128}$/.test(v) ? v : randomUUID();
}
