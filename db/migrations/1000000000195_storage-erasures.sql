-- Up Migration

-- Stored objects (files, raw mail, exports) of an erased player, to delete from storage. The
-- erase writes them in its transaction and the workers' privacy sweep deletes them: a crash
-- after the commit can no longer leave an erased player's files behind unnoticed.
create table storage_erasures (
  id          uuid primary key default gen_random_uuid(),
  org_id      uuid not null references organizations (id) on delete cascade,
  storage_key text not null check (char_length(storage_key) between 1 and 1024),
  status      text not null default 'pending' check (status in ('pending', 'deleted', 'failed')),
  attempts    integer not null default 0,
  error       text check (char_length(error) between 1 and 500),
  created_at  timestamptz not null default now(),
  done_at     timestamptz,
  unique (org_id, storage_key)
);
create index storage_erasures_pending_idx on storage_erasures (org_id, created_at) where status = 'pending';

alter table storage_erasures enable row level security;
alter table storage_erasures force row level security;
create policy tenant_isolation on storage_erasures for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
grant select, insert, update, delete on storage_erasures to gamemod_app;
create policy definer_read on storage_erasures for select to current_user using (true);

create or replace function gm_privacy_orgs_pending(after_id uuid, batch integer)
returns table (org_id uuid)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select o.id from public.organizations o
   where (gm_privacy_orgs_pending.after_id is null or o.id > gm_privacy_orgs_pending.after_id)
     and (exists (select 1 from public.player_exports e where e.org_id = o.id and e.status = 'pending')
          or exists (select 1 from public.discord_erasures d where d.org_id = o.id and d.status = 'pending')
          or exists (select 1 from public.storage_erasures s where s.org_id = o.id and s.status = 'pending'))
   order by o.id
   limit least(greatest(coalesce(gm_privacy_orgs_pending.batch, 500), 1), 1000)
$$;

-- Down Migration

create or replace function gm_privacy_orgs_pending(after_id uuid, batch integer)
returns table (org_id uuid)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select o.id from public.organizations o
   where (gm_privacy_orgs_pending.after_id is null or o.id > gm_privacy_orgs_pending.after_id)
     and (exists (select 1 from public.player_exports e where e.org_id = o.id and e.status = 'pending')
          or exists (select 1 from public.discord_erasures d where d.org_id = o.id and d.status = 'pending'))
   order by o.id
   limit least(greatest(coalesce(gm_privacy_orgs_pending.batch, 500), 1), 1000)
$$;
drop table storage_erasures;
