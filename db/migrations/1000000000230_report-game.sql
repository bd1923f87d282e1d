-- Up Migration

-- A report's game is the game whose key filed it. The report fold (the moderation ticket's game)
-- and the player analytics took it from the reporter's profile instead, which for a game account
-- linked into another game's player's history (migration 228) is the first game's: a second
-- game's reports counted under the first. Reports filed before this have none (null), and their
-- readers fall back to the game their players' profiles give, the best there is to know of them.
alter table player_reports add column game_id uuid,
  add foreign key (org_id, game_id) references games (org_id, id) on delete set null (game_id);

-- gm_accept_game_reports (migration 228), writing each report's game: the game of the key that
-- sent the batch's report, which names its reporter and reported player in that game. The same
-- statements otherwise.
create or replace function gm_accept_game_reports(
  org uuid,
  player_games uuid[],
  player_accounts text[],
  player_names text[],
  report_ids uuid[],
  reporter_places int[],
  reported_places int[],
  report_reasons text[],
  report_messages text[],
  report_external_ids text[],
  report_match_ids text[],
  report_evidence jsonb[],
  report_traceparents text[]
)
returns table (slot int, report_id uuid, report_ticket_id uuid, report_created_at timestamptz, outcome text)
language plpgsql
as $$
declare
  players int := coalesce(cardinality(player_games), 0);
  reports int := coalesce(cardinality(report_ids), 0);
  pid uuid[] := array_fill(null::uuid, array[players]);
  pblocked boolean[] := array_fill(null::boolean, array[players]);
  pname text[] := array_fill(null::text, array[players]);
  pident uuid[] := array_fill(null::uuid, array[players]);
  seen int := 0;
  answered int := 0;
  o_id uuid[] := array_fill(null::uuid, array[reports]);
  o_ticket uuid[] := array_fill(null::uuid, array[reports]);
  o_at timestamptz[] := array_fill(null::timestamptz, array[reports]);
  o_kind text[] := array_fill(null::text, array[reports]);
  rec record;
