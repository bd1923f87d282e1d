import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { intakeRefused, resolveIntakeSecret } from '../../db/email-addresses.js';
import { configDefaults } from '../../lib/config.js';
import { AppError } from '../../lib/errors.js';
import { INBOUND_STATUSES, intakeEmail } from '../../workers/email-intake.js';
import { errorResponses } from './schemas.js';

/**
 * The HTTP intake of the email bridge, for hosted inbound services that post the raw mail
 * (MIME) rather than relay it over SMTP. The organization's intake secret authenticates it, as
 * a bearer token or as the password of HTTP Basic auth (what such services put in the URL).
 * The same intake as the SMTP listener: one transaction, idempotent on the Message-ID.
 */
const MIME_TYPES = ['message/rfc822', 'text/plain', 'application/octet-stream'];

function secretOf(header: string | undefined): string | null {
  if (!header) return null;
  const [scheme, value] = header.split(/\s+/, 2);
  if (!value) return null;
  if (/^bearer$/i.test(scheme ?? '')) return value;
  if (/^basic$/i.test(scheme ?? '')) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return decoded.slice(decoded.indexOf(':') + 1) || null;
  }
  return null;
}

const resultSchema = z.object({
  status: z.enum(INBOUND_STATUSES),
  ticketId: z.uuid().nullable(),
  ticketNumber: z.number().int().nullable(),
});

const intakeOrg = new WeakMap<object, string>();

export const inboundEmailRoutes: FastifyPluginAsyncZod = async (app) => {
  const maxBytes = configDefaults().email.maxBytes;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(MIME_TYPES, { parseAs: 'buffer', bodyLimit: maxBytes }, (_req, body, done) =>
    done(null, body),
  );
  app.addContentTypeParser('*', (req, _payload, done) =>
    done(
      new AppError('unsupported_media_type', `send the raw mail as ${MIME_TYPES.join(', ')}`, {
        details: { contentType: req.headers['content-type'] ?? null, allowed: MIME_TYPES },
      }),
    ),
  );

  app.post(
    '/v1/inbound/email/:orgSlug',
    {
      config: { access: 'public', rawBody: true },
      bodyLimit: maxBytes,
      // The secret is checked before the body is read: a stranger's megabytes are never taken in.
      onRequest: async (req) => {
        const params = req.params as { orgSlug?: string };
        const secret = secretOf(req.headers.authorization);
        const orgId =
          secret && params.orgSlug ? await resolveIntakeSecret(app.deps.pool, params.orgSlug, secret) : null;
        if (!orgId) throw intakeRefused();
        intakeOrg.set(req, orgId);
      },
      schema: {
        tags: ['email'],
        operationId: 'postInboundEmail',
        summary: 'Take one raw mail (MIME) for the organization, as a ticket or a reply',
        description:
          "Authenticated by the organization's intake secret: `Authorization: Bearer gmi_...`, or HTTP Basic " +
          'auth with the secret as the password. The body is the raw message (`message/rfc822`). ' +
          'A mail already taken (same Message-ID) answers `duplicate` and changes nothing.',
        params: z.object({ orgSlug: z.string().min(1).max(100) }),
        headers: z.object({ authorization: z.string().max(1000).optional() }),
        response: { 202: resultSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const orgId = intakeOrg.get(req);
      if (!orgId) throw intakeRefused();
      const raw = req.body;
      if (!Buffer.isBuffer(raw) || raw.length === 0) {
        throw new AppError('validation_failed', 'body: the raw mail is required', {
          details: [{ path: 'body', message: 'the raw mail (message/rfc822) is required' }],
        });
      }
      const result = await intakeEmail(
        { pool: app.deps.pool, storage: app.storage, logger: app.deps.logger },
        orgId,
        raw,
        {
          mailFrom: null,
          rcptTo: [],
          remoteAddress: req.ip,
          via: 'http',
        },
      );
      return reply.status(202).send({
        status: result.status,
        ticketId: result.ticketId,
        ticketNumber: result.ticketNumber,
      });
    },
  );
};
