-- Up Migration

-- Players, ticket categories, tickets and their history, and player reports.

create table player_profiles (
  id              uuid primary key default gen_random_uuid(),
  org_id          uuid not null references organizations (id) on delete cascade,
  display_name    text check (char_length(display_name) between 1 and 100),
  discord_user_id text check (char_length(discord_user_id) between 1 and 32),
  game_id         uuid,
  game_account_id text check (char_length(game_account_id) between 1 and 200),
  email           text check (char_length(email) between 3 and 320 and position('@' in email) > 1),
  locale          text check (char_length(locale) between 2 and 35),
  metadata        jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
  -- a blocked player cannot open tickets or send messages
  blocked_at      timestamptz,
  blocked_reason  text check (char_length(blocked_reason) between 1 and 500),
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  -- set when the player's personal data was erased; the row stays so tickets keep a requester
  erased_at       timestamptz,
  unique (org_id, id),
  unique (org_id, discord_user_id),
  unique (org_id, game_id, game_account_id),
  foreign key (org_id, game_id) references games (org_id, id) on delete set null (game_id)
);
create unique index player_profiles_org_id_email_key on player_profiles (org_id, lower(email));
create trigger player_profiles_touch before update on player_profiles
  for each row execute function gm_touch_updated_at();

create table player_sessions (
  id             uuid primary key default gen_random_uuid(),
  org_id         uuid not null references organizations (id) on delete cascade,
  player_id      uuid not null,
  game_id        uuid not null,
  started_at     timestamptz not null default now(),
  ended_at       timestamptz,
  platform       text check (char_length(platform) between 1 and 50),
  client_version text check (char_length(client_version) between 1 and 50),
  ip_hash        text check (char_length(ip_hash) between 1 and 128),
  created_at     timestamptz not null default now(),
  check (ended_at is null or ended_at >= started_at),
  foreign key (org_id, player_id) references player_profiles (org_id, id) on delete cascade,
  foreign key (org_id, game_id) references games (org_id, id) on delete cascade
);
create index player_sessions_org_id_player_id_started_at_idx
  on player_sessions (org_id, player_id, started_at desc);
create index player_sessions_org_id_started_at_idx on player_sessions (org_id, started_at);
create index player_sessions_org_id_game_id_idx on player_sessions (org_id, game_id);

create table ticket_categories (
  id          uuid primary key default gen_random_uuid(),
  org_id      uuid not null references organizations (id) on delete cascade,
  name        text not null check (char_length(name) between 1 and 100),
  description text check (char_length(description) <= 500),
  emoji       text check (char_length(emoji) between 1 and 64),
  -- intake questions shown in a Discord modal, which holds at most five inputs
  questions   jsonb not null default '[]' check (
                case when jsonb_typeof(questions) = 'array'
                     then jsonb_array_length(questions) <= 5 else false end),
  team_id     uuid,
  ticket_mode text not null default 'thread' check (ticket_mode in ('thread', 'forum', 'channel')),
  position    integer not null default 0,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  archived_at timestamptz,
  unique (org_id, id),
  foreign key (org_id, team_id) references teams (org_id, id) on delete set null (team_id)
);
create index ticket_categories_org_id_position_idx on ticket_categories (org_id, position);
create index ticket_categories_org_id_team_id_idx on ticket_categories (org_id, team_id)
  where team_id is not null;
create trigger ticket_categories_touch before update on ticket_categories
  for each row execute function gm_touch_updated_at();

