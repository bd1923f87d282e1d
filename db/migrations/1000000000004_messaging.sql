-- Up Migration

-- Conversations: channels, messages, reactions, unread state and attachments.

create table message_channels (
  id                 uuid primary key default gen_random_uuid(),
  org_id             uuid not null references organizations (id) on delete cascade,
  kind               text not null check (kind in ('ticket', 'player_dm', 'staff_room', 'discord_mirror')),
  -- one conversation channel per ticket
  ticket_id          uuid unique,
  player_id          uuid,
  name               text check (char_length(name) between 1 and 100),
  discord_channel_id text check (char_length(discord_channel_id) between 1 and 32),
  last_message_at    timestamptz,
  created_at         timestamptz not null default now(),
  archived_at        timestamptz,
  unique (org_id, id),
  check (kind <> 'ticket' or ticket_id is not null),
  check (kind <> 'player_dm' or player_id is not null),
  foreign key (org_id, ticket_id) references tickets (org_id, id) on delete cascade,
  foreign key (org_id, player_id) references player_profiles (org_id, id) on delete cascade
);
create index message_channels_org_id_kind_last_message_at_idx
  on message_channels (org_id, kind, last_message_at desc);
create index message_channels_org_id_player_id_idx on message_channels (org_id, player_id)
  where player_id is not null;
create index message_channels_org_id_discord_channel_id_idx
  on message_channels (org_id, discord_channel_id) where discord_channel_id is not null;

create table messages (
  id                 uuid primary key default gen_random_uuid(),
  org_id             uuid not null references organizations (id) on delete cascade,
  channel_id         uuid not null,
  ticket_id          uuid,
  author_type        text not null check (author_type in ('user', 'player', 'system', 'bot')),
  author_user_id     uuid references users (id) on delete set null,
  author_player_id   uuid,
  -- where the message was written; mirroring never sends it back there
  origin             text not null check (origin in ('discord', 'game', 'email', 'panel', 'api')),
  -- its id where it was written (Discord message id, email Message-ID, SDK id): replays are no-ops
  external_id        text check (char_length(external_id) between 1 and 200),
  body               text not null check (char_length(body) <= 16000),
  reply_to_id        uuid,
  -- ids the message got where it was delivered to (edits, deletes, email In-Reply-To matching)
  discord_message_id text check (char_length(discord_message_id) between 1 and 32),
  email_message_id   text check (char_length(email_message_id) between 1 and 998),
  delivered_at       timestamptz,
  delivery_error     text check (char_length(delivery_error) between 1 and 2000),
  created_at         timestamptz not null default now(),
  edited_at          timestamptz,
  deleted_at         timestamptz,
  search             tsvector generated always as (to_tsvector('simple', body)) stored,
  unique (org_id, id),
  unique (org_id, origin, external_id),
  check (num_nonnulls(author_user_id, author_player_id) <= 1),
  foreign key (org_id, channel_id) references message_channels (org_id, id) on delete cascade,
  foreign key (org_id, ticket_id) references tickets (org_id, id) on delete cascade,
  foreign key (org_id, author_player_id) references player_profiles (org_id, id)
    on delete set null (author_player_id),
  foreign key (org_id, reply_to_id) references messages (org_id, id) on delete set null (reply_to_id)
);
create index messages_org_id_channel_id_created_at_idx on messages (org_id, channel_id, created_at);
create index messages_org_id_ticket_id_created_at_idx on messages (org_id, ticket_id, created_at);
create index messages_search_idx on messages using gin (search);
create index messages_org_id_discord_message_id_idx on messages (org_id, discord_message_id)
  where discord_message_id is not null;
create index messages_org_id_email_message_id_idx on messages (org_id, email_message_id)
  where email_message_id is not null;
create index messages_org_id_author_player_id_idx on messages (org_id, author_player_id)
  where author_player_id is not null;
create index messages_org_id_reply_to_id_idx on messages (org_id, reply_to_id)
  where reply_to_id is not null;
