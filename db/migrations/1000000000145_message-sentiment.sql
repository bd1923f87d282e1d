-- Up Migration

-- A player message's sentiment, scored when it is recorded (lib/sentiment.ts: a local lexicon, so
-- scoring needs no network and can sit in the message's own transaction). Kept on the row rather
-- than scored again on each read because rules, the panel and later the analytics all read it,
-- and a later lexicon change should not silently rewrite what a rule saw. Staff and system
-- messages are not scored (null); messages recorded before this migration stay null: the lexicon
-- is JavaScript, so SQL cannot backfill them. `language` names the lexicon's language, so a
-- score from the English lexicon on a German message can be told apart once others exist.
alter table messages
  add column sentiment_score int,
  add column sentiment_comparative real,
  add column sentiment_label text check (sentiment_label in ('positive', 'neutral', 'negative')),
  add column sentiment_language text check (char_length(sentiment_language) between 2 and 35),
  add constraint messages_sentiment_whole check (
    (sentiment_label is null) = (sentiment_score is null)
    and (sentiment_label is null) = (sentiment_comparative is null)
    and (sentiment_label is null) = (sentiment_language is null));

-- The ticket's latest player sentiment, written with the player's message (the same statement
-- that moves last_player_message_at), so the inbox, the ticket view and rules read one column
-- instead of looking up the latest player message.
alter table tickets
  add column player_sentiment_label text check (player_sentiment_label in ('positive', 'neutral', 'negative')),
  add column player_sentiment_score int,
  add constraint tickets_player_sentiment_whole check ((player_sentiment_label is null) = (player_sentiment_score is null));

-- Down Migration

alter table tickets drop constraint tickets_player_sentiment_whole;
alter table tickets drop column player_sentiment_score;
alter table tickets drop column player_sentiment_label;
alter table messages drop constraint messages_sentiment_whole;
alter table messages drop column sentiment_language;
alter table messages drop column sentiment_label;
alter table messages drop column sentiment_comparative;
alter table messages drop column sentiment_score;
