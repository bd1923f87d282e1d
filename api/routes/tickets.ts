import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Permission } from '../../db/permissions.js';
import { body, jsonRecord, tag } from '../../db/schemas.js';
import { PRIORITIES, STATUSES } from '../../db/ticket-rules.js';
import { searchInput, searchTickets, ticketCounts, ticketSla, ticketTags } from '../../db/ticket-search.js';
import {
  addNote,
  assign,
  claim,
  close,
  conversation,
  getTicket,
  listNotes,
  merge,
  openTicket,
  reopen,
  reply,
  setPriority,
  setStatus,
  type Ticket,
  ticketHistory,
  transfer,
  updateFields,
} from '../../db/tickets.js';
import { AppError } from '../../lib/errors.js';
import { attachmentsOfTicket } from './attachments.js';
import { actorOf, requirePermission } from './helpers.js';
import { errorResponses, orgParams } from './schemas.js';
import {
  attachmentSchema,
  eventSchema,
  messageSchema,
  noteSchema,
  ticketCountsSchema,
  ticketPage,
  ticketParams,
  ticketSchema,
  ticketSlaSchema,
} from './ticket-schemas.js';

const originOf = (req: FastifyRequest) => (req.auth?.kind === 'token' ? 'api' : 'panel');
const closing = (status: string) => status === 'solved' || status === 'closed';

const createBody = z.object({
  subject: z.string().trim().min(1).max(200),
  body: body.optional(),
  requesterId: z.uuid().optional(),
  categoryId: z.uuid().optional(),
  teamId: z.uuid().optional(),
  gameId: z.uuid().optional(),
  priority: z.enum(PRIORITIES).default('normal'),
  tags: z.array(tag).max(20).default([]),
  customFields: jsonRecord.default({}),
  /** Your own id for this ticket: creating again with it returns the same ticket. */
  externalId: z.string().trim().min(1).max(200).optional(),
});

const bulkAction = z.discriminatedUnion('type', [
  z.object({ type: z.literal('assign'), assigneeId: z.uuid().nullable() }),
  z.object({ type: z.literal('transfer'), teamId: z.uuid().nullable() }),
  z.object({
    type: z.literal('status'),
    status: z.enum(STATUSES),
    reason: z.string().trim().min(1).max(500).optional(),
  }),
  z.object({ type: z.literal('priority'), priority: z.enum(PRIORITIES) }),
  z.object({
    type: z.literal('tags'),
    add: z.array(tag).max(20).default([]),
    remove: z.array(tag).max(20).default([]),
  }),
]);

const BULK_PERMISSION: Record<z.infer<typeof bulkAction>['type'], Permission> = {
  assign: 'tickets.assign',
  transfer: 'tickets.assign',
  status: 'tickets.update',
  priority: 'tickets.update',
  tags: 'tickets.update',
};

// Fastify hands a POST without a body (a browser's fetch without one, curl -X POST) to validation
// as null, so the actions whose body is optional accept null as "no options".
const noBody = z.object({}).nullish();

const T = ['tickets'];
const ticketResponse = { 200: ticketSchema, ...errorResponses };

