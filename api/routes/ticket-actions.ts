import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Permission } from '../../db/permissions.js';
import { tag } from '../../db/schemas.js';
import type { ExpectedVersion } from '../../db/ticket-rows.js';
import { PRIORITIES, STATUSES } from '../../db/ticket-rules.js';
import {
  assign,
  claim,
  close,
  merge,
  reopen,
  setPriority,
  setStatus,
  type Ticket,
  transfer,
  updateFields,
} from '../../db/tickets.js';
import { AppError } from '../../lib/errors.js';
import { actorOf, requirePermission } from './helpers.js';
import { errorResponses, orgParams } from './schemas.js';
import { ticketParams, ticketSchema } from './ticket-schemas.js';
import { expectedVersionOf, ifMatchHeaders, withVersion } from './ticket-versions.js';

/**
 * The ticket routes that change one thing on a ticket: one route per action (assign, claim,
 * transfer, status, priority, tags, close, reopen, merge) and the bulk route that applies one of
 * them to many tickets. Added by `ticketRoutes` (tickets.ts) where they always stood, so the
 * OpenAPI document keeps its order.
 */

type App = Parameters<FastifyPluginAsyncZod>[0];

export const closing = (status: string) => status === 'solved' || status === 'closed';

const T = ['tickets'];
const ticketResponse = { 200: ticketSchema, ...errorResponses };

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

/** `POST /v1/orgs/:orgId/tickets/bulk`. */
export function addBulkRoute(app: App, base: string): void {
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
}

/** `POST /v1/orgs/:orgId/tickets/:ticketId/<action>`, one route per action. */
export function addActionRoutes(app: App, one: string): void {
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
    run: (
      req: FastifyRequest,
      ticketId: string,
      body: z.output<B>,
      expectedVersion: ExpectedVersion | undefined,
    ) => Promise<Ticket>,
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
          description:
            'With If-Match (the ETag of your last read of the ticket), refused with 412 if the ticket ' +
            'changed since. The answer carries the ETag of the ticket it returns.',
          params: ticketParams,
          headers: ifMatchHeaders,
          body: bodySchema,
          response: ticketResponse,
        },
      },
      async (req, res) => {
        const { ticketId } = req.params as { ticketId: string };
        const expected = expectedVersionOf(req);
        return withVersion(res, await run(req, ticketId, req.body as z.output<B>, expected));
      },
    );

  action(
    'assign',
    'tickets.assign',
    'Assign to a staff member (null unassigns)',
    z.object({ assigneeId: z.uuid().nullable() }),
    (req, ticketId, b, expectedVersion) =>
      req.inOrg((tx) => assign(tx, { ticketId, assigneeId: b.assigneeId, expectedVersion }, actorOf(req))),
  );
  action(
    'claim',
    'tickets.assign',
    'Take the ticket yourself',
    noBody,
    (req, ticketId, _b, expectedVersion) =>
      req.inOrg((tx) => claim(tx, ticketId, actorOf(req), expectedVersion)),
  );
  action(
    'transfer',
    'tickets.assign',
    'Move to another team (null: no team)',
    z.object({ teamId: z.uuid().nullable(), keepAssignee: z.boolean().default(false) }),
    (req, ticketId, b, expectedVersion) =>
      req.inOrg((tx) => transfer(tx, { ticketId, ...b, expectedVersion }, actorOf(req))),
  );
  action(
    'status',
    'tickets.update',
    'Change the status along the allowed transitions',
    z.object({ status: z.enum(STATUSES), reason: z.string().trim().min(1).max(500).optional() }),
    (req, ticketId, b, expectedVersion) => {
      if (closing(b.status)) requirePermission(req, 'tickets.close');
      return req.inOrg((tx) => setStatus(tx, { ticketId, ...b, expectedVersion }, actorOf(req)));
    },
  );
  action(
    'priority',
    'tickets.update',
    'Change the priority',
    z.object({ priority: z.enum(PRIORITIES) }),
    (req, ticketId, b, expectedVersion) =>
      req.inOrg((tx) => setPriority(tx, { ticketId, priority: b.priority, expectedVersion }, actorOf(req))),
  );
  action(
    'tags',
    'tickets.update',
    'Add and remove tags',
    z.object({ add: z.array(tag).max(20).default([]), remove: z.array(tag).max(20).default([]) }),
    (req, ticketId, b, expectedVersion) =>
      req.inOrg((tx) =>
        updateFields(tx, { ticketId, addTags: b.add, removeTags: b.remove, expectedVersion }, actorOf(req)),
      ),
  );
  action(
    'close',
    'tickets.close',
    'Close the ticket',
    z.object({ reason: z.string().trim().min(1).max(500).optional() }).nullish(),
    (req, ticketId, b, expectedVersion) =>
      req.inOrg((tx) => close(tx, { ticketId, reason: b?.reason, expectedVersion }, actorOf(req))),
  );
  action(
    'reopen',
    'tickets.close',
    'Reopen a solved or closed ticket',
    noBody,
    (req, ticketId, _b, expectedVersion) =>
      req.inOrg((tx) => reopen(tx, ticketId, actorOf(req), expectedVersion)),
  );
  action(
    'merge',
    'tickets.merge',
    'Merge this ticket into another; returns the target',
    z.object({ targetId: z.uuid() }),
    async (req, ticketId, b, expectedVersion) => {
      const input = { sourceId: ticketId, targetId: b.targetId, expectedVersion };
      return (await req.inOrg((tx) => merge(tx, input, actorOf(req)))).target;
    },
  );
}
