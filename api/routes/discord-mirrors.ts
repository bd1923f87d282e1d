import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  addMirror,
  addMirrorInput,
  listMirrors,
  removeMirror,
  requestBackfill,
} from '../../db/discord-mirrors.js';
import { ticketFromMirroredMessage } from '../../db/mirror-messages.js';
import { actorOf } from './helpers.js';
import { errorResponses, okSchema, orgParams } from './schemas.js';
import { at } from './settings-schemas.js';

const mirrorSchema = z
  .object({
    id: z.uuid(),
    guildId: z.string(),
    discordChannelId: z.string(),
    channelId: z
      .uuid()
      .describe('the inbox conversation (GET /v1/orgs/{orgId}/channels/{channelId}/messages)'),
    name: z.string().nullable(),
    createdAt: at,
    backfillState: z.enum(['pending', 'done', 'refused']),
    backfilledCount: z.number().int().nullable(),
    backfillProblem: z
      .string()
      .nullable()
      .describe('what the bot lacks in the channel, when it could not read it'),
    backfilledAt: at.nullable(),
  })
  .meta({ id: 'DiscordMirror' });

const T = ['guilds'];
const access = { permission: 'guilds.manage' } as const;

/**
 * Discord channels mirrored read-only into the inbox (their conversations are read through the
 * inbox routes), and the staff action that turns a mirrored message into a ticket.
 */
export const discordMirrorRoutes: FastifyPluginAsyncZod = async (app) => {
  const base = '/v1/orgs/:orgId/discord-mirrors';

  app.get(
    base,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'listDiscordMirrors',
        summary: 'The Discord channels mirrored into the inbox, with how their backfill went',
        params: orgParams,
        response: { 200: z.object({ mirrors: z.array(mirrorSchema) }), ...errorResponses },
      },
    },
    async (req) => ({ mirrors: await req.inOrg((tx) => listMirrors(tx)) }),
  );

  app.post(
    base,
    {
      config: { access, idempotent: true },
      schema: {
        tags: T,
        operationId: 'createDiscordMirror',
        summary: 'Mirror a channel of a linked Discord server into the inbox (read-only)',
        description:
          'The last 100 messages are copied in the background; the bot needs View Channel and Read Message History there. Mirrored messages never go back to Discord and never open tickets by themselves.',
        params: orgParams,
        body: addMirrorInput,
        response: { 201: mirrorSchema, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply.status(201).send(await req.inOrg((tx) => addMirror(tx, req.body, actorOf(req)))),
  );

  app.delete(
    `${base}/:mirrorId`,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'deleteDiscordMirror',
        summary: 'Stop mirroring a channel (its conversations stay in the inbox, archived)',
        params: orgParams.extend({ mirrorId: z.uuid() }),
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      await req.inOrg((tx) => removeMirror(tx, req.params.mirrorId, actorOf(req)));
      return { ok: true as const };
    },
  );

  app.post(
    `${base}/:mirrorId/backfill`,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'backfillDiscordMirror',
        summary: 'Copy the channel’s last 100 messages (and its threads’) again',
        description:
          'After a refusal, once the bot has View Channel and Read Message History there; or to pick up what was missed. Nothing already copied is copied twice. 409 while a backfill is waiting.',
        params: orgParams.extend({ mirrorId: z.uuid() }),
        response: { 202: mirrorSchema, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply.status(202).send(await req.inOrg((tx) => requestBackfill(tx, req.params.mirrorId, actorOf(req)))),
  );

  app.post(
    '/v1/orgs/:orgId/messages/:messageId/ticket',
    {
      config: { access: { permission: 'tickets.create' } },
      schema: {
        tags: ['inbox'],
        operationId: 'createTicketFromMessage',
        summary: 'Open a ticket from a mirrored Discord message (once per message)',
        description:
          'The message’s author becomes the requester and its text the first message. Asking again (or from the bot’s context menu) returns the same ticket with `created: false`.',
        params: orgParams.extend({ messageId: z.uuid() }),
        response: {
          200: z.object({ ticketId: z.uuid(), number: z.number().int(), created: z.boolean() }),
          201: z.object({ ticketId: z.uuid(), number: z.number().int(), created: z.boolean() }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const { ticket, created } = await req.inOrg((tx) =>
        ticketFromMirroredMessage(tx, req.params.messageId, actorOf(req)),
      );
      return reply.status(created ? 201 : 200).send({ ticketId: ticket.id, number: ticket.number, created });
    },
  );
};
