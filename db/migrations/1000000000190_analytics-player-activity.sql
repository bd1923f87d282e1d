-- Up Migration

-- Player activity rollups (db/analytics-players.ts): sessions started, distinct active players
-- and reports filed, per organization and local hour and day, in total and by game, platform and
-- build (the dimensions sessions carry; reports carry a game only).

-- The fold takes the sessions and reports written since its watermark by their writing
-- transaction, as it takes ticket events. An insert stamps it by default; an update that changes
-- what a row contributes stamps it again (a player merge moves sessions and reports, retention's
-- anonymise clears a session's platform and version, a reporter's deletion nulls reporter_id).
-- Heartbeats, session ends and the report fold name none of those columns, so for them the
-- trigger does not even fire. (The volatile default rewrites both tables once, here, and makes
-- every existing row new to the first fold: the backfill.)
alter table player_sessions add column txid xid8 not null default pg_current_xact_id();
create index player_sessions_org_id_txid_idx on player_sessions (org_id, txid);
alter table player_reports add column txid xid8 not null default pg_current_xact_id();
create index player_reports_org_id_txid_idx on player_reports (org_id, txid);

create function gm_analytics_restamp() returns trigger language plpgsql as $$
begin
  new.txid := pg_current_xact_id();
  return new;
end $$;
create trigger player_sessions_analytics_restamp
  before update of player_id, game_id, started_at, platform, client_version on player_sessions
  for each row execute function gm_analytics_restamp();
create trigger player_reports_analytics_restamp
  before update of reporter_id, reported_id, created_at on player_reports
  for each row execute function gm_analytics_restamp();

