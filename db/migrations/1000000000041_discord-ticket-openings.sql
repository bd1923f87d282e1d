-- Up Migration

-- What is left of a ticket's Discord side after the bot recorded the ticket: the summary post,
-- bringing the team into the thread, the channel webhook. Written in the same transaction as the
-- ticket, so when Discord fails after the commit (or the bot stops) the `discord.ticket_sync` job
-- finishes it from here instead of an in-memory timer. Each step is recorded as it is done, so a
-- replay never posts the summary twice; `done_at` says nothing is left.
create table discord_ticket_openings (
  org_id             uuid not null references organizations (id) on delete cascade,
  ticket_id          uuid not null,
  -- The summary message as the bot rendered it (the form's answers, mentions, buttons).
  summary            jsonb not null,
  -- Where the channel webhook lives: the thread's parent, or the ticket channel itself.
  webhook_channel_id text not null check (char_length(webhook_channel_id) between 1 and 32),
  team_discord_ids   text[] not null default '{}' check (cardinality(team_discord_ids) <= 100),
  reason             text not null check (char_length(reason) between 1 and 512),
  summary_message_id text check (char_length(summary_message_id) between 1 and 32),
  team_added         boolean not null default false,
  webhook_done       boolean not null default false,
  done_at            timestamptz,
  created_at         timestamptz not null default now(),
  primary key (org_id, ticket_id),
  foreign key (org_id, ticket_id) references tickets (org_id, id) on delete cascade
);

alter table discord_ticket_openings enable row level security;
alter table discord_ticket_openings force row level security;
create policy tenant_isolation on discord_ticket_openings for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
grant select, insert, update, delete on discord_ticket_openings to gamemod_app;

-- Down Migration

drop table discord_ticket_openings;
