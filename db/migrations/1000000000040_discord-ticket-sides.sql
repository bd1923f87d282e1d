-- Up Migration

-- What the `discord.ticket_sync` job has done to a ticket's Discord side, so a replayed or
-- repeated job brings Discord to the ticket's state without posting anything twice: the state
-- last applied (open, or closed: locked and archived / read-only), the summary as last rendered,
-- and, per close (`closed_cycle` is the ticket's closed_at they belong to), the transcript post
-- and the rating prompt. A run claims the row while it talks to Discord, so two jobs of one
-- ticket never interleave their calls; a dead run's claim lapses.
create table discord_ticket_sides (
  org_id                   uuid not null references organizations (id) on delete cascade,
  ticket_id                uuid not null,
  applied_state            text not null default 'open' check (applied_state in ('open', 'closed')),
  summary_hash             text check (char_length(summary_hash) <= 128),
  closed_cycle             timestamptz,
  transcript_done          boolean not null default false,
  transcript_message_id    text check (char_length(transcript_message_id) between 1 and 32),
  rating_prompt_message_id text check (char_length(rating_prompt_message_id) between 1 and 32),
  claim                    text check (char_length(claim) <= 64),
  claimed_until            timestamptz,
  updated_at               timestamptz not null default now(),
  primary key (org_id, ticket_id),
  foreign key (org_id, ticket_id) references tickets (org_id, id) on delete cascade
);

-- Notices posted for one outbox event (a reopen, a close from outside Discord), once per channel.
create table discord_ticket_notices (
  org_id             uuid not null references organizations (id) on delete cascade,
  outbox_id          bigint not null,
  channel_id         text not null check (char_length(channel_id) between 1 and 32),
  discord_message_id text check (char_length(discord_message_id) between 1 and 32),
  created_at         timestamptz not null default now(),
  primary key (org_id, outbox_id, channel_id),
  foreign key (org_id, outbox_id) references outbox (org_id, id) on delete cascade
);

alter table discord_ticket_sides enable row level security;
alter table discord_ticket_sides force row level security;
create policy tenant_isolation on discord_ticket_sides for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
grant select, insert, update, delete on discord_ticket_sides to gamemod_app;

alter table discord_ticket_notices enable row level security;
alter table discord_ticket_notices force row level security;
create policy tenant_isolation on discord_ticket_notices for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
grant select, insert, update, delete on discord_ticket_notices to gamemod_app;

-- Down Migration

drop table discord_ticket_notices;
drop table discord_ticket_sides;
