-- Up Migration

-- The Discord delivery sweep looks for recent messages written outside Discord that have no
-- Discord id yet and no recorded failure (their job was lost or ran out of attempts).
create index messages_undelivered_idx on messages (org_id, created_at)
  where discord_message_id is null and delivery_error is null and deleted_at is null
    and origin <> 'discord' and ticket_id is not null;

-- Down Migration

drop index messages_undelivered_idx;
