import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  addInboundAddress,
  inboundAddressInput,
  listInboundAddresses,
  rotateIntakeSecret,
} from '../../db/email-addresses.js';
import { listEmails } from '../../db/email-messages.js';
import { actorOf } from './helpers.js';
import { errorResponses, orgParams } from './schemas.js';
import { at } from './settings-schemas.js';

/**
 * The email bridge's settings (inbound addresses, the HTTP intake secret) and the mail log
 * staff read to see what arrived and what became of it: mail that made no ticket (auto-replies,
 * bounces) and mail that could not be read, with the parse error.
 */
const T = ['email'];
const manage = { permission: 'org.manage' } as const;

const addressSchema = z
  .object({
    id: z.uuid(),
    address: z.string(),
    senderName: z.string().nullable(),
    isDefault: z.boolean(),
    createdAt: at,
  })
  .meta({ id: 'EmailInboundAddress' });

const IN_STATUSES = ['new_ticket', 'reply', 'auto_reply', 'bounce', 'unparseable', 'ignored'] as const;
const OUT_STATUSES = ['queued', 'sent', 'failed', 'suppressed'] as const;

const logSchema = z
  .object({
    id: z.uuid(),
    direction: z.enum(['in', 'out']),
    messageId: z.string(),
    ticketId: z.uuid().nullable(),
    status: z.enum([...IN_STATUSES, ...OUT_STATUSES]),
    reason: z.string().nullable(),
    inReplyTo: z.string().nullable(),
    fromAddress: z.string().nullable(),
    toAddresses: z.array(z.string()),
    subject: z.string().nullable(),
    parseError: z.string().nullable(),
    rawSize: z.number().int().nullable(),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    sentAt: at.nullable(),
    createdAt: at,
  })
  .meta({ id: 'EmailLogEntry' });

export const emailSettingsRoutes: FastifyPluginAsyncZod = async (app) => {
  const base = '/v1/orgs/:orgId/email';

  app.get(
    `${base}/addresses`,
    {
      config: { access: { permission: 'org.read' } },
      schema: {
        tags: T,
        operationId: 'listEmailAddresses',
        summary: 'The addresses the organization receives support mail at',
        params: orgParams,
        response: { 200: z.object({ addresses: z.array(addressSchema) }), ...errorResponses },
      },
    },
    async (req) => ({ addresses: await req.inOrg((tx) => listInboundAddresses(tx)) }),
  );

  app.post(
    `${base}/addresses`,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'addEmailAddress',
        summary: 'Receive support mail at an address (the first, or the default, also sends the replies)',
        params: orgParams,
        body: inboundAddressInput,
        response: { 201: addressSchema, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply.status(201).send(await req.inOrg((tx) => addInboundAddress(tx, req.body, actorOf(req)))),
  );

  app.post(
    `${base}/intake-secret`,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'rotateEmailIntakeSecret',
        summary:
          'Make a new secret for POST /v1/inbound/email/{orgSlug} (shown once; the old one stops working)',
        params: orgParams,
        response: { 201: z.object({ secret: z.string(), prefix: z.string() }), ...errorResponses },
      },
    },
    async (req, reply) =>
      reply.status(201).send(await req.inOrg((tx) => rotateIntakeSecret(tx, actorOf(req)))),
  );

  app.get(
    `${base}/messages`,
    {
      config: { access: { permission: 'tickets.read' } },
      schema: {
        tags: T,
        operationId: 'listEmailMessages',
        summary: 'The mail log, newest first: every mail received or sent and what became of it',
        params: orgParams,
        querystring: z.object({
          ticketId: z.uuid().optional(),
          status: z.enum([...IN_STATUSES, ...OUT_STATUSES]).optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
        response: { 200: z.object({ messages: z.array(logSchema) }), ...errorResponses },
      },
    },
    async (req) => ({ messages: await req.inOrg((tx) => listEmails(tx, req.query)) }),
  );
};
