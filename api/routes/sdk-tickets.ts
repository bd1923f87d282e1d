import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { findGamePlayer } from '../../db/game-players.js';
import {
  openGameTicket,
  openGameTicketInput,
  playerReply,
  playerReplyInput,
  playerTicket,
  playerTickets,
} from '../../db/player-tickets.js';
import { withTenant } from '../../db/tenant.js';
import { AppError } from '../../lib/errors.js';
import { requireGameScope, sendWithEtag } from './sdk-auth.js';
import {
  idempotencyHeaders,
  notModified,
  playerQuery,
  sdkErrors,
  sdkMessageSchema,
  sdkTicketSchema,
} from './sdk-schemas.js';

const T = ['sdk'];
const client = { access: 'game-client', rateLimit: 'none' } as const;
const ticketParams = z.object({ ticketId: z.uuid() });

/** The player's tickets from inside the game: open, list, read (since/ETag), reply. */
export const sdkTicketRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/sdk/v1/tickets',
    {
      config: client,
      schema: {
        tags: T,
        operationId: 'sdkOpenTicket',
        summary: 'Open a ticket for a player, with where and how they were playing',
        headers: idempotencyHeaders,
        body: openGameTicketInput,
        response: {
          200: z.object({ ticket: sdkTicketSchema }),
          201: z.object({ ticket: sdkTicketSchema }),
          ...sdkErrors,
        },
      },
    },
    async (req, reply) => {
      const game = requireGameScope(req, 'tickets:create');
      const r = await withTenant(app.deps.pool, game.orgId, (tx) =>
        openGameTicket(tx, game.gameId, req.body, req.headers['idempotency-key']),
      );
      return reply.status(r.created ? 201 : 200).send({ ticket: r.ticket });
    },
  );

  app.get(
    '/sdk/v1/tickets',
    {
      config: client,
      schema: {
        tags: T,
        operationId: 'sdkListTickets',
        summary: "The player's tickets, or only those changed since a cursor (ETag: 304 when unchanged)",
        querystring: playerQuery,
        response: {
          200: z.object({ tickets: z.array(sdkTicketSchema), cursor: z.string() }),
          304: notModified,
          ...sdkErrors,
        },
      },
    },
    async (req, reply) => {
      const game = requireGameScope(req, 'tickets:read_own');
      const body = await withTenant(app.deps.pool, game.orgId, async (tx) => {
        const player = await findGamePlayer(tx, game.gameId, req.query.playerId);
        if (!player) return { tickets: [], cursor: req.query.since ?? '0' };
        return playerTickets(tx, player, req.query.since);
      });
      return sendWithEtag(req, reply, body);
    },
  );

  app.get(
    '/sdk/v1/tickets/:ticketId',
    {
      config: client,
      schema: {
        tags: T,
        operationId: 'sdkGetTicket',
        summary: "One of the player's tickets with its replies, or the replies since a cursor",
        params: ticketParams,
        querystring: playerQuery,
        response: {
          200: z.object({ ticket: sdkTicketSchema, messages: z.array(sdkMessageSchema), cursor: z.string() }),
          304: notModified,
          ...sdkErrors,
        },
      },
    },
    async (req, reply) => {
      const game = requireGameScope(req, 'tickets:read_own');
      const body = await withTenant(app.deps.pool, game.orgId, async (tx) => {
        const player = await findGamePlayer(tx, game.gameId, req.query.playerId);
        if (!player) throw new AppError('not_found', 'ticket not found');
        return playerTicket(tx, player, req.params.ticketId, req.query.since);
      });
      return sendWithEtag(req, reply, body);
    },
  );

  app.post(
    '/sdk/v1/tickets/:ticketId/replies',
    {
      config: client,
      schema: {
        tags: T,
        operationId: 'sdkReply',
        summary: 'The player replies on their own ticket',
        params: ticketParams,
        headers: idempotencyHeaders,
        body: playerReplyInput,
        response: {
          200: z.object({ message: sdkMessageSchema, ticket: sdkTicketSchema }),
          201: z.object({ message: sdkMessageSchema, ticket: sdkTicketSchema }),
          ...sdkErrors,
        },
      },
    },
    async (req, reply) => {
      const game = requireGameScope(req, 'tickets:create');
      const r = await withTenant(app.deps.pool, game.orgId, (tx) =>
        playerReply(tx, game.gameId, req.params.ticketId, req.body, req.headers['idempotency-key']),
      );
      return reply.status(r.created ? 201 : 200).send({ message: r.message, ticket: r.ticket });
    },
  );
};
