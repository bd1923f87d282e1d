import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ExpectedVersion, Ticket } from '../../db/ticket-rows.js';
import { AppError } from '../../lib/errors.js';

/**
 * Optimistic concurrency on ticket edits (Zendesk's safe_update, HTTP's If-Match): a ticket's
 * answers carry `ETag: W/"<version>"`, and an edit sent with `If-Match` is refused with 412
 * `precondition_failed` when the ticket has changed since, instead of silently overwriting the
 * newer change. The comparison happens in db/ under the row lock (ticket-rows.ts lockTicket).
 *
 * The tag is weak because the same version stands behind different bodies (the ticket alone,
 * the ticket with its conversation), and it is compared weakly: `W/"v"` and `"v"` both match.
 */

/** The header the conditional ticket routes take (documented in OpenAPI). */
export const ifMatchHeaders = z.object({
  'if-match': z
    .string()
    .max(2000)
    .optional()
    .meta({
      description:
        'Change the ticket only if it is still at this version: the ETag of your last read of it ' +
        '(GET or any change you made). A ticket whose fields or conversation changed since (not ' +
        "the system's own bookkeeping: SLA due times, Discord ids) is left as it is and the answer is " +
        '412 precondition_failed; read it again and decide. Several tags may be listed; `*` means ' +
        'only that the ticket exists. Without the header the change applies as it always did',
    }),
});

const ENTITY_TAG = /^(?:W\/)?"([\x21\x23-\x7e]*)"$/;

/** The versions an If-Match header accepts, or undefined when the request carries none. */
export function expectedVersionOf(req: FastifyRequest): ExpectedVersion | undefined {
  const raw = req.headers['if-match'];
  if (raw === undefined) return undefined;
  const value = (Array.isArray(raw) ? raw.join(',') : raw).trim();
  if (value === '*') return '*';
  const versions = value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => ENTITY_TAG.exec(part)?.[1]);
  if (versions.length === 0 || versions.some((v) => !v)) {
    throw new AppError('bad_request', 'If-Match must be * or ETags as the API sent them, e.g. W/"1234"', {
      details: [{ path: 'headers.if-match', message: 'not an entity tag' }],
    });
  }
  return versions as string[];
}

/** Sets the ticket's ETag on the answer (a row read without its version gets none). */
export function withVersion<T extends Pick<Ticket, 'version'>>(reply: FastifyReply, ticket: T): T {
  if (ticket.version) reply.header('etag', `W/"${ticket.version}"`);
  return ticket;
}
