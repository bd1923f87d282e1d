import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  deleteRetentionPolicy,
  listRetentionPolicies,
  RETENTION_ACTIONS,
  RETENTION_TARGETS,
  setRetentionPolicy,
} from '../../db/retention.js';
import { actorOf } from './helpers.js';
import { errorResponses, okSchema, orgParams } from './schemas.js';
import { at } from './settings-schemas.js';

export const retentionPolicySchema = z
  .object({
    id: z.uuid(),
    target: z.enum(RETENTION_TARGETS),
    days: z.number().int(),
    action: z.enum(RETENTION_ACTIONS),
    createdAt: at,
    updatedAt: at,
  })
  .meta({ id: 'RetentionPolicy' });

const T = ['retention'];
const access = { permission: 'retention.manage' } as const;
const targetParams = orgParams.extend({ target: z.enum(RETENTION_TARGETS) });

export const retentionRoutes: FastifyPluginAsyncZod = async (app) => {
  const base = '/v1/orgs/:orgId/retention-policies';

  app.get(
    base,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'listRetentionPolicies',
        summary: 'List the retention policies (one per target; targets without one are kept for ever)',
        params: orgParams,
        response: { 200: z.object({ policies: z.array(retentionPolicySchema) }), ...errorResponses },
      },
    },
    async (req) => ({ policies: await req.inOrg((tx) => listRetentionPolicies(tx)) }),
  );

  app.put(
    `${base}/:target`,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'setRetentionPolicy',
        summary: "Set a target's retention policy, replacing the one it had",
        params: targetParams,
        // The target comes from the path; setRetentionPolicy checks the pair (audit logs only purge).
        body: z.object({
          days: z.number().int().min(1).max(36_500),
          action: z.enum(RETENTION_ACTIONS),
        }),
        response: { 200: retentionPolicySchema, ...errorResponses },
      },
    },
    async (req) =>
      req.inOrg((tx) => setRetentionPolicy(tx, { ...req.body, target: req.params.target }, actorOf(req))),
  );

  app.delete(
    `${base}/:target`,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'deleteRetentionPolicy',
        summary: "Remove a target's retention policy (its rows are then kept for ever)",
        params: targetParams,
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      await req.inOrg((tx) => deleteRetentionPolicy(tx, req.params.target, actorOf(req)));
      return { ok: true as const };
    },
  );
};
