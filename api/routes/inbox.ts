import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { attachmentsOfMessages } from '../../db/attachments.js';
import {
  channelMessages,
  createChannelInput,
  getChannel,
  listChannels,
  listChannelsInput,
  markRead,
  openChannel,
  postMessage,
  react,
  reactionsOn,
} from '../../db/messages.js';
import { body } from '../../db/schemas.js';
import { AppError } from '../../lib/errors.js';
import { withUrl } from './attachments.js';
import { actorOf } from './helpers.js';
import { errorResponses, okSchema, orgParams } from './schemas.js';
import { attachmentSchema } from './ticket-schemas.js';

const channelSchema = z
  .object({
    id: z.uuid(),
    kind: z.enum(['ticket', 'player_dm', 'staff_room', 'discord_mirror']),
    name: z.string().nullable(),
    playerId: z.uuid().nullable(),
    ticketId: z.uuid().nullable(),
    lastMessageAt: z.date().nullable(),
    archivedAt: z.date().nullable().describe('no longer fed (its mirror was removed); kept for reading'),
    mirrorId: z
      .uuid()
      .nullable()
      .describe('the Discord mirror it belongs to (its channel or a thread of it)'),
    threadOf: z
      .uuid()
      .nullable()
      .describe('for a thread of a mirrored channel: the conversation of the channel itself'),
  })
  .meta({ id: 'Channel' });
const reactionSchema = z.object({ emoji: z.string(), count: z.number().int(), userIds: z.array(z.uuid()) });
const channelMessage = z
  .object({
    id: z.uuid(),
    channelId: z.uuid(),
    authorType: z.string(),
    authorUserId: z.uuid().nullable(),
    authorPlayerId: z.uuid().nullable(),
    authorName: z.string().nullable().optional().describe('who wrote it, by name (on channel pages)'),
    body: z.string(),
    createdAt: z.date(),
    attachments: z
      .array(attachmentSchema)
      .optional()
      .describe('its files, with signed links (on channel pages)'),
    reactions: z.array(reactionSchema),
  })
  .meta({ id: 'ChannelMessage' });
const channelParams = orgParams.extend({ channelId: z.uuid() });
const messageParams = orgParams.extend({ messageId: z.uuid() });
const I = ['inbox'];

/**
 * The unified inbox: ticket conversations, player DMs and staff rooms as channels, with unread
 * state per staff member and reactions on messages. Ticket replies go through the ticket routes
 * (they carry status and SLA meaning); DMs and rooms are posted here.
 */
export const inboxRoutes: FastifyPluginAsyncZod = async (app) => {
  const readerId = (actor: ReturnType<typeof actorOf>) => (actor.type === 'user' ? actor.id : null);

  app.get(
    '/v1/orgs/:orgId/channels',
    {
      config: { access: { permission: 'tickets.read' } },
      schema: {
        tags: I,
        operationId: 'listChannels',
        summary: 'Inbox channels, latest activity first, with your unread counts',
        params: orgParams,
        querystring: listChannelsInput,
        response: {
          200: z.object({ channels: z.array(channelSchema.extend({ unread: z.number().int() })) }),
          ...errorResponses,
        },
      },
    },
    async (req) => ({
      channels: await req.inOrg((tx) => listChannels(tx, readerId(actorOf(req)), req.query)),
    }),
  );

  app.post(
    '/v1/orgs/:orgId/channels',
    {
      config: { access: { permission: 'tickets.reply' }, idempotent: true },
      schema: {
        tags: I,
        operationId: 'openChannel',
        summary: "Open a staff room, or a player's DM channel (one per player)",
        params: orgParams,
        body: createChannelInput,
        response: { 201: channelSchema, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply.status(201).send(await req.inOrg((tx) => openChannel(tx, req.body, actorOf(req)))),
  );

  app.get(
    '/v1/orgs/:orgId/channels/:channelId/messages',
    {
      config: { access: { permission: 'tickets.read' } },
      schema: {
        tags: I,
        operationId: 'listChannelMessages',
        summary: 'The latest messages of a channel, oldest first, with reactions',
        params: channelParams,
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
        response: {
          200: z.object({ channel: channelSchema, messages: z.array(channelMessage) }),
          ...errorResponses,
        },
      },
    },
    async (req) =>
      req.inOrg(async (tx) => {
        const channel = await getChannel(tx, req.params.channelId);
        const messages = await channelMessages(tx, channel.id, req.query.limit);
        const ids = messages.map((m) => m.id);
        const reactions = await reactionsOn(tx, ids);
        const files = await attachmentsOfMessages(tx, ids);
        const orgId = req.params.orgId;
        return {
          channel,
          messages: messages.map((m) => ({
            ...m,
            attachments: files.filter((f) => f.messageId === m.id).map((f) => withUrl(app, orgId, f)),
            reactions: reactions.filter((r) => r.messageId === m.id),
          })),
        };
      }),
  );

  app.post(
    '/v1/orgs/:orgId/channels/:channelId/messages',
    {
      config: { access: { permission: 'tickets.reply' }, idempotent: true },
      schema: {
        tags: I,
        operationId: 'postChannelMessage',
        summary: 'Post in a player DM or a staff room',
        params: channelParams,
        body: z.object({ body: body.min(1, 'a message needs some text') }),
        response: { 201: channelMessage, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { message } = await req.inOrg((tx) =>
        postMessage(
          tx,
          {
            channelId: req.params.channelId,
            body: req.body.body,
            origin: req.auth?.kind === 'token' ? 'api' : 'panel',
          },
          actorOf(req),
        ),
      );
      return reply.status(201).send({ ...message, reactions: [] });
    },
  );

  app.post(
    '/v1/orgs/:orgId/channels/:channelId/read',
    {
      config: { access: { permission: 'tickets.read' } },
      schema: {
        tags: I,
        operationId: 'markChannelRead',
        summary: 'Mark the channel read up to now (for you)',
        params: channelParams,
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      const userId = readerId(actorOf(req));
      if (!userId) throw new AppError('forbidden', 'unread state belongs to staff members, not API tokens');
      await req.inOrg(async (tx) => {
        await getChannel(tx, req.params.channelId);
        await markRead(tx, req.params.channelId, userId);
      });
      return { ok: true as const };
    },
  );

  for (const [method, remove] of [
    ['PUT', false],
    ['DELETE', true],
  ] as const) {
    app.route({
      method,
      url: '/v1/orgs/:orgId/messages/:messageId/reactions/:emoji',
      config: { access: { permission: 'tickets.reply' } },
      schema: {
        tags: I,
        operationId: remove ? 'removeReaction' : 'addReaction',
        summary: remove ? 'Take back your reaction' : 'React to a message',
        params: messageParams.extend({ emoji: z.string().min(1).max(64) }),
        response: { 200: okSchema, ...errorResponses },
      },
      handler: async (req) => {
        const { messageId, emoji } = req.params as { messageId: string; emoji: string };
        await req.inOrg((tx) => react(tx, { messageId, emoji }, actorOf(req), remove));
        return { ok: true as const };
      },
    });
  }
};
