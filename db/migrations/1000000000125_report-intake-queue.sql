-- Up Migration

-- Player reports are accepted in one short transaction and folded into the moderation queue by
-- the workers (workers/report-fold.ts): opening a ticket takes the organization's ticket counter
-- until commit, so a ticket per report capped intake at the org's ticket-open rate. A report
-- now records the moderation ticket it goes into (`queued_ticket_id`, the id that ticket gets)
-- until the fold opens or finds that ticket and moves the id to `ticket_id`; the match and the
-- evidence travel with the report so the fold can give the ticket its context.
alter table player_reports
  add column match_id text check (char_length(match_id) between 1 and 100),
  add column evidence jsonb check (evidence is null or jsonb_typeof(evidence) = 'object'),
  add column queued_ticket_id uuid;
create index player_reports_org_id_queued_idx on player_reports (org_id, created_at)
  where queued_ticket_id is not null;

-- The moderation ticket a reported player's reports go into: one per player while it is open.
-- Its id is chosen at the first report, before the ticket exists, so the answer to that report
-- can name it; when staff solve or close it, the next report chooses a new one.
create table player_report_queues (
  org_id      uuid not null references organizations (id) on delete cascade,
  reported_id uuid not null,
  ticket_id   uuid not null,
  created_at  timestamptz not null default now(),
  primary key (org_id, reported_id),
  foreign key (org_id, reported_id) references player_profiles (org_id, id) on delete cascade
);
alter table player_report_queues enable row level security;
alter table player_report_queues force row level security;
create policy tenant_isolation on player_report_queues for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
grant select, insert, update, delete on player_report_queues to gamemod_app;

-- Which organizations have reports waiting for the fold. Identifiers only, keyset-paged like
-- gm_analytics_orgs_to_fold.
create policy definer_read on player_reports for select to current_user using (true);

create function gm_report_orgs_to_fold(after_id uuid, batch integer)
returns table (org_id uuid)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select o.id
    from public.organizations o
   where (gm_report_orgs_to_fold.after_id is null or o.id > gm_report_orgs_to_fold.after_id)
     and exists (select 1 from public.player_reports r
                  where r.org_id = o.id and r.queued_ticket_id is not null)
   order by o.id
   limit least(greatest(coalesce(gm_report_orgs_to_fold.batch, 100), 1), 1000)
$$;
revoke all on function gm_report_orgs_to_fold(uuid, integer) from public;
grant execute on function gm_report_orgs_to_fold(uuid, integer) to gamemod_app;

-- Down Migration

drop function gm_report_orgs_to_fold(uuid, integer);
drop policy definer_read on player_reports;
drop table player_report_queues;
drop index player_reports_org_id_queued_idx;
alter table player_reports drop column queued_ticket_id, drop column evidence, drop column match_id;
