import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Actor } from '../../db/changes.js';
import {
  clientForAuth,
  clientSecretHash,
  type OAuthClientAuth,
  orgOfOAuthClient,
} from '../../db/oauth-clients.js';
import { redeemAuthorizationCode } from '../../db/oauth-codes.js';
import {
  type IssuedTokens,
  introspectToken,
  issueClientCredentials,
  type OAuthErrorCode,
  type OAuthResult,
  parseScopeParam,
  revokeToken,
  rotateRefreshToken,
} from '../../db/oauth-tokens.js';
import { type Tx, withTenant } from '../../db/tenant.js';
import { isAppError } from '../../lib/errors.js';
import { sameSecret } from '../plugins/auth.js';
import { handleError } from '../plugins/errors.js';

/**
 * The OAuth 2.0 token endpoint (RFC 6749 §3.2), revocation (RFC 7009) and introspection
 * (RFC 7662). Requests are form-encoded and refusals are `{ error, error_description }`
 * (RFC 6749 §5.2): the one place the API's usual error shape does not apply, because OAuth
 * client libraries parse this one. Only 5xx answers keep the API's shape.
 */

/** A refusal in RFC 6749 §5.2's terms. */
class OAuthRefusal extends Error {
  constructor(
    readonly error: OAuthErrorCode | 'unsupported_token_type' | 'rate_limited',
    readonly description: string,
    readonly status = 400,
  ) {
    super(description);
  }
}

const param = (what: string, max = 512) => z.string().max(max).optional().meta({ description: what });

const clientFields = {
  client_id: param('the client’s id; or use HTTP Basic authentication', 100),
  client_secret: param('a confidential client’s secret; or use HTTP Basic authentication', 200),
};

const tokenForm = z
  .object({
    grant_type: z.string().max(100).meta({
      description: 'authorization_code, client_credentials or refresh_token',
    }),
    code: param('authorization_code: the code from the redirect'),
    redirect_uri: param('authorization_code: the redirect URI the code was requested with', 2000),
    code_verifier: param('authorization_code: the PKCE verifier (S256)'),
    refresh_token: param('refresh_token: the latest refresh token (each is used once)'),
    scope: param('space-separated scopes; at most the client’s (or the grant’s on refresh)', 1000),
    ...clientFields,
  })
  .meta({ id: 'OAuthTokenRequest' });

const tokenForms = z.object({
  token: z.string().max(512).meta({ description: 'the access or refresh token' }),
  token_type_hint: param('access_token or refresh_token (optional)', 50),
  ...clientFields,
});

const tokenAnswer = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  refresh_token: z.string().optional(),
  scope: z.string(),
});

export const oauthErrorSchema = z
  .object({ error: z.string(), error_description: z.string().optional() })
  .meta({ id: 'OAuthError', description: 'RFC 6749 §5.2: error code and a human-readable description' });

const introspection = z.object({
  active: z.boolean(),
  scope: z.string().optional(),
  client_id: z.string().optional(),
  token_type: z.enum(['access_token', 'refresh_token']).optional(),
  exp: z.number().int().optional(),
  iat: z.number().int().optional(),
  sub: z.string().optional(),
});

const refusals = { 400: oauthErrorSchema, 401: oauthErrorSchema, 429: oauthErrorSchema };
const FORM = 'application/x-www-form-urlencoded';
/**
 * HTTP Basic with the client's id and secret, or both as form fields; a public client sends its
 * client_id alone (no security, in OpenAPI's terms).
 */
const clientAuth: Array<Record<string, string[]>> = [{ clientBasic: [] }, {}];

/** Form fields; a repeated one is refused (RFC 6749 §3.2: parameters MUST NOT repeat). */
function parseForm(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    if (Object.hasOwn(out, k)) throw new OAuthRefusal('invalid_request', `${k} is sent more than once`);
    out[k] = v;
  }
  return out;
}

