import { emitEvent, recordChange, SYSTEM } from './changes.js';
import { refreshTicketSentiment } from './message-sentiment.js';
import { scrubAnonymisedTickets } from './privacy-scrub.js';
import type { RetentionAction, RetentionPolicy, RetentionTarget } from './retention.js';
import type { Tx } from './tenant.js';
import { forgetTranscriptsSql, transcriptsSql } from './ticket-transcripts.js';

/**
 * Applying retention policies, one small batch per transaction (workers/retention.ts runs the
 * loop). Each batch locks at most `limit` rows with `for update skip locked`, so a run never holds
 * many locks, never waits on a row a request is changing (it takes it next time) and never blocks
 * ticket opens or replies for long.
 *
 * What "older than N days" means per target:
 * - tickets: closed more than N days ago (open, pending or solved tickets are never touched);
 *   purge deletes them with their conversation, attachments and mail; anonymise keeps the row
 *   (numbers, statuses and timings for analytics) without subject, requester, fields, comments,
 *   mail (the mail log and its raw copies) or the modmail records naming the player's Discord id
 *   (discord_dm_tickets, discord_dm_relayed_messages; purge takes them with the ticket), nor the
 *   text of staff notifications about it (a reply's excerpt, the subject in an SLA notice); the
 *   copies of its text elsewhere go as a player's erase takes them (db/privacy-scrub.ts): the data
 *   of its history and audit entries, its events' text, its Discord opening, cached
 *   Idempotency-Key answers naming it. A ticket anonymised before one of these was added is
 *   taken again on a later run.
 * - messages: written more than N days ago; anonymise blanks the body and drops the player author;
 *   both actions blank the excerpts of player replies in staff notifications older than N days.
 * - attachments: uploaded more than N days ago; a file has no anonymous form, so both actions
 *   remove the row and its stored object.
 * - player_sessions: started more than N days ago; anonymise drops the IP hash, platform and version.
 * - audit_logs: written more than N days ago; purge only (through gm_purge_audit_logs, the app
 *   role may not delete audit rows itself).
 *
 * A ticket's transcripts (db/ticket-transcripts.ts) are snapshots of its conversation: a batch
 * that purges or anonymises tickets or messages takes the transcripts of the tickets it touches,
 * their stored copies among the batch's storage keys and their transcript-channel posts queued
 * in discord_erasures (the privacy sweep deletes them on Discord).
 *
 * A batch that purges or anonymises tickets or messages writes a `retention.removed` event (ids
 * only) in its transaction; the workers then void the live backlogs of those tickets and of the
 * org (workers/live-backlog.ts), so a reconnecting panel never replays what was removed.
 *
 * Analytics stay right on their own: deleting tickets or messages notes the deletion
 * (gm_analytics_note_deleted) and the next fold retracts what they contributed.
 */

/** The event of a batch that removed tickets or messages (payload: target, action, ticketIds). */
export const RETENTION_REMOVED = 'retention.removed';

export interface RetentionBatch {
  /** Rows of the target purged or anonymised. */
  rows: number;
  /** Storage keys of objects whose rows are gone: the caller deletes them after commit. */
  storageKeys: string[];
}

const before = (now: Date, days: number) => new Date(now.getTime() - days * 24 * 3600_000);

type Sql = { text: string; hasKeys: boolean };

/** A closed ticket still holding something anonymising removes (the batch and its preview agree). */
const TICKET_LEFT_TO_ANONYMISE = `(requester_id is not null or subject <> 'Ticket #' || number
  or rating_comment is not null or close_reason is not null or custom_fields <> '{}'
  or exists (select 1 from email_messages e where e.org_id = $1::uuid and e.ticket_id = tickets.id)
  or exists (select 1 from ticket_transcripts tt where tt.org_id = $1::uuid and tt.ticket_id = tickets.id)
  or exists (select 1 from discord_dm_relayed_messages r where r.org_id = $1::uuid and r.ticket_id = tickets.id)
  or exists (select 1 from notifications n where n.org_id = $1::uuid and n.ticket_id = tickets.id and n.body is not null)
  or exists (select 1 from discord_ticket_openings o where o.org_id = $1::uuid and o.ticket_id = tickets.id)
  or exists (select 1 from ticket_events e where e.org_id = $1::uuid and e.ticket_id = tickets.id and e.data <> '{}'))`;

