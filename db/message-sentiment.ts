import { type SentimentScore, scoreSentiment } from '../lib/sentiment.js';
import type { Tx } from './tenant.js';

/**
 * The sentiment stored with a message: only players' messages are scored, since what rules and
 * staff want to know is how the player feels, and staff replies would drown it in "thanks" and
 * "sorry". Computed here, in the process that records the message, because the lexicon is
 * JavaScript and the score must be on the row before any rule reads it.
 */
export function messageSentiment(authorType: string, body: string | null | undefined): SentimentScore | null {
  if (authorType !== 'player' || !body) return null;
  return scoreSentiment(body);
}

/** The four `messages.sentiment_*` parameters, in column order (score, comparative, label, language). */
export function sentimentValues(
  s: SentimentScore | null,
): [number | null, number | null, string | null, string | null] {
  return s ? [s.score, s.comparative, s.label, s.language] : [null, null, null, null];
}

/** A message's sentiment as the API and the panel see it: null when the message was not scored. */
export const MESSAGE_SENTIMENT_COLUMN = `case when sentiment_label is null then null else json_build_object(
  'score', sentiment_score, 'comparative', sentiment_comparative, 'label', sentiment_label,
  'language', sentiment_language) end as sentiment`;

/** The ticket's latest player sentiment (see migration 145), null before the player wrote a scored message. */
export const TICKET_SENTIMENT_COLUMN = `case when player_sentiment_label is null then null else json_build_object(
  'score', player_sentiment_score, 'label', player_sentiment_label) end as "playerSentiment"`;

export interface StoredSentiment {
  score: number;
  comparative: number;
  label: SentimentScore['label'];
  language: string;
}

/**
 * The `set` part of an edit's update: the edited text is scored again when the message is the
 * player's (the score is computed as if it were, parameters $4-$7, and kept only for the
 * player's: a participant's words are not the player's mood, participants.ts).
 */
export const RESCORED = `sentiment_score = case when author_kind = 'player' then $4::int end,
  sentiment_comparative = case when author_kind = 'player' then $5::real end,
  sentiment_label = case when author_kind = 'player' then $6::text end,
  sentiment_language = case when author_kind = 'player' then $7::text end`;

/**
 * Brings these tickets' player sentiment back in line with their conversation after a message
 * was edited, deleted or erased: the latest scored, undeleted player message's, or none. The
 * columns are otherwise written only when a player's message is recorded, so without this an
 * edit from "worst game, garbage" to "fixed, thanks" would leave the ticket (and every rule
 * reading it) negative. Call it in the transaction that changed the messages, after the change.
 */
export async function refreshTicketSentiment(tx: Tx, ticketIds: readonly (string | null)[]): Promise<void> {
  const ids = [...new Set(ticketIds.filter((x): x is string => x !== null))];
  if (!ids.length) return;
  await tx.query(
    `update tickets t set player_sentiment_label = latest.label, player_sentiment_score = latest.score
     from unnest($2::uuid[]) as x(id)
     left join lateral (
       select m.sentiment_label as label, m.sentiment_score as score from messages m
        where m.org_id = $1::uuid and m.ticket_id = x.id and m.author_kind = 'player'
          and m.deleted_at is null and m.sentiment_label is not null
        order by m.created_at desc, m.id desc limit 1
     ) latest on true
     where t.org_id = $1::uuid and t.id = x.id
       and (t.player_sentiment_label, t.player_sentiment_score) is distinct from (latest.label, latest.score)`,
    [tx.orgId, ids],
  );
}
