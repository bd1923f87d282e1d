import { z } from 'zod';
import { AUTHOR_KINDS } from '../../db/participants.js';
import { SENTIMENT_LABELS } from '../../db/rule-defs.js';
import { SLA_METRICS } from '../../db/sla-clocks.js';
import { ORIGINS, PRIORITIES, STATUSES } from '../../db/ticket-rules.js';

/** Response shapes of the ticket routes (the serializer strips anything not listed). */
const at = z.date();

/** A player message's sentiment from the English AFINN-165 lexicon (lib/sentiment.ts). */
const sentimentSchema = z
  .object({
    /** The sum of the word scores (-5 to 5 per word). */
    score: z.number().int(),
    /** The score per word, so long and short messages compare; the label is read from it. */
    comparative: z.number(),
    label: z.enum(SENTIMENT_LABELS),
    /** The lexicon's language (`en`): a message in another language mostly scores neutral. */
    language: z.string(),
  })
  .meta({ id: 'MessageSentiment' });

export const ticketSchema = z
  .object({
    id: z.uuid(),
    number: z.number().int(),
    subject: z.string(),
    status: z.enum(STATUSES),
    priority: z.enum(PRIORITIES),
    origin: z.enum(ORIGINS),
    externalId: z.string().nullable(),
    requesterId: z.uuid().nullable(),
    categoryId: z.uuid().nullable(),
    teamId: z.uuid().nullable(),
    assigneeId: z.uuid().nullable(),
    gameId: z.uuid().nullable(),
    tags: z.array(z.string()),
    customFields: z.record(z.string(), z.unknown()),
    discordGuildId: z.string().nullable(),
    discordChannelId: z.string().nullable(),
    mergedIntoId: z.uuid().nullable(),
    closeReason: z.string().nullable(),
    rating: z.number().int().nullable(),
    ratingComment: z.string().nullable(),
    firstResponseAt: at.nullable(),
    lastPlayerMessageAt: at.nullable(),
    lastStaffMessageAt: at.nullable(),
    solvedAt: at.nullable(),
    closedAt: at.nullable(),
    createdAt: at,
    updatedAt: at,
    /** The sentiment of the player's latest scored message; null until the player writes one. */
    playerSentiment: z
      .object({ score: z.number().int(), label: z.enum(SENTIMENT_LABELS) })
      .nullable()
      .meta({ id: 'TicketPlayerSentiment' }),
  })
  .meta({ id: 'Ticket' });

export const messageSchema = z
  .object({
    id: z.uuid(),
    ticketId: z.uuid().nullable(),
    channelId: z.uuid(),
    authorType: z.string(),
    authorKind: z.enum(AUTHOR_KINDS).meta({
      description:
        "Who the message speaks for: `player` the ticket's player, " +
        "`participant` someone else on the player's side with a player profile of their own (a member staff added " +
        'to the ticket with /ticket add, the player of a ticket merged into it, anyone writing in a public forum ' +
        'post), `staff` a member or an API token, ' +
        '`system` a rule, an acknowledgement or a notice. Only `player` counts as the player for response times, ' +
        'rules and sentiment; `authorType` is the kind of account, and is `player` for a participant too.',
    }),
    authorUserId: z.uuid().nullable(),
    authorPlayerId: z.uuid().nullable(),
    origin: z.enum(ORIGINS),
    externalId: z.string().nullable(),
    body: z.string(),
    createdAt: at,
    /** Players' messages only; null for staff and system messages and those recorded before scoring. */
    sentiment: sentimentSchema.nullable(),
  })
  .meta({ id: 'Message' });

export const noteSchema = z
  .object({
    id: z.uuid(),
    ticketId: z.uuid(),
    authorUserId: z.uuid().nullable(),
    body: z.string(),
    createdAt: at,
  })
  .meta({ id: 'Note' });

export const eventSchema = z
  .object({
    id: z.number().int(),
    type: z.string(),
    actorType: z.string(),
    actorId: z.uuid().nullable(),
    data: z.record(z.string(), z.unknown()),
    createdAt: at,
  })
  .meta({ id: 'TicketEvent' });

export const attachmentSchema = z
  .object({
    id: z.uuid(),
    ticketId: z.uuid().nullable(),
    messageId: z.uuid().nullable(),
    filename: z.string(),
    contentType: z.string(),
    sizeBytes: z.number().int(),
    createdAt: at,
    /** A signed, expiring download link. */
    url: z.string(),
  })
  .meta({ id: 'Attachment' });

/** The SLA clock that falls due next, for countdown badges; null when no clock runs. */
export const ticketSlaSchema = z
  .object({
    metric: z.enum(SLA_METRICS),
    dueAt: at,
    /** The due time has passed (or the breach is recorded): the badge counts up from dueAt. */
    breached: z.boolean(),
  })
  .nullable()
  .meta({ id: 'TicketSla' });

export const ticketListItem = ticketSchema
  .extend({
    requesterName: z.string().nullable(),
    assigneeName: z.string().nullable(),
    sla: ticketSlaSchema,
  })
  .meta({ id: 'TicketListItem' });
export const ticketPage = z.object({ tickets: z.array(ticketListItem), next: z.string().nullable() });
// One named property per status rather than an enum-keyed record: OpenAPI tools see a record's
// keys only as `propertyNames`, so generated clients would lose them.
const countPerStatus = z.object(
  Object.fromEntries(STATUSES.map((s) => [s, z.number().int()])) as Record<
    (typeof STATUSES)[number],
    z.ZodNumber
  >,
);
export const ticketCountsSchema = z.object({
  byStatus: countPerStatus,
  unassigned: z.number().int(),
  mine: z.number().int(),
  breached: z.number().int(),
});
export const ticketParams = z.object({ orgId: z.uuid(), ticketId: z.uuid() });
