import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  API_TOKEN_SCOPES,
  createApiToken,
  createApiTokenInput,
  getApiToken,
  listApiTokens,
  permissionsForScopes,
  revokeApiToken,
} from '../../db/api-tokens.js';
import { requireHeld } from '../../db/grants.js';
import { actorOf } from './helpers.js';
import { errorResponses, orgParams } from './schemas.js';
import { at, orgAnd, secretOnce } from './settings-schemas.js';

export const apiTokenSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    /** The visible start of the token, to tell tokens apart in lists and logs. */
    prefix: z.string(),
    scopes: z.array(z.enum(API_TOKEN_SCOPES)),
    createdBy: z.uuid().nullable(),
    createdAt: at,
    lastUsedAt: at.nullable(),
    expiresAt: at.nullable(),
    revokedAt: at.nullable(),
  })
  .meta({ id: 'ApiToken' });

const T = ['api-tokens'];
const tokenParams = orgAnd('tokenId');
const access = { permission: 'tokens.manage' } as const;

export const tokenRoutes: FastifyPluginAsyncZod = async (app) => {
  const base = '/v1/orgs/:orgId/api-tokens';

  app.get(
    base,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'listApiTokens',
        summary: 'List the API tokens (revoked ones included; never their secrets)',
        params: orgParams,
        response: { 200: z.object({ tokens: z.array(apiTokenSchema) }), ...errorResponses },
      },
    },
    async (req) => ({ tokens: await req.inOrg((tx) => listApiTokens(tx)) }),
  );

  // Not idempotent on purpose: a replayed response would have to keep the plaintext token.
  app.post(
    base,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'createApiToken',
        summary: 'Create an API token; its plaintext is in this response only',
        description:
          'The token is yours: its scopes may not exceed your role, and on every request it holds ' +
          'only what your role still grants. It is revoked if you are removed from the organization.',
        params: orgParams,
        body: createApiTokenInput,
        response: {
          201: z.object({ token: apiTokenSchema, plaintext: secretOnce('the bearer token') }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      // Nobody mints a token stronger than themselves (a custom role may hold tokens.manage alone).
      // The same rule as roles, members, invites and mappings (db/grants.ts).
      requireHeld(
        req.org?.permissions ?? new Set<string>(),
        [...permissionsForScopes(req.body.scopes)],
        'grant',
      );
      const made = await req.inOrg((tx) => createApiToken(tx, req.body, actorOf(req)));
      return reply.status(201).send(made);
    },
  );

  app.get(
    `${base}/:tokenId`,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'getApiToken',
        summary: 'One API token (never its secret)',
        params: tokenParams,
        response: { 200: apiTokenSchema, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => getApiToken(tx, req.params.tokenId)),
  );

  app.delete(
    `${base}/:tokenId`,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'revokeApiToken',
        summary: 'Revoke an API token at once (revoking again keeps the first date)',
        params: tokenParams,
        response: { 200: apiTokenSchema, ...errorResponses },
      },
    },
    async (req) => {
      const token = await req.inOrg((tx) => revokeApiToken(tx, req.params.tokenId, actorOf(req)));
      // Immediate here; other instances drop it when the relay publishes the revocation's event.
      app.tokenCache.forget(token.id);
      return token;
    },
  );
};
