import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { announcementInput, publishAnnouncement } from '../../db/announcements.js';
import { findGamePlayer } from '../../db/game-players.js';
import { moderationOf } from '../../db/player-moderation.js';
import { withTenant } from '../../db/tenant.js';
import { sendWithEtag } from './sdk-auth.js';
import { announcementSchema, moderationSchema, notModified, sdkErrors } from './sdk-schemas.js';

const T = ['sdk'];
const server = { access: 'game-server', rateLimit: 'none' } as const;

/** What only a game server (its secret) may do: read moderation status, publish announcements. */
export const sdkServerRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/sdk/v1/moderation/:playerId',
    {
      config: server,
      schema: {
        tags: T,
        operationId: 'sdkModerationStatus',
        summary: "A player's moderation status (warned, muted until, banned until) for the game server",
        params: z.object({ playerId: z.string().trim().min(1).max(200) }),
        response: {
          200: moderationSchema.extend({
            playerId: z.string(),
            banned: z
              .boolean()
              .describe(
                "Banned now, by the server's clock: bannedUntil is set and still ahead. Enforce this",
              ),
            muted: z
              .boolean()
              .describe("Muted now, by the server's clock: mutedUntil is set and still ahead"),
          }),
          304: notModified,
          ...sdkErrors,
        },
      },
    },
    async (req, reply) => {
      const game = req.game as NonNullable<typeof req.game>;
      const status = await withTenant(app.deps.pool, game.orgId, async (tx) =>
        moderationOf(tx, await findGamePlayer(tx, game.gameId, req.params.playerId)),
      );
      // An ended ban or mute stays on record (staff see it, the game may show it), so the game
      // server is told whether each holds now by this server's clock, not its own, which may be off.
      const now = app.settings.now();
      const active = (until: Date | null) => until !== null && until.getTime() > now;
      return sendWithEtag(req, reply, {
        playerId: req.params.playerId,
        ...status,
        banned: active(status.bannedUntil),
        muted: active(status.mutedUntil),
      });
    },
  );

  app.post(
    '/sdk/v1/announcements',
    {
      config: server,
      schema: {
        tags: T,
        operationId: 'sdkPublishAnnouncement',
        summary: 'Publish an announcement to the game (game server secret)',
        body: announcementInput,
        response: { 201: z.object({ announcement: announcementSchema }), ...sdkErrors },
      },
    },
    async (req, reply) => {
      const game = req.game as NonNullable<typeof req.game>;
      const a = await withTenant(app.deps.pool, game.orgId, (tx) =>
        publishAnnouncement(
          tx,
          game.gameId,
          req.body,
          { type: 'system', requestId: String(req.id) },
          game.keyId,
        ),
      );
      const { gameId: _, ...announcement } = a;
      return reply.status(201).send({ announcement });
    },
  );
};
