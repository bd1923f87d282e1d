import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { currentAnnouncements } from '../../db/announcements.js';
import { gamePlayerInput, upsertGamePlayer } from '../../db/game-players.js';
import { createLinkCode } from '../../db/link-codes.js';
import { gameReportInput } from '../../db/player-reports.js';
import {
  endSession,
  HEARTBEAT_SECONDS,
  heartbeat,
  onlineNow,
  startSession,
  startSessionInput,
} from '../../db/player-sessions.js';
import { withTenant } from '../../db/tenant.js';
import { currentTraceparent } from '../../lib/trace-context.js';
import { ReportIntake } from '../report-intake.js';
import { okSchema } from './schemas.js';
import { requireGameScope, sendWithEtag } from './sdk-auth.js';
import { announcementSchema, idempotencyHeaders, notModified, sdkErrors } from './sdk-schemas.js';

const T = ['sdk'];
const client = { access: 'game-client', rateLimit: 'none' } as const;
const sessionParams = z.object({ sessionId: z.uuid() });
const reportSchema = z.object({ id: z.uuid(), ticketId: z.uuid(), createdAt: z.date() });

/** Reports, sessions, online count and announcements for game clients; link codes for game servers. */
export const sdkPlayerRoutes: FastifyPluginAsyncZod = async (app) => {
  const inGame = <T>(orgId: string, fn: Parameters<typeof withTenant<T>>[2]) =>
    withTenant(app.deps.pool, orgId, fn);
  const intake = new ReportIntake(app.deps.pool);

  app.post(
    '/sdk/v1/reports',
    {
      config: client,
      schema: {
        tags: T,
        operationId: 'sdkReportPlayer',
        summary:
          "Report a player: filed on the player's moderation ticket and player.reported, within seconds",
        headers: idempotencyHeaders,
        body: gameReportInput,
        response: {
          200: z.object({ report: reportSchema }),
          201: z.object({ report: reportSchema }),
          ...sdkErrors,
        },
      },
    },
    async (req, reply) => {
      const game = requireGameScope(req, 'reports:create');
      const r = await intake.accept(game.orgId, {
        gameId: game.gameId,
        input: req.body,
        idempotencyKey: req.headers['idempotency-key'],
        // Taken here: the intake may accept this report in another request's batch and context.
        traceparent: currentTraceparent(),
      });
      return reply.status(r.created ? 201 : 200).send({ report: r.report });
    },
  );

  app.post(
    '/sdk/v1/sessions',
    {
      config: client,
      schema: {
        tags: T,
        operationId: 'sdkStartSession',
        summary: "A player's session starts; send a heartbeat every heartbeatSeconds",
        body: startSessionInput,
        response: {
          201: z.object({
            session: z.object({ id: z.uuid(), startedAt: z.date() }),
            heartbeatSeconds: z.number().int(),
          }),
          ...sdkErrors,
        },
      },
    },
    async (req, reply) => {
      const game = requireGameScope(req, 'sessions:write');
      // Only a keyed digest of the address is kept, enough to tell sessions apart, not to find anyone.
      const ipHash = createHash('sha256').update(`${game.orgId}\n${req.ip}`).digest('base64url');
      const session = await inGame(game.orgId, (tx) => startSession(tx, game.gameId, req.body, ipHash));
      return reply.status(201).send({ session, heartbeatSeconds: HEARTBEAT_SECONDS });
    },
  );

  app.post(
    '/sdk/v1/sessions/:sessionId/heartbeat',
    {
      config: client,
      schema: {
        tags: T,
        operationId: 'sdkHeartbeat',
        summary: 'The session is still playing',
        params: sessionParams,
        response: { 200: okSchema, ...sdkErrors },
      },
    },
    async (req) => {
      const game = requireGameScope(req, 'sessions:write');
      await inGame(game.orgId, (tx) => heartbeat(tx, game.gameId, req.params.sessionId));
      return { ok: true as const };
    },
  );

  app.post(
    '/sdk/v1/sessions/:sessionId/end',
    {
      config: client,
      schema: {
        tags: T,
        operationId: 'sdkEndSession',
        summary: 'The session ends (ending it again is fine)',
        params: sessionParams,
        response: { 200: okSchema, ...sdkErrors },
      },
    },
    async (req) => {
      const game = requireGameScope(req, 'sessions:write');
      await inGame(game.orgId, (tx) => endSession(tx, game.gameId, req.params.sessionId));
      return { ok: true as const };
    },
  );

  app.get(
    '/sdk/v1/online',
    {
      config: client,
      schema: {
        tags: T,
        operationId: 'sdkOnlineNow',
        summary: "Players online now in this key's game",
        response: { 200: z.object({ online: z.number().int() }), ...sdkErrors },
      },
    },
    async (req) => {
      const game = requireGameScope(req, 'sessions:write');
      return { online: await inGame(game.orgId, (tx) => onlineNow(tx, game.gameId)) };
    },
  );

  app.post(
    '/sdk/v1/link-codes',
    {
      // A link moves the player's support identity for good, and a client key (public: it ships in
      // the game) can name any player id: only the game's server can vouch for who the player is.
      config: { access: 'game-server', rateLimit: 'none' },
      schema: {
        tags: T,
        operationId: 'sdkLinkCode',
        summary:
          'A one-time code the player types into /link in Discord to join their histories (game server secret)',
        description:
          'Sent by the game server, which vouches for the player it names: a client key is refused with ' +
          '403 `server_secret_required`. A blocked player (`player_blocked`) or one banned now ' +
          '(`player_banned`) gets no code. There is no client-key flow: a client key is public and can ' +
          'name any player, so a code it redeemed would let anyone claim any game account for their ' +
          'own Discord account for good (its tickets, staff replies and moderation with it). A game ' +
          'without a server mints codes from a server-side function that checks the player with the ' +
          "platform first. A player links one account per game, each of the studio's games to the same " +
          'Discord account.',
        body: z.object({ player: gamePlayerInput }),
        response: { 201: z.object({ code: z.string(), expiresAt: z.date() }), ...sdkErrors },
      },
    },
    async (req, reply) => {
      const game = req.game as NonNullable<typeof req.game>;
      const made = await inGame(game.orgId, async (tx) => {
        const player = await upsertGamePlayer(tx, game.gameId, req.body.player);
        return createLinkCode(tx, player.id);
      });
      return reply.status(201).send(made);
    },
  );

  app.get(
    '/sdk/v1/announcements',
    {
      config: client,
      schema: {
        tags: T,
        operationId: 'sdkAnnouncements',
        summary: "This game's current announcements (ETag: 304 when unchanged)",
        response: {
          200: z.object({ announcements: z.array(announcementSchema) }),
          304: notModified,
          ...sdkErrors,
        },
      },
    },
    async (req, reply) => {
      const game = req.game as NonNullable<typeof req.game>;
      const list = await inGame(game.orgId, (tx) => currentAnnouncements(tx, game.gameId));
      const announcements = list.map(({ gameId: _, ...a }) => a);
      return sendWithEtag(req, reply, { announcements });
    },
  );
};