// A player's reply reaches staff notifications as an excerpt: those older than the cutoff quote
// messages older than it (a notification is recorded after its message) and lose their text.
const REPLY_EXCERPTS = `excerpts as (
               update notifications n set body = null
                where n.org_id = $1::uuid and n.event = 'player_replied' and n.created_at < $2::timestamptz
                  and n.body is not null
             )`;

// The tickets of the messages a batch takes: their transcripts hold those words too.
const MESSAGE_TICKETS = `select m.ticket_id from messages m
  where m.org_id = $1::uuid and m.id in (select id from doomed) and m.ticket_id is not null`;

// $1 org, $2 cutoff, $3 limit. Each statement returns rows `n` (count) and `keys` (text[] or null);
// one that deletes messages also `tickets`, those they were in (text[]); the tickets' anonymise
// `anonymised`, the tickets it took, whose copies elsewhere scrubAnonymisedTickets then scrubs.
const BATCH_SQL: Record<RetentionTarget, Partial<Record<RetentionAction, Sql>>> = {
  tickets: {
    purge: {
      hasKeys: true,
      text: `with doomed as (
               select id from tickets
                where org_id = $1::uuid and status = 'closed' and closed_at < $2::timestamptz
                order by closed_at limit $3::int for update skip locked
             ), files as (
               select a.storage_key as key from attachments a
                where a.org_id = $1::uuid and a.storage_key is not null
                  and (a.ticket_id in (select id from doomed)
                       or a.message_id in (select m.id from messages m
                                            where m.org_id = $1::uuid and m.ticket_id in (select id from doomed)))
             ), mail as (
               delete from email_messages e
                where e.org_id = $1::uuid and e.ticket_id in (select id from doomed)
               returning e.raw_storage_key as key
             ), ${transcriptsSql('select id from doomed')}, gone as (
               delete from tickets t where t.org_id = $1::uuid and t.id in (select id from doomed) returning 1
             )
             select (select count(*) from gone)::int as n,
                    array(select key from files union all select key from mail where key is not null
                          union select key from transcripts where key is not null) as keys,
                    array(select id from doomed) as voided`,
    },
    // The mail log holds the player's address, the subject and the headers, and its raw copy the
    // whole mail: both go, as on purge. The mail of a ticket anonymised before they did is
    // taken on a later run. A raw copy kept as one of the ticket's attachments (a mail that could
    // not be read) stays for the attachments policy, since anonymise keeps attachments.
    anonymise: {
      hasKeys: true,
      text: `with doomed as (
               select id from tickets
                where org_id = $1::uuid and status = 'closed' and closed_at < $2::timestamptz
                  and ${TICKET_LEFT_TO_ANONYMISE}
                order by closed_at limit $3::int for update skip locked
             ), mail as (
               delete from email_messages e
                where e.org_id = $1::uuid and e.ticket_id in (select id from doomed)
               returning e.raw_storage_key as key
             ), threads as (
               delete from email_threads e where e.org_id = $1::uuid and e.ticket_id in (select id from doomed)
             ), dms as (
               delete from discord_dm_tickets d where d.org_id = $1::uuid and d.ticket_id in (select id from doomed)
             ), routed as (
               delete from discord_dm_relayed_messages r where r.org_id = $1::uuid and r.ticket_id in (select id from doomed)
             ), notices as (
               update notifications n set body = null
                where n.org_id = $1::uuid and n.ticket_id in (select id from doomed) and n.body is not null
             ), ${transcriptsSql('select id from doomed')}, ${forgetTranscriptsSql('select id from doomed')}, done as (
               update tickets t set subject = 'Ticket #' || t.number, requester_id = null,
                      rating_comment = null, close_reason = null, custom_fields = '{}'
                where t.org_id = $1::uuid and t.id in (select id from doomed) returning 1
             )
             select (select count(*) from done)::int as n,
                    array(select distinct key from mail
                           where key is not null and not exists (
                             select 1 from attachments a
                              where a.org_id = $1::uuid and a.ticket_id in (select id from doomed)
                                and a.storage_key = mail.key)
                          union select key from transcripts where key is not null) as keys,
                    array(select id from doomed) as anonymised`,
    },
  },
  messages: {
    purge: {
      hasKeys: true,
      text: `with doomed as (
               select id from messages where org_id = $1::uuid and created_at < $2::timestamptz
                order by created_at limit $3::int for update skip locked
             ), files as (
               select a.storage_key as key from attachments a
                where a.org_id = $1::uuid and a.message_id in (select id from doomed) and a.storage_key is not null
             ), ${REPLY_EXCERPTS}, ${transcriptsSql(MESSAGE_TICKETS)}, ${forgetTranscriptsSql(MESSAGE_TICKETS)}, gone as (
               delete from messages m where m.org_id = $1::uuid and m.id in (select id from doomed)
               returning m.ticket_id
             )
             select (select count(*) from gone)::int as n,
                    array(select key from files union select key from transcripts where key is not null) as keys,
                    array(select distinct ticket_id from gone where ticket_id is not null) as tickets`,
    },
    anonymise: {
      hasKeys: true,
      text: `with doomed as (
               select id from messages where org_id = $1::uuid and created_at < $2::timestamptz
                  and (body <> '' or author_player_id is not null)
                order by created_at limit $3::int for update skip locked
             ), ${REPLY_EXCERPTS}, ${transcriptsSql(MESSAGE_TICKETS)}, ${forgetTranscriptsSql(MESSAGE_TICKETS)}, done as (
               update messages m set body = '', author_player_id = null
                where m.org_id = $1::uuid and m.id in (select id from doomed) returning 1
             )
             select (select count(*) from done)::int as n,
                    array(select distinct key from transcripts where key is not null) as keys,
                    array(select distinct ticket_id from (${MESSAGE_TICKETS}) x) as voided`,
    },
  },
  attachments: {
    purge: {
      hasKeys: true,
      text: `with doomed as (
               select id from attachments where org_id = $1::uuid and created_at < $2::timestamptz
                order by created_at limit $3::int for update skip locked
             ), gone as (
               delete from attachments a where a.org_id = $1::uuid and a.id in (select id from doomed)
               returning a.storage_key as key
             )
             select (select count(*) from gone)::int as n,
                    array(select key from gone where key is not null) as keys`,
    },
  },
  player_sessions: {
    purge: {
      hasKeys: false,
      text: `with doomed as (
               select id from player_sessions where org_id = $1::uuid and started_at < $2::timestamptz
                order by started_at limit $3::int for update skip locked
             ), gone as (
               delete from player_sessions s where s.org_id = $1::uuid and s.id in (select id from doomed) returning 1
             )
             select (select count(*) from gone)::int as n, null::text[] as keys`,
    },
    anonymise: {
      hasKeys: false,
      text: `with doomed as (
               select id from player_sessions where org_id = $1::uuid and started_at < $2::timestamptz
                  and num_nonnulls(ip_hash, platform, client_version) > 0
                order by started_at limit $3::int for update skip locked
             ), done as (
               update player_sessions s set ip_hash = null, platform = null, client_version = null
                where s.org_id = $1::uuid and s.id in (select id from doomed) returning 1
             )
             select (select count(*) from done)::int as n, null::text[] as keys`,
    },
  },
  audit_logs: {
    purge: {
      hasKeys: false,
      text: `select gm_purge_audit_logs($2::timestamptz, $3::int) as n, null::text[] as keys
              where $1::uuid is not null`,
    },
  },
};

