/**
 * What the privacy tests look for after an erase or a retention run: every column of every public
 * table that can hold text, searched for what the player gave.
 */

interface AdminDb {
  admin: { query: (text: string, values?: unknown[]) => Promise<{ rows: Array<Record<string, unknown>> }> };
}

/** Every column of every public table that can hold text (text, varchar, arrays, JSON, tsvector, inet). */
export async function textColumns(db: AdminDb): Promise<Array<{ table: string; column: string }>> {
  const r = await db.admin.query(
    `select c.table_name as table, c.column_name as column
       from information_schema.columns c
       join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
      where c.table_schema = 'public' and t.table_type = 'BASE TABLE'
        and (c.data_type in ('text', 'character varying', 'jsonb', 'json', 'tsvector', 'inet', 'ARRAY', 'USER-DEFINED'))
      order by 1, 2`,
  );
  return r.rows as Array<{ table: string; column: string }>;
}

/** Where any of the needles is still found (case-insensitive), as sorted `table.column`. */
export async function findAnywhere(db: AdminDb, needles: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const { table, column } of await textColumns(db)) {
    const r = await db.admin.query(
      `select count(*)::int as n from "${table}" where ${needles.map((_, i) => `"${column}"::text ilike $${i + 1}`).join(' or ')}`,
      needles.map((n) => `%${n}%`),
    );
    if (Number(r.rows[0]?.n) > 0) found.push(`${table}.${column}`);
  }
  return found.sort();
}
