import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { auditQueryInput, queryAudit } from '../../db/audit.js';
import { getOrganization, updateOrganization, updateSettingsInput } from '../../db/organizations.js';
import { actorOf } from './helpers.js';
import { errorResponses, orgParams } from './schemas.js';

const orgSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    slug: z.string(),
    settings: z.record(z.string(), z.unknown()),
    requireTotp: z.boolean(),
    businessCalendarId: z.uuid().nullable(),
    inactivityCloseHours: z.number().int().nullable(),
    solvedCloseHours: z.number().int().nullable().meta({
      description: 'Hours a solved ticket waits for the player before it closes by itself; null: never',
    }),
    reassignOfflineMinutes: z.number().int().nullable().meta({
      description:
        'Minutes an assignee may be offline before their open tickets in a team go to a team member who is online and in their working hours; null: never',
    }),
    createdAt: z.date(),
  })
  .meta({ id: 'Organization' });

const auditEntry = z
  .object({
    id: z.number().int(),
    actorType: z.string(),
    actorId: z.uuid().nullable(),
    action: z.string(),
    targetType: z.string().nullable(),
    targetId: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
    ip: z.string().nullable(),
    requestId: z.string().nullable(),
    createdAt: z.date(),
  })
  .meta({ id: 'AuditEntry' });

/** The organization itself and its audit log. */
export const orgRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/orgs/:orgId',
    {
      config: { access: { permission: 'org.read' } },
      schema: {
        tags: ['organizations'],
        operationId: 'getOrg',
        summary: 'The organization and its settings',
        params: orgParams,
        response: { 200: orgSchema, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => getOrganization(tx)),
  );

  app.patch(
    '/v1/orgs/:orgId',
    {
      config: { access: { permission: 'org.manage' } },
      schema: {
        tags: ['organizations'],
        operationId: 'updateOrg',
        summary:
          'Change the name, settings, TOTP requirement, business calendar, inactivity limit, the delay before a solved ticket closes or when tickets of offline assignees are handed on',
        params: orgParams,
        body: updateSettingsInput.refine((b) => Object.keys(b).length > 0, 'nothing to change'),
        response: { 200: orgSchema, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => updateOrganization(tx, req.body, actorOf(req))),
  );

  app.get(
    '/v1/orgs/:orgId/audit',
    {
      config: { access: { permission: 'audit.read' } },
      schema: {
        tags: ['audit'],
        operationId: 'listAuditLog',
        summary: 'The audit log, newest first (filter by actor, action, target, time; page with `before`)',
        description:
          'A settings change (`*.updated`, `retention.set`, `sla.default_calendar_set`, ...) records `data.changes`: each field that changed as `{from, to}` (null when absent), never a secret; an update that changes nothing records no entry. Entries written before December 2026 hold only the new values.',
        params: orgParams,
        querystring: auditQueryInput,
        response: {
          200: z.object({ entries: z.array(auditEntry), next: z.number().int().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const entries = await req.inOrg((tx) => queryAudit(tx, req.query));
      const limit = req.query.limit ?? 50;
      return { entries, next: entries.length === limit ? (entries.at(-1)?.id ?? null) : null };
    },
  );
};
