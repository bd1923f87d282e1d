-- Up Migration

-- The rating prompt sent to the player by direct message on a close (`sent`), or refused by
-- Discord because the player takes no DMs from the bot (`refused`: not tried again for this
-- close). Per close, like the transcript and the closing message: a reopen and a new close start
-- afresh. The DM carries the star buttons because Discord disables buttons in a locked thread.
alter table discord_ticket_sides
  add column rating_dm text check (rating_dm in ('sent', 'refused'));

-- Down Migration

alter table discord_ticket_sides drop column rating_dm;
