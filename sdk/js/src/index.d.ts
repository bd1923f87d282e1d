/** GameMod in-game SDK for JavaScript and TypeScript (browsers and Node). Wire contract: ../PROTOCOL.md. */

export declare const VERSION: string;

/** A player as the game names them. */
export interface Player {
  /** The game's own account id (Steam id, Roblox user id...), 1 to 200 characters. */
  id: string;
  /** Display name, 1 to 100 characters. */
  name: string;
}

export interface GameContext {
  platform?: string;
  build?: string;
  region?: string;
  server?: string;
  matchId?: string;
  position?: { x: number; y: number; z?: number; map?: string };
  locale?: string;
  custom?: Record<string, unknown>;
  log?: string;
}

export interface OpenTicket {
  player: Player;
  subject: string;
  body: string;
  category?: string;
  context?: GameContext;
}

export type ReportReason =
  | 'cheating'
  | 'exploiting'
  | 'harassment'
  | 'hate_speech'
  | 'threats'
  | 'spam'
  | 'scam'
  | 'griefing'
  | 'inappropriate_name'
  | 'inappropriate_content'
  | 'impersonation'
  | 'real_money_trading'
  | 'underage'
  | 'self_harm'
  | 'other';

export interface Report {
  reporter: Player;
  reported: Player;
  reason: ReportReason;
  message?: string;
  matchId?: string;
  evidence?: Record<string, unknown>;
}

export type TicketStatus = 'open' | 'pending' | 'on_hold' | 'solved' | 'closed';
export interface SdkTicket {
  id: string;
  number: number;
  subject: string;
  status: TicketStatus;
  createdAt: string;
  updatedAt: string;
  /** Set once staff merged this ticket into another (it is closed): read and reply there. Absent from older servers. */
  mergedIntoId?: string | null;
}
/** A file on a message. `url` is a path on the server, not a download link: see attachmentLink(). */
export interface SdkAttachment {
  id: string;
  filename: string;
  contentType: string;
  sizeBytes: number;
  url: string;
}
export interface SdkMessage {
  id: string;
  /**
   * Who wrote it: `player` your player, `participant` someone else on the player's side (a
   * guildmate staff added to the ticket on Discord, the player of another ticket staff merged into
   * this one, someone in a public forum post), `staff` the studio. Show a value you don't know as
   * not your player's.
   */
  author: 'player' | 'participant' | 'staff';
  body: string;
  createdAt: string;
  /** The message's files (a staff reply's, the player's own from Discord or email); empty when none. */
  attachments: SdkAttachment[];
}
export interface Announcement {
  id: string;
  title: string;
  body: string;
  publishedAt: string;
  expiresAt: string | null;
}
export interface ModerationStatus {
  playerId: string;
  warned: boolean;
  /**
   * Banned now, by the server's clock. Enforce this, not `bannedUntil`: an ended ban stays there
   * (in the past). Missing from a server older than the field.
   */
  banned?: boolean;
  /** Muted now, by the server's clock (an ended mute stays in `mutedUntil`). */
  muted?: boolean;
  mutedUntil: string | null;
  bannedUntil: string | null;
  reason: string | null;
}

/** getItem/setItem, sync or async: localStorage, an engine's KV store, fileStorage() in Node. */
export interface QueueStorage {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
}

export interface GameModOptions {
  /** The GameMod server, e.g. https://support.example.com */
  baseUrl: string;
  /** A client key (gmk_...) or, on game servers only, the server secret (gms_...). */
  key: string;
  /** Where unsent reports wait (default: in memory). */
  storage?: QueueStorage;
  /** Retries after the first attempt on 429, 5xx and network failures (default 4). */
  retries?: number;
  /** First backoff (default 500 ms), doubled each retry up to maxDelayMs (default 30 s), with jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per-request timeout (default 15 s). */
  timeoutMs?: number;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** How to wait between retries (tests replace it). */
  sleep?: (ms: number) => Promise<void>;
}

