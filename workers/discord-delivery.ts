import { randomUUID } from 'node:crypto';
import { DiscordAPIError, HTTPError, type RequestData } from '@discordjs/rest';
import {
  alertTargets,
  claimMessageDelivery,
  messageForDelivery,
  recordAlertPosted,
  recordChunkPosted,
  recordDeliveryFailure,
  recordMessageDelivered,
  releaseMessageClaim,
  undeliveredMessages,
} from '../db/discord-delivery.js';
import { allOrgIds } from '../db/organizations.js';
import { withTenant } from '../db/tenant.js';
import { counter } from '../lib/metrics.js';
import { displayUrl } from '../lib/ssrf.js';
import type { WorkerDeps } from './deps.js';
import { type JobData, jobIds } from './jobs.js';
import { messageFiles } from './message-files.js';
import { permanentError } from './queues.js';

/**
 * Egress to Discord through @discordjs/rest (which waits out 429s by itself and retries 5xx a
 * couple of times; the BullMQ job then retries with backoff). A message written outside Discord
 * goes to the ticket's thread, forum post or channel, through the ticket's channel webhook when
 * it has one (so the staff member's name and avatar show), else as a bot message. The Discord
 * message id is stored on the message row: the bot sees the echo arrive with an id it already
 * knows and does not record it again, and a re-run of this job posts nothing twice.
 */

const posted = counter('gamemod_discord_posts_total', 'Posts to Discord', ['kind', 'outcome']);

/** Errors after which retrying cannot help: the target is gone or closed to us. */
const PERMANENT = new Map<number, string>([
  [10003, 'the Discord channel or thread was deleted'],
  [10004, 'the Discord server is gone'],
  [50001, 'the bot has no access to the Discord channel'],
  [50013, 'the bot lacks permission to post in the Discord channel'],
  [50083, 'the Discord thread is archived and locked'],
]);
const UNKNOWN_WEBHOOK = 10015;
/** How long a run's claim on a message lasts: longer than posting a few chunks takes. */
const CLAIM_SECONDS = 300;
const LIMIT = 2000;
/** Discord's upload limit for a server without boosts (10 MiB for all of a message's files). */
export const MAX_DISCORD_UPLOAD_BYTES = 10 * 1024 * 1024;

/** Splits at line breaks where possible, never past Discord's 2,000 characters. */
export function chunks(text: string, limit = LIMIT): string[] {
  const out: string[] = [];
  let rest = text.trim() || '(empty message)';
  while (rest.length > limit) {
    let cut = rest.lastIndexOf('\n', limit);
    if (cut < limit / 2) cut = limit;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^\n/, '');
  }
  out.push(rest);
  return out;
}

/**
 * A stopping worker aborts requests still in flight (a rate limit can hold one for a long time):
 * the job fails and goes back to wait for its next attempt.
 */
const stopping = (deps: WorkerDeps) => (deps.shutdown ? { signal: deps.shutdown } : {});

/**
 * `rest.post` that gives up as soon as the worker stops: the client waits out a rate limit in a
 * sleep the signal does not cut short, and a stop must not wait for it. The abandoned request is
 * aborted by the same signal when it wakes.
 */
