import { AppError } from '../lib/errors.js';
import type { Pool } from './pool.js';

/**
 * Tenant tables: every table in the public schema with an org_id column, plus organizations.
 * Read from the catalog so a new table is covered the day it lands.
 */
export const TENANT_TABLES_SQL = `
  select c.relname as name, c.relrowsecurity as rls, c.relforcerowsecurity as forced,
         pg_has_role(current_user, c.relowner, 'USAGE') as owned,
         (select count(*) from pg_policies p where p.schemaname = 'public' and p.tablename = c.relname)::int as policies
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = 'public' and c.relkind in ('r', 'p')
    and (c.relname = 'organizations'
         or exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped))
  order by c.relname`;

export interface TenantTable {
  name: string;
  rls: boolean;
  forced: boolean;
  owned: boolean;
  policies: number;
}

/**
 * Refuses to run as a role that row-level security would not hold: a superuser, a role with
 * BYPASSRLS, or one that owns (or inherits ownership of) a tenant table; and refuses a schema
 * in which a tenant table lacks forced RLS or a policy.
 */
export async function assertRuntimeRoleIsSafe(pool: Pool): Promise<void> {
  const role = await pool.query<{ name: string; super: boolean; bypass: boolean }>(
    'select rolname as name, rolsuper as super, rolbypassrls as bypass from pg_roles where rolname = current_user',
  );
  const me = role.rows[0];
  if (!me) throw new AppError('unsafe_database_role', 'cannot identify the database role');
  const problems: string[] = [];
  if (me.super) problems.push(`role ${me.name} is a superuser`);
  if (me.bypass) problems.push(`role ${me.name} has BYPASSRLS`);
  const tables = await pool.query<TenantTable>(TENANT_TABLES_SQL);
  if (tables.rows.length === 0) problems.push('no tenant tables found (migrations not run?)');
  for (const t of tables.rows) {
    if (t.owned) problems.push(`role ${me.name} owns tenant table ${t.name}`);
    if (!t.rls || !t.forced) problems.push(`tenant table ${t.name} lacks FORCE ROW LEVEL SECURITY`);
    if (t.policies === 0) problems.push(`tenant table ${t.name} has no policy`);
  }
  if (problems.length) {
    throw new AppError(
      'unsafe_database_role',
      `refusing to run: tenant isolation would not hold:\n  ${problems.join('\n  ')}\n` +
        'Connect as the app role (DATABASE_URL) and run migrations as the owner (MIGRATION_DATABASE_URL).',
      { details: problems },
    );
  }
}
