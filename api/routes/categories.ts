import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  archiveCategory,
  createCategory,
  createCategoryInput,
  getCategory,
  listCategories,
  updateCategory,
  updateCategoryInput,
} from '../../db/categories.js';
import { actorOf } from './helpers.js';
import { errorResponses, orgParams } from './schemas.js';
import { at, orgAnd } from './settings-schemas.js';

const questionOut = z.object({
  key: z.string(),
  label: z.string(),
  style: z.enum(['short', 'paragraph']),
  required: z.boolean(),
  placeholder: z.string().optional(),
  minLength: z.number().int().optional(),
  maxLength: z.number().int().optional(),
});

export const categorySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    description: z.string().nullable(),
    emoji: z.string().nullable(),
    /** The intake form (a Discord modal: at most five questions). */
    questions: z.array(questionOut),
    teamId: z.uuid().nullable(),
    ticketMode: z.enum(['thread', 'forum', 'channel']),
    position: z.number().int(),
    archivedAt: at.nullable(),
  })
  .meta({ id: 'TicketCategory' });

const T = ['categories'];
// Agents read categories to file tickets; a settings token reads what it manages.
const read = { permission: ['tickets.read', 'categories.manage'] } as const;
const manage = { permission: 'categories.manage' } as const;
const categoryParams = orgAnd('categoryId');

export const categoryRoutes: FastifyPluginAsyncZod = async (app) => {
  const base = '/v1/orgs/:orgId/categories';
  const one = `${base}/:categoryId`;

  app.get(
    base,
    {
      config: { access: read },
      schema: {
        tags: T,
        operationId: 'listCategories',
        summary: 'List the ticket categories in display order',
        params: orgParams,
        querystring: z.object({ includeArchived: z.stringbool().default(false) }),
        response: { 200: z.object({ categories: z.array(categorySchema) }), ...errorResponses },
      },
    },
    async (req) => ({
      categories: await req.inOrg((tx) => listCategories(tx, { includeArchived: req.query.includeArchived })),
    }),
  );

  app.post(
    base,
    {
      config: { access: manage, idempotent: true },
      schema: {
        tags: T,
        operationId: 'createCategory',
        summary: 'Add a ticket category with its intake questions',
        params: orgParams,
        body: createCategoryInput,
        response: { 201: categorySchema, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply.status(201).send(await req.inOrg((tx) => createCategory(tx, req.body, actorOf(req)))),
  );

  app.get(
    one,
    {
      config: { access: read },
      schema: {
        tags: T,
        operationId: 'getCategory',
        summary: 'One ticket category',
        params: categoryParams,
        response: { 200: categorySchema, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => getCategory(tx, req.params.categoryId)),
  );

  app.patch(
    one,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'updateCategory',
        summary: 'Change a category (questions are replaced as a whole)',
        params: categoryParams,
        body: updateCategoryInput,
        response: { 200: categorySchema, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => updateCategory(tx, req.params.categoryId, req.body, actorOf(req))),
  );

  app.delete(
    one,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'archiveCategory',
        summary: 'Archive a category: its tickets stay, it is no longer offered',
        params: categoryParams,
        response: { 200: categorySchema, ...errorResponses },
      },
    },
    async (req) =>
      req.inOrg(async (tx) => {
        await archiveCategory(tx, req.params.categoryId, actorOf(req));
        return getCategory(tx, req.params.categoryId);
      }),
  );
};
