import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  type CannedVariables,
  createCannedInput,
  createCannedReply,
  deleteCannedReply,
  getCannedReply,
  listCannedReplies,
  renderCannedReply,
  updateCannedInput,
  updateCannedReply,
} from '../../db/canned-replies.js';
import { cannedVariablesForTicket } from '../../db/canned-variables.js';
import { actorOf } from './helpers.js';
import { errorResponses, okSchema, orgParams } from './schemas.js';
import { orgAnd } from './settings-schemas.js';

export const cannedReplySchema = z
  .object({
    id: z.uuid(),
    shortcut: z.string(),
    title: z.string(),
    /** May use {player}, {ticket}, {subject}, {agent} and {category}. */
    body: z.string(),
    teamId: z.uuid().nullable(),
  })
  .meta({ id: 'CannedReply' });

const variable = z.string().trim().max(200).optional();
const renderBody = z.object({
  /** Fill {ticket}, {subject}, {category}, {player} and {agent} from this ticket and the caller. */
  ticketId: z.uuid().optional(),
  /** Values that win over the ticket's. */
  variables: z
    .object({
      player: variable,
      ticket: variable,
      subject: variable,
      agent: variable,
      category: variable,
    })
    .strict()
    .default({}),
});

const T = ['canned-replies'];
// Agents read replies to send them; a settings token reads what it manages.
const read = { permission: ['tickets.reply', 'canned.manage'] } as const;
const manage = { permission: 'canned.manage' } as const;
const replyParams = orgAnd('replyId');

export const cannedReplyRoutes: FastifyPluginAsyncZod = async (app) => {
  const base = '/v1/orgs/:orgId/canned-replies';
  const one = `${base}/:replyId`;

  app.get(
    base,
    {
      config: { access: read },
      schema: {
        tags: T,
        operationId: 'listCannedReplies',
        summary: 'List canned replies by shortcut (search by shortcut prefix or title; at most 25)',
        params: orgParams,
        querystring: z.object({ search: z.string().trim().max(100).optional() }),
        response: { 200: z.object({ cannedReplies: z.array(cannedReplySchema) }), ...errorResponses },
      },
    },
    async (req) => ({
      cannedReplies: await req.inOrg((tx) => listCannedReplies(tx, { search: req.query.search })),
    }),
  );

  app.post(
    base,
    {
      config: { access: manage, idempotent: true },
      schema: {
        tags: T,
        operationId: 'createCannedReply',
        summary: 'Add a canned reply',
        params: orgParams,
        body: createCannedInput,
        response: { 201: cannedReplySchema, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply.status(201).send(await req.inOrg((tx) => createCannedReply(tx, req.body, actorOf(req)))),
  );

  app.get(
    one,
    {
      config: { access: read },
      schema: {
        tags: T,
        operationId: 'getCannedReply',
        summary: 'One canned reply',
        params: replyParams,
        response: { 200: cannedReplySchema, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => getCannedReply(tx, req.params.replyId)),
  );

  app.patch(
    one,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'updateCannedReply',
        summary: "Change a canned reply's title, body or team",
        params: replyParams,
        body: updateCannedInput,
        response: { 200: cannedReplySchema, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => updateCannedReply(tx, req.params.replyId, req.body, actorOf(req))),
  );

  app.delete(
    one,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'deleteCannedReply',
        summary: 'Delete a canned reply',
        params: replyParams,
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      await req.inOrg((tx) => deleteCannedReply(tx, req.params.replyId, actorOf(req)));
      return { ok: true as const };
    },
  );

  app.post(
    `${one}/render`,
    {
      config: { access: read },
      schema: {
        tags: T,
        operationId: 'renderCannedReply',
        summary: 'Preview a canned reply with its variables filled (from a ticket and/or given values)',
        params: replyParams,
        body: renderBody,
        response: { 200: z.object({ body: z.string() }), ...errorResponses },
      },
    },
    async (req) => {
      const actor = actorOf(req);
      const { ticketId, variables } = req.body;
      return req.inOrg(async (tx) => {
        const canned = await getCannedReply(tx, req.params.replyId);
        const fromTicket: CannedVariables = ticketId
          ? await cannedVariablesForTicket(tx, ticketId, actor.type === 'user' ? actor.id : undefined)
          : {};
        const given = Object.fromEntries(Object.entries(variables).filter(([, v]) => v !== undefined));
        return { body: renderCannedReply(canned.body, { ...fromTicket, ...given }) };
      });
    },
  );
};
