-- Up Migration

-- What the bot and the workers need to find a ticket's Discord side again.
-- The webhook token lets the workers post staff replies under the staff member's name and
-- avatar; it is a credential: never log it, never return it from the API.
alter table tickets
  add column discord_webhook_token text check (char_length(discord_webhook_token) between 1 and 200),
  -- the bot's first message in the ticket (answers summary and action buttons)
  add column discord_summary_message_id text check (char_length(discord_summary_message_id) between 1 and 32),
  -- the ticket's mode on Discord: private thread, forum post or dedicated channel
  add column discord_mode text check (discord_mode in ('thread', 'forum', 'channel'));

-- Down Migration

alter table tickets
  drop column discord_mode,
  drop column discord_summary_message_id,
  drop column discord_webhook_token;
