import { type SentimentScore, scoreSentiment } from '../lib/sentiment.js';

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
 * The `set` part of an edit's update: the edited text is scored again when the message is a
 * player's (the score is computed as if it were, parameters $4-$7, and kept only for a player's).
 */
export const RESCORED = `sentiment_score = case when author_type = 'player' then $4::int end,
  sentiment_comparative = case when author_type = 'player' then $5::real end,
  sentiment_label = case when author_type = 'player' then $6::text end,
  sentiment_language = case when author_type = 'player' then $7::text end`;
