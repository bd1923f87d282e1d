-- Up Migration

-- A message is posted to Discord by one job at a time: a run claims the message for a few minutes
-- before it posts (the delivery sweep can enqueue a second job for a message whose first job is
-- still retrying). A crashed run's claim lapses.
alter table messages add column discord_claim text check (char_length(discord_claim) between 1 and 64);
alter table messages add column discord_claimed_until timestamptz;

-- Down Migration

alter table messages drop column discord_claimed_until;
alter table messages drop column discord_claim;
