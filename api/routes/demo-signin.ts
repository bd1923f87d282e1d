import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { DEMO_SIGN_IN_ROLES, demoUserId } from '../../db/seed-users.js';
import type { Config } from '../../lib/config.js';
import { AppError } from '../../lib/errors.js';
import { signIn } from '../sign-in.js';
import { errorResponses } from './schemas.js';

/**
 * The demo sign-in exists in development only, on an install whose public address is this machine;
 * production and tests leave it off (settings). The address matters because a proxy on the same
 * machine that adds no forwarding header (nginx without proxy_set_header X-Forwarded-For) makes
 * every visitor of a published install look local, and the door signs them in as an admin.
 */
export function demoSignInAllowed(
  config: Pick<Config, 'env'> & { http: Pick<Config['http'], 'publicUrl'> },
): boolean {
  if (config.env !== 'development') return false;
  const host = new URL(config.http.publicUrl).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || (ipaddr.isValid(host) && ipaddr.process(host).range() === 'loopback');
}

/**
 * Whether the request really comes from this machine. The socket's own address, never req.ip:
 * with TRUST_PROXY, X-Forwarded-For decides req.ip and a remote caller could claim 127.0.0.1.
 * A request that went through any proxy at all (it says so in a forwarding header) is not local.
 */
export function fromLoopback(req: FastifyRequest): boolean {
  if (req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined) return false;
  const raw = req.socket.remoteAddress;
  if (!raw || !ipaddr.isValid(raw)) return false;
  return ipaddr.process(raw).range() === 'loopback';
}

/**
 * `GET /auth/demo?as=admin`: signs in as the demo workspace's staff member of that role, so a
 * newcomer can look around without a Discord application. A real session, rotated and audited
 * like a Discord sign-in. Anything that is not development on loopback answers the plain 404 of
 * an unknown route: the door does not show where it is closed.
 */
export const demoSignInRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/auth/demo',
    {
      config: { access: 'public', rateLimit: 'auth' },
      schema: {
        tags: ['auth'],
        operationId: 'demoSignIn',
        summary: 'Development only, from this machine only: sign in as a demo staff member',
        querystring: z.object({ as: z.enum(DEMO_SIGN_IN_ROLES).default('admin') }),
        response: { 302: z.null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      if (!app.settings.demoSignIn || !fromLoopback(req)) {
        throw new AppError('not_found', `no route GET ${req.url.split('?')[0]}`);
      }
      const userId = await demoUserId(app.deps.pool, req.query.as);
      if (!userId) {
        throw new AppError(
          'not_found',
          `the demo workspace has no ${req.query.as} (is it seeded? SEED_DEMO)`,
        );
      }
      // Over plain http a browser may drop a Secure cookie (Safari does, even on localhost); this
      // door only opens on loopback in development, so the cookie goes without Secure there.
      await signIn(app, req, reply, userId, 'demo', {
        secure: app.settings.cookieSecure && req.protocol === 'https',
      });
      return reply.redirect('/', 302);
    },
  );
};
