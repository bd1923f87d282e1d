-- Up Migration

-- OAuth 2.0 for the clients that talk to the API (RFC 6749, RFC 9700): clients registered per
-- organization, the grants (token families) issued to them, the access and refresh tokens of
-- each family, and single-use authorization codes. Every secret is stored as its SHA-256 only.

create table oauth_clients (
  id            uuid primary key default gen_random_uuid(),
  org_id        uuid not null references organizations (id) on delete cascade,
  -- The public identifier a client sends as client_id; unique across organizations because the
  -- token endpoint learns the organization from it.
  client_id     text not null unique check (client_id ~ '^gmc_[0-9a-f]{32}$'),
  name          text not null check (char_length(name) between 1 and 100),
  kind          text not null check (kind in ('confidential', 'public')),
  secret_hash   bytea check (octet_length(secret_hash) = 32),
  secret_prefix text check (char_length(secret_prefix) between 1 and 40),
  redirect_uris text[] not null default '{}' check (cardinality(redirect_uris) <= 10),
  scopes        text[] not null check (cardinality(scopes) between 1 and 50),
  grant_types   text[] not null check (
    cardinality(grant_types) between 1 and 3
    and grant_types <@ array['authorization_code', 'client_credentials', 'refresh_token']),
  created_by    uuid references users (id) on delete set null,
  created_at    timestamptz not null default now(),
  revoked_at    timestamptz,
  unique (org_id, id),
  -- A confidential client has a secret; a public one (a CLI, a PWA) has none and uses PKCE.
  check ((kind = 'confidential') = (secret_hash is not null)),
  -- Public clients can't keep a secret, so they can't act as themselves.
  check (kind = 'confidential' or not ('client_credentials' = any (grant_types)))
);
create index oauth_clients_org_id_created_at_idx on oauth_clients (org_id, created_at);

-- A grant: one authorization (a consent, or a client_credentials request) and every token issued
-- from it. Reusing a rotated refresh token revokes the whole family.
create table oauth_grants (
  id             uuid primary key default gen_random_uuid(),
  org_id         uuid not null references organizations (id) on delete cascade,
  client_id      uuid not null,
  -- The staff member the client acts for (authorization_code); null for client_credentials.
  user_id        uuid references users (id) on delete cascade,
  grant_type     text not null check (grant_type in ('authorization_code', 'client_credentials')),
  scopes         text[] not null check (cardinality(scopes) between 1 and 50),
  created_at     timestamptz not null,
  -- Absolute lifetime of the family: no refresh past it.
  expires_at     timestamptz not null,
  revoked_at     timestamptz,
  revoked_reason text check (revoked_reason in ('revoked', 'refresh_reuse', 'code_reuse', 'client_revoked')),
  unique (org_id, id),
  foreign key (org_id, client_id) references oauth_clients (org_id, id) on delete cascade
);
create index oauth_grants_org_id_client_id_idx on oauth_grants (org_id, client_id);

create table oauth_tokens (
  id           uuid primary key default gen_random_uuid(),
  org_id       uuid not null references organizations (id) on delete cascade,
  grant_id     uuid not null,
  kind         text not null check (kind in ('access', 'refresh')),
  token_hash   bytea not null unique check (octet_length(token_hash) = 32),
  -- An access token may carry fewer scopes than its grant (a narrowed refresh, RFC 6749 §6).
  scopes       text[] not null check (cardinality(scopes) between 1 and 50),
  created_at   timestamptz not null,
  expires_at   timestamptz not null,
  -- A refresh token is used once: set when it is exchanged for the next pair.
  used_at      timestamptz,
  last_used_at timestamptz,
  unique (org_id, id),
  foreign key (org_id, grant_id) references oauth_grants (org_id, id) on delete cascade
);
create index oauth_tokens_org_id_grant_id_idx on oauth_tokens (org_id, grant_id);

