-- Up Migration

-- Sentiment trend rollups (db/analytics-sentiment.ts): scored player messages per organization
-- and local hour and day, in total and by the game, category and team of their ticket: their
-- count, the sum of their scores (so an average over any range or group is a sum over sums) and
-- how many were negative, neutral and positive (migration 145 scores them).

-- A message counts while it is scored and not deleted (a player's deletion, an erasure), under
-- its ticket's game, category and team as the ticket rollups count its replies: the ticket's
-- current ones, so a transfer moves its messages' sentiment with its other counts. A message
-- outside a ticket (a mirrored channel, a DM) counts in the total with '' for every dimension.

-- The fold takes the messages written or changed since its watermark by their writing
-- transaction, as migration 190 does for sessions. Only new rows get the default: adding the
-- column without one rewrites nothing, and the scored messages already there are stamped once
-- below so the first fold takes them (the backfill); older unscored rows stay null and never
-- count. An edit (rescored), a move to another ticket, a deletion mark or a new time restamps
-- the row; delivery bookkeeping names none of those columns and fires nothing.
alter table messages add column txid xid8;
alter table messages alter column txid set default pg_current_xact_id();
update messages set txid = pg_current_xact_id() where sentiment_label is not null;
create index messages_org_id_txid_idx on messages (org_id, txid) where txid is not null;

create trigger messages_analytics_restamp
  before update of ticket_id, created_at, deleted_at, sentiment_score, sentiment_label on messages
  for each row execute function gm_analytics_restamp();

-- A ticket whose game, category or team changes restamps its scored messages, so the next fold
-- moves them to the new values (a ticket has a few dozen messages; transfers are rare).
create function gm_analytics_restamp_ticket_messages() returns trigger language plpgsql as $$
begin
  update messages m set txid = pg_current_xact_id()
   where m.org_id = new.org_id and m.ticket_id = new.id and m.sentiment_label is not null;
  return null;
end $$;
create trigger tickets_analytics_sentiment_dims
  after update of game_id, category_id, team_id on tickets
  for each row when (old.game_id is distinct from new.game_id
                     or old.category_id is distinct from new.category_id
                     or old.team_id is distinct from new.team_id)
  execute function gm_analytics_restamp_ticket_messages();

-- Deleting a message (retention's purge, a ticket's purge cascading) leaves no row to stamp: the
-- tenant's own deletes of scored messages are noted for the next fold, as for tickets.
create table analytics_sentiment_stale (
  org_id     uuid not null references organizations (id) on delete cascade,
  message_id uuid not null,
  primary key (org_id, message_id)
);

create function gm_analytics_note_sentiment_deleted() returns trigger language plpgsql as $$
begin
  insert into analytics_sentiment_stale (org_id, message_id)
  select g.org_id, g.id from gone g
   where g.sentiment_label is not null
     and g.org_id = (select nullif(current_setting('app.org_id', true), '')::uuid)
  on conflict do nothing;
  return null;
end $$;
create trigger messages_analytics_sentiment_deleted after delete on messages
  referencing old table as gone for each statement execute function gm_analytics_note_sentiment_deleted();

-- What each message last contributed, so a refold retracts exactly that. Dimension values are
-- text, '' for none, as in the player activity rollups. No foreign keys: a deleted message's
-- contribution outlives it until folded.
create table analytics_sentiment_contributions (
  org_id      uuid not null references organizations (id) on delete cascade,
  message_id  uuid not null,
  bucket      timestamp not null,
  game_id     text not null,
  category_id text not null,
  team_id     text not null,
  score       int not null,
  label       text not null check (label in ('positive', 'neutral', 'negative')),
  primary key (org_id, message_id)
);

-- The rollups the charts read: per dimension value and bucket, scored messages, their score sum
-- and their count per label.
create table analytics_sentiment_hourly (
  org_id    uuid not null references organizations (id) on delete cascade,
  dim       text not null check (dim in ('*', 'game_id', 'category_id', 'team_id')),
  bucket    timestamp not null,
  value     text not null,
  n         int not null,
  score_sum bigint not null,
  negative  int not null,
  neutral   int not null,
  positive  int not null,
  primary key (org_id, dim, bucket, value)
);
create index analytics_sentiment_hourly_empty_idx on analytics_sentiment_hourly (org_id) where n = 0;
create table analytics_sentiment_daily (
  org_id    uuid not null references organizations (id) on delete cascade,
  dim       text not null check (dim in ('*', 'game_id', 'category_id', 'team_id')),
  bucket    date not null,
  value     text not null,
  n         int not null,
  score_sum bigint not null,
  negative  int not null,
  neutral   int not null,
  positive  int not null,
  primary key (org_id, dim, bucket, value)
);
create index analytics_sentiment_daily_empty_idx on analytics_sentiment_daily (org_id) where n = 0;

-- How far each organization's messages are folded (as analytics_watermarks).
create table analytics_sentiment_watermarks (
  org_id    uuid primary key references organizations (id) on delete cascade,
  upto      xid8 not null default '0',
  snap      pg_snapshot,
  folded_at timestamptz
);

alter table analytics_sentiment_stale enable row level security;
alter table analytics_sentiment_stale force row level security;
create policy tenant_isolation on analytics_sentiment_stale for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table analytics_sentiment_contributions enable row level security;
alter table analytics_sentiment_contributions force row level security;
create policy tenant_isolation on analytics_sentiment_contributions for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table analytics_sentiment_hourly enable row level security;
alter table analytics_sentiment_hourly force row level security;
create policy tenant_isolation on analytics_sentiment_hourly for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table analytics_sentiment_daily enable row level security;
alter table analytics_sentiment_daily force row level security;
create policy tenant_isolation on analytics_sentiment_daily for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table analytics_sentiment_watermarks enable row level security;
alter table analytics_sentiment_watermarks force row level security;
create policy tenant_isolation on analytics_sentiment_watermarks for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

grant select, insert, update, delete
  on analytics_sentiment_stale, analytics_sentiment_contributions, analytics_sentiment_hourly,
     analytics_sentiment_daily, analytics_sentiment_watermarks
  to gamemod_app;
revoke execute on function gm_analytics_restamp_ticket_messages() from public;
revoke execute on function gm_analytics_note_sentiment_deleted() from public;

-- Which organizations have messages to fold, as gm_player_activity_orgs_to_fold (migration 190)
-- answers for sessions: rows stamped by a transaction visible now and not in the snapshot last
-- folded, or deletions noted. Ids only, keyset-paged.
create policy definer_read on messages for select to current_user using (true);
create policy definer_read on analytics_sentiment_watermarks for select to current_user using (true);
create policy definer_read on analytics_sentiment_stale for select to current_user using (true);

create function gm_sentiment_orgs_to_fold(after_id uuid, batch integer)
returns table (org_id uuid)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select o.id
    from public.organizations o
    left join public.analytics_sentiment_watermarks w on w.org_id = o.id
   cross join lateral (select greatest(coalesce(w.upto, '0'::xid8), '1'::xid8)::text as x) u
   cross join lateral (select coalesce(w.snap, (u.x || ':' || u.x || ':')::pg_snapshot) as snap) last
   where (gm_sentiment_orgs_to_fold.after_id is null or o.id > gm_sentiment_orgs_to_fold.after_id)
     and (exists (select 1 from public.messages m
                   where m.org_id = o.id and m.txid is not null and m.txid >= pg_snapshot_xmin(last.snap)
                     and not pg_visible_in_snapshot(m.txid, last.snap)
                     and pg_visible_in_snapshot(m.txid, pg_current_snapshot()))
          or exists (select 1 from public.analytics_sentiment_stale s where s.org_id = o.id))
   order by o.id
   limit least(greatest(coalesce(gm_sentiment_orgs_to_fold.batch, 100), 1), 1000)
$$;
revoke all on function gm_sentiment_orgs_to_fold(uuid, integer) from public;
grant execute on function gm_sentiment_orgs_to_fold(uuid, integer) to gamemod_app;

-- Down Migration

drop function gm_sentiment_orgs_to_fold(uuid, integer);
drop policy definer_read on analytics_sentiment_stale;
drop policy definer_read on analytics_sentiment_watermarks;
drop policy definer_read on messages;
drop table analytics_sentiment_watermarks;
drop table analytics_sentiment_daily;
drop table analytics_sentiment_hourly;
drop table analytics_sentiment_contributions;
drop trigger messages_analytics_sentiment_deleted on messages;
drop function gm_analytics_note_sentiment_deleted();
drop table analytics_sentiment_stale;
drop trigger tickets_analytics_sentiment_dims on tickets;
drop function gm_analytics_restamp_ticket_messages();
drop trigger messages_analytics_restamp on messages;
drop index messages_org_id_txid_idx;
alter table messages drop column txid;
