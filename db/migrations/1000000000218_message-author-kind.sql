-- Up Migration

-- Who a message speaks for, on the row: `player` (the ticket's player, or the player of a ticket
-- merged into it), `participant` (someone else on the player's side: a member staff added to the
-- ticket's thread or channel, anyone writing in a public forum post), `staff` (a member, or an
-- API token relaying what its staff wrote) or `system` (a rule, an acknowledgement, a notice).
-- `author_type` says what kind of account wrote it, and a participant has a player profile like
-- the player, so the SLA, the analytics fold and the rules could not tell them apart from it.
-- db/README.md, "Who a message speaks for", says what each kind moves.
alter table messages add column author_kind text
  check (author_kind in ('player', 'participant', 'staff', 'system'));

-- Writers that do not say (a Discord mirror, a DM, auto-close's notice) get the kind their
-- account type implies; only db/tickets.ts `reply` knows a participant or an API token's answer.
create function gm_message_author_kind() returns trigger language plpgsql as $$
begin
  new.author_kind := case new.author_type when 'player' then 'player' when 'user' then 'staff' else 'system' end;
  return new;
end $$;
create trigger messages_author_kind before insert on messages
  for each row when (new.author_kind is null) execute function gm_message_author_kind();

-- The rows already there, read and written with the force lifted for this one statement (the
-- owner has no policy on these tables). A participant is known by the mark its message.created
-- event carries, or, on Discord (where anyone else writing in a public forum post was one), by
-- being neither the ticket's player nor the player of a ticket merged into it. An API token's
-- answers were stored as `system` and stay so: nothing on the row tells them from a rule's.
alter table messages no force row level security;
alter table tickets no force row level security;
alter table ticket_events no force row level security;
update messages m set author_kind = case
    when m.author_type = 'user' then 'staff'
    when m.author_type <> 'player' then 'system'
    when m.ticket_id is not null and (
      exists (select 1 from ticket_events e
               where e.org_id = m.org_id and e.ticket_id = m.ticket_id and e.type = 'message.created'
                 and e.data ->> 'messageId' = m.id::text and e.data ->> 'participant' = 'true')
      or (m.origin = 'discord' and m.author_player_id is not null
          and exists (select 1 from tickets t
                       where t.org_id = m.org_id and t.id = m.ticket_id
                         and t.requester_id is distinct from m.author_player_id
                         and not exists (select 1 from tickets s
                                          where s.org_id = t.org_id and s.merged_into_id = t.id
                                            and s.requester_id = m.author_player_id))))
      then 'participant'
    else 'player' end;
alter table ticket_events force row level security;
alter table tickets force row level security;
alter table messages force row level security;

alter table messages alter column author_kind set not null;

-- Down Migration

drop trigger messages_author_kind on messages;
drop function gm_message_author_kind();
alter table messages drop column author_kind;