begin
  -- Inside a transaction already bound to another organization, switching would be a mistake.
  if coalesce(current_setting('app.org_id', true), '') not in ('', org::text) then
    raise exception 'the transaction belongs to another organization' using errcode = '42501';
  end if;
  perform set_config('app.org_id', org::text, true);

  -- Read first and insert only the missing: an upsert's `do update` would lock a much-reported
  -- player's row until commit. A second look sees a player a concurrent first sight inserted
  -- after this statement's snapshot.
  for attempt in 1..2 loop
    exit when seen = players;
    for rec in
      with input as (
        select i.game_id, i.account_id, i.name, i.n::int as n
          from unnest(player_games, player_accounts, player_names) with ordinality as i (game_id, account_id, name, n)
         where pid[i.n::int] is null
      ), found as (
        -- One index look-up per player (limit 1 keeps the planner from scanning the whole
        -- organization's players instead, as its generic plan chose for a join).
        -- A game account linked into another game's player's history counts as that player
        -- (its block too); its name stays on its own row.
        select i.n, p.id, p.blocked_at, p.display_name, p.ident from input i
          cross join lateral (
            select t.id, t.blocked_at, a.display_name, a.id as ident from player_profiles a
              join player_profiles t on t.org_id = a.org_id and t.id = coalesce(a.linked_player_id, a.id)
             where a.org_id = org and a.game_id = i.game_id and a.game_account_id = i.account_id
             limit 1
          ) p
      ), ins as (
        insert into player_profiles (org_id, display_name, game_id, game_account_id)
        select org, i.name, i.game_id, i.account_id from input i
         where not exists (select 1 from found f where f.n = i.n)
        on conflict do nothing
        returning id, game_id, game_account_id, blocked_at, display_name
      )
      select f.n, f.id, f.blocked_at is not null as blocked, f.display_name as name, f.ident from found f
      union all
      select i.n, ins.id, ins.blocked_at is not null, ins.display_name, ins.id
        from ins join input i on i.game_id = ins.game_id and i.account_id = ins.game_account_id
    loop
      if pid[rec.n] is null then
        seen := seen + 1;
      end if;
      pid[rec.n] := rec.id;
      pblocked[rec.n] := rec.blocked;
      pname[rec.n] := rec.name;
      pident[rec.n] := rec.ident;
    end loop;
  end loop;
  if seen < players then
    raise exception 'a player was inserted concurrently, try again' using errcode = '40001';
  end if;

  -- The display name follows the game's latest (rare: only a renamed player's row is written).
  update player_profiles p set display_name = u.name
    from unnest(pident, player_names, pname) as u (id, name, old)
   where u.name <> u.old and p.org_id = org and p.id = u.id;

  -- The queue row is updated, not just read, so a report waits for a concurrent one about the
  -- same player and sees the ticket id it chose. A solved or closed ticket gives way to a new id
  -- under that lock. Rows are taken in id order, so two batches naming the same players never
  -- deadlock. A blocked reporter's report is not written.
  for rec in
    with r as (
      select u.id, u.reason, u.details, u.external_id, u.match_id, u.evidence, u.traceparent, u.n::int as n,
             pid[u.reporter] as reporter_id, pid[u.reported] as reported_id,
             -- The game whose key filed the report (both players are named in it).
             player_games[u.reporter] as game_id
        from unnest(report_ids, reporter_places, reported_places, report_reasons, report_messages,
               report_external_ids, report_match_ids, report_evidence,
               coalesce(report_traceparents, array_fill(null::text, array[reports])))
             with ordinality as u (id, reporter, reported, reason, details, external_id, match_id, evidence,
               traceparent, n)
       where not pblocked[u.reporter]
    ), queue as (
      insert into player_report_queues as q (org_id, reported_id, ticket_id)
      select org, d.reported_id, gen_random_uuid() from (select distinct reported_id from r) d
       order by d.reported_id
      on conflict (org_id, reported_id) do update set ticket_id = case
        when (select t.status from tickets t where t.org_id = org and t.id = q.ticket_id)
               in ('solved', 'closed') then excluded.ticket_id
        else q.ticket_id end
      returning q.reported_id, q.ticket_id
    ), ins as (
      insert into player_reports (id, org_id, reporter_id, reported_id, reason, details, origin, external_id,
        match_id, evidence, queued_ticket_id, traceparent, game_id)
      select r.id, org, r.reporter_id, r.reported_id, r.reason, r.details, 'game', r.external_id, r.match_id,
             r.evidence, queue.ticket_id, r.traceparent, r.game_id
        from r join queue on queue.reported_id = r.reported_id
       order by r.n
      on conflict (org_id, origin, external_id) do nothing
      returning player_reports.id, player_reports.queued_ticket_id, player_reports.created_at
    )
    select r.n, ins.id, ins.queued_ticket_id as ticket_id, ins.created_at from ins join r on r.id = ins.id
  loop
    o_id[rec.n] := rec.id;
    o_ticket[rec.n] := rec.ticket_id;
    o_at[rec.n] := rec.created_at;
    o_kind[rec.n] := 'created';
    answered := answered + 1;
  end loop;
  for i in 1..reports loop
    if pblocked[reporter_places[i]] then
      o_kind[i] := 'blocked';
      answered := answered + 1;
    end if;
  end loop;

  -- A key already used: its unique index made a concurrent first wait for us or us for it, and a
  -- repeat within the batch conflicted with its first; either way this statement sees the first.
  if answered < reports then
    for rec in
      select k.n::int as n, p.id, coalesce(p.ticket_id, p.queued_ticket_id) as ticket_id, p.created_at
        from unnest(report_external_ids) with ordinality as k (external_id, n)
        join player_reports p on p.org_id = org and p.origin = 'game' and p.external_id = k.external_id
       where o_kind[k.n::int] is null
    loop
      if rec.ticket_id is not null then
        o_id[rec.n] := rec.id;
        o_ticket[rec.n] := rec.ticket_id;
        o_at[rec.n] := rec.created_at;
        o_kind[rec.n] := 'repeat';
      end if;
    end loop;
  end if;

  return query
    select s.i::int, o_id[s.i], o_ticket[s.i], o_at[s.i], coalesce(o_kind[s.i], 'conflict')
      from generate_series(1, reports) as s (i);
