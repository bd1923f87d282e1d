import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  type Attachment,
  attachmentTooLarge,
  checkUpload,
  getAttachment,
  listAttachments,
  MAX_ATTACHMENT_BYTES,
  recordAttachment,
} from '../../db/attachments.js';
import { withTenant } from '../../db/tenant.js';
import { getTicket } from '../../db/tickets.js';
import { AppError, isAppError } from '../../lib/errors.js';
import { contentDisposition } from '../../lib/storage/common.js';
import { peek, typeFromBytes } from '../../lib/storage/sniff.js';
import { actorOf } from './helpers.js';
import { errorResponses } from './schemas.js';
import { attachmentSchema, ticketParams } from './ticket-schemas.js';

/** How long a download link works. Short: links end up in logs and chat. */
const LINK_TTL_SECONDS = 300;

/**
 * CORS for signed downloads, as `/sdk/v1` has it: any origin may read a file its link opens
 * (the panel served from another origin, a browser game showing a player's attachment), since the
 * signed link is the credential and no cookie is involved (so no Allow-Credentials). Set before
 * anything else runs, so a refused or expired link is readable as one too.
 */
function fileCors(_req: FastifyRequest, reply: FastifyReply, done: () => void) {
  reply
    .header('access-control-allow-origin', '*')
    .header('access-control-expose-headers', 'content-disposition, content-length, content-type');
  done();
}

