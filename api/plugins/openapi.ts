import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { API_TOKEN_SCOPES, SCOPE_PERMISSIONS } from '../../db/api-tokens.js';
import { type Access, acceptedPermissions } from '../context.js';
import { errorSchema } from '../routes/schemas.js';
import { finishDocument } from './openapi-document.js';

/** Every tag a route may use, in the order the docs page lists them; a test checks each is here. */
export const OPENAPI_TAGS = [
  { name: 'health', description: 'Liveness and readiness probes for load balancers and orchestrators.' },
  {
    name: 'auth',
    description:
      'Signing in to the panel with Discord (OAuth2 with PKCE), the session and its CSRF token, signing ' +
      'out, and two-factor sign-in (TOTP) with recovery codes.',
  },
  { name: 'me', description: 'The signed-in person: the organizations they belong to.' },
  {
    name: 'organizations',
    description:
      'Creating an organization (a studio) and changing its settings, TOTP requirement and limits.',
  },
  { name: 'audit', description: 'The audit log of staff actions, permission changes and settings changes.' },
  { name: 'members', description: 'Members of an organization, their roles, and invitations.' },
  { name: 'roles', description: 'System and custom roles and the permissions they grant.' },
  { name: 'teams', description: 'Teams of staff that tickets can be routed to.' },
  {
    name: 'tickets',
    description:
      'Search and work tickets: create, reply, internal notes, assign, claim, transfer, status, priority, ' +
      'tags, merge, close, reopen, and bulk actions.',
  },
  {
    name: 'attachments',
    description: 'Files on tickets: streamed uploads, and downloads through short-lived signed links.',
  },
  {
    name: 'inbox',
    description:
      'Conversation channels (tickets, player DMs, staff rooms), their messages, read state and reactions.',
  },
  {
    name: 'notifications',
    description:
      'Your notification centre: what concerns you (assignments, mentions, player replies, SLA, new tickets ' +
      'in your team, rules), unread count, mark read, and your preferences per event and channel.',
  },
  {
    name: 'players',
    description: 'Players: profiles, linked identities (Discord, email, game accounts) and history.',
  },
  {
    name: 'api-tokens',
    description:
      'Organization API tokens for scripts and integrations (shown once, stored hashed, scoped, revocable). ' +
      'A token made by a staff member never does more than that member can do at the time of each ' +
      "request: a demotion or a role edit narrows it at once, a disabled member's token answers as a " +
      'non-member, and removing the member from the organization revokes it for good. A token the ' +
      'operator made (CLI) belongs to the organization and only its scopes bound it.',
  },
  {
    name: 'oauth',
    description:
      'OAuth 2.0 for API clients: clients registered per organization, the token endpoint ' +
      '(authorization_code with PKCE S256, client_credentials, rotating refresh tokens), revocation ' +
      '(RFC 7009) and introspection (RFC 7662). These three endpoints take form-encoded bodies and ' +
      'refuse with RFC 6749 §5.2 bodies, { "error", "error_description" }.',
  },
  { name: 'games', description: "The organization's games and the keys their in-game SDKs use." },
  {
    name: 'analytics',
    description:
      'Support metrics from the rollups: volume, response times, SLA, reopens, CSAT, workload, peak hours; JSON or CSV.',
  },
  {
    name: 'retention',
    description: 'How long tickets, messages and logs are kept before purging or anonymising.',
  },
  {
    name: 'privacy',
    description: "A player's data on request: an export archive behind a short signed link, and erasure.",
  },
  {
    name: 'guilds',
    description: 'Linked Discord servers: link codes, per-server settings and role mappings.',
  },
  { name: 'categories', description: 'Ticket categories with their intake questions.' },
  {
    name: 'email',
    description:
      'The email bridge: inbound addresses, the HTTP intake of raw mail (authenticated by the intake secret) and the mail log.',
  },
  { name: 'canned-replies', description: 'Saved replies with variables, and a preview that fills them.' },
  {
    name: 'sla',
    description: 'SLA policies (first response, next response, resolution) and business calendars.',
  },
  {
    name: 'webhooks',
    description:
      'Signed outgoing webhooks (Standard Webhooks v1): subscriptions, secret rotation, test events, the ' +
      'delivery log and replays.',
  },
  {
    name: 'rules',
    description:
      'Automation rules: a trigger, conditions over the ticket and its message, ordered actions; their ' +
      'order, a dry run on recent tickets and the per-ticket run log.',
  },
  { name: 'live', description: 'Live updates and presence over a WebSocket (protocol in the API guide).' },
  {
    name: 'sdk',
    description:
      'The in-game endpoints the game SDKs call, authenticated by a game key in X-Game-Key (a client ' +
      'key, or a game server secret for the routes that say so). Wire contract: sdk/PROTOCOL.md.',
  },
] as const;

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

