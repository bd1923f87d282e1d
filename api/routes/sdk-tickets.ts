import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { findGamePlayer } from '../../db/game-players.js';
import { playerFile } from '../../db/player-attachments.js';
import {
  openGameTicket,
  openGameTicketInput,
  playerReply,
  playerReplyInput,
  playerTicket,
  playerTickets,
  type SdkMessage,
  type TicketReach,
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
const REACH =
  "A client key reaches only the tickets opened from its own game (with staff's replies on them): the same player's Discord, email and other games' tickets are a 404 like an unknown ticket, and never change the ETag. The server secret reaches all of the player's tickets.";
const ticketParams = z.object({ ticketId: z.uuid() });
const fileParams = z.object({ ticketId: z.uuid(), attachmentId: z.uuid() });
/** How long the download link a file's path redirects to works: it is fetched at once. */
const FILE_LINK_TTL_SECONDS = 60;

/**
 * A message's files with a path of ours rather than a signed link: a link would change on every
 * poll and break the ETag's 304s and the `since` replay, so the path stays the same and the
 * signed, short-lived link is made only when the game asks for the file (with its key).
 */
const withFilePaths = (ticketId: string, playerId: string, m: SdkMessage) => ({
  ...m,
  attachments: m.attachments.map((a) => ({
    ...a,
    url: `/sdk/v1/tickets/${ticketId}/attachments/${a.id}?playerId=${encodeURIComponent(playerId)}`,
  })),
});

/**
 * A client key ships inside the game and names any player it likes: it reaches only the tickets
 * opened from its own game, never the player's Discord, email or other games' ones. A game server's
 * secret vouches for its player and reaches all of the player's tickets.
 */
const reachOf = (game: { kind: string; gameId: string }): TicketReach =>
  game.kind === 'server' ? null : game.gameId;

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
        description: REACH,
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
        return playerTickets(tx, player, reachOf(game), req.query.since);
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
        description: REACH,
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
        return playerTicket(tx, player, reachOf(game), req.params.ticketId, req.query.since);
      });
      const messages = body.messages.map((m) => withFilePaths(req.params.ticketId, req.query.playerId, m));
      return sendWithEtag(req, reply, { ...body, messages });
    },
  );

  app.get(
    '/sdk/v1/tickets/:ticketId/attachments/:attachmentId',
    {
      config: client,
      schema: {
        tags: T,
        operationId: 'sdkDownloadAttachment',
        description: REACH,
        summary:
          "A file on the player's ticket: 302 to a download link valid 60 s (or, asked with Accept: application/json, the link itself)",
        params: fileParams,
        querystring: playerQuery.pick({ playerId: true }),
        response: {
          200: z.object({ url: z.string(), expiresInSeconds: z.number().int().nullable() }),
          302: z.null().meta({ description: 'Location: the download link' }),
          ...sdkErrors,
        },
      },
    },
    async (req, reply) => {
      const game = requireGameScope(req, 'tickets:read_own');
      const file = await withTenant(app.deps.pool, game.orgId, async (tx) => {
        const player = await findGamePlayer(tx, game.gameId, req.query.playerId);
        if (!player) throw new AppError('not_found', 'attachment not found');
        return playerFile(tx, player, reachOf(game), req.params.ticketId, req.params.attachmentId);
      });
      // The same signed link as the API's own (/v1/files checks it again in the org's tenant). A
      // file still only linked (Discord's CDN, before its copy is made) goes to that link.
      const stored = file.storageKey !== null;
      const url = stored
        ? `${app.settings.publicUrl}/v1/files/${file.id}?token=${app.signer.sign({ orgId: game.orgId, attachmentId: file.id }, FILE_LINK_TTL_SECONDS)}`
        : file.externalUrl;
      if (!url) throw new AppError('not_found', 'attachment not found');
      reply.header('cache-control', 'private, no-store');
      // A browser game can't send its key with an <img src> nor read a redirect: it asks for the link.
      if (req.headers.accept?.includes('application/json'))
        return reply.send({ url, expiresInSeconds: stored ? FILE_LINK_TTL_SECONDS : null });
      return reply.redirect(url, 302);
    },
  );

  app.post(
    '/sdk/v1/tickets/:ticketId/replies',
    {
      config: client,
      schema: {
        tags: T,
        operationId: 'sdkReply',
        description: REACH,
        summary:
          "The player replies on their own ticket (on a merged ticket, the reply lands on the ticket it was merged into, which the answer's ticket is)",
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
        playerReply(
          tx,
          game.gameId,
          reachOf(game),
          req.params.ticketId,
          req.body,
          req.headers['idempotency-key'],
        ),
      );
      return reply.status(r.created ? 201 : 200).send({
        // A reply to a merged ticket lands on the one it went into: the files are that ticket's.
        message: withFilePaths(r.ticket.id, req.body.player.id, r.message),
        ticket: r.ticket,
      });
    },
  );
};