// Attachments have no anonymous form: anonymise removes them as purge does.
const sqlFor = (p: Pick<RetentionPolicy, 'target' | 'action'>): Sql => {
  const byAction = BATCH_SQL[p.target];
  const sql = byAction[p.action] ?? byAction.purge;
  if (!sql) throw new Error(`no retention statement for ${p.target}/${p.action}`);
  return sql;
};

/** Applies one policy to at most `limit` rows; a batch with fewer rows than `limit` was the last. */
export async function applyRetentionBatch(
  tx: Tx,
  policy: Pick<RetentionPolicy, 'target' | 'action' | 'days'>,
  now: Date,
  limit = 500,
): Promise<RetentionBatch> {
  const r = await tx.query<{
    n: number;
    keys: string[] | null;
    tickets?: string[];
    anonymised?: string[];
    voided?: string[];
  }>(sqlFor(policy).text, [tx.orgId, before(now, policy.days), limit]);
  const row = r.rows[0] ?? { n: 0, keys: null };
  await scrubAnonymisedTickets(tx, row.anonymised ?? []);
  if (row.n > 0 && (policy.target === 'tickets' || policy.target === 'messages')) {
    // The live backlog still replays their envelopes (subjects, words) to reconnecting panels:
    // the relay turns this into `live.forget` (workers/live-backlog.ts). Ids only.
    await emitEvent(tx, {
      type: RETENTION_REMOVED,
      aggregateType: 'organization',
      aggregateId: tx.orgId,
      payload: {
        target: policy.target,
        action: policy.action,
        ticketIds: [...new Set([...(row.voided ?? []), ...(row.anonymised ?? []), ...(row.tickets ?? [])])],
      },
    });
  }
  // A purge of messages (not of whole tickets) can take a ticket's latest player messages while
  // the ticket stays: its sentiment must not outlive them (anonymising keeps the scores).
  await refreshTicketSentiment(tx, row.tickets ?? []);
  return { rows: row.n, storageKeys: row.keys ?? [] };
}

