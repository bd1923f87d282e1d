import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, isAppError } from '../../lib/errors.js';

/** The one error body of the API: `{ error: { code, message, details } }`. */
export function sendError(
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
  details: unknown = null,
) {
  return reply.status(status).send({ error: { code, message, details } });
}

// Fastify's own 4xx errors, in our vocabulary.
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad_request',
  FST_ERR_VALIDATION: 'validation_failed',
  FST_REQ_FILE_TOO_LARGE: 'payload_too_large',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'unsupported_media_type',
};

/** ioredis errors when Redis is away: the request could not be served, try again later. */
function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    /Stream isn't writeable|Connection is closed|ECONNREFUSED/.test(err.message)
  );
}

export function handleError(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) {
  if (hasZodFastifySchemaValidationErrors(err)) {
    const where = (err as { validationContext?: string }).validationContext ?? 'body';
    const details = err.validation.map((v) => ({
      path: `${where}${v.instancePath.replaceAll('/', '.')}`.replace(/\.$/, ''),
      message: v.message ?? 'invalid',
    }));
    const first = details[0];
    return sendError(
      reply,
      422,
      'validation_failed',
      first ? `${first.path}: ${first.message}` : 'invalid input',
      details,
    );
  }
  // not_configured (501) names the settings to set: the operator needs that message, and it holds no internals.
  if (isAppError(err) && (err.status < 500 || err.code === 'not_configured')) {
    return sendError(reply, err.status, err.code, err.message, err.details ?? null);
  }
  const status = (err as { statusCode?: number }).statusCode;
  if (status && status >= 400 && status < 500) {
    const code = FASTIFY_CODES[(err as FastifyError).code ?? ''] ?? 'bad_request';
    return sendError(reply, status, code, err.message);
  }
  if (isRedisUnavailable(err) || (isAppError(err) && err.code === 'unavailable')) {
    req.log.warn({ err }, 'dependency unavailable');
    reply.header('retry-after', '5');
    return sendError(reply, 503, 'unavailable', `temporarily unavailable, try again (request ${req.id})`);
  }
  req.log.error({ err }, 'request failed');
  // Never show internals: the request id is what support needs to find the log line.
  return sendError(reply, 500, 'internal', `internal error (request ${req.id})`);
}

/**
 * The router's own refusals (a path parameter past `maxParamLength`, broken percent-encoding),
 * which never reach the error handler: Fastify's `frameworkErrors` option. Its default answer is
 * in another shape and echoes the whole URL back.
 */
export function handleFrameworkError(err: FastifyError, _req: FastifyRequest, reply: FastifyReply) {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return sendError(reply, 414, 'uri_too_long', 'a path parameter is longer than this API accepts');
  }
  return sendError(
    reply,
    err.statusCode ?? 400,
    'bad_request',
    'the URL is not valid (broken percent-encoding?)',
  );
}

export function registerErrorHandling(app: FastifyInstance) {
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, 404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`),
  );
}

export const notFound = (what: string) => new AppError('not_found', `${what} not found`);
