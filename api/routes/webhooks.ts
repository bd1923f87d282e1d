import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  listDeliveries,
  listDeliveriesInput,
  replayDelivery,
  sendTestEvent,
  type WebhookDelivery,
} from '../../db/webhook-deliveries.js';
import {
  createSubscription,
  createSubscriptionInput,
  deleteSubscription,
  getSubscription,
  listSubscriptions,
  rotateSecret,
  rotateSecretInput,
  updateSubscription,
  updateSubscriptionInput,
  WEBHOOK_EVENT_TYPES,
} from '../../db/webhooks.js';
import { AppError } from '../../lib/errors.js';
import { createSecretBox } from '../../lib/secret-box.js';
import { refusedUrl } from '../../lib/ssrf.js';
import { actorOf } from './helpers.js';
import { errorResponses, okSchema, orgParams } from './schemas.js';
import { at, orgAnd, secretOnce } from './settings-schemas.js';

export const webhookSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    description: z.string().nullable(),
    eventTypes: z.array(z.enum(WEBHOOK_EVENT_TYPES)).meta({
      description:
        'The events delivered. `player.erased` carries ids only (`playerId`, `ticketIds`): the player was erased, so forget what earlier events said of them and of those tickets (their payloads are scrubbed too: an event of theirs delivered after the erase keeps ids and flags only, with `erased: true`). ' +
        '`player.linked` `{playerId, discordUserId, mergedFrom}`: a game account was linked to a Discord user (`mergedFrom`: the profile merged into `playerId`, or null). ' +
        "`player.unlinked` `{playerId, gameId, splitInto}`: staff split that game's account off the player into the profile `splitInto`. " +
        "`player.moderated` `{playerId, warned, mutedUntil, bannedUntil, reason, gameAccounts: [{gameId, gameAccountId}]}`: the player's whole moderation status, set by staff or tightened by a link that merged two profiles; `gameAccounts` are how each game knows the player, so a game server can enforce a ban at once",
    }),
    enabled: z.boolean(),
    disabledAt: at.nullable(),
    disabledReason: z.string().nullable(),
    failingSince: at.nullable(),
    /** While in the future, deliveries carry the previous secret's signature too. */
    previousSecretExpiresAt: at.nullable(),
    createdAt: at,
    updatedAt: at,
  })
  .meta({ id: 'WebhookSubscription' });

export const deliverySchema = z
  .object({
    id: z.uuid(),
    subscriptionId: z.uuid(),
    outboxId: z.number().int().nullable(),
    eventType: z.string(),
    /** The webhook-id header: the same for every attempt of one event. */
    messageId: z.string(),
    /** Numbered per kind: automatic attempts 1..8, manual replays 1, 2, ... on their own. */
    attempt: z.number().int().meta({
      description:
        'Numbered per kind: automatic attempts 1..8, manual replays 1, 2, ... on their own (see replay)',
    }),
    /** A manual replay (never retried), as opposed to an automatic attempt. */
    replay: z.boolean().meta({
      description:
        'A manual replay (POST .../replay, never retried), not an automatic attempt of the same number',
    }),
    status: z.enum(['pending', 'succeeded', 'failed', 'dead']),
    responseStatus: z.number().int().nullable(),
    latencyMs: z.number().int().nullable(),
    responseExcerpt: z.string().nullable(),
    error: z.string().nullable(),
    nextAttemptAt: at.nullable(),
    createdAt: at,
  })
  .meta({ id: 'WebhookDelivery' });

const withSecret = z.object({
  subscription: webhookSchema,
  secret: secretOnce('the signing secret (whsec_...)'),
});

/** The delivery log's page cursor: the last row's time and id, opaque to clients. */
const encodeCursor = (d: WebhookDelivery) =>
  Buffer.from(`${new Date(d.createdAt).toISOString()}|${d.id}`).toString('base64url');
function decodeCursor(raw: string): { createdAt: Date; id: string } {
  const [time, id] = Buffer.from(raw, 'base64url').toString().split('|');
  const createdAt = new Date(time ?? '');
  if (!id || !z.uuid().safeParse(id).success || Number.isNaN(createdAt.getTime())) {
    throw new AppError('validation_failed', 'cursor: not a cursor this API gave out', {
      details: [{ path: 'querystring.cursor', message: 'invalid cursor' }],
    });
  }
  return { createdAt, id };
}

const T = ['webhooks'];
const access = { permission: 'webhooks.manage' } as const;
const subParams = orgAnd('subscriptionId');