// $1 org, $2 cutoff: what a batch would select, counted.
const PREVIEW_SQL: Record<RetentionTarget, string> = {
  tickets: `select count(*)::int as n from tickets
             where org_id = $1::uuid and status = 'closed' and closed_at < $2::timestamptz
               and ($3::text = 'purge' or ${TICKET_LEFT_TO_ANONYMISE})`,
  messages: `select count(*)::int as n from messages
              where org_id = $1::uuid and created_at < $2::timestamptz
                and ($3::text = 'purge' or body <> '' or author_player_id is not null)`,
  attachments: `select count(*)::int as n from attachments
                 where org_id = $1::uuid and created_at < $2::timestamptz and $3::text is not null`,
  player_sessions: `select count(*)::int as n from player_sessions
                     where org_id = $1::uuid and started_at < $2::timestamptz
                       and ($3::text = 'purge' or num_nonnulls(ip_hash, platform, client_version) > 0)`,
  audit_logs: `select count(*)::int as n from audit_logs
                where org_id = $1::uuid and created_at < $2::timestamptz and $3::text is not null`,
};

export interface RetentionPreviewItem {
  target: RetentionTarget;
  action: RetentionAction;
  days: number;
  /** Rows older than the cutoff the policy would purge or anonymise now. */
  rows: number;
  cutoff: Date;
}

/** What applying the policies now would touch, per target (nothing is changed). */
export async function previewRetention(
  tx: Tx,
  policies: readonly RetentionPolicy[],
  now: Date,
): Promise<RetentionPreviewItem[]> {
  const out: RetentionPreviewItem[] = [];
  for (const p of policies) {
    const cutoff = before(now, p.days);
    const r = await tx.query<{ n: number }>(PREVIEW_SQL[p.target], [tx.orgId, cutoff, p.action]);
    out.push({ target: p.target, action: p.action, days: p.days, rows: r.rows[0]?.n ?? 0, cutoff });
  }
  return out;
}

export type RetentionCounts = Partial<Record<RetentionTarget, number>> & {
  files?: number;
  fileErrors?: number;
};

/** Audits one run of the policies with what it removed or anonymised per table. */
export async function recordRetentionRun(
  tx: Tx,
  run: { id: string; startedAt: Date; counts: RetentionCounts; complete: boolean },
): Promise<void> {
  await recordChange(tx, SYSTEM, {
    action: 'retention.applied',
    target: { type: 'retention_run', id: run.id },
    data: { startedAt: run.startedAt.toISOString(), counts: run.counts, complete: run.complete },
  });
}
