import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  createGame,
  createGameInput,
  createGameKey,
  createGameKeyInput,
  deleteGame,
  GAME_KEY_KINDS,
  GAME_KEY_SCOPES,
  getGame,
  listGameKeys,
  listGames,
  revokeGameKey,
  rotateGameKey,
  rotateGameKeyInput,
  updateGame,
  updateGameInput,
} from '../../db/games.js';
import { AppError } from '../../lib/errors.js';
import { actorOf } from './helpers.js';
import { errorResponses, okSchema, orgParams } from './schemas.js';
import { at, orgAnd, secretOnce } from './settings-schemas.js';

export const gameSchema = z
  .object({ id: z.uuid(), name: z.string(), slug: z.string(), createdAt: at, updatedAt: at })
  .meta({ id: 'Game' });

export const gameKeySchema = z
  .object({
    id: z.uuid(),
    gameId: z.uuid(),
    name: z.string(),
    kind: z.enum(GAME_KEY_KINDS).meta({
      description: 'client: ships in game clients (player actions); server: game servers only',
    }),
    prefix: z.string(),
    scopes: z.array(z.enum(GAME_KEY_SCOPES)),
    createdBy: z.uuid().nullable(),
    createdAt: at,
    lastUsedAt: at.nullable(),
    revokedAt: at.nullable(),
    expiresAt: at.nullable(),
  })
  .meta({ id: 'GameKey' });

const T = ['games'];
const read = { permission: 'org.read' } as const;
const manage = { permission: 'games.manage' } as const;
const gameParams = orgAnd('gameId');
const keyParams = gameParams.extend({ keyId: z.uuid() });

export const gameRoutes: FastifyPluginAsyncZod = async (app) => {
  const base = '/v1/orgs/:orgId/games';
  const one = `${base}/:gameId`;

  app.get(
    base,
    {
      config: { access: read },
      schema: {
        tags: T,
        operationId: 'listGames',
        summary: 'List the games',
        params: orgParams,
        response: { 200: z.object({ games: z.array(gameSchema) }), ...errorResponses },
      },
    },
    async (req) => ({ games: await req.inOrg((tx) => listGames(tx)) }),
  );

  app.post(
    base,
    {
      config: { access: manage, idempotent: true },
      schema: {
        tags: T,
        operationId: 'createGame',
        summary: 'Add a game',
        params: orgParams,
        body: createGameInput,
        response: { 201: gameSchema, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply.status(201).send(await req.inOrg((tx) => createGame(tx, req.body, actorOf(req)))),
  );

  app.get(
    one,
    {
      config: { access: read },
      schema: {
        tags: T,
        operationId: 'getGame',
        summary: 'One game',
        params: gameParams,
        response: { 200: gameSchema, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => getGame(tx, req.params.gameId)),
  );

  app.patch(
    one,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'updateGame',
        summary: 'Rename a game or change its slug',
        params: gameParams,
        body: updateGameInput,
        response: { 200: gameSchema, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => updateGame(tx, req.params.gameId, req.body, actorOf(req))),
  );

  app.delete(
    one,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'deleteGame',
        summary: 'Delete a game and its keys',
        params: gameParams,
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      await req.inOrg((tx) => deleteGame(tx, req.params.gameId, actorOf(req)));
      return { ok: true as const };
    },
  );

  app.get(
    `${one}/keys`,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'listGameKeys',
        summary: "List a game's keys (revoked ones included; never their secrets)",
        params: gameParams,
        response: { 200: z.object({ keys: z.array(gameKeySchema) }), ...errorResponses },
      },
    },
    async (req) => {
      const keys = await req.inOrg(async (tx) => {
        await getGame(tx, req.params.gameId);
        return listGameKeys(tx, req.params.gameId);
      });
      return { keys };
    },
  );

  // Not idempotent on purpose: a replayed response would have to keep the plaintext key.
  app.post(
    `${one}/keys`,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'createGameKey',
        summary: 'Create a game key for the SDK; its plaintext is in this response only',
        params: gameParams,
        body: createGameKeyInput.omit({ gameId: true }),
        response: {
          201: z.object({ key: gameKeySchema, plaintext: secretOnce('the game key') }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const made = await req.inOrg((tx) =>
        createGameKey(tx, { ...req.body, gameId: req.params.gameId }, actorOf(req)),
      );
      return reply.status(201).send(made);
    },
  );

  app.post(
    `${one}/keys/:keyId/rotate`,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'rotateGameKey',
        summary: 'Replace a game key: a new plaintext now, the old key keeps working for the overlap',
        params: keyParams,
        body: rotateGameKeyInput.nullish(),
        response: {
          201: z.object({
            key: gameKeySchema,
            plaintext: secretOnce('the game key'),
            previous: gameKeySchema,
          }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const { gameId, keyId } = req.params;
      const made = await req.inOrg(async (tx) => {
        const keys = await listGameKeys(tx, gameId);
        if (!keys.some((k) => k.id === keyId)) throw new AppError('not_found', 'game key not found');
        return rotateGameKey(tx, keyId, req.body ?? {}, actorOf(req));
      });
      return reply.status(201).send(made);
    },
  );

  app.delete(
    `${one}/keys/:keyId`,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'revokeGameKey',
        summary: 'Revoke a game key at once (revoking again keeps the first date)',
        params: keyParams,
        response: { 200: gameKeySchema, ...errorResponses },
      },
    },
    async (req) => {
      const { gameId, keyId } = req.params;
      return req.inOrg(async (tx) => {
        // The key must belong to the game in the path, not merely to the org.
        const keys = await listGameKeys(tx, gameId);
        if (!keys.some((k) => k.id === keyId)) throw new AppError('not_found', 'game key not found');
        return revokeGameKey(tx, keyId, actorOf(req));
      });
    },
  );
};