type Security = Record<string, string[]>[];

/**
 * Who may call an operation, from the access the route declares, so the document can't drift from
 * the check. A cookie session must send x-csrf-token on writes; API tokens never reach user routes.
 */
function securityOf(access: Access | undefined, methods: readonly string[]): Security | undefined {
  if (access === undefined) return undefined;
  if (access === 'public') return [];
  if (access === 'game-client' || access === 'game-server') return [{ gameKey: [] }];
  const session: Security[number] = methods.some((m) => WRITES.has(m))
    ? { session: [], csrf: [] }
    : { session: [] };
  if (access === 'session' || access === 'authenticated') return [session];
  if (access === 'caller') return [session, { token: [] }, { oauth2: [] }];
  // An OAuth token needs any one scope that grants one of the accepted permissions; OpenAPI
  // lists scopes a token must hold all of, so each scope is an alternative of its own.
  const accepted = acceptedPermissions(access);
  const scopes = API_TOKEN_SCOPES.filter((s) => SCOPE_PERMISSIONS[s].some((p) => accepted.includes(p)));
  return [session, { token: [] }, ...scopes.map((s) => ({ oauth2: [s] }))];
}

/** The scopes as the oauth2 security scheme lists them, each with the permissions it grants. */
const OAUTH_SCOPES = Object.fromEntries(
  API_TOKEN_SCOPES.map((s) => [s, `grants ${SCOPE_PERMISSIONS[s].join(', ')}`]),
);

/**
 * The error statuses any route can answer by the way it is declared (access, rate limit, inputs),
 * whether or not its file lists them: the document should name every answer a client must handle.
 */
function impliedErrors(route: RouteOptions, schema: Record<string, unknown>, methods: readonly string[]) {
  const access = route.config?.access;
  const statuses = [500];
  if (access !== 'public') statuses.push(401, 403);
  if (typeof access === 'object') statuses.push(404);
  if (route.config?.rateLimit !== 'none') statuses.push(429, 503);
  if (schema.body || schema.params || schema.querystring) statuses.push(422);
  if (methods.some((m) => WRITES.has(m))) statuses.push(400, 413, 415);
  // A replayed key with another request is refused (422), one still running too (409).
  if (route.config?.idempotent) statuses.push(409, 422);
  return statuses;
}

/** The header creating POSTs take so a retry can't create twice (see the idempotency plugin). */
const idempotencyHeader = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .meta({
      description:
        'Your id for this request: a retry with the same key gets the stored answer (kept 24 hours) ' +
        'instead of creating again. Answers that mean "try again" (5xx, 429, a 409 with ' +
        '`details.retryable`) are not kept: the retry runs',
    }),
});

/**
 * The zod to JSON Schema conversion's per-node hook: the library's own (empty union branches
 * dropped, dates as date-time strings) applied to inputs as well. A date in a query or a body can
 * only arrive as an ISO 8601 string, and without this clients would see it typed `unknown`.
 */
function describeNode(ctx: { zodSchema: z.core.$ZodType; jsonSchema: z.core.JSONSchema.BaseSchema }) {
  const { type } = ctx.zodSchema._zod.def;
  if (type === 'union' && ctx.jsonSchema.anyOf) {
    ctx.jsonSchema.anyOf = ctx.jsonSchema.anyOf.filter((branch) => Object.keys(branch).length > 0);
  }
  if (type === 'date') Object.assign(ctx.jsonSchema, { type: 'string', format: 'date-time' });
}

const zodToJsonConfig = { override: describeNode };
const zodTransform = createJsonSchemaTransform({ zodToJsonConfig });
const zodTransformObject = createJsonSchemaTransformObject({ zodToJsonConfig });

/** The body of a streamed download: the bytes, under the file's own Content-Type. */
const STREAMED_ANSWER = {
  200: {
    description: "The file's bytes, with its own Content-Type",
    content: { 'application/octet-stream': { schema: z.string().meta({ format: 'binary' }) } },
  },
};

/** A web page a route answers (`produces: ['text/html']` in its schema), such as a transcript. */
const PAGE_ANSWER = {
  200: {
    description: 'An HTML page',
    content: { 'text/html': { schema: z.string() } },
  },
};

type TransformInput = Parameters<typeof zodTransform>[0] & { route: RouteOptions };

