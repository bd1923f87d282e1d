-- Up Migration

-- A ticket's version (the API's ETag, what If-Match is compared with) was the row's xmin, which
-- every write changes: the SLA worker storing a due time, the bot recording the ticket's thread,
-- webhook or summary message, a sentiment refresh. A moderator who read the ticket then got 412
-- on an edit for a change nobody can see. The version is now `revision`, bumped by this trigger
-- only when a field of the ticket a person reads in its API representation changes. A trigger
-- rather than a bump in each db/ function: it also catches the writes that bypass those
-- functions (an erasure rewriting the subject, a deleted team or category set to null by its
-- foreign key, a player link moving the requester), and with `update of` and `when` it is not
-- even called by the statements that touch only the system's own columns.
alter table tickets add column revision bigint not null default 1;

create function gm_ticket_revision() returns trigger
language plpgsql
set search_path = pg_catalog, public
as $$
begin
  new.revision := old.revision + 1;
  return new;
end
$$;

-- Left out on purpose: updated_at (every change touches it), the Discord side (guild, channel,
-- summary, webhook, mode), player sentiment (derived from the messages, refreshed when they are
-- edited), the SLA due and breach times, delivery errors and the auto-close stamps.
create trigger tickets_revision
  before update of subject, status, priority, category_id, team_id, assignee_id, requester_id, game_id,
    tags, custom_fields, merged_into_id, close_reason, rating, rating_comment, external_id,
    first_response_at, last_player_message_at, last_staff_message_at, solved_at, closed_at
  on tickets
  for each row when (
    old.subject is distinct from new.subject
    or old.status is distinct from new.status
    or old.priority is distinct from new.priority
    or old.category_id is distinct from new.category_id
    or old.team_id is distinct from new.team_id
    or old.assignee_id is distinct from new.assignee_id
    or old.requester_id is distinct from new.requester_id
    or old.game_id is distinct from new.game_id
    or old.tags is distinct from new.tags
    or old.custom_fields is distinct from new.custom_fields
    or old.merged_into_id is distinct from new.merged_into_id
    or old.close_reason is distinct from new.close_reason
    or old.rating is distinct from new.rating
    or old.rating_comment is distinct from new.rating_comment
    or old.external_id is distinct from new.external_id
    or old.first_response_at is distinct from new.first_response_at
    or old.last_player_message_at is distinct from new.last_player_message_at
    or old.last_staff_message_at is distinct from new.last_staff_message_at
    or old.solved_at is distinct from new.solved_at
    or old.closed_at is distinct from new.closed_at)
  execute function gm_ticket_revision();

-- Down Migration

drop trigger tickets_revision on tickets;
drop function gm_ticket_revision();
alter table tickets drop column revision;
