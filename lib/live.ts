import type { Redis } from 'ioredis';
import { z } from 'zod';
import { defineScript } from './redis.js';

/**
 * Live updates: the contract between the outbox relay (the only publisher) and every API
 * instance's WebSocket endpoint (the subscribers).
 *
 * Each event is published on the topics it concerns: its org's inbox (`org:<orgId>`) and, for
 * ticket events, the ticket (`ticket:<ticketId>`). Every topic has its own gap-free sequence, so a
 * client that sees seq 7 after seq 5 knows it missed one and asks for the backlog. Publishing is
 * one Lua script per event, for all its topics: per topic, dedupe on the outbox id (the relay is
 * at-least-once), bump the sequence, append to a capped backlog stream and PUBLISH on the org's
 * channel, all atomically, so a sequence number is never assigned to an event that was not stored.
 */

export const liveEventSchema = z.object({
  /** The outbox id: unique and stable, so clients and the publisher can dedupe on it. */
  id: z.number().int().positive(),
  orgId: z.uuid(),
  type: z.string().min(1),
  aggregateType: z.string().min(1),
  aggregateId: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
});
export type LiveEvent = z.infer<typeof liveEventSchema>;

export const liveEnvelopeSchema = z.object({
  topic: z.string().min(1),
  seq: z.number().int().positive(),
  event: liveEventSchema,
});
export type LiveEnvelope = z.infer<typeof liveEnvelopeSchema>;

/**
 * Backlog kept per topic for clients that reconnect or see a gap; older gaps mean a refetch. The
 * publisher remembers the ids of a topic's last DEDUPE_WINDOW events (ids only, a few bytes each),
 * enough to cover what the relay may send again after an outage on a busy org's topic. So a
 * topic costs three keys of bounded size, and every key of a topic expires a week after its last
 * event: Redis (noeviction, shared with the job queue) never grows with the number of tickets.
 */
export const BACKLOG_LENGTH = 1000;
export const DEDUPE_WINDOW = 20_000;
const TOPIC_TTL_SECONDS = 7 * 24 * 3600;

export const liveChannel = (orgId: string) => `gm:live:${orgId}`;
export const LIVE_CHANNEL_PATTERN = 'gm:live:*';
const seqKey = (topic: string) => `gm:live:seq:${topic}`;
const backlogKey = (topic: string) => `gm:live:log:${topic}`;
const seenKey = (topic: string) => `gm:live:seen:${topic}`;

export const orgTopic = (orgId: string) => `org:${orgId}`;
export const ticketTopic = (ticketId: string) => `ticket:${ticketId}`;
/** One member's own notifications in one org: only that member may follow it (api/routes/live.ts). */
export const memberTopic = (orgId: string, userId: string) => `member:${orgId}:${userId}`;

/** The topics an event is published on. */
export function topicsFor(event: LiveEvent): string[] {
  // A notification is its recipient's business alone: never on the org's or the ticket's topic.
  if (event.type === 'notification.created') {
    return typeof event.payload.userId === 'string' ? [memberTopic(event.orgId, event.payload.userId)] : [];
  }
  const topics = [orgTopic(event.orgId)];
  const ticketId =
    event.aggregateType === 'ticket'
      ? event.aggregateId
      : typeof event.payload.ticketId === 'string'
        ? event.payload.ticketId
        : null;
  if (ticketId) topics.push(ticketTopic(ticketId));
  return topics;
}

/**
 * The topics whose backlog an event makes void: a player's erasure (`player.erased`, ids only)
 * leaves earlier envelopes on their org's and tickets' topics quoting what was erased. Their
 * backlogs are dropped before the event is published (sequences and dedupe stay), so a client
 * asking for what it missed gets `complete: false` and refetches what is left.
 */
export function voidedTopics(event: LiveEvent): string[] {
  if (event.type !== 'player.erased') return [];
  const ticketIds = Array.isArray(event.payload.ticketIds) ? event.payload.ticketIds : [];
  return [
    orgTopic(event.orgId),
    ...ticketIds.filter((t): t is string => typeof t === 'string').map(ticketTopic),
  ];
}

/**
 * Drops the backlogs of `topics` (sequences and dedupe stay), as a `player.erased` event does
 * before it is published: for work that removes what earlier envelopes quoted without an event
 * of its own on those topics (retention, workers/live-backlog.ts). A client asking for what it
 * missed then gets `complete: false` and refetches what is left.
 */
export async function voidBacklogs(redis: Redis, topics: readonly string[]): Promise<number> {
  if (!topics.length) return 0;
  return redis.del(...topics.map(backlogKey));
}

