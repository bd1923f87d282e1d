-- Up Migration

-- Every transcript made of a ticket: its stored copy (the storage key, overwritten by each close)
-- and its post in the guild's transcript channel (a new post per close). A transcript is a
-- snapshot of the player's name and words, so erasing the player and retention on the ticket
-- have to find every copy: discord_ticket_sides keeps only the latest close's post, and not the
-- channel it went to.
create table ticket_transcripts (
  id                 bigint generated always as identity,
  org_id             uuid not null references organizations (id) on delete cascade,
  ticket_id          uuid not null,
  storage_key        text check (char_length(storage_key) between 1 and 1024),
  channel_id         text check (channel_id ~ '^[0-9]{17,20}$'),
  discord_message_id text check (discord_message_id ~ '^[0-9]{17,20}$'),
  created_at         timestamptz not null default now(),
  primary key (org_id, id),
  foreign key (org_id, ticket_id) references tickets (org_id, id) on delete cascade,
  check ((channel_id is null) = (discord_message_id is null)),
  check (storage_key is not null or discord_message_id is not null),
  -- A replayed sync job stores and posts the same transcript again: one row.
  unique nulls not distinct (org_id, ticket_id, storage_key, channel_id, discord_message_id)
);

-- The transcripts of closes already made: the stored copy under its fixed key, and the latest
-- post in the transcript channel the guild names now (the only record there is of it). Read
-- with the force lifted for this one statement (the owner has no policy on these tables).
alter table discord_ticket_sides no force row level security;
alter table tickets no force row level security;
alter table discord_guilds no force row level security;
insert into ticket_transcripts (org_id, ticket_id, storage_key, channel_id, discord_message_id, created_at)
select s.org_id, s.ticket_id, 'orgs/' || s.org_id || '/transcripts/' || s.ticket_id || '.html',
       case when s.transcript_message_id ~ '^[0-9]{17,20}$' and g.settings ->> 'transcriptChannelId' ~ '^[0-9]{17,20}$'
            then g.settings ->> 'transcriptChannelId' end,
       case when s.transcript_message_id ~ '^[0-9]{17,20}$' and g.settings ->> 'transcriptChannelId' ~ '^[0-9]{17,20}$'
            then s.transcript_message_id end,
       s.updated_at
  from discord_ticket_sides s
  join tickets t on t.org_id = s.org_id and t.id = s.ticket_id
  left join discord_guilds g on g.org_id = t.org_id and g.guild_id = t.discord_guild_id
 where s.closed_cycle is not null
on conflict do nothing;
alter table discord_guilds force row level security;
alter table tickets force row level security;
alter table discord_ticket_sides force row level security;

alter table ticket_transcripts enable row level security;
alter table ticket_transcripts force row level security;
create policy tenant_isolation on ticket_transcripts for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
grant select, insert, delete on ticket_transcripts to gamemod_app;
grant usage on sequence ticket_transcripts_id_seq to gamemod_app;

-- Down Migration

drop table ticket_transcripts;