export const webhookRoutes: FastifyPluginAsyncZod = async (app) => {
  const box = createSecretBox(app.settings.secretKey);
  const base = '/v1/orgs/:orgId/webhooks';

  /**
   * A target in a range deliveries may not reach (loopback, private, link-local) is refused when
   * saved, so the studio hears it now rather than from the delivery log; the workers check again
   * at connect time. A name that doesn't resolve from here is let through: it may from the workers.
   */
  async function refuseForbiddenTarget(url: string) {
    const why = await refusedUrl(url, app.settings.webhookTargets);
    if (why && !why.endsWith('does not resolve') && why !== 'not a URL') {
      throw new AppError('validation_failed', `webhook deliveries may not go to ${url}: ${why}`, {
        details: [{ path: 'body.url', message: why }],
      });
    }
  }
  const one = `${base}/:subscriptionId`;

  app.get(
    base,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'listWebhooks',
        summary: 'List the webhook subscriptions (never their secrets)',
        params: orgParams,
        response: { 200: z.object({ subscriptions: z.array(webhookSchema) }), ...errorResponses },
      },
    },
    async (req) => ({ subscriptions: await req.inOrg((tx) => listSubscriptions(tx)) }),
  );

  // Not idempotent on purpose: a replayed response would have to keep the plaintext secret.
  app.post(
    base,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'createWebhook',
        summary: 'Subscribe a URL to events (Standard Webhooks); the signing secret is in this response only',
        params: orgParams,
        body: createSubscriptionInput,
        response: { 201: withSecret, ...errorResponses },
      },
    },
    async (req, reply) => {
      await refuseForbiddenTarget(req.body.url);
      return reply
        .status(201)
        .send(await req.inOrg((tx) => createSubscription(tx, req.body, actorOf(req), box)));
    },
  );

  app.get(
    one,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'getWebhook',
        summary: 'One webhook subscription',
        params: subParams,
        response: { 200: webhookSchema, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => getSubscription(tx, req.params.subscriptionId)),
  );

  app.patch(
    one,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'updateWebhook',
        summary:
          'Change the URL, description or events, or disable / re-enable (clears the failure run and gives up the retries pending from before; replay what should still go out)',
        params: subParams,
        body: updateSubscriptionInput
          .omit({ id: true })
          .refine((v) => Object.values(v).some((x) => x !== undefined), 'nothing to change'),
        response: { 200: webhookSchema, ...errorResponses },
      },
    },
    async (req) =>
      (req.body.url ? refuseForbiddenTarget(req.body.url) : Promise.resolve()).then(() =>
        req.inOrg((tx) =>
          updateSubscription(tx, { ...req.body, id: req.params.subscriptionId }, actorOf(req)),
        ),
      ),
  );

  app.delete(
    one,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'deleteWebhook',
        summary: 'Delete a webhook subscription and its delivery log',
        params: subParams,
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      await req.inOrg((tx) => deleteSubscription(tx, req.params.subscriptionId, actorOf(req)));
      return { ok: true as const };
    },
  );

  app.post(
    `${one}/rotate-secret`,
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'rotateWebhookSecret',
        summary:
          'A new signing secret (in this response only); the old one keeps signing too for graceHours (default 24)',
        params: subParams,
        // Optional: a bare POST rotates with the default grace period.
        body: rotateSecretInput.omit({ id: true }).nullish(),
        response: { 200: withSecret, ...errorResponses },
      },
    },
    async (req) =>
      req.inOrg((tx) =>
        rotateSecret(tx, { ...(req.body ?? {}), id: req.params.subscriptionId }, actorOf(req), box),
      ),
  );

  app.get(
    '/v1/orgs/:orgId/webhook-deliveries',
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'listWebhookDeliveries',
        summary: 'The delivery log, newest first: each attempt with status, latency, response excerpt, error',
        params: orgParams,
        querystring: listDeliveriesInput.omit({ before: true }).extend({
          /** The `next` of the previous page. */
          cursor: z.string().max(200).optional(),
        }),
        response: {
          200: z.object({ deliveries: z.array(deliverySchema), next: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { cursor, ...filters } = req.query;
      const before = cursor === undefined ? undefined : decodeCursor(cursor);
      const deliveries = await req.inOrg((tx) => listDeliveries(tx, { ...filters, before }));
      const last = deliveries.at(-1);
      return { deliveries, next: last && deliveries.length === filters.limit ? encodeCursor(last) : null };
    },
  );

  app.post(
    '/v1/orgs/:orgId/webhook-deliveries/:deliveryId/replay',
    {
      config: { access },
      schema: {
        tags: T,
        operationId: 'replayWebhookDelivery',
        summary: "Send a logged delivery's event once more (same webhook-id, next attempt number)",
        params: orgAnd('deliveryId'),
        response: {
          202: z.object({ subscriptionId: z.uuid(), outboxId: z.number().int() }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) =>
      reply
        .status(202)
        .send(
          await req.inOrg((tx) => replayDelivery(tx, { deliveryId: req.params.deliveryId }, actorOf(req))),
        ),
  );

  app.post(
    `${one}/test`,
    {
      config: { access, idempotent: true },
      schema: {
        tags: T,
        operationId: 'sendWebhookTest',
        summary:
          'Send the subscription a signed webhook.test event once; its attempt appears in the delivery log under messageId',
        params: subParams,
        response: {
          202: z.object({ subscriptionId: z.uuid(), eventId: z.number().int(), messageId: z.string() }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) =>
      reply
        .status(202)
        .send(await req.inOrg((tx) => sendTestEvent(tx, req.params.subscriptionId, actorOf(req)))),
  );
};
