import { DiscordAPIError, HTTPError, type RequestData } from '@discordjs/rest';
import { getOutboxRow } from '../db/outbox.js';
import { withTenant } from '../db/tenant.js';
import { counter } from '../lib/metrics.js';
import { displayUrl } from '../lib/ssrf.js';
import type { WorkerDeps } from './deps.js';
import type { JobData } from './jobs.js';
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
const LIMIT = 2000;

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

interface MessageRow {
  id: string;
  body: string;
  origin: string;
  discordMessageId: string | null;
  deleted: boolean;
  ticketId: string;
  channelId: string | null;
  webhookId: string | null;
  webhookToken: string | null;
  mode: string | null;
  author: string;
  avatarUrl: string | null;
}

async function loadMessage(
  deps: WorkerDeps,
  orgId: string,
  messageId: string,
): Promise<MessageRow | undefined> {
  return withTenant(deps.pool, orgId, async (tx) => {
    const r = await tx.query<MessageRow>(
      `select m.id, m.body, m.origin, m.discord_message_id as "discordMessageId", m.deleted_at is not null as deleted,
         t.id as "ticketId", t.discord_channel_id as "channelId", t.discord_webhook_id as "webhookId",
         t.discord_webhook_token as "webhookToken", t.discord_mode as mode,
         coalesce(u.display_name, p.display_name, o.name, 'Support') as author, u.avatar_url as "avatarUrl"
       from messages m
       join tickets t on t.org_id = m.org_id and t.id = m.ticket_id
       join organizations o on o.id = m.org_id
       left join users u on u.id = m.author_user_id
       left join player_profiles p on p.org_id = m.org_id and p.id = m.author_player_id
       where m.org_id = $1::uuid and m.id = $2::uuid`,
      [tx.orgId, messageId],
    );
    return r.rows[0];
  });
}

async function recordFailure(
  deps: WorkerDeps,
  orgId: string,
  ticketId: string,
  messageId: string | null,
  why: string,
) {
  await withTenant(deps.pool, orgId, async (tx) => {
    await tx.query('update tickets set delivery_error = $3::text where org_id = $1::uuid and id = $2::uuid', [
      tx.orgId,
      ticketId,
      why,
    ]);
    if (messageId) {
      await tx.query(
        'update messages set delivery_error = $3::text where org_id = $1::uuid and id = $2::uuid',
        [tx.orgId, messageId, why],
      );
    }
  });
}

const discordCode = (err: unknown) => (err instanceof DiscordAPIError ? Number(err.code) : undefined);

export async function deliverMessage(deps: WorkerDeps, data: JobData<'discord.message'>): Promise<void> {
  const rest = deps.discord;
  if (!rest) return;
  const m = await loadMessage(deps, data.orgId, data.messageId);
  if (!m || m.origin === 'discord' || m.discordMessageId || m.deleted || !m.channelId) return;
  const parts = chunks(m.body);
  const ids: string[] = [];
  let viaWebhook = Boolean(m.webhookId && m.webhookToken);
  try {
    for (const [i, content] of parts.entries()) {
      let id: string | undefined;
      if (viaWebhook) {
        try {
          const query = new URLSearchParams({ wait: 'true' });
          if (m.mode !== 'channel') query.set('thread_id', m.channelId);
          const token = deps.box.open(m.webhookToken as string);
          const res = (await rest.post(`/webhooks/${m.webhookId}/${token}`, {
            auth: false,
            query,
            body: {
              content,
              username: m.author.slice(0, 80),
              ...(m.avatarUrl ? { avatar_url: m.avatarUrl } : {}),
              allowed_mentions: { parse: [] },
            },
          } satisfies RequestData)) as { id: string };
          id = res.id;
        } catch (err) {
          // The channel webhook was deleted: fall back to posting as the bot.
          if (discordCode(err) !== UNKNOWN_WEBHOOK) throw err;
          viaWebhook = false;
        }
      }
      if (!id) {
        const res = (await rest.post(`/channels/${m.channelId}/messages`, {
          body: {
            content: i === 0 ? `**${m.author}:** ${content}`.slice(0, LIMIT) : content,
            allowed_mentions: { parse: [] },
            // Discord drops a second message with the same nonce for a few minutes: a job that
            // crashed after posting and runs again does not post twice.
            nonce: `${m.id.replace(/-/g, '').slice(0, 22)}${i}`,
            enforce_nonce: true,
          },
        })) as { id: string };
        id = res.id;
      }
      ids.push(id);
    }
  } catch (err) {
    const code = discordCode(err);
    const why = code !== undefined ? PERMANENT.get(code) : undefined;
    if (why) {
      posted.inc({ kind: 'message', outcome: 'permanent_failure' });
      await recordFailure(deps, data.orgId, m.ticketId, m.id, why);
      throw permanentError(why);
    }
    posted.inc({ kind: 'message', outcome: err instanceof HTTPError ? 'server_error' : 'error' });
    throw err;
  }
  await withTenant(deps.pool, data.orgId, (tx) =>
    tx.query(
      `update messages set discord_message_id = $3::text, delivered_at = now(), delivery_error = null
       where org_id = $1::uuid and id = $2::uuid and discord_message_id is null`,
      [tx.orgId, m.id, ids[0]],
    ),
  );
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
    case 'webhook.disabled':
      return `🔌 The webhook to ${displayUrl(String(payload.url))} was disabled: ${String(payload.reason)}. Re-enable it in the panel once it is fixed.`;
    default:
      return null;
  }
}

/** Posts an alert to the alert channel of each of the org's guilds that has one. */
export async function deliverAlert(deps: WorkerDeps, data: JobData<'discord.alert'>): Promise<void> {
  const rest = deps.discord;
  if (!rest) return;
  const found = await withTenant(deps.pool, data.orgId, async (tx) => {
    const ev = await getOutboxRow(tx, data.outboxId);
    const g = await tx.query<{ channelId: string }>(
      `select settings->>'alertChannelId' as "channelId" from discord_guilds
       where org_id = $1::uuid and settings ? 'alertChannelId'`,
      [tx.orgId],
    );
    return { ev, channels: g.rows.map((r) => r.channelId).filter(Boolean) };
  });
  const text = found.ev ? alertText(found.ev.eventType, found.ev.payload) : null;
  if (!text) return;
  for (const channelId of found.channels) {
    try {
      await rest.post(`/channels/${channelId}/messages`, {
        body: {
          content: text,
          allowed_mentions: { parse: [] },
          nonce: `alert${data.outboxId}`.slice(0, 25),
          enforce_nonce: true,
        },
      });
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
