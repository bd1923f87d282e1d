-- Up Migration

-- Staff notifications (db/notifications.ts, workers/notifications.ts). One row per outbox event
-- and member: (org_id, outbox_id, user_id) being taken means that member already heard of that
-- event, so a replayed job and an event that concerns a member twice (assignee and team member
-- of a new ticket) notify once. `in_panel` is false when the member turned the panel off for this
-- kind of event but another channel is on: the row still dedupes, the centre does not list it.
create table notifications (
  id          uuid primary key default gen_random_uuid(),
  org_id      uuid not null references organizations (id) on delete cascade,
  user_id     uuid not null,
  outbox_id   bigint not null,
  event       text not null check (event in ('assigned', 'mentioned', 'player_replied', 'sla_warning',
                'sla_breached', 'new_in_queue', 'rule')),
  ticket_id   uuid,
  title       text not null check (char_length(title) between 1 and 300),
  body        text check (char_length(body) <= 1000),
  in_panel    boolean not null default true,
  read_at     timestamptz,
  created_at  timestamptz not null default now(),
  unique (org_id, outbox_id, user_id),
  unique (org_id, id),
  -- Leaving the organization takes a member's notifications and choices with it.
  foreign key (org_id, user_id) references memberships (org_id, user_id) on delete cascade,
  foreign key (org_id, ticket_id) references tickets (org_id, id) on delete cascade
);
create index notifications_member on notifications (org_id, user_id, created_at desc, id desc) where in_panel;
create index notifications_unread on notifications (org_id, user_id) where in_panel and read_at is null;

-- Each channel a notification goes out on besides the panel, once: `pending` until the worker
-- sent it (`sent`), gave up on it for good (`failed`), or left it out (`skipped`: quiet hours,
-- no Discord account or email address) or kept it for the member's daily digest (`digest`,
-- then `sent` with the digest).
create table notification_deliveries (
  org_id          uuid not null references organizations (id) on delete cascade,
  notification_id uuid not null,
  channel         text not null check (channel in ('discord', 'email')),
  status          text not null default 'pending' check (status in ('pending', 'sent', 'failed', 'skipped', 'digest')),
  reason          text check (char_length(reason) <= 500),
  updated_at      timestamptz not null default now(),
  primary key (org_id, notification_id, channel),
  foreign key (org_id, notification_id) references notifications (org_id, id) on delete cascade
);
create index notification_deliveries_digest on notification_deliveries (org_id, channel) where status = 'digest';

-- A member's choices, per event and channel; an absent row means the default
-- (db/notification-prefs.ts).
create table notification_prefs (
  org_id   uuid not null references organizations (id) on delete cascade,
  user_id  uuid not null,
  event    text not null check (event in ('assigned', 'mentioned', 'player_replied', 'sla_warning',
             'sla_breached', 'new_in_queue', 'rule')),
  channel  text not null check (channel in ('panel', 'discord', 'email')),
  enabled  boolean not null,
  primary key (org_id, user_id, event, channel),
  foreign key (org_id, user_id) references memberships (org_id, user_id) on delete cascade
);

-- Quiet hours are minutes after midnight in the member's own time zone; start = end means none.
-- A span may cross midnight (22:00 to 07:00 is 1320 to 420).
create table notification_settings (
  org_id       uuid not null references organizations (id) on delete cascade,
  user_id      uuid not null,
  time_zone    text not null default 'UTC' check (char_length(time_zone) between 1 and 64),
  quiet_start  int not null default 0 check (quiet_start between 0 and 1439),
  quiet_end    int not null default 0 check (quiet_end between 0 and 1439),
  email_digest boolean not null default false,
  digest_sent_at timestamptz,
  updated_at   timestamptz not null default now(),
  primary key (org_id, user_id),
  foreign key (org_id, user_id) references memberships (org_id, user_id) on delete cascade
);

alter table notifications enable row level security;
alter table notifications force row level security;
create policy tenant_isolation on notifications for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
alter table notification_deliveries enable row level security;
alter table notification_deliveries force row level security;
create policy tenant_isolation on notification_deliveries for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
alter table notification_prefs enable row level security;
alter table notification_prefs force row level security;
create policy tenant_isolation on notification_prefs for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
alter table notification_settings enable row level security;
alter table notification_settings force row level security;
create policy tenant_isolation on notification_settings for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

grant select, insert, update, delete on notifications, notification_deliveries, notification_prefs,
  notification_settings to gamemod_app;

-- Down Migration

drop table notification_settings;
drop table notification_prefs;
drop table notification_deliveries;
drop table notifications;
