import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PERMISSIONS } from '../../db/permissions.js';
import {
  createRole,
  createRoleInput,
  deleteRole,
  getRole,
  listRoles,
  updateRole,
  updateRoleInput,
} from '../../db/roles.js';
import { actorOf } from './helpers.js';
import { errorResponses, okSchema, orgParams } from './schemas.js';

const roleSchema = z
  .object({
    id: z.uuid(),
    key: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    isSystem: z.boolean(),
    permissions: z.array(z.string()),
    members: z.number().int(),
  })
  .meta({ id: 'Role' });
const roleParams = orgParams.extend({ roleId: z.uuid() });
const R = ['roles'];

/** Roles (system and custom) and the permission catalog. */
export const roleRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/permissions',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: R,
        operationId: 'listPermissions',
        summary: 'Every permission a role can hold',
        response: { 200: z.object({ permissions: z.array(z.string()) }), ...errorResponses },
      },
    },
    async () => ({ permissions: [...PERMISSIONS] }),
  );

  app.get(
    '/v1/orgs/:orgId/roles',
    {
      config: { access: { permission: 'members.read' } },
      schema: {
        tags: R,
        operationId: 'listRoles',
        summary: 'Roles with their permissions and member counts',
        params: orgParams,
        response: { 200: z.object({ roles: z.array(roleSchema) }), ...errorResponses },
      },
    },
    async (req) => ({ roles: await req.inOrg((tx) => listRoles(tx)) }),
  );

  app.post(
    '/v1/orgs/:orgId/roles',
    {
      config: { access: { permission: 'roles.manage' }, idempotent: true },
      schema: {
        tags: R,
        operationId: 'createRole',
        summary: 'Create a custom role',
        params: orgParams,
        body: createRoleInput,
        response: { 201: roleSchema, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply.status(201).send(await req.inOrg((tx) => createRole(tx, req.body, actorOf(req)))),
  );

  app.get(
    '/v1/orgs/:orgId/roles/:roleId',
    {
      config: { access: { permission: 'members.read' } },
      schema: {
        tags: R,
        operationId: 'getRole',
        summary: 'One role',
        params: roleParams,
        response: { 200: roleSchema, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => getRole(tx, req.params.roleId)),
  );

  app.patch(
    '/v1/orgs/:orgId/roles/:roleId',
    {
      config: { access: { permission: 'roles.manage' } },
      schema: {
        tags: R,
        operationId: 'updateRole',
        summary: "Rename a role or change its permissions (the owner role's are fixed)",
        params: roleParams,
        body: updateRoleInput,
        response: { 200: roleSchema, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => updateRole(tx, req.params.roleId, req.body, actorOf(req))),
  );

  app.delete(
    '/v1/orgs/:orgId/roles/:roleId',
    {
      config: { access: { permission: 'roles.manage' } },
      schema: {
        tags: R,
        operationId: 'deleteRole',
        summary: 'Delete a custom role nobody holds',
        params: roleParams,
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      await req.inOrg((tx) => deleteRole(tx, req.params.roleId, actorOf(req)));
      return { ok: true as const };
    },
  );
};
