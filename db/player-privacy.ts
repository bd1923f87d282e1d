import { AppError } from '../lib/errors.js';
import { type Actor, recordChange } from './changes.js';
import { forgetOpenings } from './discord-ticket-openings.js';
import { forgetIdempotentAnswers } from './idempotency.js';
import { refreshTicketSentiment } from './message-sentiment.js';
import { orgIdPages } from './organizations.js';
import type { Pool } from './pool.js';
import { refoldAnalytics, scrubNotifications, scrubOutbox } from './privacy-scrub.js';
import {
  forgetReportedPlayer,
  keepReportTickets,
  playerNeedles,
  redactReportTickets,
} from './report-erasure.js';
import type { Tx } from './tenant.js';
import { eraseTranscripts } from './ticket-transcripts.js';

/**
 * A player's data, exported or erased. Every table with a column referring to a player is named
 * here by hand (test/db/player-privacy.test.ts walks the catalog and fails when one is missing),
 * and the erase is checked the same way: no text, JSON or array column of any table may still
 * hold what the player gave us.
 */

export interface PlayerExport {
  id: string;
  playerId: string;
  status: 'pending' | 'ready' | 'failed';
  storageKey: string | null;
  sizeBytes: number | null;
  error: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

const EXPORT_COLUMNS = `id, player_id as "playerId", status, storage_key as "storageKey",
  size_bytes::int as "sizeBytes", error, created_at as "createdAt", finished_at as "finishedAt"`;

async function lockPlayer(tx: Tx, playerId: string): Promise<{ erasedAt: Date | null }> {
  const r = await tx.query<{ erasedAt: Date | null }>(
    `select erased_at as "erasedAt" from player_profiles where org_id = $1::uuid and id = $2::uuid for update`,
    [tx.orgId, playerId],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'player not found');
  return r.rows[0];
}

/** Asks the workers for an archive of everything held about the player. Audited. */
export async function requestPlayerExport(tx: Tx, playerId: string, actor: Actor): Promise<PlayerExport> {
  const p = await lockPlayer(tx, playerId);
  if (p.erasedAt) throw new AppError('conflict', 'this player was erased: there is nothing left to export');
  const r = await tx.query<PlayerExport>(
    `insert into player_exports (org_id, player_id, requested_by) values ($1::uuid, $2::uuid, $3::uuid)
     returning ${EXPORT_COLUMNS}`,
    [tx.orgId, playerId, actor.type === 'user' ? actor.id : null],
  );
  const e = r.rows[0] as PlayerExport;
  await recordChange(tx, actor, {
    action: 'player.export_requested',
    target: { type: 'player', id: playerId },
    data: { exportId: e.id },
  });
  return e;
}

export async function getPlayerExport(tx: Tx, playerId: string, exportId: string): Promise<PlayerExport> {
  const r = await tx.query<PlayerExport>(
    `select ${EXPORT_COLUMNS} from player_exports where org_id = $1::uuid and player_id = $2::uuid and id = $3::uuid`,
    [tx.orgId, playerId, exportId],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'export not found');
  return r.rows[0];
}

/** Pending exports of the org, locked for this transaction (other workers skip them). */
export async function claimPendingExports(tx: Tx, limit = 5): Promise<PlayerExport[]> {
  const r = await tx.query<PlayerExport>(
    `update player_exports set attempts = attempts + 1
      where id in (select id from player_exports where org_id = $1::uuid and status = 'pending'
                    order by created_at limit $2::int for update skip locked)
      returning ${EXPORT_COLUMNS}, attempts`,
    [tx.orgId, limit],
  );
  return r.rows;
}

export async function finishPlayerExport(
  tx: Tx,
  exportId: string,
  outcome: { storageKey: string; sizeBytes: number } | { error: string },
): Promise<void> {
  await tx.query(
    `update player_exports set status = case when $3::text is null then 'ready' else 'failed' end,
            storage_key = $2::text, size_bytes = $4::bigint, error = $3::text, finished_at = now()
      where org_id = $1::uuid and id = $5::uuid and status = 'pending'`,
    [
      tx.orgId,
      'storageKey' in outcome ? outcome.storageKey : null,
      'error' in outcome ? outcome.error.slice(0, 2000) : null,
      'sizeBytes' in outcome ? outcome.sizeBytes : null,
      exportId,
    ],
  );
}

export { type PlayerDossier, playerDossier, playerFiles } from './player-dossier.js';

export interface ErasureResult {
  playerId: string;
  counts: Record<string, number>;
  /** Stored objects whose rows are gone, queued for the workers to delete (storage_erasures). */
  storageKeys: string[];
}

interface ErasedRows {
  counts: Record<string, number>;
  keys: string[] | null;
  blankedIn: string[];
  reportTickets: string[];
}

/**
 * Erases the player: their identities, sessions, codes, moderation record, mail, files and
 * exports are deleted; the tickets they opened are kept anonymised (as retention does) with every
 * message in them blanked, notes deleted, staff notifications about them left without text; their
 * messages elsewhere are blanked; reports by or about them lose their text (not their outcome).
 * The tickets of those reports are the moderators' record and stay useful (db/report-erasure.ts):
 * staff's notes, replies, actions, history and audit entries are kept, with the player's name,
 * game account and Discord id replaced by "an erased player"; a ticket they opened by reporting
 * loses their messages, game identity and evidence, one about them their name and account.
 * History and audit rows of their other tickets keep what happened but not what was said. The modmail routing records of the DMs relayed
 * to them (which carry their Discord id) go, and so do the Discord openings of the tickets (their
 * rendered summary) and the cached Idempotency-Key answers naming them or the tickets.
 * Discord messages the bot posted for them, and the transcript-channel posts of every ticket they
 * wrote in, are queued for deletion there (discord_erasures); their stored objects and those
 * tickets' stored transcripts for deletion from storage (storage_erasures); both by the workers.
 * The profile stays as a tombstone (`erased_at`, no personal data) so tickets keep a requester,
 * and the erase is audited with its counts and announced (`player.erased`, ids only: webhooks,
 * and the live relay forgets the backlogs that quoted them). Erasing twice answers `conflict`.
 */
export async function erasePlayer(tx: Tx, playerId: string, actor: Actor): Promise<ErasureResult> {
  const p = await lockPlayer(tx, playerId);
  if (p.erasedAt) throw new AppError('conflict', 'this player was already erased');
  const needles = await playerNeedles(tx, playerId);
  const r = await tx.query<ErasedRows>(
    `with rt as (
            -- The tickets of their reports: the moderators' record, kept (keepReportTickets) with
            -- their messages blanked and their game identity and evidence taken out.
            select x.id from tickets x where x.org_id = $1::uuid and x.requester_id = $2::uuid
               and exists (select 1 from player_reports r where r.org_id = $1::uuid and r.ticket_id = x.id)
          ),
          t as (select id from tickets where org_id = $1::uuid and requester_id = $2::uuid
                   and id not in (select id from rt)),
          addr as (select address from player_email_addresses where org_id = $1::uuid and player_id = $2::uuid),
          m as (select id from messages where org_id = $1::uuid
                  and (author_player_id = $2::uuid or ticket_id in (select id from t)
                       or channel_id in (select id from message_channels where org_id = $1::uuid and player_id = $2::uuid))),
          posted as (
            select coalesce(tk.discord_channel_id, c.discord_channel_id) as channel_id, x.discord_message_id
              from messages x
              join message_channels c on c.org_id = x.org_id and c.id = x.channel_id
              left join tickets tk on tk.org_id = x.org_id and tk.id = x.ticket_id
             where x.org_id = $1::uuid and x.author_player_id = $2::uuid and x.origin <> 'discord'
               and x.discord_message_id is not null
            union
            select coalesce(tk.discord_channel_id, c.discord_channel_id), r.discord_message_id
              from discord_dm_relays r
              join messages x on x.org_id = r.org_id and x.id = r.message_id
              join message_channels c on c.org_id = x.org_id and c.id = x.channel_id
              left join tickets tk on tk.org_id = x.org_id and tk.id = x.ticket_id
             where r.org_id = $1::uuid and r.target = 'thread' and r.discord_message_id is not null
               and x.author_player_id = $2::uuid
          ),
          queued as (
            insert into discord_erasures (org_id, channel_id, discord_message_id)
            select $1::uuid, channel_id, discord_message_id from posted where channel_id is not null
            on conflict do nothing returning 1
          ),
          files as (
            delete from attachments a where a.org_id = $1::uuid
               and (a.ticket_id in (select id from t) or a.message_id in (select id from m))
            returning a.storage_key as key
          ),
          mail as (
            delete from email_messages e where e.org_id = $1::uuid
               and (e.ticket_id in (select id from t) or e.from_address in (select address from addr)
                    or e.to_addresses && array(select address from addr))
            returning e.raw_storage_key as key
          ),
          exports as (
            delete from player_exports e where e.org_id = $1::uuid and e.player_id = $2::uuid returning e.storage_key as key
          ),
          -- Their ways in (mail thread, DM ticket, relayed DMs) go for their report tickets too.
          threads as (delete from email_threads e where e.org_id = $1::uuid
                         and (e.ticket_id in (select id from t) or e.ticket_id in (select id from rt)) returning 1),
          dms as (delete from discord_dm_tickets d where d.org_id = $1::uuid
                     and (d.ticket_id in (select id from t) or d.ticket_id in (select id from rt)) returning 1),
          -- The relay's record of what it posted into their DM names their Discord id (the profile's,
          -- read here before the profile below is blanked: every part of the statement sees it as it was).
          routed as (
            delete from discord_dm_relayed_messages r where r.org_id = $1::uuid
               and (r.ticket_id in (select id from t) or r.ticket_id in (select id from rt)
                    or r.discord_user_id = (select p.discord_user_id from player_profiles p
                                             where p.org_id = $1::uuid and p.id = $2::uuid))
            returning 1
          ),
          notes as (delete from ticket_notes n where n.org_id = $1::uuid and n.ticket_id in (select id from t) returning 1),
          sessions as (delete from player_sessions s where s.org_id = $1::uuid and s.player_id = $2::uuid returning 1),
          addresses as (delete from player_email_addresses a where a.org_id = $1::uuid and a.player_id = $2::uuid returning 1),
          codes as (delete from player_link_codes c where c.org_id = $1::uuid and c.player_id = $2::uuid returning 1),
          moderation as (delete from player_moderation pm where pm.org_id = $1::uuid and pm.player_id = $2::uuid returning 1),
          reactions as (delete from message_reactions r where r.org_id = $1::uuid and r.player_id = $2::uuid returning 1),
          channels as (
            update message_channels c set name = null where c.org_id = $1::uuid and c.player_id = $2::uuid returning 1
          ),
          blanked as (
            update messages x set body = '', author_player_id = null, deleted_at = coalesce(x.deleted_at, now())
             where x.org_id = $1::uuid and x.id in (select id from m) returning x.ticket_id
          ),
          anonymised as (
            update tickets x set subject = 'Ticket #' || x.number, rating_comment = null, close_reason = null,
                   custom_fields = '{}', delivery_error = null
             where x.org_id = $1::uuid and x.id in (select id from t) returning 1
          ),
          -- What they wrote in a report (and the evidence they sent), or what was written about
          -- them; the outcome (status, resolution) is the studio's and stays.
          reports as (
            update player_reports x set details = null,
                   evidence = case when x.reporter_id = $2::uuid then null else x.evidence end
             where x.org_id = $1::uuid and (x.reporter_id = $2::uuid or x.reported_id = $2::uuid) returning 1
          ),
          profile as (
            update player_profiles x set display_name = null, discord_user_id = null, game_id = null,
                   game_account_id = null, email = null, locale = null, metadata = '{}',
                   blocked_reason = null, erased_at = now()
             where x.org_id = $1::uuid and x.id = $2::uuid returning 1
          )
     select jsonb_build_object(
              'tickets', (select count(*) from anonymised), 'messages', (select count(*) from blanked),
              'attachments', (select count(*) from files), 'emails', (select count(*) from mail),
              'sessions', (select count(*) from sessions), 'reports', (select count(*) from reports),
              'notes', (select count(*) from notes), 'addresses', (select count(*) from addresses),
              'exports', (select count(*) from exports), 'discordMessages', (select count(*) from queued),
              'other', (select count(*) from threads) + (select count(*) from dms) + (select count(*) from routed)
                       + (select count(*) from codes)
                       + (select count(*) from moderation) + (select count(*) from reactions)
                       + (select count(*) from channels) + (select count(*) from profile)
            ) as counts,
            array(select key from files where key is not null union all select key from mail where key is not null
                  union all select key from exports where key is not null) as keys,
            array(select distinct ticket_id from blanked where ticket_id is not null) as "blankedIn",
            array(select id from rt) as "reportTickets"`,
    [tx.orgId, playerId],
  );
  const row = r.rows[0] as ErasedRows;
  // Their messages are deleted now, in their own tickets and in others': no ticket keeps a
  // sentiment read from words that are gone.
  await refreshTicketSentiment(tx, row.blankedIn);
  const tickets = await tx.query<{ id: string }>(
    'select id from tickets where org_id = $1::uuid and requester_id = $2::uuid and id <> all($3::uuid[])',
    [tx.orgId, playerId, row.reportTickets],
  );
  const own = tickets.rows.map((t) => t.id);
  // The reports about them name them in the reporter's ticket: those tickets lose their name.
  const reported = await forgetReportedPlayer(tx, playerId, own);
  await keepReportTickets(tx, row.reportTickets);
  const reportTickets = [...new Set([...row.reportTickets, ...reported.ids])];
  const touched = [...own, ...reportTickets];
  // A Discord opening's plan quotes the summary: the player's mention, the subject, the form.
  await forgetOpenings(tx, touched);
  // A cached Idempotency-Key answer is a copy of the ticket or message made: a replay would
  // hand it back.
  await forgetIdempotentAnswers(tx, [playerId, ...touched]);
  // Events and notifications are copies on their way out: their text goes, report tickets' too.
  await scrubOutbox(tx, playerId, touched);
  await scrubNotifications(tx, touched);
  // Their tickets' fields are gone: the rollups refold what is left of them.
  await refoldAnalytics(tx, own);
  // Their own tickets' history keeps what happened, not what was said; a report ticket's is the
  // moderators' record and keeps staff's entries, with the player's name and ids redacted.
  const scrub = await tx.query<{ n: number }>('select gm_scrub_player_history($1::uuid, $2::uuid[]) as n', [
    playerId,
    own,
  ]);
  const redacted = await redactReportTickets(tx, playerId, [...needles, ...reported.names], reportTickets);
  // Transcripts are snapshots of the words just blanked, in their tickets and in others', and of
  // the subjects just rewritten.
  const transcriptKeys = await eraseTranscripts(tx, [...new Set([...touched, ...row.blankedIn])]);
  const keys = [...(row.keys ?? []), ...transcriptKeys];
  // Deleted from storage by the workers' privacy sweep, queued here so the commit can't lose them.
  // A transcript's key is written again by a later close: one erased before is queued again.
  await tx.query(
    `insert into storage_erasures (org_id, storage_key) select $1::uuid, k from unnest($2::text[]) k
     on conflict (org_id, storage_key) do update set status = 'pending', attempts = 0, error = null, done_at = null
      where storage_erasures.status <> 'pending'`,
    [tx.orgId, keys],
  );
  const counts = {
    ...row.counts,
    reportTickets: reportTickets.length,
    transcripts: transcriptKeys.length,
    historyEntries: (scrub.rows[0]?.n ?? 0) + redacted,
  };
  // The tombstone: written after the scrub, which would otherwise empty it too.
  await recordChange(tx, actor, {
    action: 'player.erased',
    target: { type: 'player', id: playerId },
    data: { counts },
    // Ids only: studios holding copies from webhooks learn what to forget, and the relay drops
    // the live backlogs that quoted the player (lib/live.ts), so open panels refetch.
    event: {
      type: 'player.erased',
      aggregateType: 'player',
      aggregateId: playerId,
      payload: { playerId, ticketIds: touched },
    },
  });
  return { playerId, counts, storageKeys: keys };
}

/** Pending Discord deletions of the org, oldest first. */
export async function pendingDiscordErasures(
  tx: Tx,
  limit = 50,
): Promise<Array<{ id: string; channelId: string; messageId: string; attempts: number }>> {
  const r = await tx.query<{ id: string; channelId: string; messageId: string; attempts: number }>(
    `select id, channel_id as "channelId", discord_message_id as "messageId", attempts from discord_erasures
      where org_id = $1::uuid and status = 'pending' order by created_at limit $2::int for update skip locked`,
    [tx.orgId, limit],
  );
  return r.rows;
}

export async function settleDiscordErasure(
  tx: Tx,
  id: string,
  outcome: 'deleted' | 'refused' | { retry: string },
): Promise<void> {
  await tx.query(
    `update discord_erasures set attempts = attempts + 1,
            status = coalesce($3::text, status), error = $4::text,
            done_at = case when $3::text is null then null else now() end
      where org_id = $1::uuid and id = $2::uuid`,
    [
      tx.orgId,
      id,
      typeof outcome === 'string' ? outcome : null,
      typeof outcome === 'string' ? null : outcome.retry.slice(0, 500),
    ],
  );
}

/** Stored objects of erased players waiting to be deleted, locked for the sweep that takes them. */
export async function pendingStorageErasures(
  tx: Tx,
  limit = 200,
): Promise<Array<{ id: string; storageKey: string; attempts: number }>> {
  const r = await tx.query<{ id: string; storageKey: string; attempts: number }>(
    `select id, storage_key as "storageKey", attempts from storage_erasures
      where org_id = $1::uuid and status = 'pending' order by created_at limit $2::int for update skip locked`,
    [tx.orgId, limit],
  );
  return r.rows;
}

/** A deletion done, or failed: retried by a later sweep, or given up (`final`) with its error kept. */
export async function settleStorageErasure(
  tx: Tx,
  id: string,
  outcome: 'deleted' | { error: string; final: boolean },
): Promise<void> {
  const failed = outcome === 'deleted' ? null : outcome;
  await tx.query(
    `update storage_erasures set attempts = attempts + 1,
            status = coalesce($3::text, status), error = $4::text,
            done_at = case when $3::text is null then null else now() end
      where org_id = $1::uuid and id = $2::uuid`,
    [
      tx.orgId,
      id,
      failed ? (failed.final ? 'failed' : null) : 'deleted',
      failed ? failed.error.slice(0, 500) : null,
    ],
  );
}

/** Organizations with exports to build, Discord messages or stored files to delete (ids only, across tenants). */
export function orgsWithPrivacyWork(pool: Pool, page = 500): AsyncGenerator<string> {
  return orgIdPages(pool, 'gm_privacy_orgs_pending', page);
}

/** An export by id alone (the signed download link names only the export). */
export async function exportById(tx: Tx, exportId: string): Promise<PlayerExport> {
  const r = await tx.query<PlayerExport>(
    `select ${EXPORT_COLUMNS} from player_exports where org_id = $1::uuid and id = $2::uuid`,
    [tx.orgId, exportId],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'export not found');
  return r.rows[0];
}
