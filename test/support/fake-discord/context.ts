import type { IncomingHttpHeaders } from 'node:http';
import type { Faults } from './faults.js';
import type { Gateway } from './gateway.js';
import type { Interactions } from './interactions.js';
import type { TrafficLog } from './log.js';
import type { OAuth2 } from './oauth2.js';
import type { DiscordState, Json } from './state.js';

export interface SessionStartLimit {
  total: number;
  remaining: number;
  reset_after: number;
  max_concurrency: number;
}

export interface FakeDiscordOptions {
  applicationId?: string;
  botToken?: string;
  botName?: string;
  clientSecret?: string;
  /** Shard count `/gateway/bot` recommends. Default 1. */
  shards?: number;
  sessionStartLimit?: Partial<SessionStartLimit>;
  /** Heartbeat interval sent in HELLO. Default 41250 ms, like Discord. */
  heartbeatIntervalMs?: number;
  /** Deadline for the first interaction response. Default 3000 ms, like Discord. */
  interactionDeadlineMs?: number;
  /** How long an interaction token accepts edits and follow-ups. Default 15 minutes. */
  interactionTokenLifetimeMs?: number;
  /** Registered OAuth2 redirect URIs; empty accepts any http(s) URI. */
  redirectUris?: string[];
  /** Answer an IDENTIFY that breaks `max_concurrency` with op 9, as Discord does. Default false. */
  enforceIdentifyRateLimit?: boolean;
  /** Whether the application may use the privileged Message Content intent. Default true; false closes with 4014. */
  messageContentIntent?: boolean;
  /** Enforce Discord's global limit: this many requests per second per bot token (Discord: 50). Default off. */
  globalRateLimit?: number;
}

export interface ResolvedOptions {
  shards: number;
  sessionStartLimit: SessionStartLimit;
  heartbeatIntervalMs: number;
  interactionDeadlineMs: number;
  interactionTokenLifetimeMs: number;
  redirectUris: string[];
  enforceIdentifyRateLimit: boolean;
  messageContentIntent: boolean;
}

/** What every route handler can reach. */
export interface FakeContext {
  state: DiscordState;
  log: TrafficLog;
  gateway: Gateway;
  interactions: Interactions;
  oauth2: OAuth2;
  faults: Faults;
  options: ResolvedOptions;
  baseUrl: () => string;
  /** Files of attachments, served under `/cdn/...` (Discord's CDN, on loopback), by path. */
  cdn: Map<string, { body: Buffer; contentType: string }>;
}

export interface UploadedFile {
  field: string;
  filename: string;
  size: number;
  contentType: string;
}

export interface RestRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  files: UploadedFile[];
  headers: IncomingHttpHeaders;
  auditReason: string | null;
  /** The OAuth2 bearer token's grant, on routes that accept one. */
  bearer: { userId: string; scopes: string[] } | null;
}

export interface RestReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type AuthKind = 'bot' | 'none' | 'bot-or-bearer';

export interface Route {
  method: string;
  template: string;
  auth: AuthKind;
  handler: (req: RestRequest, fake: FakeContext) => RestReply | Promise<RestReply>;
}

export function ok(body: unknown, status = 200): RestReply {
  return { status, body };
}

export function noContent(): RestReply {
  return { status: 204 };
}

/** Discord's error body: `{ code, message, errors? }`. */
export function apiError(status: number, code: number, message: string, errors?: Json): RestReply {
  return { status, body: errors ? { code, message, errors } : { code, message } };
}

export const Errors = {
  unknownChannel: () => apiError(404, 10003, 'Unknown Channel'),
  unknownMessage: () => apiError(404, 10008, 'Unknown Message'),
  unknownGuild: () => apiError(404, 10004, 'Unknown Guild'),
  unknownMember: () => apiError(404, 10007, 'Unknown Member'),
  unknownUser: () => apiError(404, 10013, 'Unknown User'),
  cannotMessageUser: () => apiError(403, 50007, 'Cannot send messages to this user'),
  unknownRole: () => apiError(404, 10011, 'Unknown Role'),
  unknownWebhook: () => apiError(404, 10015, 'Unknown Webhook'),
  unknownInteraction: () => apiError(404, 10062, 'Unknown interaction'),
  unknownApplication: () => apiError(404, 10002, 'Unknown Application'),
  unknownCommand: () => apiError(404, 10063, 'Unknown application command'),
  alreadyAcknowledged: () => apiError(400, 40060, 'Interaction has already been acknowledged.'),
  invalidWebhookToken: () => apiError(401, 50027, 'Invalid Webhook Token'),
  missingPermissions: () => apiError(403, 50013, 'Missing Permissions'),
  missingAccess: () => apiError(403, 50001, 'Missing Access'),
  emptyMessage: () => apiError(400, 50006, 'Cannot send an empty message'),
  nonTextChannel: () => apiError(400, 50008, 'Cannot send messages in a non-text channel'),
  wrongChannelType: () => apiError(400, 50024, 'Cannot execute action on this channel type'),
  threadArchived: () => apiError(400, 50083, 'Thread is archived'),
  threadAlreadyCreated: () => apiError(400, 160004, 'A thread has already been created for this message'),
  editOthersMessage: () => apiError(403, 50005, 'Cannot edit a message authored by another user'),
  invalidFormBody: (errors: Json) => apiError(400, 50035, 'Invalid Form Body', errors),
  unauthorized: () => apiError(401, 0, '401: Unauthorized'),
  notFound: () => apiError(404, 0, '404: Not Found'),
  methodNotAllowed: () => apiError(405, 0, '405: Method Not Allowed'),
};
