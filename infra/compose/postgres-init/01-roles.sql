-- Creates GameMod's two database roles and its database. The postgres image runs this file once,
-- as the superuser, when it initialises an empty data directory; the passwords come from the
-- container's environment (GAMEMOD_OWNER_PASSWORD, GAMEMOD_APP_PASSWORD).
--
--   gamemod_owner  owns the database and everything in it; runs the migrations.
--   gamemod_app    what the running system connects as: LOGIN, NOSUPERUSER, NOBYPASSRLS, owns
--                  nothing and is a member of no role, so row-level security always holds for it.
--
-- The file is safe to run again by hand (for instance to set new passwords):
--   docker-compose exec postgres psql -U postgres -f /docker-entrypoint-initdb.d/01-roles.sql

\set ON_ERROR_STOP on

\set owner_password ''
\set app_password ''
\getenv owner_password GAMEMOD_OWNER_PASSWORD
\getenv app_password GAMEMOD_APP_PASSWORD

select length(:'owner_password') = 0 or length(:'app_password') = 0 as passwords_missing \gset
\if :passwords_missing
do $$ begin
  raise exception 'GAMEMOD_OWNER_PASSWORD and GAMEMOD_APP_PASSWORD must both be set and non-empty';
end $$;
\endif

select format('create role %I', name)
from (values ('gamemod_owner'), ('gamemod_app')) as wanted (name)
where not exists (select 1 from pg_catalog.pg_roles r where r.rolname = wanted.name)
\gexec

alter role gamemod_owner with login nosuperuser nocreatedb nocreaterole noreplication nobypassrls
  password :'owner_password';
alter role gamemod_app with login nosuperuser nocreatedb nocreaterole noreplication nobypassrls
  password :'app_password';

select 'create database gamemod owner gamemod_owner'
where not exists (select 1 from pg_catalog.pg_database where datname = 'gamemod')
\gexec

alter database gamemod owner to gamemod_owner;
