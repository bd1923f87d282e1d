import type { FastifyRequest } from 'fastify';

/**
 * A request's cookie, parsed the first time a route asks. @fastify/cookie runs with `hook: false`
 * (api/app.ts): as a global hook it parsed the header and made a Map on every request, which
 * `/health`, the SDK and API-token calls never use; only session routes read cookies.
 */
export function cookieOf(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  (req as { cookies: FastifyRequest['cookies'] | null }).cookies ??= header
    ? req.server.parseCookie(header)
    : {};
  return req.cookies[name];
}