create table tickets (
  id                     uuid primary key default gen_random_uuid(),
  org_id                 uuid not null references organizations (id) on delete cascade,
  number                 bigint not null check (number > 0),
  subject                text not null check (char_length(subject) between 1 and 200),
  status                 text not null default 'open'
                           check (status in ('open', 'pending', 'on_hold', 'solved', 'closed')),
  priority               text not null default 'normal'
                           check (priority in ('low', 'normal', 'high', 'urgent')),
  origin                 text not null check (origin in ('discord', 'game', 'email', 'panel', 'api')),
  external_id            text check (char_length(external_id) between 1 and 200),
  requester_id           uuid,
  category_id            uuid,
  team_id                uuid,
  assignee_id            uuid references users (id) on delete set null,
  game_id                uuid,
  tags                   text[] not null default '{}' check (cardinality(tags) <= 50),
  custom_fields          jsonb not null default '{}' check (jsonb_typeof(custom_fields) = 'object'),
  locale                 text check (char_length(locale) between 2 and 35),
  discord_guild_id       text check (char_length(discord_guild_id) between 1 and 32),
  -- the thread, forum post or channel that carries the conversation in Discord
  discord_channel_id     text check (char_length(discord_channel_id) between 1 and 32),
  discord_webhook_id     text check (char_length(discord_webhook_id) between 1 and 32),
  merged_into_id         uuid,
  close_reason           text check (char_length(close_reason) between 1 and 1000),
  rating                 smallint check (rating between 1 and 5),
  rating_comment         text check (char_length(rating_comment) between 1 and 2000),
  rated_at               timestamptz,
  first_response_at      timestamptz,
  last_player_message_at timestamptz,
  last_staff_message_at  timestamptz,
  status_changed_at      timestamptz not null default now(),
  reopen_count           integer not null default 0 check (reopen_count >= 0),
  -- denormalised from ticket_sla_events (the source of truth) for "due soon" views
  sla_due_at             timestamptz,
  sla_breached_at        timestamptz,
  solved_at              timestamptz,
  closed_at              timestamptz,
  -- the last failure to deliver to the ticket's Discord channel or email thread
  delivery_error         text check (char_length(delivery_error) between 1 and 2000),
  created_at             timestamptz not null default now(),
  updated_at             timestamptz not null default now(),
  search                 tsvector generated always as (to_tsvector('simple', subject)) stored,
  unique (org_id, id),
  unique (org_id, number),
  unique (org_id, origin, external_id),
  constraint tickets_rating_rated_at_check check ((rating is null) = (rated_at is null)),
  constraint tickets_rating_comment_rating_check check (rating_comment is null or rating is not null),
  constraint tickets_closed_at_check check ((status = 'closed') = (closed_at is not null)),
  constraint tickets_merged_into_self_check check (merged_into_id <> id),
  constraint tickets_requester_fkey foreign key (org_id, requester_id)
    references player_profiles (org_id, id) on delete set null (requester_id),
  constraint tickets_category_fkey foreign key (org_id, category_id)
    references ticket_categories (org_id, id) on delete set null (category_id),
  constraint tickets_team_fkey foreign key (org_id, team_id)
    references teams (org_id, id) on delete set null (team_id),
  constraint tickets_game_fkey foreign key (org_id, game_id)
    references games (org_id, id) on delete set null (game_id),
  constraint tickets_merged_into_fkey foreign key (org_id, merged_into_id)
    references tickets (org_id, id) on delete set null (merged_into_id)
);
-- the inbox and its filters
create index tickets_org_id_status_updated_at_idx on tickets (org_id, status, updated_at desc);
create index tickets_org_id_assignee_id_status_idx on tickets (org_id, assignee_id, status);
create index tickets_org_id_team_id_status_idx on tickets (org_id, team_id, status);
create index tickets_org_id_requester_id_idx on tickets (org_id, requester_id);
create index tickets_org_id_created_at_idx on tickets (org_id, created_at);
create index tickets_tags_idx on tickets using gin (tags);
create index tickets_search_idx on tickets using gin (search);
-- finding the ticket for a Discord channel, SLA "due soon", and the targets of deletes
-- that set references to null
create index tickets_org_id_discord_channel_id_idx on tickets (org_id, discord_channel_id)
  where discord_channel_id is not null;
create index tickets_org_id_sla_due_at_idx on tickets (org_id, sla_due_at)
  where sla_due_at is not null;
create index tickets_org_id_category_id_idx on tickets (org_id, category_id)
  where category_id is not null;
create index tickets_org_id_game_id_idx on tickets (org_id, game_id) where game_id is not null;
create index tickets_org_id_merged_into_id_idx on tickets (org_id, merged_into_id)
  where merged_into_id is not null;
create index tickets_assignee_id_idx on tickets (assignee_id) where assignee_id is not null;
create trigger tickets_touch before update on tickets
  for each row execute function gm_touch_updated_at();

create table player_reports (
  id          uuid primary key default gen_random_uuid(),
  org_id      uuid not null references organizations (id) on delete cascade,
  reporter_id uuid,
  reported_id uuid not null,
  ticket_id   uuid,
  reason      text not null check (reason in (
                'cheating', 'exploiting', 'harassment', 'hate_speech', 'threats', 'spam', 'scam',
                'griefing', 'inappropriate_name', 'inappropriate_content', 'impersonation',
                'real_money_trading', 'underage', 'self_harm', 'other')),
  details     text check (char_length(details) <= 4000),
  origin      text not null check (origin in ('discord', 'game', 'email', 'panel', 'api')),
  external_id text check (char_length(external_id) between 1 and 200),
  status      text not null default 'open' check (status in ('open', 'actioned', 'dismissed')),
  resolution  text check (char_length(resolution) between 1 and 2000),
  resolved_by uuid references users (id) on delete set null,
  resolved_at timestamptz,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  unique (org_id, origin, external_id),
  check (reporter_id is null or reporter_id <> reported_id),
  foreign key (org_id, reporter_id) references player_profiles (org_id, id) on delete set null (reporter_id),
  foreign key (org_id, reported_id) references player_profiles (org_id, id) on delete cascade,
  foreign key (org_id, ticket_id) references tickets (org_id, id) on delete set null (ticket_id)
);
create index player_reports_org_id_status_created_at_idx
  on player_reports (org_id, status, created_at desc);
