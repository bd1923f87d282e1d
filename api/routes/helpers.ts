import type { FastifyRequest } from 'fastify';
import type { Actor } from '../../db/changes.js';
import type { Permission } from '../../db/permissions.js';
import { AppError } from '../../lib/errors.js';

/** The acting user or token of an org route (the access plugin resolved it). */
export function actorOf(req: FastifyRequest): Actor {
  if (!req.org) throw new AppError('internal', 'no org on an org route');
  return req.org.actor;
}

/** For routes whose permission depends on the body (closing through the status route...). */
export function requirePermission(req: FastifyRequest, permission: Permission) {
  if (!req.org?.permissions.has(permission)) {
    throw new AppError('forbidden', `your role does not grant ${permission}`, {
      details: { reason: 'missing_permission', permission },
    });
  }
}

/** The session of a route whose access is `session` or `authenticated` (checked before). */
export function sessionOf(req: FastifyRequest) {
  const auth = req.auth;
  if (auth?.kind !== 'session') throw new AppError('unauthenticated', 'sign in first');
  return auth;
}

/** A signed-in person as the actor of an account event (no org involved). */
export function userActor(req: FastifyRequest, userId: string): Actor & { type: 'user' } {
  return { type: 'user', id: userId, ip: req.ip, requestId: String(req.id) };
}
