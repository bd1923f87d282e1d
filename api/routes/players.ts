import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { gameAccountsOf, getPlayer, listPlayers, listPlayersInput, playerHistory } from '../../db/players.js';
import { errorResponses, orgParams } from './schemas.js';

const playerSchema = z
  .object({
    id: z.uuid(),
    displayName: z.string().nullable(),
    discordUserId: z.string().nullable(),
    gameId: z.uuid().nullable(),
    gameAccountId: z.string().nullable(),
    email: z.string().nullable(),
    createdAt: z.date(),
  })
  .meta({ id: 'Player' });

const gameAccountSchema = z.object({
  gameId: z.uuid().nullable(),
  gameAccountId: z.string(),
});

const historySchema = z.object({
  tickets: z.array(
    z.object({
      id: z.uuid(),
      number: z.number().int(),
      subject: z.string(),
      status: z.string(),
      origin: z.string(),
      createdAt: z.date(),
    }),
  ),
  reportsMade: z.array(
    z.object({
      id: z.uuid(),
      reason: z.string(),
      status: z.string(),
      reportedId: z.uuid(),
      createdAt: z.date(),
    }),
  ),
  reportsAgainst: z.array(
    z.object({
      id: z.uuid(),
      reason: z.string(),
      status: z.string(),
      reporterId: z.uuid().nullable(),
      createdAt: z.date(),
    }),
  ),
  sessions: z.array(
    z.object({
      id: z.uuid(),
      gameId: z.uuid(),
      startedAt: z.date(),
      endedAt: z.date().nullable(),
      platform: z.string().nullable(),
    }),
  ),
});

const P = ['players'];

export const playerRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/orgs/:orgId/players',
    {
      config: { access: { permission: 'players.read' } },
      schema: {
        tags: P,
        operationId: 'listPlayers',
        summary: 'Find players by name, email, Discord id or game account id',
        params: orgParams,
        querystring: listPlayersInput,
        response: {
          200: z.object({ players: z.array(playerSchema), next: z.uuid().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const players = await req.inOrg((tx) => listPlayers(tx, req.query));
      return {
        players,
        next: players.length === (req.query.limit ?? 25) ? (players.at(-1)?.id ?? null) : null,
      };
    },
  );

  app.get(
    '/v1/orgs/:orgId/players/:playerId',
    {
      config: { access: { permission: 'players.read' } },
      schema: {
        tags: P,
        operationId: 'getPlayer',
        summary: "A player's profile, linked identities and history across channels",
        params: orgParams.extend({ playerId: z.uuid() }),
        response: {
          200: z.object({
            player: playerSchema,
            gameAccounts: z
              .array(gameAccountSchema)
              .describe(
                "Every game account linked to the player, one per game: the player's own (gameId, gameAccountId) first, then those of further games",
              ),
            history: historySchema,
          }),
          ...errorResponses,
        },
      },
    },
    async (req) =>
      req.inOrg(async (tx) => ({
        player: await getPlayer(tx, req.params.playerId),
        gameAccounts: await gameAccountsOf(tx, req.params.playerId),
        history: await playerHistory(tx, req.params.playerId),
      })),
  );
};