create index player_reports_org_id_reported_id_created_at_idx
  on player_reports (org_id, reported_id, created_at desc);
create index player_reports_org_id_reporter_id_idx on player_reports (org_id, reporter_id)
  where reporter_id is not null;
create index player_reports_org_id_ticket_id_idx on player_reports (org_id, ticket_id)
  where ticket_id is not null;
create trigger player_reports_touch before update on player_reports
  for each row execute function gm_touch_updated_at();

-- Ticket history. Append-only for the app role.
create table ticket_events (
  id         bigint generated always as identity primary key,
  org_id     uuid not null references organizations (id) on delete cascade,
  ticket_id  uuid not null,
  type       text not null check (char_length(type) between 1 and 64),
  actor_type text not null check (actor_type in ('user', 'player', 'system', 'token')),
  actor_id   uuid,
  data       jsonb not null default '{}' check (jsonb_typeof(data) = 'object'),
  created_at timestamptz not null default now(),
  foreign key (org_id, ticket_id) references tickets (org_id, id) on delete cascade
);
create index ticket_events_org_id_ticket_id_id_idx on ticket_events (org_id, ticket_id, id);
create index ticket_events_org_id_created_at_idx on ticket_events (org_id, created_at);

-- Assignment history (the current assignee is tickets.assignee_id / team_id).
create table ticket_assignments (
  id            uuid primary key default gen_random_uuid(),
  org_id        uuid not null references organizations (id) on delete cascade,
  ticket_id     uuid not null,
  user_id       uuid references users (id) on delete set null,
  team_id       uuid,
  assigned_by   uuid references users (id) on delete set null,
  assigned_at   timestamptz not null default now(),
  unassigned_at timestamptz,
  check (unassigned_at is null or unassigned_at >= assigned_at),
  foreign key (org_id, ticket_id) references tickets (org_id, id) on delete cascade,
  foreign key (org_id, team_id) references teams (org_id, id) on delete set null (team_id)
);
create index ticket_assignments_org_id_ticket_id_assigned_at_idx
  on ticket_assignments (org_id, ticket_id, assigned_at);
create index ticket_assignments_org_id_user_id_assigned_at_idx
  on ticket_assignments (org_id, user_id, assigned_at);
create index ticket_assignments_org_id_team_id_idx on ticket_assignments (org_id, team_id)
  where team_id is not null;

-- Internal notes: never shown to players, never mirrored out.
create table ticket_notes (
  id             uuid primary key default gen_random_uuid(),
  org_id         uuid not null references organizations (id) on delete cascade,
  ticket_id      uuid not null,
  author_user_id uuid references users (id) on delete set null,
  body           text not null check (char_length(body) between 1 and 16000),
  created_at     timestamptz not null default now(),
  edited_at      timestamptz,
  foreign key (org_id, ticket_id) references tickets (org_id, id) on delete cascade
);
create index ticket_notes_org_id_ticket_id_created_at_idx
  on ticket_notes (org_id, ticket_id, created_at);

-- ---------------------------------------------------------------------------
-- row-level security and grants
-- ---------------------------------------------------------------------------
alter table player_profiles enable row level security;
alter table player_profiles force row level security;
create policy tenant_isolation on player_profiles for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table player_sessions enable row level security;
alter table player_sessions force row level security;
create policy tenant_isolation on player_sessions for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table ticket_categories enable row level security;
alter table ticket_categories force row level security;
create policy tenant_isolation on ticket_categories for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table tickets enable row level security;
alter table tickets force row level security;
create policy tenant_isolation on tickets for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table player_reports enable row level security;
alter table player_reports force row level security;
create policy tenant_isolation on player_reports for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table ticket_events enable row level security;
alter table ticket_events force row level security;
create policy tenant_isolation on ticket_events for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table ticket_assignments enable row level security;
alter table ticket_assignments force row level security;
create policy tenant_isolation on ticket_assignments for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table ticket_notes enable row level security;
alter table ticket_notes force row level security;
create policy tenant_isolation on ticket_notes for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

grant select, insert, update, delete
  on player_profiles, player_sessions, ticket_categories, tickets, player_reports,
     ticket_assignments, ticket_notes
  to gamemod_app;
grant select, insert on ticket_events to gamemod_app;
grant usage on sequence ticket_events_id_seq to gamemod_app;

-- Down Migration

drop table ticket_notes;
drop table ticket_assignments;
drop table ticket_events;
drop table player_reports;
drop table tickets;
drop table ticket_categories;
drop table player_sessions;
drop table player_profiles;
