import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  deleteRetentionPolicy,
  listRetentionPolicies,
  RETENTION_ACTIONS,
  RETENTION_TARGETS,
  setRetentionPolicy,
} from '../../db/retention.js';
import { previewRetention } from '../../db/retention-apply.js';
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

export const retentionPreviewSchema = z
  .object({
    target: z.enum(RETENTION_TARGETS),
    action: z.enum(RETENTION_ACTIONS),
    days: z.number().int(),
    rows: z
      .number()
      .int()
      .describe('rows older than the cutoff that the policy would purge or anonymise now'),
    cutoff: at,
  })
  .meta({ id: 'RetentionPreviewItem' });

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
        description:
          "The `audit_logs` policy is the owner's: it needs `org.manage` (which no API token scope grants; an admin or a `settings:manage` token gets 403), and at least 365 days (422 otherwise, `details[0].minimum`). The audit log is the record of what staff and tokens did, so whoever it records cannot shorten it; the purge never takes an entry younger than 365 days whatever the policy says.",
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

  app.post(
    '/v1/orgs/:orgId/retention/preview',
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'previewRetention',
        summary: 'Dry run: what applying the retention policies now would purge or anonymise, per target',
        params: orgParams,
        response: { 200: z.object({ items: z.array(retentionPreviewSchema) }), ...errorResponses },
      },
    },
    async (req) => ({
      items: await req.inOrg(async (tx) => previewRetention(tx, await listRetentionPolicies(tx), new Date())),
    }),
  );

  app.delete(
    `${base}/:target`,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'deleteRetentionPolicy',
        summary: "Remove a target's retention policy (its rows are then kept for ever)",
        description: 'Removing the `audit_logs` policy needs `org.manage` (the owner), as setting it does.',
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
