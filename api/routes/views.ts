import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  deleteSavedView,
  listSavedViews,
  renameSavedView,
  renameViewInput,
  saveView,
  saveViewInput,
  viewFilters,
} from '../../db/saved-views.js';
import { AppError } from '../../lib/errors.js';
import { actorOf } from './helpers.js';
import { errorResponses, okSchema, orgParams } from './schemas.js';
import { orgAnd } from './settings-schemas.js';

const viewSchema = z
  .object({ id: z.uuid(), name: z.string(), filters: viewFilters, createdAt: z.date() })
  .meta({ id: 'SavedView' });

// Under the inbox's tag: a view is a saved set of inbox filters.
const V = ['inbox'];
const access = { permission: 'tickets.read' } as const;

/** Saved views belong to a member: an API token has none. */
function memberOf(req: FastifyRequest): string {
  const actor = actorOf(req);
  if (actor.type !== 'user')
    throw new AppError('forbidden', 'saved views belong to staff members, not API tokens');
  return actor.id;
}

/** The caller's saved inbox views (a name and the filters it restores). */
export const viewRoutes: FastifyPluginAsyncZod = async (app) => {
  const base = '/v1/orgs/:orgId/views';

  app.get(
    base,
    {
      config: { access },
      schema: {
        tags: V,
        operationId: 'listSavedViews',
        summary: 'Your saved inbox views, by name',
        params: orgParams,
        response: { 200: z.object({ views: z.array(viewSchema) }), ...errorResponses },
      },
    },
    async (req) => {
      // A token has no views of its own: an empty list, not a refusal, so a client reading
      // every list it may read needs no special case.
      const actor = actorOf(req);
      if (actor.type !== 'user') return { views: [] };
      return { views: await req.inOrg((tx) => listSavedViews(tx, actor.id)) };
    },
  );

  app.post(
    base,
    {
      config: { access },
      schema: {
        tags: V,
        operationId: 'saveView',
        summary: 'Save the inbox filters under a name (the same name again replaces them)',
        params: orgParams,
        body: saveViewInput,
        response: { 201: viewSchema, 200: viewSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const userId = memberOf(req);
      const { view, created } = await req.inOrg((tx) => saveView(tx, userId, req.body, actorOf(req)));
      return reply.status(created ? 201 : 200).send(view);
    },
  );

  app.patch(
    `${base}/:viewId`,
    {
      config: { access },
      schema: {
        tags: V,
        operationId: 'renameSavedView',
        summary: 'Rename one of your saved views (409 when another of yours has the name)',
        params: orgAnd('viewId'),
        body: renameViewInput,
        response: { 200: viewSchema, ...errorResponses },
      },
    },
    async (req) => {
      const userId = memberOf(req);
      return req.inOrg((tx) => renameSavedView(tx, userId, req.params.viewId, req.body, actorOf(req)));
    },
  );

  app.delete(
    `${base}/:viewId`,
    {
      config: { access },
      schema: {
        tags: V,
        operationId: 'deleteSavedView',
        summary: 'Delete one of your saved views',
        params: orgAnd('viewId'),
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      const userId = memberOf(req);
      await req.inOrg((tx) => deleteSavedView(tx, userId, req.params.viewId, actorOf(req)));
      return { ok: true as const };
    },
  );
};
