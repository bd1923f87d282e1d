import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MAX_REPLY_FILES } from '../../db/attachments.js';
import { body, jsonRecord, tag } from '../../db/schemas.js';
import { ticketVersion } from '../../db/ticket-rows.js';
import { PRIORITIES, STATUSES } from '../../db/ticket-rules.js';
import { searchInput, searchTickets, ticketCounts, ticketSla, ticketTags } from '../../db/ticket-search.js';
import {
  addNote,
  conversation,
  getTicket,
  listNotes,
  openTicket,
  reply,
  ticketHistory,
  updateFields,
} from '../../db/tickets.js';
import { AppError } from '../../lib/errors.js';
import { attachmentsOfTicket, withUrl } from './attachments.js';
import { actorOf, requirePermission } from './helpers.js';
import { errorResponses, orgParams } from './schemas.js';
import { addActionRoutes, addBulkRoute, closing } from './ticket-actions.js';
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
import { expectedVersionOf, ifMatchHeaders, withVersion } from './ticket-versions.js';

const originOf = (req: FastifyRequest) => (req.auth?.kind === 'token' ? 'api' : 'panel');

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

  addBulkRoute(app, base);

  const one = `${base}/:ticketId`;

  app.get(
    one,
    {
      config: { access: { permission: 'tickets.read' } },
      schema: {
        tags: T,
        operationId: 'getTicket',
        summary: 'One ticket with its conversation, internal notes, history and attachments',
        description:
          "The ETag header is the ticket's version: send it back as If-Match with a change to have " +
          'the change refused (412) if someone changed the ticket in the meantime.',
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
    async (req, res) => {
      const { ticketId } = req.params;
      const found = await req.inOrg(async (tx) => ({
        // Read before the ticket: a change committed in between then makes this version older
        // than what the caller sees, so their next edit is refused rather than let through.
        version: await ticketVersion(tx, ticketId),
        ticket: await getTicket(tx, ticketId),
        sla: await ticketSla(tx, ticketId),
        messages: await conversation(tx, ticketId),
        notes: await listNotes(tx, ticketId),
        events: await ticketHistory(tx, ticketId),
      }));
      const { version, ...rest } = found;
      withVersion(res, { version });
      return { ...rest, attachments: await attachmentsOfTicket(app, req, ticketId) };
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
        description:
          'With If-Match (the ETag of your last read), the change is refused with 412 if the ticket ' +
          'changed since, so a read-modify-write never overwrites a newer change. The answer carries ' +
          'the new ETag.',
        params: ticketParams,
        headers: ifMatchHeaders,
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
    async (req, res) => {
      const expectedVersion = expectedVersionOf(req);
      const ticket = await req.inOrg((tx) =>
        updateFields(tx, { ...req.body, ticketId: req.params.ticketId, expectedVersion }, actorOf(req)),
      );
      return withVersion(res, ticket);
    },
  );

  app.post(
    `${one}/replies`,
    {
      config: { access: { permission: 'tickets.reply' }, idempotent: true },
      schema: {
        tags: T,
        operationId: 'replyToTicket',
        summary: 'Public reply to the player (optionally setting the status), with files uploaded before',
        description:
          'Files go with the reply when their ids are in `attachmentIds`: upload each one first ' +
          '(`uploadTicketAttachment`), then send the reply naming them. Only files of this ticket that ' +
          'no message carries yet are taken; any other id refuses the whole reply (422). The files ' +
          'reach the player wherever the reply does (the Discord thread or DM, the email reply, the ' +
          'transcript). A file uploaded and never sent stays visible to staff only. A reply sent ' +
          "with a member's session or the organization's API token answers the player: it fulfils " +
          'the first and next response SLA clocks (automation rules and system messages do not).',
        params: ticketParams,
        body: z.object({
          body: body.min(1, 'a reply needs some text'),
          status: z.enum(STATUSES).optional(),
          attachmentIds: z
            .array(z.uuid())
            .max(MAX_REPLY_FILES)
            .optional()
            .describe(`Uploaded files to send with the reply (at most ${MAX_REPLY_FILES}).`),
        }),
        response: {
          201: z.object({
            message: messageSchema,
            ticket: ticketSchema,
            attachments: z.array(attachmentSchema),
          }),
          ...errorResponses,
        },
      },
    },
    async (req, res) => {
      if (req.body.status && closing(req.body.status)) requirePermission(req, 'tickets.close');
      const { ticketId, orgId } = req.params;
      const { message, ticket, attachments } = await req.inOrg((tx) =>
        reply(
          tx,
          {
            ticketId,
            body: req.body.body,
            status: req.body.status,
            origin: originOf(req),
            attachmentIds: req.body.attachmentIds,
          },
          actorOf(req),
        ),
      );
      return res
        .status(201)
        .send({ message, ticket, attachments: attachments.map((a) => withUrl(app, orgId, a)) });
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

  addActionRoutes(app, one);
};
