-- Up Migration

-- Erasing a player on either side of a report (db/player-privacy.ts) keeps the report's ticket
-- for the moderators: staff's history and audit entries on it stay, with the erased player's
-- name, game account and Discord id replaced by "an erased player", where gm_scrub_player_history
-- empties every entry of the tickets it is given.

-- `body` with every needle replaced, case-insensitively. In JSON text (`json`) a needle is looked
-- for as JSON writes it (quotes and backslashes escaped). A needle shorter than 3 characters
-- would match inside other words and keys: it is replaced only as a whole word, or in JSON as a
-- whole string value.
create function gm_redact(body text, needles text[], json boolean)
returns text
language plpgsql immutable
set search_path = pg_catalog
as $$
declare
  n text;
  pat text;
begin
  if body is null then return null; end if;
  foreach n in array coalesce(needles, '{}') loop
    continue when n is null or n = '';
    if json then n := substr(to_jsonb(n)::text, 2, length(to_jsonb(n)::text) - 2); end if;
    pat := regexp_replace(n, '([\[\].^$*+?(){}|\\])', '\\\1', 'g');
    if char_length(n) >= 3 then
      body := regexp_replace(body, pat, 'an erased player', 'gi');
    elsif json then
      body := regexp_replace(body, '"' || pat || '"', '"an erased player"', 'gi');
    else
      body := regexp_replace(body, '\m' || pat || '\M', 'an erased player', 'gi');
    end if;
  end loop;
  return body;
end
$$;
grant execute on function gm_redact(text, text[], boolean) to gamemod_app;

-- The history and audit entries of report tickets with the needles redacted; the `message` of
-- the `player.reported` entries of `report_ids` (reports by or about the erased player, whose
-- details the erase blanks) goes. Returns the entries changed.
create function gm_redact_report_history(needles text[], ticket_ids uuid[], report_ids uuid[])
returns integer
language sql volatile security definer
set search_path = pg_catalog, public
as $$
  with ev as (
    update public.ticket_events e
       set data = public.gm_redact(
             (case when e.type = 'player.reported' and e.data ->> 'reportId' = any(report_ids::text[])
                   then e.data - 'message' else e.data end)::text,
             needles, true)::jsonb
     where e.org_id = (select nullif(current_setting('app.org_id', true), '')::uuid)
       and e.ticket_id = any(gm_redact_report_history.ticket_ids)
       and e.data <> '{}'::jsonb
       and public.gm_redact(
             (case when e.type = 'player.reported' and e.data ->> 'reportId' = any(report_ids::text[])
                   then e.data - 'message' else e.data end)::text,
             needles, true) <> e.data::text
    returning 1
  ), au as (
    update public.audit_logs a set data = public.gm_redact(a.data::text, needles, true)::jsonb
     where a.org_id = (select nullif(current_setting('app.org_id', true), '')::uuid)
       and a.target_id = any(gm_redact_report_history.ticket_ids::text[])
       and a.data <> '{}'::jsonb
       and public.gm_redact(a.data::text, needles, true) <> a.data::text
    returning 1
  )
  select ((select count(*) from ev) + (select count(*) from au))::integer
$$;
revoke all on function gm_redact_report_history(text[], uuid[], uuid[]) from public;
grant execute on function gm_redact_report_history(text[], uuid[], uuid[]) to gamemod_app;

-- Down Migration

drop function gm_redact_report_history(text[], uuid[], uuid[]);
drop function gm_redact(text, text[], boolean);
