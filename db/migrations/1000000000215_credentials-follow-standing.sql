-- Up Migration

-- A token made by a staff member acts within what that member holds now (api/plugins/auth.ts caps
-- its scopes by their permissions on every request), so the look-up names its maker. Null: made by
-- the operator or the system, an organization token bounded by its scopes alone.
drop function gm_resolve_api_token(bytea);
create function gm_resolve_api_token(token_hash bytea)
returns table (org_id uuid, token_id uuid, scopes text[], expires_at timestamptz, created_by uuid)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select t.org_id, t.id, t.scopes, t.expires_at, t.created_by
    from public.api_tokens t
   where t.token_hash = gm_resolve_api_token.token_hash
     and t.revoked_at is null
     and (t.expires_at is null or t.expires_at > now())
$$;
revoke all on function gm_resolve_api_token(bytea) from public;
grant execute on function gm_resolve_api_token(bytea) to gamemod_app;

-- Removing a member revokes the OAuth grants they gave, for good: coming back takes a new consent.
alter table oauth_grants drop constraint oauth_grants_revoked_reason_check;
alter table oauth_grants add constraint oauth_grants_revoked_reason_check
  check (revoked_reason in ('revoked', 'refresh_reuse', 'code_reuse', 'client_revoked', 'member_removed'));

-- Down Migration

-- Not validated: grants revoked for a removal stay revoked (and readable) with their reason.
alter table oauth_grants drop constraint oauth_grants_revoked_reason_check;
alter table oauth_grants add constraint oauth_grants_revoked_reason_check
  check (revoked_reason in ('revoked', 'refresh_reuse', 'code_reuse', 'client_revoked')) not valid;

drop function gm_resolve_api_token(bytea);
create function gm_resolve_api_token(token_hash bytea)
returns table (org_id uuid, token_id uuid, scopes text[], expires_at timestamptz)
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select t.org_id, t.id, t.scopes, t.expires_at
    from public.api_tokens t
   where t.token_hash = gm_resolve_api_token.token_hash
     and t.revoked_at is null
     and (t.expires_at is null or t.expires_at > now())
$$;
revoke all on function gm_resolve_api_token(bytea) from public;
grant execute on function gm_resolve_api_token(bytea) to gamemod_app;