// KEYS: per topic its seq, backlog and seen-ids keys. ARGV: channel, event json, backlog length,
// ttl, event id, dedupe window, then the topics' names.
// Returns the new sequence per topic, or 0 where this event was already published on it.
// One call per event for all its topics: the event's JSON crosses once, and the relay's
// pipeline holds one command per event instead of one per topic. The seen-ids set is trimmed
// every 100th sequence (it holds the window plus at most 99), and the three keys' week-long
// expiry is renewed when it has run down by an hour, not by three EXPIREs on every publish.
const PUBLISH_SCRIPT = `
local out = {}
for t = 1, #KEYS / 3 do
  local seqKey, logKey, seenKey = KEYS[3 * t - 2], KEYS[3 * t - 1], KEYS[3 * t]
  if redis.call('zscore', seenKey, ARGV[5]) then
    out[t] = 0
  else
    local seq = redis.call('incr', seqKey)
    redis.call('zadd', seenKey, seq, ARGV[5])
    if seq % 100 == 0 then redis.call('zremrangebyrank', seenKey, 0, -(tonumber(ARGV[6]) + 1)) end
    local envelope = '{"topic":' .. cjson.encode(ARGV[6 + t]) .. ',"seq":' .. seq .. ',"event":' .. ARGV[2] .. '}'
    redis.call('xadd', logKey, 'MAXLEN', '~', tonumber(ARGV[3]), seq .. '-1', 'e', envelope)
    local ttl = tonumber(ARGV[4])
    if redis.call('ttl', seqKey) < ttl - 3600 then
      redis.call('expire', seqKey, ttl)
      redis.call('expire', logKey, ttl)
      redis.call('expire', seenKey, ttl)
    end
    redis.call('publish', ARGV[1], envelope)
    out[t] = seq
  end
end
return out
`;

/** The script's keys and arguments for one event (`PUBLISH_SCRIPT`). */
function publishArgs(event: LiveEvent): { topics: string[]; args: Array<string | number> } {
  const topics = topicsFor(event);
  return {
    topics,
    args: [
      topics.length * 3,
      ...topics.flatMap((t) => [seqKey(t), backlogKey(t), seenKey(t)]),
      liveChannel(event.orgId),
      JSON.stringify(event),
      BACKLOG_LENGTH,
      TOPIC_TTL_SECONDS,
      event.id,
      DEDUPE_WINDOW,
      ...topics,
    ],
  };
}

/**
 * Publishes one event on all its topics; safe to call again for the same event within the last
 * DEDUPE_WINDOW events of a topic (the relay's redeliveries are seconds apart) — it publishes
 * nothing then. Returns the sequence given on each topic (0 = already published).
 */
export async function publishLive(redis: Redis, event: LiveEvent): Promise<number[]> {
  return (await publishLiveMany(redis, [event]))[0] ?? [];
}

/**
 * Publishes many events in order, in one pipeline (one write, one wait for all the replies),
 * with the same per-topic dedupe as `publishLive`. The relay's form: a batch costs one round
 * trip to Redis however many events it holds. Rejects with the first error if any command
 * failed; whatever the pipeline did publish is deduped when the caller sends it again.
 */
export async function publishLiveMany(redis: Redis, events: readonly LiveEvent[]): Promise<number[][]> {
  if (!events.length) return [];
  defineScript(redis, 'gmPublishLive', PUBLISH_SCRIPT);
  const pipeline = redis.pipeline() as ReturnType<Redis['pipeline']> & {
    gmPublishLive(...args: Array<string | number>): unknown;
  };
  const sent: Array<{ voids: boolean; publishes: boolean }> = [];
  for (const event of events) {
    const voided = voidedTopics(event);
    if (voided.length) pipeline.del(...voided.map(backlogKey));
    const { topics, args } = publishArgs(event);
    sent.push({ voids: voided.length > 0, publishes: topics.length > 0 });
    if (topics.length) pipeline.gmPublishLive(...args);
  }
  const replies = (await pipeline.exec()) ?? [];
  const failed = replies.find(([err]) => err);
  if (failed) throw failed[0];
  if (replies.length !== sent.reduce((n, s) => n + Number(s.voids) + Number(s.publishes), 0)) {
    throw new Error('Redis answered the live pipeline in part');
  }
  let at = 0;
  return sent.map((s) => {
    if (s.voids) at++;
    return s.publishes ? ((replies[at++]?.[1] as number[]) ?? []).map(Number) : [];
  });
}

/** The current sequence of a topic (0 when nothing was published yet). */
export async function currentSeq(redis: Redis, topic: string): Promise<number> {
  return Number((await redis.get(seqKey(topic))) ?? 0);
}

/**
 * Envelopes after `afterSeq`, oldest first. `complete` is false when the backlog no longer
 * reaches back that far, or the topic expired and started again below `afterSeq`: the client
 * must refetch the resource instead.
 */
export async function readBacklog(
  redis: Redis,
  topic: string,
  afterSeq: number,
  limit = BACKLOG_LENGTH,
): Promise<{ envelopes: LiveEnvelope[]; complete: boolean }> {
  const rows = (await redis.xrange(backlogKey(topic), `(${afterSeq}-1`, '+', 'COUNT', limit)) as [
    string,
    string[],
  ][];
  const envelopes = rows.map(([, fields]) => liveEnvelopeSchema.parse(JSON.parse(fields[1] ?? 'null')));
  const first = envelopes[0];
  const current = await currentSeq(redis, topic);
  const complete =
    current >= afterSeq && (first === undefined ? current === afterSeq : first.seq === afterSeq + 1);
  return { envelopes, complete };
}