/** RFC 6749 §2.3.1: HTTP Basic with the form-urlencoded id and secret, or both in the body. */
function credentialsOf(req: FastifyRequest, body: { client_id?: string; client_secret?: string }) {
  const header = req.headers.authorization;
  if (header === undefined) return { id: body.client_id, secret: body.client_secret, basic: false };
  const [scheme, value] = header.split(' ', 2);
  if (scheme?.toLowerCase() !== 'basic' || !value)
    throw new OAuthRefusal('invalid_client', 'Authorization must be Basic client credentials', 401);
  if (body.client_secret !== undefined)
    throw new OAuthRefusal('invalid_request', 'use one way to authenticate the client, not two');
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new OAuthRefusal('invalid_client', 'malformed Basic credentials', 401);
  try {
    const id = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
    if (body.client_id !== undefined && body.client_id !== id)
      throw new OAuthRefusal('invalid_request', 'client_id differs from the authenticated client');
    return { id, secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')), basic: true };
  } catch (err) {
    if (err instanceof OAuthRefusal) throw err;
    throw new OAuthRefusal('invalid_client', 'malformed Basic credentials', 401);
  }
}

type ClientHome = { orgId: string; rowId: string };

/**
 * Which organization and row a client_id names. Both are fixed when the client is registered, so
 * they are remembered: an integration asking for tokens all day costs one look-up, not one per
 * request. Whether the client may still ask is never read from here: its row is read again in the
 * grant's transaction (`clientForAuth`), so a revoked client is refused at once. Only ids that
 * named a client are kept (a stranger's guesses don't fill the map), at most `max`, oldest out.
 */
class ClientHomes {
  private readonly known = new Map<string, ClientHome>();

  constructor(private readonly max = 10_000) {}

  async of(req: FastifyRequest, clientId: string): Promise<ClientHome | null> {
    const hit = this.known.get(clientId);
    if (hit) return hit;
    const found = await orgOfOAuthClient(req.server.deps.pool, clientId);
    if (found) {
      if (this.known.size >= this.max) this.known.delete(this.known.keys().next().value as string);
      this.known.set(clientId, found);
    }
    return found;
  }
}

/**
 * Authenticates the calling client (a registered, unrevoked client, with its secret when it has
 * one; a public client is identified by its client_id only, which is why it must use PKCE) and
 * runs `fn` for it in one transaction of its organization: the client's row, the secret check
 * and the grant's work share the transaction, and a refused client rolls back before `fn` runs.
 */
async function asClient<T>(
  homes: ClientHomes,
  req: FastifyRequest,
  body: { client_id?: string; client_secret?: string },
  fn: (tx: Tx, client: OAuthClientAuth) => Promise<T>,
): Promise<T> {
  const cred = credentialsOf(req, body);
  const status = cred.basic ? 401 : 400;
  // Made only when needed: an Error captures a stack, a cost every granted request would pay.
  const refused = () => new OAuthRefusal('invalid_client', 'unknown client or wrong client secret', status);
  if (!cred.id) throw new OAuthRefusal('invalid_client', 'client_id is missing', status);
  const found = await homes.of(req, cred.id);
  if (!found) throw refused();
  return withTenant(req.server.deps.pool, found.orgId, async (tx) => {
    const client = await clientForAuth(tx, found.rowId);
    if (!client) throw refused();
    if (client.secretHash) {
      const presented = cred.secret === undefined ? null : clientSecretHash(cred.secret);
      if (!presented || !sameSecret(presented.toString('hex'), client.secretHash.toString('hex')))
        throw refused();
    } else if (cred.secret !== undefined) {
      // A public client has no secret: one sent is a misconfigured client, not a credential.
      throw refused();
    }
    return fn(tx, client);
  });
}

const unwrap = <T>(r: OAuthResult<T>): T => {
  if (!r.ok) throw new OAuthRefusal(r.error, r.description);
  return r.value;
};

const scopesOf = (scope: string | undefined) => {
  const scopes = parseScopeParam(scope);
  if (!scopes) throw new OAuthRefusal('invalid_scope', 'an unknown scope was requested');
  return scopes;
};

const required = (v: string | undefined, name: string): string => {
  if (!v) throw new OAuthRefusal('invalid_request', `${name} is required`);
  return v;
};

/** The audit actor of what a client's call changes (a reuse's revocation). */
const systemActor = (req: FastifyRequest): Actor => ({ type: 'system', requestId: String(req.id) });

function answer(reply: FastifyReply, t: IssuedTokens) {
  // RFC 6749 §5.1: token answers are never cached.
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  return {
    access_token: t.accessToken,
    token_type: 'Bearer' as const,
    expires_in: t.expiresIn,
    ...(t.refreshToken ? { refresh_token: t.refreshToken } : {}),
    scope: t.scopes.join(' '),
  };
}

/** RFC 6749 §5.2 bodies for everything a client can get wrong; 5xx keep the API's shape. */
function oauthErrorHandler(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) {
  reply.header('cache-control', 'no-store');
  if (err instanceof OAuthRefusal) {
    if (err.status === 401) reply.header('www-authenticate', 'Basic realm="oauth"');
    return reply.status(err.status).send({ error: err.error, error_description: err.description });
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const v = err.validation[0];
    const field =
      v?.instancePath.replace(/^\//, '') || (v?.params as { missingProperty?: string })?.missingProperty;
    return reply.status(400).send({
      error: 'invalid_request',
      error_description: `${field ?? 'a parameter'}: ${v?.message ?? 'invalid'}`,
    });
  }
  const status = isAppError(err) ? err.status : (err as { statusCode?: number }).statusCode;
  if (status === 429)
    return reply.status(429).send({ error: 'rate_limited', error_description: err.message });
  if (status && status >= 400 && status < 500) {
    return reply.status(400).send({ error: 'invalid_request', error_description: err.message });
  }
  return handleError(err, req, reply);
}

export const oauthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 8192 }, (_req, body, done) => {
    try {
      done(null, parseForm(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.setErrorHandler(oauthErrorHandler);
  // RFC 6749 §3.2: form-encoded, never JSON (a JSON body is refused, not guessed at).
  app.addHook('preValidation', async (req) => {
    if (!String(req.headers['content-type'] ?? '').startsWith(FORM))
      throw new OAuthRefusal('invalid_request', `the body must be ${FORM}`);
  });
  const life = () => app.settings.oauth;
  const homes = new ClientHomes();
  const config = { access: 'public', rateLimit: 'oauth' } as const;

  app.post(
    '/v1/oauth/token',
    {
      config,
      schema: {
        tags: ['oauth'],
        operationId: 'requestOAuthToken',
        summary: 'Issue tokens: authorization_code (PKCE S256), client_credentials, refresh_token',
        consumes: [FORM],
        security: clientAuth,
        body: tokenForm,
        response: { 200: tokenAnswer, ...refusals },
      },
    },
    async (req, reply) => {
      const body = req.body;
      const now = app.settings.now();
      const result = await asClient(homes, req, body, (tx, client) => {
        switch (body.grant_type) {
          case 'client_credentials':
            return issueClientCredentials(tx, client, scopesOf(body.scope), now, life());
          case 'authorization_code':
            return redeemAuthorizationCode(
              tx,
              client,
              {
                code: required(body.code, 'code'),
                redirectUri: required(body.redirect_uri, 'redirect_uri'),
                codeVerifier: required(body.code_verifier, 'code_verifier'),
              },
              now,
              life(),
              systemActor(req),
            );
          case 'refresh_token':
            return rotateRefreshToken(
              tx,
              client,
              required(body.refresh_token, 'refresh_token'),
              scopesOf(body.scope),
              now,
              life(),
              systemActor(req),
            );
          default:
            throw new OAuthRefusal('unsupported_grant_type', `unsupported grant_type ${body.grant_type}`);
        }
      });
      // A refusal that revoked a family (a reused refresh or code) drops it from the cache here;
      // other instances hear of it through the relay.
      if (!result.ok && result.revokedGrant) app.tokenCache.forget(result.revokedGrant);
      return answer(reply, unwrap(result));
    },
  );

  app.post(
    '/v1/oauth/revoke',
    {
      config,
      schema: {
        tags: ['oauth'],
        operationId: 'revokeOAuthToken',
        summary: 'Revoke a token and its whole grant (RFC 7009); unknown tokens answer 200 too',
        consumes: [FORM],
        security: clientAuth,
        body: tokenForms,
        response: { 200: z.object({}), ...refusals },
      },
    },
    async (req, reply) => {
      const grantId = await asClient(homes, req, req.body, (tx, client) =>
        revokeToken(tx, client, req.body.token, systemActor(req)),
      );
      if (grantId) app.tokenCache.forget(grantId);
      reply.header('cache-control', 'no-store');
      return {};
    },
  );

  app.post(
    '/v1/oauth/introspect',
    {
      config,
      schema: {
        tags: ['oauth'],
        operationId: 'introspectOAuthToken',
        summary: 'Whether a token of this client is active, and its scopes and expiry (RFC 7662)',
        consumes: [FORM],
        security: clientAuth,
        body: tokenForms,
        response: { 200: introspection, ...refusals },
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-store');
      return asClient(homes, req, req.body, (tx, client) =>
        introspectToken(tx, client, req.body.token, app.settings.now()),
      );
    },
  );
};
