import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  addTeamMember,
  createTeam,
  createTeamInput,
  deleteTeam,
  getTeam,
  listTeams,
  removeTeamMember,
  updateTeam,
  updateTeamInput,
} from '../../db/teams.js';
import { actorOf } from './helpers.js';
import { errorResponses, okSchema, orgParams } from './schemas.js';

const teamSchema = z
  .object({ id: z.uuid(), name: z.string(), description: z.string().nullable() })
  .meta({ id: 'Team' });
const teamDetail = teamSchema.extend({ memberIds: z.array(z.uuid()) });
const teamParams = orgParams.extend({ teamId: z.uuid() });
const T = ['teams'];

export const teamRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/orgs/:orgId/teams',
    {
      config: { access: { permission: 'org.read' } },
      schema: {
        tags: T,
        operationId: 'listTeams',
        summary: 'Teams',
        params: orgParams,
        response: { 200: z.object({ teams: z.array(teamSchema) }), ...errorResponses },
      },
    },
    async (req) => ({ teams: await req.inOrg((tx) => listTeams(tx)) }),
  );

  app.post(
    '/v1/orgs/:orgId/teams',
    {
      config: { access: { permission: 'teams.manage' }, idempotent: true },
      schema: {
        tags: T,
        operationId: 'createTeam',
        summary: 'Create a team',
        params: orgParams,
        body: createTeamInput,
        response: { 201: teamSchema, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply.status(201).send(await req.inOrg((tx) => createTeam(tx, req.body, actorOf(req)))),
  );

  app.get(
    '/v1/orgs/:orgId/teams/:teamId',
    {
      config: { access: { permission: 'org.read' } },
      schema: {
        tags: T,
        operationId: 'getTeam',
        summary: 'A team and its members',
        params: teamParams,
        response: { 200: teamDetail, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => getTeam(tx, req.params.teamId)),
  );

  app.patch(
    '/v1/orgs/:orgId/teams/:teamId',
    {
      config: { access: { permission: 'teams.manage' } },
      schema: {
        tags: T,
        operationId: 'updateTeam',
        summary: 'Rename or describe a team',
        params: teamParams,
        body: updateTeamInput,
        response: { 200: teamSchema, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => updateTeam(tx, req.params.teamId, req.body, actorOf(req))),
  );

  app.delete(
    '/v1/orgs/:orgId/teams/:teamId',
    {
      config: { access: { permission: 'teams.manage' } },
      schema: {
        tags: T,
        operationId: 'deleteTeam',
        summary: 'Delete a team (its tickets lose the team)',
        params: teamParams,
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      await req.inOrg((tx) => deleteTeam(tx, req.params.teamId, actorOf(req)));
      return { ok: true as const };
    },
  );

  app.put(
    '/v1/orgs/:orgId/teams/:teamId/members/:userId',
    {
      config: { access: { permission: 'teams.manage' } },
      schema: {
        tags: T,
        operationId: 'addTeamMember',
        summary: 'Add a member of the org to the team',
        params: teamParams.extend({ userId: z.uuid() }),
        response: { 200: teamDetail, ...errorResponses },
      },
    },
    async (req) =>
      req.inOrg(async (tx) => {
        await getTeam(tx, req.params.teamId);
        await addTeamMember(tx, { teamId: req.params.teamId, userId: req.params.userId }, actorOf(req));
        return getTeam(tx, req.params.teamId);
      }),
  );

  app.delete(
    '/v1/orgs/:orgId/teams/:teamId/members/:userId',
    {
      config: { access: { permission: 'teams.manage' } },
      schema: {
        tags: T,
        operationId: 'removeTeamMember',
        summary: 'Take a member off the team',
        description:
          'A user who is not on the team (or a team that does not exist) is 404: nothing is removed or audited.',
        params: teamParams.extend({ userId: z.uuid() }),
        response: { 200: teamDetail, ...errorResponses },
      },
    },
    async (req) =>
      req.inOrg(async (tx) => {
        await removeTeamMember(tx, { teamId: req.params.teamId, userId: req.params.userId }, actorOf(req));
        return getTeam(tx, req.params.teamId);
      }),
  );
};
