import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { API_TOKEN_SCOPES, permissionsForScopes } from '../../db/api-tokens.js';
import { requireHeld } from '../../db/grants.js';
import {
  createOAuthClient,
  createOAuthClientInput,
  getOAuthClient,
  listOAuthClients,
  OAUTH_GRANT_TYPES,
  revokeOAuthClient,
} from '../../db/oauth-clients.js';
import { actorOf } from './helpers.js';
import { errorResponses, orgParams } from './schemas.js';
import { at, orgAnd, secretOnce } from './settings-schemas.js';

export const oauthClientSchema = z
  .object({
    id: z.uuid(),
    /** What the client sends as `client_id` to the token endpoint. */
    clientId: z.string(),
    name: z.string(),
    kind: z.enum(['confidential', 'public']),
    secretPrefix: z.string().nullable(),
    redirectUris: z.array(z.string()),
    scopes: z.array(z.enum(API_TOKEN_SCOPES)),
    grantTypes: z.array(z.enum(OAUTH_GRANT_TYPES)),
    createdBy: z.uuid().nullable(),
    createdAt: at,
    revokedAt: at.nullable(),
  })
  .meta({ id: 'OAuthClient' });

const T = ['oauth'];
const clientParams = orgAnd('oauthClientId');
const access = { permission: 'tokens.manage' } as const;

/** Staff register and revoke their organization's OAuth clients (the token endpoint is oauth.ts). */
export const oauthClientRoutes: FastifyPluginAsyncZod = async (app) => {
  const base = '/v1/orgs/:orgId/oauth-clients';

  app.get(
    base,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'listOAuthClients',
        summary: 'List the OAuth clients (revoked ones included; never their secrets)',
        params: orgParams,
        response: { 200: z.object({ clients: z.array(oauthClientSchema) }), ...errorResponses },
      },
    },
    async (req) => ({ clients: await req.inOrg((tx) => listOAuthClients(tx)) }),
  );

  // Not idempotent on purpose: a replayed response would have to keep the client secret.
  app.post(
    base,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'createOAuthClient',
        summary: 'Register an OAuth client; a confidential client’s secret is in this response only',
        params: orgParams,
        body: createOAuthClientInput,
        response: {
          201: z.object({
            client: oauthClientSchema,
            clientSecret: secretOnce(
              'the client secret (confidential clients; null for public ones)',
            ).nullable(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      // A client's scopes are what its tokens can reach: no one registers one stronger than
      // themselves, the rule API tokens follow (db/grants.ts).
      requireHeld(
        req.org?.permissions ?? new Set<string>(),
        [...permissionsForScopes(req.body.scopes)],
        'grant',
      );
      const made = await req.inOrg((tx) => createOAuthClient(tx, req.body, actorOf(req)));
      return reply.status(201).send(made);
    },
  );

  app.get(
    `${base}/:oauthClientId`,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'getOAuthClient',
        summary: 'One OAuth client (never its secret)',
        params: clientParams,
        response: { 200: oauthClientSchema, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => getOAuthClient(tx, req.params.oauthClientId)),
  );

  app.delete(
    `${base}/:oauthClientId`,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'revokeOAuthClient',
        summary: 'Revoke an OAuth client and every token issued to it, at once',
        params: clientParams,
        response: { 200: oauthClientSchema, ...errorResponses },
      },
    },
    async (req) => {
      const { client, revokedGrants } = await req.inOrg((tx) =>
        revokeOAuthClient(tx, req.params.oauthClientId, actorOf(req)),
      );
      // Immediate here; other instances drop them when the relay publishes the events.
      for (const grantId of revokedGrants) app.tokenCache.forget(grantId);
      return client;
    },
  );
};
