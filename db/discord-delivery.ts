import { recordChange } from './changes.js';
import { getOutboxRow, type OutboxRow } from './outbox.js';
import type { Tx } from './tenant.js';

/**
 * What the workers' Discord delivery reads and records: a message written outside Discord on its
 * way into the ticket's thread or channel (posted chunk by chunk, each chunk recorded as it
 * lands, so a retry resumes after the last one), the alerts posted per channel, and failures,
 * which are ticket changes like any other (history entry and `ticket.delivery_failed` event).
 */

export interface MessageForDelivery {
  id: string;
  body: string;
  origin: string;
  discordMessageId: string | null;
  /** Discord ids of the chunks posted so far (a long message is posted in several). */
  chunkIds: string[];
  deleted: boolean;
  ticketId: string;
  channelId: string | null;
  webhookId: string | null;
  /** Sealed (lib/secret-box.ts). */
  webhookToken: string | null;
  mode: string | null;
  author: string;
  avatarUrl: string | null;
}

export async function messageForDelivery(tx: Tx, messageId: string): Promise<MessageForDelivery | undefined> {
  const r = await tx.query<MessageForDelivery>(
    `select m.id, m.body, m.origin, m.discord_message_id as "discordMessageId", m.discord_chunk_ids as "chunkIds",
       m.deleted_at is not null as deleted,
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
}

/**
 * Claims an unposted message for `seconds` so that only one run posts it at a time. `claimed` is
 * false when it is posted already or another run holds a claim that has not lapsed. `previous` is
 * the claim a run left behind (it died, or failed after Discord took a post it could not record):
 * its last post may be in Discord without being recorded here. A claim named after a job is the
 * job's own on its next attempt, lapsed or not: the attempt that lost the database (a failover,
 * pg_terminate_backend) could give it up no more than it could record its post, and its job
 * runs one attempt at a time.
 */
export async function claimMessageDelivery(
  tx: Tx,
  messageId: string,
  claim: string,
  seconds: number,
): Promise<{ claimed: boolean; previous: string | null }> {
  const r = await tx.query<{ previous: string | null }>(
    `with old as (
       select id, discord_claim from messages where org_id = $1::uuid and id = $2::uuid for update
     )
     update messages m set discord_claim = $3::text, discord_claimed_until = now() + make_interval(secs => $4::int)
     from old
     where m.org_id = $1::uuid and m.id = old.id and m.discord_message_id is null
       and (m.discord_claimed_until is null or m.discord_claimed_until < now() or m.discord_claim = $3::text)
     returning old.discord_claim as previous`,
    [tx.orgId, messageId, claim, seconds],
  );
  const row = r.rows[0];
  return { claimed: row !== undefined, previous: row?.previous ?? null };
}

/**
 * Gives up a claim (the run failed and its job will retry). `unsure`: Discord may have taken a
 * post this run could not record; the claim lapses at once but stays as a mark for the next run.
 */
export async function releaseMessageClaim(
  tx: Tx,
  messageId: string,
  claim: string,
  unsure = false,
): Promise<void> {
  await tx.query(
    `update messages set discord_claim = case when $4::boolean then discord_claim end,
       discord_claimed_until = case when $4::boolean then now() end
     where org_id = $1::uuid and id = $2::uuid and discord_claim = $3::text`,
    [tx.orgId, messageId, claim, unsure],
  );
}

/** Records chunk `index` as posted; only appends in order, so a duplicate run changes nothing. */
export async function recordChunkPosted(
  tx: Tx,
  messageId: string,
  index: number,
  discordId: string,
): Promise<void> {
  await tx.query(
    `update messages set discord_chunk_ids = discord_chunk_ids || $4::text
     where org_id = $1::uuid and id = $2::uuid and cardinality(discord_chunk_ids) = $3::int`,
    [tx.orgId, messageId, index, discordId],
  );
}

/** Every chunk is posted: the first one's id identifies the message in Discord. */
export async function recordMessageDelivered(tx: Tx, messageId: string): Promise<void> {
  await tx.query(
    `update messages set discord_message_id = discord_chunk_ids[1], delivered_at = now(), delivery_error = null,
       discord_claim = null, discord_claimed_until = null
     where org_id = $1::uuid and id = $2::uuid and discord_message_id is null and cardinality(discord_chunk_ids) > 0`,
    [tx.orgId, messageId],
  );
}

/**
 * A delivery that cannot succeed (the channel is gone, the bot lost access): noted on the
 * message and the ticket, in the ticket's history, and as a `ticket.delivery_failed` event.
 */
export async function recordDeliveryFailure(
  tx: Tx,
  ticketId: string,
  messageId: string | null,
  error: string,
): Promise<void> {
  await tx.query('update tickets set delivery_error = $3::text where org_id = $1::uuid and id = $2::uuid', [
    tx.orgId,
    ticketId,
    error,
  ]);
  if (messageId) {
    await tx.query(
      'update messages set delivery_error = $3::text where org_id = $1::uuid and id = $2::uuid',
      [tx.orgId, messageId, error],
    );
  }
  await recordChange(
    tx,
    { type: 'system' },
    {
      ticketId,
      action: 'ticket.delivery_failed',
      data: { messageId, error },
      event: {
        type: 'ticket.delivery_failed',
        aggregateType: 'ticket',
        aggregateId: ticketId,
        payload: { ticket: { id: ticketId }, messageId, error },
      },
    },
  );
}

/** An alert's event, the org's alert channels, and the channels it was already posted to. */
export async function alertTargets(
  tx: Tx,
  outboxId: number,
): Promise<{ event: OutboxRow | undefined; channels: string[]; posted: Set<string> }> {
  const event = await getOutboxRow(tx, outboxId);
  const g = await tx.query<{ channelId: string; posted: boolean }>(
    `select g.settings->>'alertChannelId' as "channelId",
       exists (select 1 from discord_alert_posts a where a.org_id = g.org_id and a.outbox_id = $2::bigint
         and a.channel_id = g.settings->>'alertChannelId') as posted
     from discord_guilds g where g.org_id = $1::uuid and g.settings ? 'alertChannelId'`,
    [tx.orgId, outboxId],
  );
  const rows = g.rows.filter((r) => r.channelId);
  return {
    event,
    channels: rows.map((r) => r.channelId),
    posted: new Set(rows.filter((r) => r.posted).map((r) => r.channelId)),
  };
}

export async function recordAlertPosted(
  tx: Tx,
  outboxId: number,
  channelId: string,
  discordMessageId: string | null,
): Promise<void> {
  await tx.query(
    `insert into discord_alert_posts (org_id, outbox_id, channel_id, discord_message_id)
     values ($1::uuid, $2::bigint, $3::text, $4::text) on conflict do nothing`,
    [tx.orgId, outboxId, channelId, discordMessageId],
  );
}

/**
 * Messages written outside Discord between `from` and `to` that are still not posted and have no
 * recorded failure, in tickets that have a Discord channel: their delivery job was lost or ran
 * out of attempts.
 */
export async function undeliveredMessages(tx: Tx, from: Date, to: Date, limit = 500): Promise<string[]> {
  const r = await tx.query<{ id: string }>(
    `select m.id from messages m
     join tickets t on t.org_id = m.org_id and t.id = m.ticket_id and t.discord_channel_id is not null
     where m.org_id = $1::uuid and m.discord_message_id is null and m.delivery_error is null
       and m.deleted_at is null and m.origin <> 'discord' and m.ticket_id is not null
       and m.created_at >= $2::timestamptz and m.created_at < $3::timestamptz
     order by m.created_at limit $4::int`,
    [tx.orgId, from, to, limit],
  );
  return r.rows.map((x) => x.id);
}
