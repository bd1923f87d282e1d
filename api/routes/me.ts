import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getApiToken } from '../../db/api-tokens.js';
import { describeInviteCode, redeemInviteCode } from '../../db/invites.js';
import { orgsOfUser } from '../../db/memberships.js';
import { describeGrant } from '../../db/oauth-grants.js';
import { createOrganization, createOrganizationInput, getOrganization } from '../../db/organizations.js';
import { type Tx, withTenant } from '../../db/tenant.js';
import { notFound } from '../plugins/errors.js';
import { describeSession, sessionView } from './auth.js';
import { sessionOf } from './helpers.js';
import { errorResponses } from './schemas.js';

const grantOf = async (tx: Tx, grantId: string) => {
  const grant = await describeGrant(tx, grantId);
  if (!grant) throw notFound('OAuth grant');
  return grant;
};

const iso = (d: Date | string) => new Date(d).toISOString();

const orgSummary = z.object({ id: z.uuid(), name: z.string(), role: z.string() });

/** A person: what GET /auth/session answers, marked as a user. */
const meUser = sessionView.extend({ kind: z.literal('user') });
/** An API token: which org it acts in and what it may do, so an integration can find its way. */
const meToken = z.object({
  kind: z.literal('token'),
  tokenId: z.uuid(),
  name: z.string(),
  orgId: z.uuid(),
  org: z.object({ id: z.uuid(), name: z.string(), slug: z.string() }),
  scopes: z.array(z.string()),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
});

export const meRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/me',
    {
      config: { access: 'caller' },
      schema: {
        tags: ['me'],
        operationId: 'getMe',
        summary: 'Who is calling: the signed-in user (as /auth/session), or the API token and its org',
        response: { 200: z.discriminatedUnion('kind', [meUser, meToken]), ...errorResponses },
      },
    },
    async (req) => {
      const auth = req.auth;
      if (auth?.kind === 'token') {
        // An OAuth access token describes its grant (named for its client) the same way.
        const { token, org } = await withTenant(app.deps.pool, auth.orgId, async (tx) => ({
          token: auth.via === 'oauth' ? await grantOf(tx, auth.tokenId) : await getApiToken(tx, auth.tokenId),
          org: await getOrganization(tx),
        }));
        return {
          kind: 'token' as const,
          tokenId: token.id,
          name: token.name,
          orgId: org.id,
          org: { id: org.id, name: org.name, slug: org.slug },
          scopes: token.scopes,
          createdAt: iso(token.createdAt),
          expiresAt: token.expiresAt && iso(token.expiresAt),
          lastUsedAt: token.lastUsedAt && iso(token.lastUsedAt),
        };
      }
      return { kind: 'user' as const, ...(await describeSession(app, sessionOf(req))) };
    },
  );

  app.get(
    '/v1/me/orgs',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['me'],
        operationId: 'listMyOrgs',
        summary: 'The organizations the signed-in user belongs to',
        response: { 200: z.object({ orgs: z.array(orgSummary) }), ...errorResponses },
      },
    },
    async (req) => ({ orgs: await orgsOfUser(app.deps.pool, sessionOf(req).userId) }),
  );

  app.post(
    '/v1/orgs',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['organizations'],
        operationId: 'createOrg',
        summary: 'Create an organization; the signed-in user becomes its owner',
        body: createOrganizationInput.omit({ ownerUserId: true }),
        response: { 201: z.object({ id: z.uuid(), name: z.string(), slug: z.string() }), ...errorResponses },
      },
    },
    async (req, reply) => {
      const userId = sessionOf(req).userId;
      const org = await createOrganization(
        app.deps.pool,
        { ...req.body, ownerUserId: userId },
        { type: 'user', id: userId, ip: req.ip, requestId: String(req.id) },
      );
      return reply.status(201).send({ id: org.id, name: org.name, slug: org.slug });
    },
  );

  // A POST with the code in the body, not a GET with it in the path: the code is a secret and
  // paths end up in access logs.
  app.post(
    '/v1/invites/lookup',
    {
      config: { access: 'authenticated', rateLimit: 'auth' },
      schema: {
        tags: ['members'],
        operationId: 'lookupInvite',
        summary: "What an invite link's code joins (org and role) before redeeming it",
        body: z.object({ code: z.string().min(1).max(200) }),
        response: {
          200: z.object({
            orgId: z.uuid(),
            orgName: z.string(),
            role: z.object({ key: z.string(), name: z.string() }),
            expiresAt: z.string(),
            alreadyMember: z.boolean(),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const d = await describeInviteCode(app.deps.pool, req.body.code, sessionOf(req).userId);
      return {
        orgId: d.orgId,
        orgName: d.orgName,
        role: { key: d.roleKey, name: d.roleName },
        expiresAt: iso(d.expiresAt),
        alreadyMember: d.member,
      };
    },
  );

  app.post(
    '/v1/invites/redeem',
    {
      config: { access: 'authenticated', rateLimit: 'auth' },
      schema: {
        tags: ['members'],
        operationId: 'redeemInvite',
        summary: 'Join an organization with an invite link code',
        body: z.object({ code: z.string().min(1).max(200) }),
        response: { 200: z.object({ orgId: z.uuid() }), ...errorResponses },
      },
    },
    async (req) => ({ orgId: await redeemInviteCode(app.deps.pool, req.body.code, sessionOf(req).userId) }),
  );
};
