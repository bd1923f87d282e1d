-- Up Migration

-- A staff member's request that the player close their ticket: the player confirms or declines
-- with buttons in the ticket; without an answer by `due_at` the workers close it. At most one
-- pending request per ticket. A player's reply, a reopen or a close made otherwise cancels it.
-- `discord_message_id` is the request message the workers posted (through discord.ticket_sync),
-- `settled_message` whether that message was edited to show the outcome (buttons removed).
create table close_requests (
  id                 uuid primary key default gen_random_uuid(),
  org_id             uuid not null references organizations (id) on delete cascade,
  ticket_id          uuid not null,
  requested_by       uuid references users (id) on delete set null,
  reason             text check (char_length(reason) <= 500),
  due_at             timestamptz not null,
  status             text not null default 'pending'
                       check (status in ('pending', 'confirmed', 'declined', 'timed_out', 'cancelled')),
  cancel_reason      text check (cancel_reason in ('player_replied', 'reopened', 'closed')),
  settled_at         timestamptz,
  discord_message_id text check (char_length(discord_message_id) between 1 and 32),
  settled_message    boolean not null default false,
  created_at         timestamptz not null default now(),
  unique (org_id, id),
  foreign key (org_id, ticket_id) references tickets (org_id, id) on delete cascade
);
create unique index close_requests_one_pending on close_requests (org_id, ticket_id) where status = 'pending';
create index close_requests_ticket on close_requests (org_id, ticket_id, created_at desc);
-- The sweep that re-creates expiry jobs Redis lost looks for overdue pending requests.
create index close_requests_due on close_requests (due_at) where status = 'pending';

alter table close_requests enable row level security;
alter table close_requests force row level security;
create policy tenant_isolation on close_requests for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
grant select, insert, update, delete on close_requests to gamemod_app;

-- Panels the bot posted (`/panel`), so they can be edited in place when the categories they offer
-- change. `rendered_hash` is what the message shows now (an edit happens once per change);
-- `gone_at` records that Discord no longer has the message or its channel (never retried).
create table discord_panels (
  id            uuid primary key default gen_random_uuid(),
  org_id        uuid not null references organizations (id) on delete cascade,
  guild_id      text not null check (char_length(guild_id) between 1 and 32),
  channel_id    text not null check (char_length(channel_id) between 1 and 32),
  message_id    text not null check (char_length(message_id) between 1 and 32),
  title         text not null check (char_length(title) between 1 and 256),
  description   text not null check (char_length(description) <= 2000),
  style         text not null check (style in ('buttons', 'select')),
  rendered_hash text check (char_length(rendered_hash) <= 128),
  gone_at       timestamptz,
  gone_code     int,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  unique (org_id, message_id)
);
create index discord_panels_live on discord_panels (org_id) where gone_at is null;

alter table discord_panels enable row level security;
alter table discord_panels force row level security;
create policy tenant_isolation on discord_panels for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
grant select, insert, update, delete on discord_panels to gamemod_app;

-- Claim locks in channel mode, as the sync last applied them: whether the channel is locked to
-- its claimer, the claimer's Discord id (null: a claimer without a linked Discord account, so
-- only the player writes), the overwrites whose Send Messages it denied and the member overwrite
-- it added for a claimer who had none, so an unclaim or transfer takes back exactly what it did.
alter table discord_ticket_sides
  add column claim_lock_locked boolean not null default false,
  add column claim_lock_holder text check (char_length(claim_lock_holder) between 1 and 32),
  add column claim_lock_restricted text[] not null default '{}' check (cardinality(claim_lock_restricted) <= 100),
  add column claim_lock_added_member text check (char_length(claim_lock_added_member) between 1 and 32);

-- Down Migration

alter table discord_ticket_sides
  drop column claim_lock_added_member,
  drop column claim_lock_restricted,
  drop column claim_lock_holder,
  drop column claim_lock_locked;
drop table discord_panels;
drop table close_requests;
