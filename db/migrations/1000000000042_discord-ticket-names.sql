-- Up Migration

-- The subject a ticket's Discord thread or channel is named after, as last applied by the
-- `discord.ticket_sync` job; null while it keeps its opening name (category and player). A
-- rename from anywhere (the bot, the panel, the API) changes the subject; the job renames the
-- channel when the two differ, so the name follows even when Discord's rename limit makes it wait.
alter table discord_ticket_sides
  add column named_subject text check (char_length(named_subject) <= 300);

-- Down Migration

alter table discord_ticket_sides drop column named_subject;