create index messages_org_id_created_at_idx on messages (org_id, created_at);

-- A reactor is either a staff user or a player; one reaction per reactor and emoji.
create table message_reactions (
  org_id     uuid not null references organizations (id) on delete cascade,
  message_id uuid not null,
  user_id    uuid references users (id) on delete cascade,
  player_id  uuid,
  emoji      text not null check (char_length(emoji) between 1 and 64),
  created_at timestamptz not null default now(),
  constraint message_reactions_reactor_emoji_key
    unique nulls not distinct (message_id, user_id, player_id, emoji),
  check (num_nonnulls(user_id, player_id) = 1),
  foreign key (org_id, message_id) references messages (org_id, id) on delete cascade,
  foreign key (org_id, player_id) references player_profiles (org_id, id) on delete cascade
);
create index message_reactions_org_id_message_id_idx on message_reactions (org_id, message_id);
create index message_reactions_org_id_player_id_idx on message_reactions (org_id, player_id)
  where player_id is not null;
create index message_reactions_user_id_idx on message_reactions (user_id) where user_id is not null;

-- Unread state: a channel is unread for a user when last_message_at > last_read_at.
create table channel_reads (
  org_id       uuid not null references organizations (id) on delete cascade,
  channel_id   uuid not null,
  user_id      uuid not null references users (id) on delete cascade,
  last_read_at timestamptz not null default now(),
  primary key (channel_id, user_id),
  foreign key (org_id, channel_id) references message_channels (org_id, id) on delete cascade
);
create index channel_reads_org_id_user_id_idx on channel_reads (org_id, user_id);
create index channel_reads_user_id_idx on channel_reads (user_id);

create table attachments (
  id           uuid primary key default gen_random_uuid(),
  org_id       uuid not null references organizations (id) on delete cascade,
  ticket_id    uuid,
  message_id   uuid,
  filename     text not null check (char_length(filename) between 1 and 255),
  content_type text not null default 'application/octet-stream'
                 check (char_length(content_type) between 1 and 255),
  size_bytes   bigint not null check (size_bytes >= 0),
  -- in our object storage, or (Discord CDN) only a link
  storage_key  text check (char_length(storage_key) between 1 and 1024),
  external_url text check (char_length(external_url) between 1 and 2048),
  -- email: Content-ID and Content-Disposition, so inline images render in place
  content_id   text check (char_length(content_id) between 1 and 255),
  disposition  text not null default 'attachment' check (disposition in ('attachment', 'inline')),
  sha256       text check (sha256 ~ '^[0-9a-f]{64}$'),
  created_at   timestamptz not null default now(),
  check (num_nonnulls(storage_key, external_url) >= 1),
  foreign key (org_id, ticket_id) references tickets (org_id, id) on delete cascade,
  foreign key (org_id, message_id) references messages (org_id, id) on delete cascade
);
create index attachments_org_id_ticket_id_idx on attachments (org_id, ticket_id)
  where ticket_id is not null;
create index attachments_org_id_message_id_idx on attachments (org_id, message_id)
  where message_id is not null;
create index attachments_org_id_created_at_idx on attachments (org_id, created_at);

-- ---------------------------------------------------------------------------
-- row-level security and grants
-- ---------------------------------------------------------------------------
alter table message_channels enable row level security;
alter table message_channels force row level security;
create policy tenant_isolation on message_channels for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table messages enable row level security;
alter table messages force row level security;
create policy tenant_isolation on messages for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table message_reactions enable row level security;
alter table message_reactions force row level security;
create policy tenant_isolation on message_reactions for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table channel_reads enable row level security;
alter table channel_reads force row level security;
create policy tenant_isolation on channel_reads for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table attachments enable row level security;
alter table attachments force row level security;
create policy tenant_isolation on attachments for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

grant select, insert, update, delete
  on message_channels, messages, message_reactions, channel_reads, attachments
  to gamemod_app;

-- Down Migration

drop table attachments;
drop table channel_reads;
drop table message_reactions;
drop table messages;
drop table message_channels;
