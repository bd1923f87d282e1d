import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  calendarInput,
  createCalendar,
  deleteCalendar,
  getDefaultCalendarId,
  listCalendars,
  setDefaultCalendar,
  updateCalendar,
  updateCalendarInput,
} from '../../db/sla-calendars.js';
import {
  createPolicy,
  deletePolicy,
  listPolicies,
  policyInput,
  updatePolicy,
} from '../../db/sla-policies.js';
import { PRIORITIES } from '../../db/ticket-rules.js';
import { WEEKDAYS } from '../../lib/business-time.js';
import { AppError } from '../../lib/errors.js';
import { actorOf } from './helpers.js';
import { errorResponses, okSchema, orgParams } from './schemas.js';
import { at, orgAnd } from './settings-schemas.js';

export const slaPolicySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    priority: z.enum(PRIORITIES).nullable(),
    categoryId: z.uuid().nullable(),
    teamId: z.uuid().nullable(),
    firstResponseMinutes: z.number().int().nullable(),
    nextResponseMinutes: z.number().int().nullable(),
    resolutionMinutes: z.number().int().nullable(),
    businessCalendarId: z.uuid().nullable(),
    warnBeforeMinutes: z.number().int().nullable(),
    escalatePriority: z.boolean(),
    escalationTeamId: z.uuid().nullable(),
    position: z.number().int(),
    enabled: z.boolean(),
  })
  .meta({ id: 'SlaPolicy' });

export const calendarSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    timezone: z.string(),
    /** Minute-of-day [start, end) ranges per weekday, in the calendar's time zone. */
    weeklyHours: z.partialRecord(
      z.enum(WEEKDAYS),
      z.array(z.tuple([z.number().int(), z.number().int()]).readonly()).readonly(),
    ),
    holidays: z.array(z.string()).readonly(),
    createdAt: at,
    updatedAt: at,
  })
  .meta({ id: 'BusinessCalendar' });

const T = ['sla'];
const read = { permission: 'org.read' } as const;
const manage = { permission: 'sla.manage' } as const;
const policyParams = orgAnd('policyId');
const calendarParams = orgAnd('calendarId');

