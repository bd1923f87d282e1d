-- Up Migration

-- Discord delivery remembers what it has posted, so a retry never posts it again: the ids of the
-- chunks of a long message posted so far (a retry resumes after them), and which alert went to
-- which channel.
alter table messages add column discord_chunk_ids text[] not null default '{}'
  check (cardinality(discord_chunk_ids) <= 100);

create table discord_alert_posts (
  org_id             uuid not null references organizations (id) on delete cascade,
  outbox_id          bigint not null,
  channel_id         text not null check (char_length(channel_id) between 1 and 32),
  discord_message_id text check (char_length(discord_message_id) between 1 and 32),
  created_at         timestamptz not null default now(),
  primary key (org_id, outbox_id, channel_id),
  -- kept as long as the event it announced
  foreign key (org_id, outbox_id) references outbox (org_id, id) on delete cascade
);

alter table discord_alert_posts enable row level security;
alter table discord_alert_posts force row level security;
create policy tenant_isolation on discord_alert_posts for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

grant select, insert, update, delete on discord_alert_posts to gamemod_app;

-- Down Migration

drop table discord_alert_posts;
alter table messages drop column discord_chunk_ids;
