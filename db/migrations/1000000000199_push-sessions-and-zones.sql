-- Up Migration

-- The sign-in session a push subscription was made in (a SHA-256 of the session's key, never
-- the key itself), so signing out of that browser ends its push on the server, whatever the page
-- manages to do first: the browser may be offline, or its page closed. Null for rows made before
-- this column, and for rows whose session is unknown; sign-out everywhere removes all of them.
alter table push_subscriptions add column session_ref text
  check (session_ref ~ '^[0-9a-f]{64}$');

-- A stored time zone as PostgreSQL can use it, or null when PostgreSQL does not know it. Zones
-- are checked against pg_timezone_names when set (db/notification-prefs.ts), but rows written
-- before that check may hold a name only Node's ICU data knows (US/Pacific-New): read through
-- this, one such row cannot fail a query made for the whole organization (the digest sweep).
-- Each call that fails costs a subtransaction; it is asked once per member holding a digest.
create function gm_known_time_zone(tz text)
returns text
language plpgsql stable
set search_path = pg_catalog
as $$
begin
  perform now() at time zone tz;
  return tz;
exception when invalid_parameter_value then
  return null;
end
$$;
revoke execute on function gm_known_time_zone(text) from public;
grant execute on function gm_known_time_zone(text) to gamemod_app;

-- Down Migration

drop function gm_known_time_zone(text);
alter table push_subscriptions drop column session_ref;
