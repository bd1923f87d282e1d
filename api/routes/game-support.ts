import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  announcementInput,
  currentAnnouncements,
  deleteAnnouncement,
  publishAnnouncement,
} from '../../db/announcements.js';
import { redeemLinkCode, redeemLinkCodeInput } from '../../db/link-codes.js';
import { moderationOf, setModeration, setModerationInput } from '../../db/player-moderation.js';
import { unlinkGameAccount, unlinkGameAccountInput } from '../../db/player-unlink.js';
import { getPlayer } from '../../db/players.js';
import { actorOf } from './helpers.js';
import { errorResponses, okSchema, orgParams } from './schemas.js';
import { announcementSchema, moderationSchema } from './sdk-schemas.js';
import { orgAnd } from './settings-schemas.js';

const gameParams = orgAnd('gameId');
const playerParams = orgAnd('playerId');

/**
 * The staff side of the in-game features: announcements a game shows, a player's moderation
 * status its servers enforce, and entering a player's link code for them.
 */
export const gameSupportRoutes: FastifyPluginAsyncZod = async (app) => {
  const announcements = '/v1/orgs/:orgId/games/:gameId/announcements';

  app.get(
    announcements,
    {
      config: { access: { permission: 'org.read' } },
      schema: {
        tags: ['games'],
        operationId: 'listAnnouncements',
        summary: "A game's current announcements",
        params: gameParams,
        response: { 200: z.object({ announcements: z.array(announcementSchema) }), ...errorResponses },
      },
    },
    async (req) => ({
      announcements: await req.inOrg((tx) => currentAnnouncements(tx, req.params.gameId)),
    }),
  );

  app.post(
    announcements,
    {
      config: { access: { permission: 'games.manage' }, idempotent: true },
      schema: {
        tags: ['games'],
        operationId: 'publishAnnouncement',
        summary: 'Publish an announcement in a game',
        params: gameParams,
        body: announcementInput,
        response: { 201: announcementSchema, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply
        .status(201)
        .send(await req.inOrg((tx) => publishAnnouncement(tx, req.params.gameId, req.body, actorOf(req)))),
  );

  app.delete(
    `${announcements}/:announcementId`,
    {
      config: { access: { permission: 'games.manage' } },
      schema: {
        tags: ['games'],
        operationId: 'deleteAnnouncement',
        summary: 'Take an announcement down',
        params: gameParams.extend({ announcementId: z.uuid() }),
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      const { gameId, announcementId } = req.params;
      await req.inOrg((tx) => deleteAnnouncement(tx, gameId, announcementId, actorOf(req)));
      return { ok: true as const };
    },
  );

  app.get(
    '/v1/orgs/:orgId/players/:playerId/moderation',
    {
      config: { access: { permission: 'players.read' } },
      schema: {
        tags: ['players'],
        operationId: 'getPlayerModeration',
        summary: "A player's moderation status (what game servers enforce)",
        params: playerParams,
        response: { 200: moderationSchema, ...errorResponses },
      },
    },
    async (req) =>
      req.inOrg(async (tx) => {
        await getPlayer(tx, req.params.playerId);
        return moderationOf(tx, req.params.playerId);
      }),
  );

  app.put(
    '/v1/orgs/:orgId/players/:playerId/moderation',
    {
      config: { access: { permission: 'players.manage' } },
      schema: {
        tags: ['players'],
        operationId: 'setPlayerModeration',
        summary:
          "Set a player's moderation status (warn, mute until, ban until), optionally acting on a report",
        params: playerParams,
        body: setModerationInput,
        response: { 200: moderationSchema, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => setModeration(tx, req.params.playerId, req.body, actorOf(req))),
  );

  app.post(
    '/v1/orgs/:orgId/players/link',
    {
      config: { access: { permission: 'players.manage' } },
      schema: {
        tags: ['players'],
        operationId: 'redeemPlayerLinkCode',
        summary: 'Link a game account to a Discord account with the code the game showed the player',
        params: orgParams,
        body: redeemLinkCodeInput,
        response: { 200: z.object({ playerId: z.uuid(), merged: z.boolean() }), ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => redeemLinkCode(tx, req.body, actorOf(req))),
  );

  app.post(
    '/v1/orgs/:orgId/players/:playerId/unlink',
    {
      config: { access: { permission: 'players.manage' } },
      schema: {
        tags: ['players'],
        operationId: 'unlinkPlayerGameAccount',
        summary: 'Split a game account off a player again, with the tickets opened from that game',
        description:
          "Undoes a wrong link: the player's account of `gameId` becomes a profile of its own (`splitInto`), taking the tickets opened from that game and its play sessions; Discord and email tickets, reports and other games' accounts stay. The split profile keeps the player's moderation status and block. Audited; emits `player.unlinked`. 404 when the player has no account of that game, 409 when it is the player's only identity.",
        params: playerParams,
        body: unlinkGameAccountInput,
        response: { 200: z.object({ playerId: z.uuid(), splitInto: z.uuid() }), ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => unlinkGameAccount(tx, req.params.playerId, req.body, actorOf(req))),
  );
};
