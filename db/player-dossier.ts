import { AppError } from '../lib/errors.js';
import type { Tx } from './tenant.js';

/** The rows of one table in the archive, as the database holds them (search vectors left out). */
export type PlayerDossier = Record<string, Array<Record<string, unknown>>>;

// The columns of a ticket that concern its requester. What the bot and the workers keep for
// themselves stays out: the channel webhook and its sealed token, message ids of the bot's own
// posts, delivery errors, SLA and inactivity timers, the search vector.
const TICKET_COLUMNS = `id, number, subject, status, priority, origin, requester_id, category_id, game_id, tags,
  custom_fields, locale, discord_guild_id, discord_channel_id, merged_into_id, close_reason, rating,
  rating_comment, rated_at, first_response_at, solved_at, closed_at, reopen_count,
  player_sentiment_label, player_sentiment_score, created_at, updated_at`;

// A message's content and who wrote it, without the delivery bookkeeping (claims, chunk ids, errors).
const MESSAGE_COLUMNS = `id, channel_id, ticket_id, author_type, author_user_id, author_player_id, origin, body,
  reply_to_id, discord_message_id, created_at, edited_at, deleted_at, sentiment_score,
  sentiment_comparative, sentiment_label, sentiment_language`;

// A report about the player: that it was made, why, and what came of it. Who made it and what
// they wrote (details, evidence, the match, the ticket it was filed on) is the reporter's.
const REPORTED_COLUMNS = `id, reported_id, reason, origin, status, resolution, resolved_at, created_at, updated_at`;

/**
 * What the player's tickets, conversations and files are, shared by the dossier and the files
 * of the archive. $1 org, $2 player. A ticket they opened may hold other players too (a
 * moderation ticket's later reports, someone else in its Discord thread): what those wrote, and
 * who they are, is theirs (GDPR Art. 15(4)), so of a ticket's conversation the player gets their
 * own messages and staff's, and of its history their own entries and staff's, never another
 * player's nor a report event they did not make.
 */
const SCOPE = `t as (select id from tickets where org_id = $1::uuid and requester_id = $2::uuid),
  dm as (select id from message_channels where org_id = $1::uuid and player_id = $2::uuid),
  m as (select id from messages where org_id = $1::uuid
          and (author_player_id = $2::uuid
               or (author_type <> 'player' and (ticket_id in (select id from t) or channel_id in (select id from dm)))))`;

const OWN_FILES = `(a.message_id in (select id from m) or (a.message_id is null and a.ticket_id in (select id from t)))`;

/**
 * Everything held about the player, table by table: their profile and identities (with the game
 * accounts of further games linked to them, each its own player_profiles row), sessions,
 * moderation, the tickets they opened with the conversation and history that is theirs or
 * staff's, their messages and reactions elsewhere, their reports and the reports about them (not
 * who made those), and their mail. The database's own bookkeeping is left out: the analytics
 * fold's transaction ids, trace contexts, search vectors, stored file keys, code hashes, the
 * Discord side's credentials and claims.
 */
export async function playerDossier(tx: Tx, playerId: string): Promise<PlayerDossier> {
  const r = await tx.query<{ d: PlayerDossier }>(
    `with ${SCOPE},
          addr as (select address from player_email_addresses where org_id = $1::uuid and player_id = $2::uuid),
          -- The player's profile and the game accounts of further games linked to it (their own
          -- rows, migration 228): the person's accounts and names in those games too.
          own as (select id from player_profiles where org_id = $1::uuid and (id = $2::uuid or linked_player_id = $2::uuid))
     select jsonb_build_object(
       'player_profiles', (select jsonb_agg(to_jsonb(x) order by x.id = $2::uuid desc, x.created_at, x.id) from player_profiles x
                            where org_id = $1::uuid and id in (select id from own)),
       'player_email_addresses', (select jsonb_agg(to_jsonb(x)) from player_email_addresses x where org_id = $1::uuid and player_id = $2::uuid),
       'player_sessions', (select jsonb_agg(to_jsonb(x) - 'txid' order by x.started_at) from player_sessions x where org_id = $1::uuid and player_id = $2::uuid),
       'player_moderation', (select jsonb_agg(to_jsonb(x)) from player_moderation x where org_id = $1::uuid and player_id = $2::uuid),
       'player_link_codes', (select jsonb_agg(to_jsonb(x) - 'code_hash') from player_link_codes x where org_id = $1::uuid and player_id = $2::uuid),
       'player_reports', (select jsonb_agg(x.j order by x.created_at, x.j ->> 'id') from (
           select to_jsonb(r) - 'txid' - 'traceparent' as j, r.created_at from player_reports r
            where r.org_id = $1::uuid and r.reporter_id = $2::uuid
           union all
           select (select to_jsonb(c) from (select ${REPORTED_COLUMNS}) c), r.created_at from player_reports r
            where r.org_id = $1::uuid and r.reported_id = $2::uuid and r.reporter_id is distinct from $2::uuid) x),
       'player_exports', (select jsonb_agg(to_jsonb(x) - 'storage_key' order by x.created_at) from player_exports x where org_id = $1::uuid and player_id = $2::uuid),
       'tickets', (select jsonb_agg(to_jsonb(c) order by c.number) from (
           select ${TICKET_COLUMNS} from tickets where org_id = $1::uuid and id in (select id from t)) c),
       'ticket_events', (select jsonb_agg(to_jsonb(x) - 'txid' order by x.id) from ticket_events x
                          where org_id = $1::uuid
                            and ((actor_type = 'player' and actor_id = $2::uuid)
                                 or (ticket_id in (select id from t) and actor_type <> 'player' and type <> 'player.reported'))),
       'message_channels', (select jsonb_agg(to_jsonb(x)) from message_channels x
                             where org_id = $1::uuid and (player_id = $2::uuid or ticket_id in (select id from t))),
       'messages', (select jsonb_agg(to_jsonb(c) order by c.created_at) from (
           select ${MESSAGE_COLUMNS} from messages where org_id = $1::uuid and id in (select id from m)) c),
       'message_reactions', (select jsonb_agg(to_jsonb(x)) from message_reactions x
                              where org_id = $1::uuid
                                and (player_id = $2::uuid or (player_id is null and message_id in (select id from m)))),
       'attachments', (select jsonb_agg(to_jsonb(a) - 'storage_key' order by a.created_at) from attachments a
                        where a.org_id = $1::uuid and ${OWN_FILES}),
       'email_messages', (select jsonb_agg(to_jsonb(x) - 'raw_storage_key' order by x.created_at) from email_messages x
                           where org_id = $1::uuid and (from_address in (select address from addr)
                             or (direction = 'out' and ticket_id in (select id from t))))
     ) as d`,
    [tx.orgId, playerId],
  );
  const d = r.rows[0]?.d ?? {};
  if (!d.player_profiles) throw new AppError('not_found', 'player not found');
  for (const k of Object.keys(d)) d[k] ??= [];
  return d;
}

/** The stored files of the player's archive: those of the conversation the dossier holds. */
export async function playerFiles(
  tx: Tx,
  playerId: string,
): Promise<Array<{ id: string; filename: string; storageKey: string }>> {
  const r = await tx.query<{ id: string; filename: string; storageKey: string }>(
    `with ${SCOPE}
     select a.id, a.filename, a.storage_key as "storageKey" from attachments a
      where a.org_id = $1::uuid and a.storage_key is not null and ${OWN_FILES}
      order by a.created_at`,
    [tx.orgId, playerId],
  );
  return r.rows;
}