/**
 * Per route, before its zod schemas become JSON Schema: its security from its access, every error
 * it can answer, and the Idempotency-Key header where it takes one. Only the document changes;
 * the route's own schema (validation, serialization) is left as it is.
 */
function transformRoute(input: TransformInput) {
  const { route } = input;
  const { produces, ...schema } = (input.schema ?? {}) as Record<string, unknown>;
  if (schema.hide) return zodTransform(input);
  const methods = (Array.isArray(route.method) ? route.method : [route.method]).map(String);
  const response = { ...(schema.response as Record<string, unknown> | undefined) };
  // A route that streams its answer (a download) declares no response schema: one would make
  // its answer JSON. (The WebSocket route is hidden from the document by @fastify/websocket.)
  // A page declares `produces: ['text/html']` instead (its errors stay JSON).
  const page = Array.isArray(produces) && produces.includes('text/html');
  if (!schema.response) Object.assign(response, page ? PAGE_ANSWER : STREAMED_ANSWER);
  // The OAuth endpoints state their own security and list their RFC 6749 refusals themselves;
  // only a server failure answers there in the API's shape.
  const implied = schema.security ? [500, 503] : impliedErrors(route, schema, methods);
  for (const status of implied) response[status] ??= errorSchema;
  const security = securityOf(route.config?.access, methods);
  // A route's own headers (If-Match on the ticket actions) come with the Idempotency-Key, not
  // instead of it; an SDK route that declares the key itself keeps its own words.
  const own = schema.headers instanceof z.ZodObject ? schema.headers : undefined;
  const headers = route.config?.idempotent
    ? own
      ? idempotencyHeader.extend(own.shape)
      : (schema.headers ?? idempotencyHeader)
    : schema.headers;
  return zodTransform({
    ...input,
    // A route that states its own security (the OAuth endpoints: client authentication) keeps it.
    schema: {
      ...schema,
      response,
      ...(headers ? { headers } : {}),
      ...(security && !schema.security && { security }),
    },
  });
}

/** OpenAPI 3.1 generated from the routes' zod schemas: JSON at /docs/json, a browsable page at /docs. */
export async function registerOpenApi(app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'GameMod API',
        version: '1.0.0',
        description:
          'Support and moderation hub for game studios. Authenticate with the panel session cookie ' +
          '(writes also need the x-csrf-token header) or with an API token (Authorization: Bearer gm_...). ' +
          'Errors are always { "error": { "code", "message", "details" } }.',
      },
      // Where this server is reached (PUBLIC_URL), so generated clients and the docs page call it.
      servers: [{ url: app.settings.publicUrl, description: 'This GameMod server' }],
      tags: [...OPENAPI_TAGS],
      components: {
        securitySchemes: {
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: 'gm_session',
            description: 'The panel session, set by signing in with Discord.',
          },
          csrf: {
            type: 'apiKey',
            in: 'header',
            name: 'x-csrf-token',
            description: 'Required with the session cookie on writes; GET /auth/session gives it.',
          },
          token: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'gm_...',
            description: "An organization's API token, limited to its scopes.",
          },
          oauth2: {
            type: 'oauth2',
            description:
              'OAuth 2.0 access tokens (gmo_...), sent as Authorization: Bearer. Access tokens last 15 ' +
              'minutes by default; refresh tokens rotate on every use.',
            flows: {
              clientCredentials: {
                tokenUrl: `${app.settings.publicUrl}/v1/oauth/token`,
                scopes: OAUTH_SCOPES,
              },
              authorizationCode: {
                authorizationUrl: `${app.settings.publicUrl}/v1/oauth/authorize`,
                tokenUrl: `${app.settings.publicUrl}/v1/oauth/token`,
                refreshUrl: `${app.settings.publicUrl}/v1/oauth/token`,
                scopes: OAUTH_SCOPES,
              },
            },
          },
          clientBasic: {
            type: 'http',
            scheme: 'basic',
            description:
              "An OAuth client's client_id and client_secret (form-urlencoded, then Basic), for the " +
              'token, revocation and introspection endpoints; they may also come as form fields.',
          },
          gameKey: {
            type: 'apiKey',
            in: 'header',
            name: 'x-game-key',
            description:
              "A game's client key (gmk_..., player actions) or server secret (gms_..., every /sdk/v1 route).",
          },
        },
      },
      security: [{ session: [] }, { token: [] }, { oauth2: [] }],
    },
    transform: transformRoute as unknown as typeof zodTransform,
    transformObject: (input) => finishDocument(zodTransformObject(input)),
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
}
