-- Up Migration

-- A modmail ticket's close request is also sent to the player's DM with Confirm / Decline
-- buttons (workers/close-requests.ts). Its channel and message are recorded so the request's
-- outcome can replace those buttons there too: without them, a DM answered, withdrawn or timed
-- out kept buttons that only earned a refusal when pressed.
alter table close_requests
  add column dm_channel_id text check (char_length(dm_channel_id) between 1 and 32),
  add column dm_message_id text check (char_length(dm_message_id) between 1 and 32);

-- Down Migration

alter table close_requests drop column dm_message_id, drop column dm_channel_id;