export const slaRoutes: FastifyPluginAsyncZod = async (app) => {
  const policies = '/v1/orgs/:orgId/sla/policies';
  const calendars = '/v1/orgs/:orgId/sla/calendars';

  app.get(
    policies,
    {
      config: { access: read },
      schema: {
        tags: T,
        operationId: 'listSlaPolicies',
        summary: 'List the SLA policies in matching order (the first enabled match applies)',
        params: orgParams,
        response: { 200: z.object({ policies: z.array(slaPolicySchema) }), ...errorResponses },
      },
    },
    async (req) => ({ policies: await req.inOrg((tx) => listPolicies(tx)) }),
  );

  app.post(
    policies,
    {
      config: { access: manage, idempotent: true },
      schema: {
        tags: T,
        operationId: 'createSlaPolicy',
        summary: 'Add an SLA policy (targets in minutes, optionally on a business calendar)',
        params: orgParams,
        body: policyInput,
        response: { 201: slaPolicySchema, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply.status(201).send(await req.inOrg((tx) => createPolicy(tx, req.body, actorOf(req)))),
  );

  app.get(
    `${policies}/:policyId`,
    {
      config: { access: read },
      schema: {
        tags: T,
        operationId: 'getSlaPolicy',
        summary: 'One SLA policy',
        params: policyParams,
        response: { 200: slaPolicySchema, ...errorResponses },
      },
    },
    async (req) => {
      const all = await req.inOrg((tx) => listPolicies(tx));
      const found = all.find((p) => p.id === req.params.policyId);
      if (!found) throw new AppError('not_found', 'SLA policy not found');
      return found;
    },
  );

  app.put(
    `${policies}/:policyId`,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'replaceSlaPolicy',
        summary: "Replace an SLA policy's settings (the whole policy is sent)",
        params: policyParams,
        body: policyInput,
        response: { 200: slaPolicySchema, ...errorResponses },
      },
    },
    async (req) =>
      req.inOrg((tx) => updatePolicy(tx, { id: req.params.policyId, policy: req.body }, actorOf(req))),
  );

  app.delete(
    `${policies}/:policyId`,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'deleteSlaPolicy',
        summary: 'Delete an SLA policy (tickets it timed keep their logged SLA events)',
        params: policyParams,
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      await req.inOrg((tx) => deletePolicy(tx, req.params.policyId, actorOf(req)));
      return { ok: true as const };
    },
  );

  app.get(
    calendars,
    {
      config: { access: read },
      schema: {
        tags: T,
        operationId: 'listBusinessCalendars',
        summary: 'List the business calendars',
        params: orgParams,
        response: { 200: z.object({ calendars: z.array(calendarSchema) }), ...errorResponses },
      },
    },
    async (req) => ({ calendars: await req.inOrg((tx) => listCalendars(tx)) }),
  );

  app.post(
    calendars,
    {
      config: { access: manage, idempotent: true },
      schema: {
        tags: T,
        operationId: 'createBusinessCalendar',
        summary: 'Add a business calendar (time zone, weekly working hours, holidays)',
        params: orgParams,
        body: calendarInput,
        response: { 201: calendarSchema, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply.status(201).send(await req.inOrg((tx) => createCalendar(tx, req.body, actorOf(req)))),
  );

  app.get(
    `${calendars}/:calendarId`,
    {
      config: { access: read },
      schema: {
        tags: T,
        operationId: 'getBusinessCalendar',
        summary: 'One business calendar',
        params: calendarParams,
        response: { 200: calendarSchema, ...errorResponses },
      },
    },
    async (req) => {
      const all = await req.inOrg((tx) => listCalendars(tx));
      const found = all.find((c) => c.id === req.params.calendarId);
      if (!found) throw new AppError('not_found', 'business calendar not found');
      return found;
    },
  );

  app.patch(
    `${calendars}/:calendarId`,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'updateBusinessCalendar',
        summary: 'Change a business calendar (fields left out are kept)',
        params: calendarParams,
        body: updateCalendarInput
          .omit({ id: true })
          .refine((v) => Object.values(v).some((x) => x !== undefined), 'nothing to change'),
        response: { 200: calendarSchema, ...errorResponses },
      },
    },
    async (req) =>
      req.inOrg((tx) => updateCalendar(tx, { ...req.body, id: req.params.calendarId }, actorOf(req))),
  );

  app.delete(
    `${calendars}/:calendarId`,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'deleteBusinessCalendar',
        summary: 'Delete a business calendar (refused with 409 while a policy uses it)',
        params: calendarParams,
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      await req.inOrg((tx) => deleteCalendar(tx, req.params.calendarId, actorOf(req)));
      return { ok: true as const };
    },
  );

  app.get(
    '/v1/orgs/:orgId/sla/default-calendar',
    {
      config: { access: read },
      schema: {
        tags: T,
        operationId: 'getDefaultCalendar',
        summary: "The organization's default calendar (null: SLA targets count calendar time)",
        params: orgParams,
        response: { 200: z.object({ calendarId: z.uuid().nullable() }), ...errorResponses },
      },
    },
    async (req) => ({ calendarId: await req.inOrg((tx) => getDefaultCalendarId(tx)) }),
  );

  app.put(
    '/v1/orgs/:orgId/sla/default-calendar',
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'setDefaultCalendar',
        summary:
          "Set the organization's default calendar for policies without their own (null: calendar time)",
        params: orgParams,
        body: z.object({ calendarId: z.uuid().nullable() }),
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      await req.inOrg((tx) => setDefaultCalendar(tx, req.body.calendarId, actorOf(req)));
      return { ok: true as const };
    },
  );
};
