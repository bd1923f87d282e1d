-- Up Migration

-- The auto-close sweep used to derive, for every pending ticket, when it went pending and when it
-- was warned from the ticket's history (two correlated subqueries per ticket), and looked at no
-- more than 2,000 tickets per organization per pass. The two times are now kept on the ticket,
-- written by a trigger as the history entries land, and indexed, so the sweep asks directly for
-- the tickets that are due.
alter table tickets add column pending_since timestamptz;
alter table tickets add column inactivity_warned_at timestamptz;

create function gm_ticket_wait_times() returns trigger
language plpgsql
set search_path = pg_catalog, public
as $$
begin
  if new.type = 'ticket.status_changed' and new.data->>'to' = 'pending' then
    update public.tickets set pending_since = new.created_at
     where org_id = new.org_id and id = new.ticket_id;
  elsif new.type = 'ticket.inactivity_warning' then
    update public.tickets
       set inactivity_warned_at = coalesce((new.data->>'warnedAt')::timestamptz, new.created_at)
     where org_id = new.org_id and id = new.ticket_id;
  end if;
  return null;
end
$$;

create trigger ticket_events_wait_times after insert on ticket_events
  for each row when (new.type in ('ticket.status_changed', 'ticket.inactivity_warning'))
  execute function gm_ticket_wait_times();

update tickets t set
  pending_since = (select max(e.created_at) from ticket_events e where e.org_id = t.org_id and e.ticket_id = t.id
                     and e.type = 'ticket.status_changed' and e.data->>'to' = 'pending'),
  inactivity_warned_at = (select max(coalesce((e.data->>'warnedAt')::timestamptz, e.created_at)) from ticket_events e
                     where e.org_id = t.org_id and e.ticket_id = t.id and e.type = 'ticket.inactivity_warning')
 where t.status = 'pending';

create index tickets_pending_wait_idx on tickets
  (org_id, (greatest(created_at, last_staff_message_at, last_player_message_at, pending_since)))
  where status = 'pending';
create index tickets_pending_warned_idx on tickets (org_id, inactivity_warned_at)
  where status = 'pending' and inactivity_warned_at is not null;

-- Down Migration

drop index tickets_pending_warned_idx;
drop index tickets_pending_wait_idx;
drop trigger ticket_events_wait_times on ticket_events;
drop function gm_ticket_wait_times();
alter table tickets drop column inactivity_warned_at;
alter table tickets drop column pending_since;