export const ticketRoutes: FastifyPluginAsyncZod = async (app) => {
  const base = '/v1/orgs/:orgId/tickets';

  app.get(
    base,
    {
      config: { access: { permission: 'tickets.read' } },
      schema: {
        tags: T,
        operationId: 'listTickets',
        summary:
          'List and search tickets (filters, full-text search over subjects and messages, cursor pages)',
        params: orgParams,
        querystring: searchInput,
        response: { 200: ticketPage, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => searchTickets(tx, req.query)),
  );

  app.post(
    base,
    {
      config: { access: { permission: 'tickets.create' }, idempotent: true },
      schema: {
        tags: T,
        operationId: 'createTicket',
        summary: 'Open a ticket',
        params: orgParams,
        body: createBody,
        response: { 201: ticketSchema, 200: ticketSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const org = req.org;
      if (!org) throw new AppError('internal', 'no org');
      const { ticket, created } = await req.inOrg((tx) =>
        openTicket(tx, { ...req.body, origin: originOf(req) }, org.actor),
      );
      return reply.status(created ? 201 : 200).send(ticket);
    },
  );

  app.get(
    `${base}/counts`,
    {
      config: { access: { permission: 'tickets.read' } },
      schema: {
        tags: T,
        operationId: 'getTicketCounts',
        summary: 'Inbox numbers: tickets per status; unassigned, mine and breached among the unsolved',
        params: orgParams,
        response: { 200: ticketCountsSchema, ...errorResponses },
      },
    },
    async (req) => {
      const actor = actorOf(req);
      return req.inOrg((tx) => ticketCounts(tx, actor.type === 'user' ? actor.id : null));
    },
  );

  app.get(
    `${base}/tags`,
    {
      config: { access: { permission: 'tickets.read' } },
      schema: {
        tags: T,
        operationId: 'listTicketTags',
        summary: "The org's tags in use on tickets, most used first (up to 200)",
        params: orgParams,
        response: {
          200: z.object({ tags: z.array(z.object({ tag: z.string(), count: z.number().int() })) }),
          ...errorResponses,
        },
      },
    },
    async (req) => ({ tags: await req.inOrg((tx) => ticketTags(tx)) }),
  );

  app.post(
    `${base}/bulk`,
    {
      config: { access: { permission: 'tickets.update' } },
      schema: {
        tags: T,
        operationId: 'bulkUpdateTickets',
        summary: 'Apply one action to many tickets; each ticket succeeds or fails on its own',
        params: orgParams,
        body: z.object({ ticketIds: z.array(z.uuid()).min(1).max(100), action: bulkAction }),
        response: {
          200: z.object({
            results: z.array(
              z.object({
                ticketId: z.uuid(),
                ok: z.boolean(),
                error: z.object({ code: z.string(), message: z.string() }).nullable(),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { action, ticketIds } = req.body;
      requirePermission(req, BULK_PERMISSION[action.type]);
      if (action.type === 'status' && closing(action.status)) requirePermission(req, 'tickets.close');
      const actor = req.org?.actor;
      if (!actor) throw new AppError('internal', 'no org');
      const results = [];
      // One transaction per ticket: a ticket that can't take the action doesn't undo the others.
      for (const ticketId of [...new Set(ticketIds)]) {
        try {
          await req.inOrg(async (tx) => {
            if (action.type === 'assign')
              return assign(tx, { ticketId, assigneeId: action.assigneeId }, actor);
            if (action.type === 'transfer') return transfer(tx, { ticketId, teamId: action.teamId }, actor);
            if (action.type === 'status') {
              return setStatus(tx, { ticketId, status: action.status, reason: action.reason }, actor);
            }
            if (action.type === 'priority')
              return setPriority(tx, { ticketId, priority: action.priority }, actor);
            return updateFields(tx, { ticketId, addTags: action.add, removeTags: action.remove }, actor);
          });
          results.push({ ticketId, ok: true, error: null });
        } catch (err) {
          if (!(err instanceof AppError) || err.status >= 500) throw err;
          results.push({ ticketId, ok: false, error: { code: err.code, message: err.message } });
        }
      }
      return { results };
    },
  );

  const one = `${base}/:ticketId`;

  app.get(
    one,
    {
      config: { access: { permission: 'tickets.read' } },
      schema: {
        tags: T,
        operationId: 'getTicket',
        summary: 'One ticket with its conversation, internal notes, history and attachments',
        params: ticketParams,
        response: {
          200: z.object({
            ticket: ticketSchema,
            /** The SLA clock that falls due next (null when none runs). */
            sla: ticketSlaSchema,
            messages: z.array(messageSchema),
            notes: z.array(noteSchema),
            events: z.array(eventSchema),
            attachments: z.array(attachmentSchema),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { ticketId } = req.params;
      const found = await req.inOrg(async (tx) => ({
        ticket: await getTicket(tx, ticketId),
        sla: await ticketSla(tx, ticketId),
        messages: await conversation(tx, ticketId),
        notes: await listNotes(tx, ticketId),
        events: await ticketHistory(tx, ticketId),
      }));
      return { ...found, attachments: await attachmentsOfTicket(app, req, ticketId) };
    },
  );

  app.patch(
    one,
    {
      config: { access: { permission: 'tickets.update' } },
      schema: {
        tags: T,
        operationId: 'updateTicket',
        summary: 'Change subject, category, tags or custom fields',
        params: ticketParams,
        body: z
          .object({
            subject: z.string().trim().min(1).max(200).optional(),
            categoryId: z.uuid().nullable().optional(),
            addTags: z.array(tag).max(20).optional(),
            removeTags: z.array(tag).max(20).optional(),
            customFields: jsonRecord.optional(),
          })
          .refine((b) => Object.keys(b).length > 0, 'nothing to change'),
        response: ticketResponse,
      },
    },
    async (req) =>
      req.inOrg((tx) => updateFields(tx, { ...req.body, ticketId: req.params.ticketId }, actorOf(req))),
  );

  app.post(
    `${one}/replies`,
    {
      config: { access: { permission: 'tickets.reply' }, idempotent: true },
      schema: {
        tags: T,
        operationId: 'replyToTicket',
        summary: 'Public reply to the player (optionally setting the status)',
        params: ticketParams,
        body: z.object({ body: body.min(1, 'a reply needs some text'), status: z.enum(STATUSES).optional() }),
        response: { 201: z.object({ message: messageSchema, ticket: ticketSchema }), ...errorResponses },
      },
    },
    async (req, res) => {
      if (req.body.status && closing(req.body.status)) requirePermission(req, 'tickets.close');
      const { ticketId } = req.params;
      const { message, ticket } = await req.inOrg((tx) =>
        reply(
          tx,
          { ticketId, body: req.body.body, status: req.body.status, origin: originOf(req) },
          actorOf(req),
        ),
      );
      return res.status(201).send({ message, ticket });
    },
  );

  app.post(
    `${one}/notes`,
    {
      config: { access: { permission: 'tickets.note' }, idempotent: true },
      schema: {
        tags: T,
        operationId: 'addTicketNote',
        summary: 'Internal note (never shown to the player)',
        params: ticketParams,
        body: z.object({ body: body.min(1, 'a note needs some text') }),
        response: { 201: noteSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const note = await req.inOrg((tx) =>
        addNote(tx, { ticketId: req.params.ticketId, body: req.body.body }, actorOf(req)),
      );
      return reply.status(201).send(note);
    },
  );

  // The generated clients' method names for the one-action routes below.
  const ACTION_OPERATIONS = {
    assign: 'assignTicket',
    claim: 'claimTicket',
    transfer: 'transferTicket',
    status: 'setTicketStatus',
    priority: 'setTicketPriority',
    tags: 'updateTicketTags',
    close: 'closeTicket',
    reopen: 'reopenTicket',
    merge: 'mergeTicket',
  } as const;

  const action = <B extends z.ZodType>(
    path: keyof typeof ACTION_OPERATIONS,
    permission: Permission,
    summary: string,
    bodySchema: B,
    run: (req: FastifyRequest, ticketId: string, body: z.output<B>) => Promise<Ticket>,
  ) =>
    app.post(
      `${one}/${path}`,
      {
        // Idempotent so a bulk action retried after a lost answer (one key per ticket) does each
        // ticket once: a replayed close or tag change answers as the first did.
        config: { access: { permission }, idempotent: true },
        schema: {
          tags: T,
          operationId: ACTION_OPERATIONS[path],
          summary,
          params: ticketParams,
          body: bodySchema,
          response: ticketResponse,
        },
      },
      async (req) => run(req, (req.params as { ticketId: string }).ticketId, req.body as z.output<B>),
    );

  action(
    'assign',
    'tickets.assign',
    'Assign to a staff member (null unassigns)',
    z.object({ assigneeId: z.uuid().nullable() }),
    (req, ticketId, b) => req.inOrg((tx) => assign(tx, { ticketId, assigneeId: b.assigneeId }, actorOf(req))),
  );
  action('claim', 'tickets.assign', 'Take the ticket yourself', noBody, (req, ticketId) =>
    req.inOrg((tx) => claim(tx, ticketId, actorOf(req))),
  );
  action(
    'transfer',
    'tickets.assign',
    'Move to another team (null: no team)',
    z.object({ teamId: z.uuid().nullable(), keepAssignee: z.boolean().default(false) }),
    (req, ticketId, b) => req.inOrg((tx) => transfer(tx, { ticketId, ...b }, actorOf(req))),
  );
  action(
    'status',
    'tickets.update',
    'Change the status along the allowed transitions',
    z.object({ status: z.enum(STATUSES), reason: z.string().trim().min(1).max(500).optional() }),
    (req, ticketId, b) => {
      if (closing(b.status)) requirePermission(req, 'tickets.close');
      return req.inOrg((tx) => setStatus(tx, { ticketId, ...b }, actorOf(req)));
    },
  );
  action(
    'priority',
    'tickets.update',
    'Change the priority',
    z.object({ priority: z.enum(PRIORITIES) }),
    (req, ticketId, b) =>
      req.inOrg((tx) => setPriority(tx, { ticketId, priority: b.priority }, actorOf(req))),
  );
  action(
    'tags',
    'tickets.update',
    'Add and remove tags',
    z.object({ add: z.array(tag).max(20).default([]), remove: z.array(tag).max(20).default([]) }),
    (req, ticketId, b) =>
      req.inOrg((tx) => updateFields(tx, { ticketId, addTags: b.add, removeTags: b.remove }, actorOf(req))),
  );
  action(
    'close',
    'tickets.close',
    'Close the ticket',
    z.object({ reason: z.string().trim().min(1).max(500).optional() }).nullish(),
    (req, ticketId, b) => req.inOrg((tx) => close(tx, { ticketId, reason: b?.reason }, actorOf(req))),
  );
  action('reopen', 'tickets.close', 'Reopen a solved or closed ticket', noBody, (req, ticketId) =>
    req.inOrg((tx) => reopen(tx, ticketId, actorOf(req))),
  );
  action(
    'merge',
    'tickets.merge',
    'Merge this ticket into another; returns the target',
    z.object({ targetId: z.uuid() }),
    async (req, ticketId, b) =>
      (await req.inOrg((tx) => merge(tx, { sourceId: ticketId, targetId: b.targetId }, actorOf(req)))).target,
  );
};
