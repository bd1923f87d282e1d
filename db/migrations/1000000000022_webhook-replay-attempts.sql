-- Up Migration

-- Manual replays get their own attempt numbers. A replay used to take the next automatic attempt
-- number, so the automatic retry for that number found it "already attempted" and skipped, and
-- the sweep saw a later attempt and stopped looking: one failed replay ended the retries.
alter table webhook_deliveries add column replay boolean not null default false;
alter table webhook_deliveries drop constraint webhook_deliveries_subscription_id_outbox_id_attempt_key;
alter table webhook_deliveries
  add constraint webhook_deliveries_subscription_outbox_replay_attempt_key
  unique (subscription_id, outbox_id, replay, attempt);

-- Down Migration

delete from webhook_deliveries where replay;
alter table webhook_deliveries drop constraint webhook_deliveries_subscription_outbox_replay_attempt_key;
alter table webhook_deliveries
  add constraint webhook_deliveries_subscription_id_outbox_id_attempt_key unique (subscription_id, outbox_id, attempt);
alter table webhook_deliveries drop column replay;