-- A report counts under its players' game (the reporter's, else the reported player's, as the
-- report fold opens its ticket), which lives on the profiles: a profile whose game changes (a
-- merge moves it, an erasure or the game's deletion clears it) restamps that player's reports.
-- Rare, and it keeps report intake free of any trigger.
create function gm_analytics_restamp_player_reports() returns trigger language plpgsql as $$
begin
  update player_reports r set txid = pg_current_xact_id()
   where r.org_id = new.org_id and (r.reporter_id = new.id or r.reported_id = new.id);
  return null;
end $$;
create trigger player_profiles_analytics_game
  after update of game_id on player_profiles
  for each row when (old.game_id is distinct from new.game_id)
  execute function gm_analytics_restamp_player_reports();

-- Deleting a session or a report (retention, erasure, a game's deletion) leaves no row to stamp:
-- as for tickets (migration 060), the tenant's own deletes are noted for the next fold.
create table analytics_player_stale (
  org_id  uuid not null references organizations (id) on delete cascade,
  kind    text not null check (kind in ('session', 'report')),
  item_id uuid not null,
  primary key (org_id, kind, item_id)
);

create function gm_analytics_note_player_deleted() returns trigger language plpgsql as $$
begin
  insert into analytics_player_stale (org_id, kind, item_id)
  select distinct g.org_id, case when tg_table_name = 'player_sessions' then 'session' else 'report' end, g.id
    from gone g
   where g.org_id = (select nullif(current_setting('app.org_id', true), '')::uuid)
  on conflict do nothing;
  return null;
end $$;
create trigger player_sessions_analytics_deleted after delete on player_sessions
  referencing old table as gone for each statement execute function gm_analytics_note_player_deleted();
create trigger player_reports_analytics_deleted after delete on player_reports
  referencing old table as gone for each statement execute function gm_analytics_note_player_deleted();

-- Dimension values are text, '' for none (a session without a platform, a report's platform):
-- never null, so every key below is a plain equality a hash join and a primary key can use.

-- What each session and report last contributed, so a refold retracts exactly that: one row
-- each, its local hour. No foreign keys: a deleted row's contribution outlives it until folded.
create table analytics_session_contributions (
  org_id     uuid not null references organizations (id) on delete cascade,
  session_id uuid not null,
  bucket     timestamp not null,
  player_id  uuid not null,
  game_id    text not null,
  platform   text not null,
  build      text not null,
  primary key (org_id, session_id)
);
create table analytics_report_contributions (
  org_id    uuid not null references organizations (id) on delete cascade,
  report_id uuid not null,
  bucket    timestamp not null,
  game_id   text not null,
  primary key (org_id, report_id)
);

-- The players active per bucket, exactly: sessions started per (dimension, bucket, value,
-- player). A distinct count does not add up across buckets; this set is what keeps the stored
-- per-bucket count right as sessions come, go and move (a player starts counting in a bucket
-- when their sessions there go from none to some), and what a week's or a range's count is taken
-- from (the union of its days).
create table analytics_player_hours (
  org_id    uuid not null references organizations (id) on delete cascade,
  dim       text not null check (dim in ('*', 'game_id', 'platform', 'build')),
  bucket    timestamp not null,
  value     text not null,
  player_id uuid not null,
  sessions  int not null,
  primary key (org_id, dim, bucket, value, player_id)
);
create index analytics_player_hours_empty_idx on analytics_player_hours (org_id) where sessions = 0;
create table analytics_player_days (
  org_id    uuid not null references organizations (id) on delete cascade,
  dim       text not null check (dim in ('*', 'game_id', 'platform', 'build')),
  bucket    date not null,
  value     text not null,
  player_id uuid not null,
  sessions  int not null,
  primary key (org_id, dim, bucket, value, player_id)
);
create index analytics_player_days_empty_idx on analytics_player_days (org_id) where sessions = 0;

-- The rollups the charts read: per dimension value and bucket, sessions started, distinct
-- players active and reports filed.
create table analytics_player_hourly (
  org_id   uuid not null references organizations (id) on delete cascade,
  dim      text not null check (dim in ('*', 'game_id', 'platform', 'build')),
  bucket   timestamp not null,
  value    text not null,
  sessions int not null,
  players  int not null,
  reports  int not null,
  primary key (org_id, dim, bucket, value)
);
create index analytics_player_hourly_empty_idx on analytics_player_hourly (org_id)
  where sessions = 0 and reports = 0;
create table analytics_player_daily (
  org_id   uuid not null references organizations (id) on delete cascade,
  dim      text not null check (dim in ('*', 'game_id', 'platform', 'build')),
  bucket   date not null,
  value    text not null,
  sessions int not null,
  players  int not null,
  reports  int not null,
  primary key (org_id, dim, bucket, value)
);
create index analytics_player_daily_empty_idx on analytics_player_daily (org_id)
  where sessions = 0 and reports = 0;

-- How far each organization's sessions and reports are folded (as analytics_watermarks).
create table analytics_player_watermarks (
  org_id    uuid primary key references organizations (id) on delete cascade,
  upto      xid8 not null default '0',
  snap      pg_snapshot,
  folded_at timestamptz
);

alter table analytics_player_stale enable row level security;
alter table analytics_player_stale force row level security;
create policy tenant_isolation on analytics_player_stale for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table analytics_session_contributions enable row level security;
alter table analytics_session_contributions force row level security;
create policy tenant_isolation on analytics_session_contributions for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table analytics_report_contributions enable row level security;
alter table analytics_report_contributions force row level security;
create policy tenant_isolation on analytics_report_contributions for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table analytics_player_hours enable row level security;
alter table analytics_player_hours force row level security;
create policy tenant_isolation on analytics_player_hours for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table analytics_player_days enable row level security;
alter table analytics_player_days force row level security;
create policy tenant_isolation on analytics_player_days for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table analytics_player_hourly enable row level security;
alter table analytics_player_hourly force row level security;
create policy tenant_isolation on analytics_player_hourly for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table analytics_player_daily enable row level security;
alter table analytics_player_daily force row level security;
create policy tenant_isolation on analytics_player_daily for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table analytics_player_watermarks enable row level security;
alter table analytics_player_watermarks force row level security;
create policy tenant_isolation on analytics_player_watermarks for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

grant select, insert, update, delete
  on analytics_player_stale, analytics_session_contributions, analytics_report_contributions,
     analytics_player_hours, analytics_player_days, analytics_player_hourly, analytics_player_daily,
     analytics_player_watermarks
  to gamemod_app;
revoke execute on function gm_analytics_restamp() from public;
revoke execute on function gm_analytics_restamp_player_reports() from public;
revoke execute on function gm_analytics_note_player_deleted() from public;

-- Which organizations have sessions or reports to fold, as gm_analytics_orgs_to_fold (migration
-- 121) answers for tickets: rows stamped by a transaction visible now and not in the snapshot
-- last folded, or deletions noted. Ids only, keyset-paged. player_reports already has its
-- definer_read policy (migration 125).
create policy definer_read on player_sessions for select to current_user using (true);
create policy definer_read on analytics_player_watermarks for select to current_user using (true);
create policy definer_read on analytics_player_stale for select to current_user using (true);

create function gm_player_activity_orgs_to_fold(after_id uuid, batch integer)
returns table (org_id uuid)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select o.id
    from public.organizations o
    left join public.analytics_player_watermarks w on w.org_id = o.id
   cross join lateral (select greatest(coalesce(w.upto, '0'::xid8), '1'::xid8)::text as x) u
   cross join lateral (select coalesce(w.snap, (u.x || ':' || u.x || ':')::pg_snapshot) as snap) last
   where (gm_player_activity_orgs_to_fold.after_id is null or o.id > gm_player_activity_orgs_to_fold.after_id)
     and (exists (select 1 from public.player_sessions s
                   where s.org_id = o.id and s.txid >= pg_snapshot_xmin(last.snap)
                     and not pg_visible_in_snapshot(s.txid, last.snap)
                     and pg_visible_in_snapshot(s.txid, pg_current_snapshot()))
          or exists (select 1 from public.player_reports r
                      where r.org_id = o.id and r.txid >= pg_snapshot_xmin(last.snap)
                        and not pg_visible_in_snapshot(r.txid, last.snap)
                        and pg_visible_in_snapshot(r.txid, pg_current_snapshot()))
          or exists (select 1 from public.analytics_player_stale s where s.org_id = o.id))
   order by o.id
   limit least(greatest(coalesce(gm_player_activity_orgs_to_fold.batch, 100), 1), 1000)
$$;
revoke all on function gm_player_activity_orgs_to_fold(uuid, integer) from public;
grant execute on function gm_player_activity_orgs_to_fold(uuid, integer) to gamemod_app;

-- Down Migration

drop function gm_player_activity_orgs_to_fold(uuid, integer);
drop policy definer_read on analytics_player_stale;
drop policy definer_read on analytics_player_watermarks;
drop policy definer_read on player_sessions;
drop table analytics_player_watermarks;
drop table analytics_player_daily;
drop table analytics_player_hourly;
drop table analytics_player_days;
drop table analytics_player_hours;
drop table analytics_report_contributions;
drop table analytics_session_contributions;
drop trigger player_reports_analytics_deleted on player_reports;
drop trigger player_sessions_analytics_deleted on player_sessions;
drop function gm_analytics_note_player_deleted();
drop table analytics_player_stale;
drop trigger player_profiles_analytics_game on player_profiles;
drop function gm_analytics_restamp_player_reports();
drop trigger player_reports_analytics_restamp on player_reports;
drop trigger player_sessions_analytics_restamp on player_sessions;
drop function gm_analytics_restamp();
drop index player_reports_org_id_txid_idx;
alter table player_reports drop column txid;
drop index player_sessions_org_id_txid_idx;
alter table player_sessions drop column txid;
