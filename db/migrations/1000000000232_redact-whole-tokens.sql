-- Up Migration

-- gm_redact (migration 226) replaced an erased player's name or id anywhere it appeared, inside
-- other words too: erasing "Max" with account "2026" turned a staff note's "Maximum" into
-- "an erased playerimum", another reporter's account "20261" into "an erased player1" and every
-- date of 2026; in JSON it rewrote keys ("status" for a player named "Status") and pieces of
-- UUIDs. Now a needle is replaced only as a whole token (a space, punctuation or the start / end
-- of the text on both sides, not a date or id it is part of), and JSON is walked value by value:
-- only string values are redacted, never keys, numbers or booleans.

-- `body` with every whole-token occurrence of a needle replaced, case-insensitively, in one pass
-- (longest needle first, so "Max Power" goes whole before "Max" is looked for, and a replacement
-- is never looked at again). Next to a token is neither a letter or digit nor a joining character
-- (- _ . : / @ #) followed by one: "Max.", "(2026)" and "Max's" are tokens, "2026-01-03",
-- "v2026.1" and "bfe-9d3a" are not.
create function gm_redact_tokens(body text, needles text[])
returns text
language sql immutable
set search_path = pg_catalog
as $$
  select case
    when body is null then null
    when alts is null then body
    else regexp_replace(
      body,
      '(?<![[:alnum:]])(?<![[:alnum:]][-_.:/@#])(' || alts || ')(?![[:alnum:]])(?![-_.:/@#][[:alnum:]])',
      'an erased player', 'gi')
  end
  from (
    select string_agg(regexp_replace(n, '([\[\].^$*+?(){}|\\])', '\\\1', 'g'), '|'
                      order by char_length(n) desc, n) as alts
      from unnest(coalesce(needles, '{}')) as n
     where n is not null and n <> ''
  ) p
$$;
grant execute on function gm_redact_tokens(text, text[]) to gamemod_app;

-- A JSON value with its string values redacted, at any depth; keys stay. A needle shorter than
-- 3 characters matches only a whole string value (as a token it would hit too much).
create function gm_redact_jsonb(j jsonb, needles text[])
returns jsonb
language plpgsql immutable
set search_path = pg_catalog
as $$
declare
  s text;
begin
  case jsonb_typeof(j)
    when 'string' then
      s := j #>> '{}';
      if exists (select 1 from unnest(needles) n where lower(n) = lower(s)) then
        return to_jsonb('an erased player'::text);
      end if;
      return to_jsonb(public.gm_redact_tokens(s, array(
        select n from unnest(needles) n where char_length(n) >= 3)));
    when 'object' then
      return coalesce(
        (select jsonb_object_agg(e.key, public.gm_redact_jsonb(e.value, needles)) from jsonb_each(j) e),
        '{}'::jsonb);
    when 'array' then
      return coalesce(
        (select jsonb_agg(public.gm_redact_jsonb(e.value, needles) order by e.ord)
           from jsonb_array_elements(j) with ordinality e(value, ord)),
        '[]'::jsonb);
    else
      return j;
  end case;
end
$$;
grant execute on function gm_redact_jsonb(jsonb, text[]) to gamemod_app;

-- Same signature as before (db/report-erasure.ts, gm_redact_report_history). In JSON mode the
-- text comes back as given when nothing in it is redacted, so callers can compare it with the
-- original to find the rows that change.
create or replace function gm_redact(body text, needles text[], json boolean)
returns text
language plpgsql immutable
set search_path = pg_catalog
as $$
declare
  src jsonb;
  dst jsonb;
begin
  if body is null then return null; end if;
  if not json then return public.gm_redact_tokens(body, needles); end if;
  src := body::jsonb;
  dst := public.gm_redact_jsonb(src, array(
    select n from unnest(coalesce(needles, '{}')) n where n is not null and n <> ''));
  if dst = src then return body; end if;
  return dst::text;
end
$$;

-- Down Migration

create or replace function gm_redact(body text, needles text[], json boolean)
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
drop function gm_redact_jsonb(jsonb, text[]);
drop function gm_redact_tokens(text, text[]);
