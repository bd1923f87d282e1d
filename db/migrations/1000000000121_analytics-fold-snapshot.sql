-- Up Migration

-- The fold used to take the events of transactions below its snapshot's xmin: exact, but the
-- oldest transaction running anywhere on the server held every organization's analytics back
-- (an ANALYZE of a large table, a slow report, a backfill), which is how a committed change took
-- 10 s and more to show. The fold now keeps the snapshot it folded up to: an event is new when
-- its transaction is visible in the fold's snapshot and was not in the last one. A transaction
-- still running holds back only its own events. `upto` stays the snapshot's xmin (every event
-- below it is folded), the lower end of the (org_id, txid) range the fold reads.
alter table analytics_watermarks add column snap pg_snapshot;

-- As in migration 081, with the same test as the fold: something to fold is an event visible now
-- and not in the snapshot last folded (before a first fold with a snapshot: at or past `upto`).
create or replace function gm_analytics_orgs_to_fold(after_id uuid, batch integer)
returns table (org_id uuid)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select o.id
    from public.organizations o
    left join public.analytics_watermarks w on w.org_id = o.id
   -- A snapshot's xmin is at least 1: '1:1:' sees no transaction, so every event counts.
   cross join lateral (select greatest(coalesce(w.upto, '0'::xid8), '1'::xid8)::text as x) u
   cross join lateral (select coalesce(w.snap, (u.x || ':' || u.x || ':')::pg_snapshot) as snap) last
   where (gm_analytics_orgs_to_fold.after_id is null or o.id > gm_analytics_orgs_to_fold.after_id)
     and (exists (select 1 from public.ticket_events e
                   where e.org_id = o.id and e.txid >= pg_snapshot_xmin(last.snap)
                     and not pg_visible_in_snapshot(e.txid, last.snap)
                     and pg_visible_in_snapshot(e.txid, pg_current_snapshot()))
          or exists (select 1 from public.ticket_sla_events e
                      where e.org_id = o.id and e.txid >= pg_snapshot_xmin(last.snap)
                        and not pg_visible_in_snapshot(e.txid, last.snap)
                        and pg_visible_in_snapshot(e.txid, pg_current_snapshot()))
          or exists (select 1 from public.analytics_stale_tickets s where s.org_id = o.id))
   order by o.id
   limit least(greatest(coalesce(gm_analytics_orgs_to_fold.batch, 100), 1), 1000)
$$;

-- Down Migration

create or replace function gm_analytics_orgs_to_fold(after_id uuid, batch integer)
returns table (org_id uuid)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select o.id
    from public.organizations o
    left join public.analytics_watermarks w on w.org_id = o.id
   where (gm_analytics_orgs_to_fold.after_id is null or o.id > gm_analytics_orgs_to_fold.after_id)
     and (exists (select 1 from public.ticket_events e
                   where e.org_id = o.id and e.txid >= coalesce(w.upto, '0'::xid8))
          or exists (select 1 from public.ticket_sla_events e
                      where e.org_id = o.id and e.txid >= coalesce(w.upto, '0'::xid8))
          or exists (select 1 from public.analytics_stale_tickets s where s.org_id = o.id))
   order by o.id
   limit least(greatest(coalesce(gm_analytics_orgs_to_fold.batch, 100), 1), 1000)
$$;
alter table analytics_watermarks drop column snap;