export interface QueuedReport {
  idempotencyKey: string;
  report: Report;
  queuedAt: string;
}

export declare class GameMod {
  constructor(options: GameModOptions);
  /** The call every method makes (retries included), for a route this version has no method for. */
  request(
    method: 'GET' | 'POST',
    path: string,
    opts?: { body?: unknown; idempotencyKey?: string; etag?: string; safe?: boolean },
  ): Promise<{ status: number; body: unknown; etag: string | null }>;
  openTicket(
    input: OpenTicket,
    opts?: { idempotencyKey?: string },
  ): Promise<{ ticket: SdkTicket; created: boolean }>;
  listTickets(
    playerId: string,
    opts?: { since?: string; etag?: string },
  ): Promise<{ notModified: boolean; tickets: SdkTicket[]; cursor: string | null; etag: string | null }>;
  getTicket(
    ticketId: string,
    playerId: string,
    opts?: { since?: string; etag?: string },
  ): Promise<{
    notModified: boolean;
    ticket: SdkTicket | null;
    messages: SdkMessage[];
    cursor: string | null;
    etag: string | null;
  }>;
  /** A short-lived (60 s) download link for a message's file: use it at once, no key needed. */
  attachmentLink(
    attachment: Pick<SdkAttachment, 'url'>,
  ): Promise<{ url: string; expiresInSeconds: number | null }>;
  reply(
    ticketId: string,
    input: { player: Player; body: string },
    opts?: { idempotencyKey?: string },
  ): Promise<{ message: SdkMessage; ticket: SdkTicket; created: boolean }>;
  reportPlayer(
    report: Report,
  ): Promise<
    | { queued: false; report: { id: string; ticketId: string; createdAt: string }; idempotencyKey: string }
    | { queued: true; report: null; idempotencyKey: string; error: GameModError }
  >;
  queued(): Promise<QueuedReport[]>;
  /**
   * Sends the queued reports, oldest first. A report refused for good (4xx) leaves the queue in
   * `rejected`; a failure that may pass (network, 5xx, 429) or a refused key (401, `AuthError`:
   * an update may bring a new key) stops the flush and keeps the rest.
   */
  flushQueue(): Promise<{
    sent: Array<{ idempotencyKey: string; report: { id: string; ticketId: string; createdAt: string } }>;
    rejected: Array<{ item: QueuedReport; error: GameModError }>;
    remaining: number;
  }>;
  startSession(input: {
    player: Player;
    platform?: string;
    build?: string;
  }): Promise<{ session: { id: string; startedAt: string }; heartbeatSeconds: number }>;
  heartbeat(sessionId: string): Promise<void>;
  /** Sent with fetch's keepalive: call it from `pagehide`, the request outlives the page. */
  endSession(sessionId: string): Promise<void>;
  onlineNow(): Promise<number>;
  linkCode(player: Player): Promise<{ code: string; expiresAt: string }>;
  announcements(opts?: {
    etag?: string;
  }): Promise<{ notModified: boolean; announcements: Announcement[]; etag: string | null }>;
  /** Server secret only. */
  publishAnnouncement(input: { title: string; body: string; expiresAt?: string }): Promise<Announcement>;
  /** Server secret only. */
  moderationStatus(playerId: string): Promise<ModerationStatus>;
}

export declare class MemoryStorage implements QueueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export declare class GameModError extends Error {
  /** The server's machine-readable code (sdk/PROTOCOL.md), or http_<status> / unknown. */
  readonly code: string;
  /** HTTP status; 0 when no answer came. */
  readonly status: number;
  readonly details: unknown;
  /** Seconds the server asked to wait (429, 503). */
  readonly retryAfter: number | undefined;
}
export declare class AuthError extends GameModError {}
export declare class ForbiddenError extends GameModError {}
export declare class NotFoundError extends GameModError {}
export declare class ConflictError extends GameModError {}
export declare class ValidationError extends GameModError {}
export declare class RateLimitError extends GameModError {}
export declare class ServerError extends GameModError {}
export declare class NetworkError extends GameModError {}
