import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { redeemInviteCode } from '../../db/invites.js';
import { orgsOfUser } from '../../db/memberships.js';
import { createOrganization, createOrganizationInput } from '../../db/organizations.js';
import { sessionOf } from './helpers.js';
import { errorResponses } from './schemas.js';

const orgSummary = z.object({ id: z.uuid(), name: z.string(), role: z.string() });

export const meRoutes: FastifyPluginAsyncZod = async (app) => {
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
