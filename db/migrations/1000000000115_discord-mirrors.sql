-- Up Migration

-- Discord channel mirroring: an org chooses channels of its linked guilds (staff chatter,
-- announcements, bug reports) whose messages are copied read-only into the inbox, one
-- conversation (`message_channels` of kind 'discord_mirror') per channel and one per thread in
-- it. Removing a mirror keeps the conversations (archived); adding the channel again reuses them,
-- so the messages already there stay unique on their Discord id. `backfill_state` says how the
-- copy of the last 100 messages went: `refused` names what the bot lacks in the channel.
create table discord_mirrors (
  id                 uuid primary key default gen_random_uuid(),
  org_id             uuid not null references organizations (id) on delete cascade,
  guild_id           text not null,
  discord_channel_id text not null check (discord_channel_id ~ '^[0-9]{17,20}$'),
  channel_id         uuid not null,
  created_by         uuid references users (id) on delete set null,
  created_at         timestamptz not null default now(),
  backfill_state     text not null default 'pending' check (backfill_state in ('pending', 'done', 'refused')),
  backfilled_count   int check (backfilled_count >= 0),
  backfill_problem   text check (char_length(backfill_problem) between 1 and 500),
  backfilled_at      timestamptz,
  unique (org_id, id),
  unique (org_id, discord_channel_id),
  foreign key (org_id, guild_id) references discord_guilds (org_id, guild_id) on delete cascade,
  foreign key (org_id, channel_id) references message_channels (org_id, id) on delete cascade
);
create index discord_mirrors_org_id_channel_id_idx on discord_mirrors (org_id, channel_id);

-- A mirrored conversation's mirror (the channel's and its threads'); null once the mirror is gone.
alter table message_channels add column discord_mirror_id uuid;
alter table message_channels add constraint message_channels_discord_mirror_fkey
  foreign key (org_id, discord_mirror_id) references discord_mirrors (org_id, id)
  on delete set null (discord_mirror_id);
create index message_channels_org_id_discord_mirror_id_idx on message_channels (org_id, discord_mirror_id)
  where discord_mirror_id is not null;

alter table discord_mirrors enable row level security;
alter table discord_mirrors force row level security;
create policy tenant_isolation on discord_mirrors for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
grant select, insert, update, delete on discord_mirrors to gamemod_app;

-- Down Migration

alter table message_channels drop constraint message_channels_discord_mirror_fkey;
alter table message_channels drop column discord_mirror_id;
drop table discord_mirrors;
