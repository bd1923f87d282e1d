import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  defaultPrefs,
  getPrefs,
  NOTIFICATION_CHANNELS,
  NOTIFICATION_EVENTS,
  prefsInput,
  updatePrefs,
} from '../../db/notification-prefs.js';
import {
  listNotifications,
  markAllRead,
  markRead,
  markReadInput,
  unreadCount,
} from '../../db/notifications.js';
import {
  listPushDevices,
  subscribeInput,
  subscribePush,
  unsubscribeInput,
  unsubscribePush,
} from '../../db/push-subscriptions.js';
import { vapidKeys } from '../../db/vapid-keys.js';
import { AppError } from '../../lib/errors.js';
import { createSecretBox } from '../../lib/secret-box.js';
import { refusedAddress } from '../../lib/ssrf.js';
import { sessionTimes } from '../plugins/auth.js';
import { markSession, sessionRef } from '../sessions.js';
import { actorOf } from './helpers.js';
import { errorResponses, orgParams } from './schemas.js';

const notificationSchema = z
  .object({
    id: z.uuid(),
    event: z.enum(NOTIFICATION_EVENTS),
    ticketId: z.uuid().nullable(),
    ticketNumber: z.number().int().nullable(),
    title: z.string(),
    body: z.string().nullable(),
    readAt: z.date().nullable(),
    createdAt: z.date(),
  })
  .meta({ id: 'Notification' });

const channelFlags = z.object(
  Object.fromEntries(NOTIFICATION_CHANNELS.map((c) => [c, z.boolean()])) as Record<
    (typeof NOTIFICATION_CHANNELS)[number],
    z.ZodBoolean
  >,
);
const prefsSchema = z
  .object({
    timeZone: z.string(),
    quietStart: z.number().int(),
    quietEnd: z.number().int(),
    emailDigest: z.boolean(),
    digestHour: z.number().int(),
    events: z.object(
      Object.fromEntries(NOTIFICATION_EVENTS.map((e) => [e, channelFlags])) as Record<
        (typeof NOTIFICATION_EVENTS)[number],
        typeof channelFlags
      >,
    ),
  })
  .meta({ id: 'NotificationPreferences' });

const countSchema = z.object({ unread: z.number().int() });
const deviceSchema = z
  .object({
    id: z.uuid(),
    service: z.string().describe('The push service (origin of the endpoint)'),
    label: z.string().nullable(),
    createdAt: z.date(),
    lastOkAt: z.date().nullable(),
  })
  .meta({ id: 'PushDevice' });
const updatedSchema = z.object({ updated: z.number().int() });

const N = ['notifications'];
// A member hears only of tickets they may read; the centre is behind the same permission.
const access = { permission: 'tickets.read' } as const;

/** Notifications belong to a member: an API token has none. */
function memberOf(req: FastifyRequest): string {
  const actor = actorOf(req);
  if (actor.type !== 'user')
    throw new AppError('forbidden', 'notifications belong to staff members, not API tokens');
  return actor.id;
}

