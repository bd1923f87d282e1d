import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createInvite, createInviteInput, listInvites, revokeInvite } from '../../db/invites.js';
import { changeRole, listMembers, removeMember } from '../../db/memberships.js';
import { getWorkingHours, setWorkingHours, workingHoursInput } from '../../db/working-hours.js';
import { actorOf, requirePermission } from './helpers.js';
import { errorResponses, okSchema, orgParams } from './schemas.js';

const memberSchema = z
  .object({ userId: z.uuid(), displayName: z.string(), roleKey: z.string(), joinedAt: z.date() })
  .meta({ id: 'Member' });
const inviteSchema = z
  .object({
    id: z.uuid(),
    roleKey: z.string(),
    discordUserId: z.string().nullable(),
    maxUses: z.number().int(),
    uses: z.number().int(),
    expiresAt: z.date(),
    createdAt: z.date(),
    revokedAt: z.date().nullable(),
  })
  .meta({ id: 'Invite' });
const memberParams = orgParams.extend({ userId: z.uuid() });
const M = ['members'];
const workingHoursSchema = z
  .object({
    workingHours: workingHoursInput.shape.workingHours.meta({
      description:
        'When automatic assignment may give the member tickets: shifts per day as [start, end) minutes ' +
        'after local midnight in timeZone (a day left out is a day off; a night shift is split at ' +
        'midnight); null: always',
    }),
  })
  .meta({ id: 'WorkingHours' });

/** A member sets their own hours; anyone else's need members.manage. */
function requireSelfOrManager(req: FastifyRequest, userId: string) {
  const auth = req.auth;
  const caller = auth?.kind === 'session' ? auth.userId : (auth?.userId ?? null);
  if (caller !== userId) requirePermission(req, 'members.manage');
}

/** Members and invitations (by Discord account or by link). */
export const memberRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/orgs/:orgId/members',
    {
      config: { access: { permission: 'members.read' } },
      schema: {
        tags: M,
        operationId: 'listMembers',
        summary: 'Members and their roles',
        params: orgParams,
        response: { 200: z.object({ members: z.array(memberSchema) }), ...errorResponses },
      },
    },
    async (req) => ({ members: await req.inOrg((tx) => listMembers(tx)) }),
  );

  app.patch(
    '/v1/orgs/:orgId/members/:userId',
    {
      config: { access: { permission: 'members.manage' } },
      schema: {
        tags: M,
        operationId: 'updateMemberRole',
        summary: "Change a member's role",
        params: memberParams,
        body: z.object({ role: z.string().trim().min(1).max(50) }),
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      await req.inOrg((tx) =>
        changeRole(tx, { userId: req.params.userId, role: req.body.role }, actorOf(req)),
      );
      return { ok: true as const };
    },
  );

  app.delete(
    '/v1/orgs/:orgId/members/:userId',
    {
      config: { access: { permission: 'members.manage' } },
      schema: {
        tags: M,
        operationId: 'removeMember',
        summary: 'Remove a member (and from their teams)',
        description:
          'Also revokes, for good and audited, the API tokens the member made and the OAuth grants ' +
          'they gave in this organization: adding them back later brings none of it back.',
        params: memberParams,
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      const { revokedTokens } = await req.inOrg((tx) => removeMember(tx, req.params.userId, actorOf(req)));
      // The API tokens and OAuth grants that acted for them stop here at once; other instances
      // drop them when the relay publishes the revocations.
      for (const tokenId of revokedTokens) app.tokenCache.forget(tokenId);
      return { ok: true as const };
    },
  );

  app.get(
    '/v1/orgs/:orgId/members/:userId/working-hours',
    {
      // Whoever hands tickets out sees when a member takes them.
      config: { access: { permission: 'tickets.read' } },
      schema: {
        tags: M,
        operationId: 'getWorkingHours',
        summary: "A member's working hours (automatic assignment gives tickets only within them)",
        params: memberParams,
        response: { 200: workingHoursSchema, ...errorResponses },
      },
    },
    async (req) => ({ workingHours: await req.inOrg((tx) => getWorkingHours(tx, req.params.userId)) }),
  );

  app.put(
    '/v1/orgs/:orgId/members/:userId/working-hours',
    {
      config: { access: { permission: 'tickets.read' } },
      schema: {
        tags: M,
        operationId: 'setWorkingHours',
        summary: "Set a member's working hours (your own, or anyone's with members.manage); null: always",
        description:
          'Audited as member.working_hours_set. Automatic assignment skips a member outside their ' +
          'hours; tickets they already hold stay with them.',
        params: memberParams,
        body: workingHoursInput,
        response: { 200: workingHoursSchema, ...errorResponses },
      },
    },
    async (req) => {
      requireSelfOrManager(req, req.params.userId);
      const workingHours = await req.inOrg((tx) =>
        setWorkingHours(tx, req.params.userId, req.body, actorOf(req)),
      );
      return { workingHours };
    },
  );

  app.get(
    '/v1/orgs/:orgId/invites',
    {
      config: { access: { permission: 'members.manage' } },
      schema: {
        tags: M,
        operationId: 'listInvites',
        summary: 'Invitations, newest first',
        params: orgParams,
        response: { 200: z.object({ invites: z.array(inviteSchema) }), ...errorResponses },
      },
    },
    async (req) => ({ invites: await req.inOrg((tx) => listInvites(tx)) }),
  );

  // Not idempotent on purpose: a replayed answer would have to keep the link's code in clear.
  app.post(
    '/v1/orgs/:orgId/invites',
    {
      config: { access: { permission: 'members.manage' } },
      schema: {
        tags: M,
        operationId: 'createInvite',
        summary:
          'Invite a Discord account (joins at its next sign-in) or make an invite link (code shown once)',
        params: orgParams,
        body: createInviteInput,
        response: {
          201: z.object({ invite: inviteSchema, code: z.string().nullable(), url: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const { invite, code } = await req.inOrg((tx) => createInvite(tx, req.body, actorOf(req)));
      // A real panel path: the panel's catch-all serves the page for it and panel/invite.js redeems
      // the code (a `#` fragment under /panel/ reached the static files' JSON 404).
      const url = code ? `${app.settings.publicUrl}/invite/${code}` : null;
      return reply.status(201).send({ invite, code, url });
    },
  );

  app.delete(
    '/v1/orgs/:orgId/invites/:inviteId',
    {
      config: { access: { permission: 'members.manage' } },
      schema: {
        tags: M,
        operationId: 'revokeInvite',
        summary: 'Revoke an invitation',
        params: orgParams.extend({ inviteId: z.uuid() }),
        response: { 200: inviteSchema, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => revokeInvite(tx, req.params.inviteId, actorOf(req))),
  );
};
