-- One-time role setup on Cloud SQL, after the first `terraform apply` and before the first deploy.
--
-- Cloud SQL makes every user it creates (gamemod_owner, gamemod_app) a member of
-- cloudsqlsuperuser, and gives the database it creates to cloudsqlsuperuser. GameMod wants what
-- infra/compose/postgres-init/01-roles.sql sets up for compose: gamemod_owner owns the database
-- and runs the migrations; gamemod_app owns nothing and is a member of no role, so row-level
-- security always holds for it.
--
-- Part 1, as gamemod_owner (a member of cloudsqlsuperuser, the database's owner until now):
alter database gamemod owner to gamemod_owner;

-- Part 2, as the built-in postgres user (its password is in the <prefix>-postgres-password secret):
revoke cloudsqlsuperuser from gamemod_app;
alter role gamemod_app nocreatedb nocreaterole;

-- Check, as either: gamemod_app must be a member of nothing, and neither superuser nor BYPASSRLS.
select r.rolname, r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolcreatedb,
       array(select b.rolname from pg_auth_members m join pg_roles b on b.oid = m.roleid
             where m.member = r.oid) as member_of
from pg_roles r
where r.rolname in ('gamemod_owner', 'gamemod_app');