/** The caller's notification centre and preferences (workers/notifications.ts fills it). */
export const notificationRoutes: FastifyPluginAsyncZod = async (app) => {
  const base = '/v1/orgs/:orgId/notifications';
  const box = createSecretBox(app.settings.secretKey);

  /**
   * A courtesy check when a device subscribes; the workers guard every connection (lib/ssrf.ts).
   * Only what needs no DNS: an address literal, and plain HTTP, which no push service uses.
   */
  function refuseEndpoint(endpoint: string) {
    const u = new URL(endpoint);
    const targets = app.settings.webhookTargets;
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const why =
      u.protocol === 'http:' && !targets.allowLoopback
        ? 'push services are reached over https'
        : isIP(host)
          ? refusedAddress(host, targets)
          : null;
    if (why)
      throw new AppError('validation_failed', `push endpoint refused: ${why}`, {
        details: [{ path: 'body.endpoint', message: why }],
      });
  }

  app.get(
    base,
    {
      config: { access },
      schema: {
        tags: N,
        operationId: 'listNotifications',
        summary: 'Your notifications, newest first (keyset paging with `before`)',
        params: orgParams,
        querystring: z.object({
          unread: z.stringbool().default(false),
          before: z.uuid().optional(),
          limit: z.coerce.number().int().min(1).max(100).default(30),
        }),
        response: {
          200: z.object({ notifications: z.array(notificationSchema), unread: z.number().int() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      // A token has no notifications: an empty list, as for saved views.
      const actor = actorOf(req);
      if (actor.type !== 'user') return { notifications: [], unread: 0 };
      return req.inOrg(async (tx) => ({
        notifications: await listNotifications(tx, actor.id, req.query),
        unread: await unreadCount(tx, actor.id),
      }));
    },
  );

  app.get(
    `${base}/unread-count`,
    {
      config: { access },
      schema: {
        tags: N,
        operationId: 'countUnreadNotifications',
        summary: 'How many of your notifications are unread (the bell)',
        params: orgParams,
        response: { 200: countSchema, ...errorResponses },
      },
    },
    async (req) => {
      const actor = actorOf(req);
      if (actor.type !== 'user') return { unread: 0 };
      return { unread: await req.inOrg((tx) => unreadCount(tx, actor.id)) };
    },
  );

  app.post(
    `${base}/read`,
    {
      config: { access },
      schema: {
        tags: N,
        operationId: 'markNotificationsRead',
        summary: 'Mark some of your notifications read (others’ ids are ignored)',
        params: orgParams,
        body: markReadInput,
        response: { 200: updatedSchema, ...errorResponses },
      },
    },
    async (req) => {
      const userId = memberOf(req);
      return { updated: await req.inOrg((tx) => markRead(tx, userId, req.body)) };
    },
  );

  app.post(
    `${base}/read-all`,
    {
      config: { access },
      schema: {
        tags: N,
        operationId: 'markAllNotificationsRead',
        summary: 'Mark all your notifications read',
        params: orgParams,
        response: { 200: updatedSchema, ...errorResponses },
      },
    },
    async (req) => {
      const userId = memberOf(req);
      return { updated: await req.inOrg((tx) => markAllRead(tx, userId)) };
    },
  );

  app.get(
    `${base}/preferences`,
    {
      config: { access },
      schema: {
        tags: N,
        operationId: 'getNotificationPreferences',
        summary: 'Your notification preferences: per event and channel, quiet hours, email digest',
        params: orgParams,
        response: { 200: prefsSchema, ...errorResponses },
      },
    },
    async (req) => {
      // A token has no preferences of its own: the defaults, as a list of its notifications is empty.
      const actor = actorOf(req);
      if (actor.type !== 'user') return defaultPrefs();
      return req.inOrg((tx) => getPrefs(tx, actor.id));
    },
  );

  app.put(
    `${base}/preferences`,
    {
      config: { access },
      schema: {
        tags: N,
        operationId: 'updateNotificationPreferences',
        summary: 'Change some of your notification preferences (what is left out stays as it is)',
        params: orgParams,
        body: prefsInput,
        response: { 200: prefsSchema, ...errorResponses },
      },
    },
    async (req) => {
      const userId = memberOf(req);
      return req.inOrg((tx) => updatePrefs(tx, userId, req.body, actorOf(req)));
    },
  );
  app.get(
    `${base}/push`,
    {
      config: { access },
      schema: {
        tags: N,
        operationId: 'getPushSettings',
        summary: 'The VAPID public key a browser subscribes with, and your devices that receive Web Push',
        params: orgParams,
        response: {
          200: z.object({
            publicKey: z.string().describe('applicationServerKey for PushManager.subscribe (base64url)'),
            devices: z.array(deviceSchema),
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { publicKey } = await vapidKeys(app.deps.pool, box, app.settings.webPushVapid);
      const actor = actorOf(req);
      if (actor.type !== 'user') return { publicKey, devices: [] };
      return { publicKey, devices: await req.inOrg((tx) => listPushDevices(tx, actor.id)) };
    },
  );

  app.post(
    `${base}/push/subscriptions`,
    {
      config: { access },
      schema: {
        tags: N,
        operationId: 'subscribePush',
        summary: 'Receive Web Push on this device (the body is PushSubscription.toJSON(), plus a label)',
        params: orgParams,
        body: subscribeInput,
        response: { 201: deviceSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const userId = memberOf(req);
      refuseEndpoint(req.body.endpoint);
      // Tied to the sign-in session, so signing out of this browser ends its push on the server.
      // The session's mark lets workers stop the push once it times out (lib/session-marks.ts).
      const session = req.auth?.kind === 'session' ? req.auth.session : null;
      if (session) await markSession(app.deps.redis, session, sessionTimes(app.settings));
      const ref = session ? sessionRef(session) : null;
      const device = await req.inOrg((tx) => subscribePush(tx, box, userId, req.body, actorOf(req), ref));
      return reply.code(201).send(device);
    },
  );

  app.post(
    `${base}/push/unsubscribe`,
    {
      config: { access },
      schema: {
        tags: N,
        operationId: 'unsubscribePush',
        summary: 'Stop Web Push to one of your devices, named by its endpoint',
        params: orgParams,
        body: unsubscribeInput,
        response: { 200: z.object({ removed: z.boolean() }), ...errorResponses },
      },
    },
    async (req) => {
      const userId = memberOf(req);
      return { removed: await req.inOrg((tx) => unsubscribePush(tx, userId, req.body, actorOf(req))) };
    },
  );
};