function post(deps: WorkerDeps, route: `/${string}`, options: RequestData): Promise<unknown> {
  const rest = deps.discord as NonNullable<WorkerDeps['discord']>;
  const request = rest.post(route, { ...options, ...stopping(deps) });
  const signal = deps.shutdown;
  if (!signal) return request;
  request.catch(() => {});
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new Error('Discord request interrupted: the worker is shutting down'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    request.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * A message this worker posted to the channel with exactly one of these contents, among the
 * latest 50 (by the ticket's channel webhook or the bot): the post of a run that died before
 * recording it.
 */
async function findOwnPost(
  deps: WorkerDeps,
  channelId: string,
  webhookId: string | null,
  contents: readonly string[],
): Promise<string | undefined> {
  const rest = deps.discord as NonNullable<WorkerDeps['discord']>;
  const recent = (await rest.get(`/channels/${channelId}/messages`, {
    query: new URLSearchParams({ limit: '50' }),
    ...stopping(deps),
  })) as Array<{ id: string; content?: string; webhook_id?: string; author?: { bot?: boolean } }>;
  const mine = recent.find(
    (x) =>
      contents.includes(x.content ?? '') &&
      ((webhookId && x.webhook_id === webhookId) || x.author?.bot === true),
  );
  return mine?.id;
}

const discordCode = (err: unknown) => (err instanceof DiscordAPIError ? Number(err.code) : undefined);

/** `runId`: the job's id, so its next attempt takes back the claim this one could not give up. */
export async function deliverMessage(
  deps: WorkerDeps,
  data: JobData<'discord.message'>,
  runId?: string,
): Promise<void> {
  const rest = deps.discord;
  if (!rest) return;
  const first = await withTenant(deps.pool, data.orgId, (tx) => messageForDelivery(tx, data.messageId));
  if (!first || first.origin === 'discord' || first.discordMessageId || first.deleted || !first.channelId)
    return;
  // One run at a time posts a message (a sweep's job and a retrying one could otherwise both post
  // the same chunk); the claim lapses if this process dies. Read again once claimed: the chunks
  // posted by a run that just finished count.
  const claim = runId ? `job:${runId}` : randomUUID();
  const { claimed, previous } = await withTenant(deps.pool, data.orgId, (tx) =>
    claimMessageDelivery(tx, data.messageId, claim, CLAIM_SECONDS),
  );
  if (!claimed) {
    const now = await withTenant(deps.pool, data.orgId, (tx) => messageForDelivery(tx, data.messageId));
    if (!now || now.discordMessageId) return;
    throw new Error('another run is posting this message; retrying');
  }
  const m = await withTenant(deps.pool, data.orgId, (tx) => messageForDelivery(tx, data.messageId));
  if (!m?.channelId || m.discordMessageId || m.deleted) {
    await withTenant(deps.pool, data.orgId, (tx) => releaseMessageClaim(tx, data.messageId, claim));
    return;
  }
  const channelId = m.channelId;
  // A staff reply's files ride on its last chunk; those past Discord's limit are named instead.
  const { files, named } = await messageFiles(deps, data.orgId, m.id, MAX_DISCORD_UPLOAD_BYTES).catch(
    async (err: unknown) => {
      // Storage is out of reach: nothing was posted, the next attempt starts clean.
      await withTenant(deps.pool, data.orgId, (tx) => releaseMessageClaim(tx, m.id, claim)).catch(() => {});
      throw err;
    },
  );
  const parts = chunks(
    named.length ? `${m.body}\n📎 Too large to post on Discord: ${named.join(', ')}` : m.body,
  );
  const upload = (i: number) =>
    i === parts.length - 1 && files.length
      ? { body: { attachments: files.map((f, n) => ({ id: n, filename: f.name })) }, files }
      : { body: {}, files: undefined };
  let viaWebhook = Boolean(m.webhookId && m.webhookToken);
  const botContent = (i: number, content: string) =>
    i === 0 ? `**${m.author}:** ${content}`.slice(0, LIMIT) : content;
  // Discord took a post, Discord answered, and nothing recorded it (the run died or failed right
  // then): set once the answer is in, cleared once it is recorded.
  let unrecorded = false;
  try {
    // Chunks already posted (a retry after a failure part-way) are not posted again.
    for (let i = m.chunkIds.length; i < parts.length; i++) {
      const content = parts[i] as string;
      const withFiles = upload(i);
      let id: string | undefined;
      if (previous && i === m.chunkIds.length) {
        // A run left its claim behind: its last post may be in the channel, unrecorded.
        id = await findOwnPost(deps, channelId, m.webhookId, [content, botContent(i, content)]);
      }
      if (!id && viaWebhook) {
        try {
          const query = new URLSearchParams({ wait: 'true' });
          if (m.mode !== 'channel') query.set('thread_id', channelId);
          const token = deps.box.open(m.webhookToken as string);
          const res = (await post(deps, `/webhooks/${m.webhookId}/${token}`, {
            auth: false,
            query,
            body: {
              content,
              username: m.author.slice(0, 80),
              ...(m.avatarUrl ? { avatar_url: m.avatarUrl } : {}),
              allowed_mentions: { parse: [] },
              ...withFiles.body,
            },
            ...(withFiles.files ? { files: withFiles.files } : {}),
          } satisfies RequestData)) as { id: string };
          id = res.id;
        } catch (err) {
          // The channel webhook was deleted: fall back to posting as the bot.
          if (discordCode(err) !== UNKNOWN_WEBHOOK) throw err;
          viaWebhook = false;
        }
      }
      if (!id) {
        const res = (await post(deps, `/channels/${channelId}/messages`, {
          body: {
            content: botContent(i, content),
            allowed_mentions: { parse: [] },
            // Discord drops a second message with the same nonce for a few minutes: a job that
            // crashed after posting and runs again does not post twice.
            nonce: `${m.id.replace(/-/g, '').slice(0, 22)}${i}`,
            enforce_nonce: true,
            ...withFiles.body,
          },
          ...(withFiles.files ? { files: withFiles.files } : {}),
        })) as { id: string };
        id = res.id;
      }
      const posted = id;
      unrecorded = true;
      await withTenant(deps.pool, data.orgId, (tx) => recordChunkPosted(tx, m.id, i, posted));
      unrecorded = false;
    }
  } catch (err) {
    const code = discordCode(err);
    const why = code !== undefined ? PERMANENT.get(code) : undefined;
    if (why) {
      posted.inc({ kind: 'message', outcome: 'permanent_failure' });
      await withTenant(deps.pool, data.orgId, (tx) => recordDeliveryFailure(tx, m.ticketId, m.id, why));
      throw permanentError(why);
    }
    posted.inc({ kind: 'message', outcome: err instanceof HTTPError ? 'server_error' : 'error' });
    await withTenant(deps.pool, data.orgId, (tx) => releaseMessageClaim(tx, m.id, claim, unrecorded)).catch(
      () => {},
    );
    throw err;
  }
  await withTenant(deps.pool, data.orgId, (tx) => recordMessageDelivered(tx, m.id));
  posted.inc({ kind: 'message', outcome: 'ok' });
}

const unix = (iso: unknown) => (typeof iso === 'string' ? Math.floor(Date.parse(iso) / 1000) : undefined);
const metricName = (m: unknown) =>
  m === 'first_response' ? 'first response' : m === 'next_response' ? 'next response' : 'resolution';

/** The alert text for an event, or null when the event is not alert-worthy. */
export function alertText(type: string, payload: Record<string, unknown>): string | null {
  const t = (payload.ticket ?? {}) as { number?: number; subject?: string };
  const ticket = `ticket #${t.number ?? '?'} “${String(t.subject ?? '').slice(0, 100)}”`;
  const due = unix(payload.dueAt);
  switch (type) {
    case 'ticket.sla_warning':
      return `⚠️ SLA warning: ${ticket}, ${metricName(payload.metric)} due <t:${due}:R>.`;
    case 'ticket.sla_breached':
      return `🚨 SLA breached: ${ticket}, ${metricName(payload.metric)} was due <t:${due}:f>.`;
    case 'ticket.created':
      return `🔥 New urgent ${ticket}.`;
    case 'ticket.priority_changed':
      return `🔥 ${ticket[0]?.toUpperCase()}${ticket.slice(1)} is now urgent.`;
    case 'anomaly.detected': {
      const a = (payload.anomaly ?? {}) as {
        observed?: number;
        baseline?: number;
        threshold?: number;
        hourStart?: string;
      };
      return `📈 Ticket spike: ${a.observed} tickets opened since <t:${unix(a.hourStart)}:t>, against about ${a.baseline} an hour usually (the alert starts at ${a.threshold}).`;
    }
    case 'webhook.disabled':
      return `🔌 The webhook to ${displayUrl(String(payload.url))} was disabled: ${String(payload.reason)}. Re-enable it in the panel once it is fixed.`;
    default:
      return null;
  }
}

/**
 * Posts an alert to the alert channel of each of the org's guilds that has one, once per channel:
 * each post is recorded, so a retry after a failure at the second guild skips the first.
 */
export async function deliverAlert(deps: WorkerDeps, data: JobData<'discord.alert'>): Promise<void> {
  const rest = deps.discord;
  if (!rest) return;
  const found = await withTenant(deps.pool, data.orgId, (tx) => alertTargets(tx, data.outboxId));
  const text = found.event ? alertText(found.event.eventType, found.event.payload) : null;
  if (!text) return;
  for (const channelId of found.channels) {
    if (found.posted.has(channelId)) continue;
    try {
      const res = (await post(deps, `/channels/${channelId}/messages`, {
        body: {
          content: text,
          allowed_mentions: { parse: [] },
          nonce: `alert${data.outboxId}`.slice(0, 25),
          enforce_nonce: true,
        },
      })) as { id?: string };
      await withTenant(deps.pool, data.orgId, (tx) =>
        recordAlertPosted(tx, data.outboxId, channelId, res.id ?? null),
      );
      posted.inc({ kind: 'alert', outcome: 'ok' });
    } catch (err) {
      const code = discordCode(err);
      if (code !== undefined && PERMANENT.has(code)) {
        // A deleted alert channel is the studio's to fix; retrying would only repeat the failure.
        posted.inc({ kind: 'alert', outcome: 'permanent_failure' });
        deps.logger.warn({ orgId: data.orgId, channelId, code }, 'alert channel unusable');
        continue;
      }
      throw err;
    }
  }
}

/** How old an unposted message must be before the sweep assumes its job is gone, and how far back it looks. */
export const UNDELIVERED_AFTER_MS = 5 * 60_000;
export const UNDELIVERED_WITHIN_MS = 24 * 3600_000;

/**
 * Re-enqueues messages that should have reached Discord by now and have not (their job was lost
 * with a Redis crash or failed for good in a long outage). Scheduled every 5 minutes. Nothing to
 * do without a bot token.
 */
export async function sweepUndeliveredMessages(deps: WorkerDeps): Promise<number> {
  if (!deps.discord) return 0;
  const now = deps.clock.now().getTime();
  const from = new Date(now - UNDELIVERED_WITHIN_MS);
  const to = new Date(now - UNDELIVERED_AFTER_MS);
  let found = 0;
  for await (const orgId of allOrgIds(deps.pool)) {
    const ids = await withTenant(deps.pool, orgId, (tx) => undeliveredMessages(tx, from, to));
    found += ids.length;
    await deps.queues.ensureMany(
      ids.map((messageId) => ({
        name: 'discord.message' as const,
        payload: { orgId, messageId },
        opts: { jobId: jobIds.discordSweep(messageId) },
      })),
    );
  }
  if (found) deps.logger.info({ found }, 're-enqueued undelivered Discord messages');
  return found;
}
