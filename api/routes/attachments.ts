import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  type Attachment,
  checkUpload,
  getAttachment,
  listAttachments,
  MAX_ATTACHMENT_BYTES,
  recordAttachment,
} from '../../db/attachments.js';
import { withTenant } from '../../db/tenant.js';
import { getTicket } from '../../db/tickets.js';
import { AppError } from '../../lib/errors.js';
import { actorOf } from './helpers.js';
import { errorResponses } from './schemas.js';
import { attachmentSchema, ticketParams } from './ticket-schemas.js';

/** How long a download link works. Short: links end up in logs and chat. */
const LINK_TTL_SECONDS = 300;

function withUrl(app: FastifyInstance, orgId: string, a: Attachment) {
  const token = app.signer.sign({ orgId, attachmentId: a.id }, LINK_TTL_SECONDS);
  return {
    id: a.id,
    ticketId: a.ticketId,
    messageId: a.messageId,
    filename: a.filename,
    contentType: a.contentType,
    sizeBytes: a.sizeBytes,
    createdAt: a.createdAt,
    url: a.storageKey ? `${app.settings.publicUrl}/v1/files/${a.id}?token=${token}` : (a.externalUrl ?? ''),
  };
}

/** A ticket's attachments with fresh signed links (for the ticket view). */
export async function attachmentsOfTicket(app: FastifyInstance, req: FastifyRequest, ticketId: string) {
  const orgId = req.org?.orgId as string;
  const list = await req.inOrg((tx) => listAttachments(tx, { ticketId }));
  return list.map((a) => withUrl(app, orgId, a));
}

/**
 * Attachments: uploads stream straight from the request into storage (the body is the file, its
 * type the Content-Type, its name the `filename` query), never buffered whole; type and declared
 * size are refused before a byte is stored, and the size is counted while streaming. Downloads go
 * only through short-lived signed links, checked again against the tenant when used.
 */
export const attachmentRoutes: FastifyPluginAsyncZod = async (app) => {
  // The file is the body, of whatever type: hand the raw stream to the route.
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

  app.post(
    '/v1/orgs/:orgId/tickets/:ticketId/attachments',
    {
      config: { access: { permission: 'tickets.reply' }, rawBody: true },
      bodyLimit: MAX_ATTACHMENT_BYTES,
      schema: {
        tags: ['attachments'],
        operationId: 'uploadTicketAttachment',
        summary: 'Upload a file to a ticket (the request body is the file)',
        params: ticketParams,
        querystring: z.object({ filename: z.string().min(1).max(255) }),
        response: { 201: attachmentSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const declared = req.headers['content-length'];
      const size = declared === undefined ? undefined : Number(declared);
      const contentType = checkUpload({ contentType: req.headers['content-type'], size });
      const { orgId, ticketId } = req.params;
      // A ticket the caller can't see stops the upload before anything is stored.
      await req.inOrg((tx) => getTicket(tx, ticketId));
      const key = `orgs/${orgId}/attachments/${randomUUID()}`;
      const stored = await app.storage.put(key, req.raw, {
        contentType,
        ...(size === undefined ? {} : { contentLength: size }),
        maxBytes: MAX_ATTACHMENT_BYTES,
      });
      try {
        const attachment = await req.inOrg((tx) =>
          recordAttachment(
            tx,
            {
              ticketId,
              filename: req.query.filename,
              contentType,
              sizeBytes: stored.size,
              sha256: stored.sha256,
              storageKey: key,
              origin: req.auth?.kind === 'token' ? 'api' : 'panel',
            },
            actorOf(req),
          ),
        );
        return reply.status(201).send(withUrl(app, orgId, attachment));
      } catch (err) {
        await app.storage.delete(key).catch(() => {});
        throw err;
      }
    },
  );

  app.get(
    '/v1/orgs/:orgId/attachments/:attachmentId',
    {
      config: { access: { permission: 'tickets.read' } },
      schema: {
        tags: ['attachments'],
        operationId: 'getAttachment',
        summary: 'An attachment with a fresh signed download link',
        params: z.object({ orgId: z.uuid(), attachmentId: z.uuid() }),
        response: { 200: attachmentSchema, ...errorResponses },
      },
    },
    async (req) => {
      const a = await req.inOrg((tx) => getAttachment(tx, req.params.attachmentId));
      return withUrl(app, req.params.orgId, a);
    },
  );

  app.get(
    '/v1/files/:attachmentId',
    {
      config: { access: 'public' },
      schema: {
        tags: ['attachments'],
        operationId: 'downloadFile',
        summary: "Download through a signed link (from an attachment's url)",
        params: z.object({ attachmentId: z.uuid() }),
        querystring: z.object({ token: z.string().min(1).max(512) }),
      },
    },
    async (req, reply) => {
      const claims = app.signer.verify(req.query.token, req.params.attachmentId);
      // The link names its org; the row is read in that org's tenant, so a link is worth one file.
      const a = await withTenant(app.deps.pool, claims.orgId, (tx) => getAttachment(tx, claims.attachmentId));
      if (!a.storageKey) throw new AppError('not_found', 'this attachment is not stored here');
      const presigned = app.storage.presignGet(a.storageKey, {
        expiresInSeconds: 60,
        disposition: claims.disposition,
        filename: a.filename,
      });
      if (presigned) return reply.redirect(presigned, 302);
      const obj = await app.storage.get(a.storageKey);
      const name = encodeURIComponent(a.filename);
      return reply
        .header('content-type', a.contentType)
        .header('content-length', String(obj.size))
        .header('content-disposition', `${claims.disposition}; filename*=UTF-8''${name}`)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'private, no-store')
        .send(obj.body);
    },
  );
};
