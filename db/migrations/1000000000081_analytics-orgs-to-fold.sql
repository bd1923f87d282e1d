-- Up Migration

-- The scheduled analytics fold used to open a transaction for every organization every 2 s,
-- changed or not; with many organizations a pass outlasted the schedule and a change waited for
-- the pass to reach its org. This answers which organizations have anything to fold: events or
-- SLA events at or past their watermark (an org never folded has none, so any event counts), or
-- deletions noted for the fold. Identifiers only, keyset-paged like gm_list_orgs.
create policy definer_read on ticket_events for select to current_user using (true);
create policy definer_read on ticket_sla_events for select to current_user using (true);
create policy definer_read on analytics_watermarks for select to current_user using (true);
create policy definer_read on analytics_stale_tickets for select to current_user using (true);

create function gm_analytics_orgs_to_fold(after_id uuid, batch integer)
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
revoke all on function gm_analytics_orgs_to_fold(uuid, integer) from public;
grant execute on function gm_analytics_orgs_to_fold(uuid, integer) to gamemod_app;

-- Down Migration

drop function gm_analytics_orgs_to_fold(uuid, integer);
drop policy definer_read on analytics_stale_tickets;
drop policy definer_read on analytics_watermarks;
drop policy definer_read on ticket_sla_events;
drop policy definer_read on ticket_events;
