import { z } from 'zod';
import { errorSchema } from './schemas.js';

/** The shapes of the /sdk/v1 answers (sdk/PROTOCOL.md names the same ones). */
export const sdkTicketSchema = z
  .object({
    id: z.uuid(),
    number: z.number().int(),
    subject: z.string(),
    status: z.enum(['open', 'pending', 'on_hold', 'solved', 'closed']),
    createdAt: z.date(),
    updatedAt: z.date(),
    mergedIntoId: z.uuid().nullable().meta({
      description:
        'Set when staff merged this ticket into another (it is then closed): read and reply on that ticket instead. A reply sent to this one lands there.',
    }),
  })
  .meta({ id: 'SdkTicket' });

export const sdkAttachmentSchema = z
  .object({
    id: z.uuid(),
    filename: z.string(),
    contentType: z.string(),
    sizeBytes: z.number().int(),
    url: z.string().meta({
      description:
        'A path on this server (resolve it against the base URL): GET it with the game key to be redirected to a short-lived download link. It never changes, so polls stay 304.',
    }),
  })
  .meta({ id: 'SdkAttachment' });

export const sdkMessageSchema = z
  .object({
    id: z.uuid(),
    author: z.enum(['player', 'participant', 'staff']).meta({
      description:
        "Who wrote it: `player` the ticket's player (this game's player), `participant` someone else on the player's side (a guildmate staff added to the ticket on Discord, the player of another ticket staff merged into this one, someone writing in a public forum post), `staff` the studio (a moderator, a rule or a notice). A client should show an unknown value as not its player's.",
    }),
    body: z.string(),
    createdAt: z.date(),
    attachments: z.array(sdkAttachmentSchema).meta({
      description: "The message's files (a staff reply's, the player's own from Discord or email)",
    }),
  })
  .meta({ id: 'SdkMessage' });

export const announcementSchema = z
  .object({
    id: z.uuid(),
    title: z.string(),
    body: z.string(),
    publishedAt: z.date(),
    expiresAt: z.date().nullable(),
  })
  .meta({ id: 'Announcement' });

export const moderationSchema = z
  .object({
    warned: z.boolean(),
    mutedUntil: z.date().nullable(),
    bannedUntil: z.date().nullable(),
    reason: z.string().nullable(),
  })
  .meta({ id: 'ModerationStatus' });

/** Creating calls take the SDK's idempotency key (stored with the row it made, never expires). */
export const idempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, '1 to 255 printable ASCII characters')
    .optional()
    .meta({ description: 'Your id for this action: a repeat returns the first result and creates nothing' }),
});

/** The errors an SDK route answers; 429 is always possible (per key, player, address). */
export const sdkErrors = {
  400: errorSchema,
  401: errorSchema,
  403: errorSchema,
  404: errorSchema,
  409: errorSchema,
  413: errorSchema,
  415: errorSchema,
  422: errorSchema,
  429: errorSchema,
  503: errorSchema,
} as const;

export const notModified = z.null().meta({ description: 'Not modified: the If-None-Match ETag is current' });

export const playerQuery = z.object({
  playerId: z.string().trim().min(1).max(200),
  since: z
    .string()
    .regex(/^\d{1,20}$/, 'a cursor from an earlier response')
    .optional(),
});