/** An attachment as the API shows it: with a fresh signed link to its stored copy. */
export function withUrl(app: FastifyInstance, orgId: string, a: Attachment) {
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

interface Upload {
  body: Readable;
  /** The declared media type, checked against the allowed list. */
  contentType: string;
  filename: string | undefined;
  /** The exact size when the request says it up front (a raw body's Content-Length). */
  size: number | undefined;
  /** True when a multipart file stopped at busboy's limit (it ends the stream instead of failing). */
  truncated(): boolean;
}

/** The request body is the file: its type the Content-Type, its size the Content-Length. */
function rawUpload(req: FastifyRequest, filename: string | undefined): Upload {
  const declared = req.headers['content-length'];
  const size = declared === undefined ? undefined : Number(declared);
  const contentType = checkUpload({ contentType: req.headers['content-type'], size });
  return { body: req.raw, contentType, filename, size, truncated: () => false };
}

// What busboy says about a body that is not the multipart it claims to be (no boundary, cut off,
// a broken part header): the client's fault, so a 400 rather than the 500 of an unknown error.
const MALFORMED_MULTIPART = /multipart|boundary|part header|part terminated/i;

/** Rethrows a busboy parse failure as a 400; anything else (a 413 limit, storage) as it was. */
function asMultipartError(err: unknown): unknown {
  if (isAppError(err) || !(err instanceof Error) || (err as { statusCode?: number }).statusCode) return err;
  if (!MALFORMED_MULTIPART.test(err.message)) return err;
  return new AppError('bad_request', `malformed multipart/form-data body: ${err.message}`, { cause: err });
}

/** `multipart/form-data` (a browser form, `curl -F file=@shot.png`): the first file part. */
async function multipartUpload(req: FastifyRequest, filename: string | undefined): Promise<Upload> {
  const part = await req
    .file({
      // One byte past the limit, so an oversized file reaches storage's own count (a 413) instead
      // of being cut silently at exactly the limit.
      limits: { fileSize: MAX_ATTACHMENT_BYTES + 1, files: 1, fields: 10, parts: 11, fieldSize: 1024 },
    })
    .catch((err: unknown) => {
      throw asMultipartError(err);
    });
  if (!part) {
    throw new AppError('validation_failed', 'the form has no file', {
      details: [{ path: 'body.file', message: 'a file part is required' }],
    });
  }
  const contentType = checkUpload({ contentType: part.mimetype });
  return {
    body: part.file,
    contentType,
    filename: filename ?? part.filename,
    size: undefined,
    truncated: () => part.file.truncated,
  };
}

/**
 * Attachments: uploads stream straight from the request into storage, never buffered whole. The
 * body is the file (its type the Content-Type, its name the `filename` query), or a
 * `multipart/form-data` form with one file part. The declared type and size are refused before a
 * byte is stored; the type is then checked against the file's first bytes (a mismatch is a 415),
 * and the size is counted while streaming. Downloads go only through short-lived signed links,
 * checked again against the tenant when used.
 */
export const attachmentRoutes: FastifyPluginAsyncZod = async (app) => {
  // The file is the body, of whatever type: no parser may read it first (the app's JSON and text
  // parsers would swallow a text/plain or application/json file and leave nothing to stream).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  await app.register(multipart);

  app.post(
    '/v1/orgs/:orgId/tickets/:ticketId/attachments',
    {
      config: { access: { permission: 'tickets.reply' }, rawBody: true },
      bodyLimit: MAX_ATTACHMENT_BYTES,
      schema: {
        tags: ['attachments'],
        operationId: 'uploadTicketAttachment',
        summary:
          'Upload a file to a ticket (the request body is the file, or a multipart form with one file)',
        params: ticketParams,
        // Required for a raw body; a multipart file part carries its own name.
        querystring: z.object({ filename: z.string().min(1).max(255).optional() }),
        response: { 201: attachmentSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { orgId, ticketId } = req.params;
      const multipartForm = req.isMultipart();
      // The raw body's declared type and size are refused before any I/O.
      const raw = multipartForm ? null : rawUpload(req, req.query.filename);
      // A ticket the caller can't see stops the upload before anything is stored.
      await req.inOrg((tx) => getTicket(tx, ticketId));
      const upload = raw ?? (await multipartUpload(req, req.query.filename));
      const filename = upload.filename;
      if (!filename) {
        throw new AppError('validation_failed', 'query.filename: a file name is required', {
          details: [{ path: 'query.filename', message: 'required for a raw upload' }],
        });
      }
      const key = `orgs/${orgId}/attachments/${randomUUID()}`;
      const { stored, contentType } = await (async () => {
        const { head, body } = await peek(upload.body);
        const type = await typeFromBytes(upload.contentType, head);
        const put = await app.storage.put(key, body, {
          contentType: type,
          ...(upload.size === undefined ? {} : { contentLength: upload.size }),
          maxBytes: MAX_ATTACHMENT_BYTES,
        });
        return { stored: put, contentType: type };
      })().catch((err: unknown) => {
        // A multipart body can turn out malformed mid-file; storage has kept nothing of it.
        throw multipartForm ? asMultipartError(err) : err;
      });
      try {
        if (upload.truncated()) throw attachmentTooLarge();
        const attachment = await req.inOrg((tx) =>
          recordAttachment(
            tx,
            {
              ticketId,
              filename,
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

  app.options(
    '/v1/files/:attachmentId',
    {
      config: { access: 'public', rateLimit: 'none' },
      schema: {
        tags: ['attachments'],
        operationId: 'downloadFilePreflight',
        summary: 'CORS preflight for a signed download',
        description: 'What a browser asks before a cross-origin GET of a file: any origin may.',
        params: z.object({ attachmentId: z.uuid() }),
        response: { 204: z.null() },
      },
      onRequest: fileCors,
    },
    async (_req, reply) =>
      reply
        .status(204)
        .header('access-control-allow-methods', 'GET, OPTIONS')
        .header('access-control-max-age', '86400')
        .send(null),
  );

  app.get(
    '/v1/files/:attachmentId',
    {
      config: { access: 'public' },
      onRequest: fileCors,
      schema: {
        tags: ['attachments'],
        operationId: 'downloadFile',
        summary: "Download through a signed link (from an attachment's url)",
        description:
          'Readable from any origin (`Access-Control-Allow-Origin: *`): the signed link is the ' +
          'credential, no cookie is sent or needed.',
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
      return reply
        .header('content-type', a.contentType)
        .header('content-length', String(obj.size))
        .header(
          'content-disposition',
          contentDisposition({ disposition: claims.disposition, filename: a.filename }),
        )
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'private, no-store')
        .send(obj.body);
    },
  );
};