end
$$;

-- Down Migration

create or replace function gm_accept_game_reports(
  org uuid,
  player_games uuid[],
  player_accounts text[],
  player_names text[],
  report_ids uuid[],
  reporter_places int[],
  reported_places int[],
  report_reasons text[],
  report_messages text[],
  report_external_ids text[],
  report_match_ids text[],
  report_evidence jsonb[],
  report_traceparents text[]
)
returns table (slot int, report_id uuid, report_ticket_id uuid, report_created_at timestamptz, outcome text)
language plpgsql
as $$
declare
  players int := coalesce(cardinality(player_games), 0);
  reports int := coalesce(cardinality(report_ids), 0);
  pid uuid[] := array_fill(null::uuid, array[players]);
  pblocked boolean[] := array_fill(null::boolean, array[players]);
  pname text[] := array_fill(null::text, array[players]);
  pident uuid[] := array_fill(null::uuid, array[players]);
  seen int := 0;
  answered int := 0;
  o_id uuid[] := array_fill(null::uuid, array[reports]);
  o_ticket uuid[] := array_fill(null::uuid, array[reports]);
  o_at timestamptz[] := array_fill(null::timestamptz, array[reports]);
  o_kind text[] := array_fill(null::text, array[reports]);
  rec record;
begin
  -- Inside a transaction already bound to another organization, switching would be a mistake.
  if coalesce(current_setting('app.org_id', true), '') not in ('', org::text) then
    raise exception 'the transaction belongs to another organization' using errcode = '42501';
  end if;
  perform set_config('app.org_id', org::text, true);

  -- Read first and insert only the missing: an upsert's `do update` would lock a much-reported
  -- player's row until commit. A second look sees a player a concurrent first sight inserted
  -- after this statement's snapshot.
  for attempt in 1..2 loop
    exit when seen = players;
    for rec in
      with input as (
        select i.game_id, i.account_id, i.name, i.n::int as n
          from unnest(player_games, player_accounts, player_names) with ordinality as i (game_id, account_id, name, n)
         where pid[i.n::int] is null
      ), found as (
        -- One index look-up per player (limit 1 keeps the planner from scanning the whole
        -- organization's players instead, as its generic plan chose for a join).
        -- A game account linked into another game's player's history counts as that player
        -- (its block too); its name stays on its own row.
        select i.n, p.id, p.blocked_at, p.display_name, p.ident from input i
          cross join lateral (
            select t.id, t.blocked_at, a.display_name, a.id as ident from player_profiles a
              join player_profiles t on t.org_id = a.org_id and t.id = coalesce(a.linked_player_id, a.id)
             where a.org_id = org and a.game_id = i.game_id and a.game_account_id = i.account_id
             limit 1
          ) p
      ), ins as (
        insert into player_profiles (org_id, display_name, game_id, game_account_id)
        select org, i.name, i.game_id, i.account_id from input i
         where not exists (select 1 from found f where f.n = i.n)
        on conflict do nothing
        returning id, game_id, game_account_id, blocked_at, display_name
      )
      select f.n, f.id, f.blocked_at is not null as blocked, f.display_name as name, f.ident from found f
      union all
      select i.n, ins.id, ins.blocked_at is not null, ins.display_name, ins.id
        from ins join input i on i.game_id = ins.game_id and i.account_id = ins.game_account_id
    loop
      if pid[rec.n] is null then
        seen := seen + 1;
      end if;
      pid[rec.n] := rec.id;
      pblocked[rec.n] := rec.blocked;
      pname[rec.n] := rec.name;
      pident[rec.n] := rec.ident;
    end loop;
  end loop;
  if seen < players then
    raise exception 'a player was inserted concurrently, try again' using errcode = '40001';
  end if;

  -- The display name follows the game's latest (rare: only a renamed player's row is written).
  update player_profiles p set display_name = u.name
    from unnest(pident, player_names, pname) as u (id, name, old)
   where u.name <> u.old and p.org_id = org and p.id = u.id;

  -- The queue row is updated, not just read, so a report waits for a concurrent one about the
  -- same player and sees the ticket id it chose. A solved or closed ticket gives way to a new id
  -- under that lock. Rows are taken in id order, so two batches naming the same players never
  -- deadlock. A blocked reporter's report is not written.
  for rec in
    with r as (
      select u.id, u.reason, u.details, u.external_id, u.match_id, u.evidence, u.traceparent, u.n::int as n,
             pid[u.reporter] as reporter_id, pid[u.reported] as reported_id
        from unnest(report_ids, reporter_places, reported_places, report_reasons, report_messages,
               report_external_ids, report_match_ids, report_evidence,
               coalesce(report_traceparents, array_fill(null::text, array[reports])))
             with ordinality as u (id, reporter, reported, reason, details, external_id, match_id, evidence,
               traceparent, n)
       where not pblocked[u.reporter]
    ), queue as (
      insert into player_report_queues as q (org_id, reported_id, ticket_id)
      select org, d.reported_id, gen_random_uuid() from (select distinct reported_id from r) d
       order by d.reported_id
      on conflict (org_id, reported_id) do update set ticket_id = case
        when (select t.status from tickets t where t.org_id = org and t.id = q.ticket_id)
               in ('solved', 'closed') then excluded.ticket_id
        else q.ticket_id end
      returning q.reported_id, q.ticket_id
    ), ins as (
      insert into player_reports (id, org_id, reporter_id, reported_id, reason, details, origin, external_id,
        match_id, evidence, queued_ticket_id, traceparent)
      select r.id, org, r.reporter_id, r.reported_id, r.reason, r.details, 'game', r.external_id, r.match_id,
             r.evidence, queue.ticket_id, r.traceparent
        from r join queue on queue.reported_id = r.reported_id
       order by r.n
      on conflict (org_id, origin, external_id) do nothing
      returning player_reports.id, player_reports.queued_ticket_id, player_reports.created_at
    )
    select r.n, ins.id, ins.queued_ticket_id as ticket_id, ins.created_at from ins join r on r.id = ins.id
  loop
    o_id[rec.n] := rec.id;
    o_ticket[rec.n] := rec.ticket_id;
    o_at[rec.n] := rec.created_at;
    o_kind[rec.n] := 'created';
    answered := answered + 1;
  end loop;
  for i in 1..reports loop
    if pblocked[reporter_places[i]] then
      o_kind[i] := 'blocked';
      answered := answered + 1;
    end if;
  end loop;

  -- A key already used: its unique index made a concurrent first wait for us or us for it, and a
  -- repeat within the batch conflicted with its first; either way this statement sees the first.
  if answered < reports then
    for rec in
      select k.n::int as n, p.id, coalesce(p.ticket_id, p.queued_ticket_id) as ticket_id, p.created_at
        from unnest(report_external_ids) with ordinality as k (external_id, n)
        join player_reports p on p.org_id = org and p.origin = 'game' and p.external_id = k.external_id
       where o_kind[k.n::int] is null
    loop
      if rec.ticket_id is not null then
        o_id[rec.n] := rec.id;
        o_ticket[rec.n] := rec.ticket_id;
        o_at[rec.n] := rec.created_at;
        o_kind[rec.n] := 'repeat';
      end if;
    end loop;
  end if;

  return query
    select s.i::int, o_id[s.i], o_ticket[s.i], o_at[s.i], coalesce(o_kind[s.i], 'conflict')
      from generate_series(1, reports) as s (i);
end
$$;

alter table player_reports drop column game_id;