create table oauth_codes (
  id             uuid primary key default gen_random_uuid(),
  org_id         uuid not null references organizations (id) on delete cascade,
  client_id      uuid not null,
  user_id        uuid not null references users (id) on delete cascade,
  code_hash      bytea not null unique check (octet_length(code_hash) = 32),
  redirect_uri   text not null check (char_length(redirect_uri) between 1 and 2000),
  scopes         text[] not null check (cardinality(scopes) between 1 and 50),
  -- PKCE S256 (RFC 7636): base64url of a SHA-256, 43 characters.
  code_challenge text not null check (code_challenge ~ '^[A-Za-z0-9_-]{43}$'),
  created_at     timestamptz not null,
  expires_at     timestamptz not null,
  used_at        timestamptz,
  -- The grant the code was exchanged for: a replayed code revokes it (RFC 6749 §4.1.2).
  grant_id       uuid,
  unique (org_id, id),
  foreign key (org_id, client_id) references oauth_clients (org_id, id) on delete cascade,
  foreign key (org_id, grant_id) references oauth_grants (org_id, id) on delete set null (grant_id)
);
create index oauth_codes_org_id_client_id_idx on oauth_codes (org_id, client_id);

alter table oauth_clients enable row level security;
alter table oauth_clients force row level security;
create policy tenant_isolation on oauth_clients for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
create policy definer_read on oauth_clients for select to current_user using (true);

alter table oauth_grants enable row level security;
alter table oauth_grants force row level security;
create policy tenant_isolation on oauth_grants for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
create policy definer_read on oauth_grants for select to current_user using (true);

alter table oauth_tokens enable row level security;
alter table oauth_tokens force row level security;
create policy tenant_isolation on oauth_tokens for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
create policy definer_read on oauth_tokens for select to current_user using (true);

alter table oauth_codes enable row level security;
alter table oauth_codes force row level security;
create policy tenant_isolation on oauth_codes for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

grant select, insert, update, delete on oauth_clients, oauth_grants, oauth_tokens, oauth_codes
  to gamemod_app;

-- The token endpoint, revocation and introspection are called with a client_id and no tenant:
-- the client's organization and row id, nothing else, for an unrevoked client.
create function gm_resolve_oauth_client(client_ident text)
returns table (org_id uuid, client_row_id uuid)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select c.org_id, c.id
    from public.oauth_clients c
   where c.client_id = gm_resolve_oauth_client.client_ident
     and c.revoked_at is null
$$;

-- REST requests carry only the bearer access token. Unexpired access tokens of unrevoked grants
-- of unrevoked clients only; `at` is the API's clock (tests move it to expire tokens).
create function gm_resolve_oauth_token(token_hash bytea, at timestamptz)
returns table (org_id uuid, token_id uuid, grant_id uuid, user_id uuid, scopes text[], expires_at timestamptz)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select t.org_id, t.id, g.id, g.user_id, t.scopes, t.expires_at
    from public.oauth_tokens t
    join public.oauth_grants g on g.org_id = t.org_id and g.id = t.grant_id
    join public.oauth_clients c on c.org_id = g.org_id and c.id = g.client_id
   where t.token_hash = gm_resolve_oauth_token.token_hash
     and t.kind = 'access'
     and t.expires_at > gm_resolve_oauth_token.at
     and g.revoked_at is null
     and c.revoked_at is null
$$;

revoke all on function gm_resolve_oauth_client(text) from public;
revoke all on function gm_resolve_oauth_token(bytea, timestamptz) from public;
grant execute on function gm_resolve_oauth_client(text) to gamemod_app;
grant execute on function gm_resolve_oauth_token(bytea, timestamptz) to gamemod_app;

-- Down Migration

drop function gm_resolve_oauth_token(bytea, timestamptz);
drop function gm_resolve_oauth_client(text);
drop table oauth_codes;
drop table oauth_tokens;
drop table oauth_grants;
drop table oauth_clients;
