import { parseArgs } from 'node:util';
import { rebuildOrg } from '../../db/analytics-fold.js';
import { allOrgIds } from '../../db/organizations.js';
import { isUuid, withTenant } from '../../db/tenant.js';
import { type Cli, CliError, withDatabase } from '../context.js';

export const summary = "rebuild the analytics rollups from the raw tables (one organization's, or all)";
export const usage = `npm run cli -- analytics backfill [--org <id>]

  --org  the organization's id; without it every organization is rebuilt

After a new dimension, a change of an organization's time zone, or rollups suspected wrong.
Each organization is rebuilt in one transaction; the workers' fold waits for it meanwhile.`;

export async function run(argv: string[], cli: Cli): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { org: { type: 'string' } }, strict: true });
  if (values.org !== undefined && !isUuid(values.org)) throw new CliError('--org: an organization id (uuid)');
  await withDatabase(async (pool) => {
    const ids: string[] = [];
    if (values.org) ids.push(values.org);
    else for await (const id of allOrgIds(pool)) ids.push(id);
    let tickets = 0;
    for (const id of ids) {
      const started = Date.now();
      const r = await withTenant(pool, id, (tx) => rebuildOrg(tx));
      tickets += r.tickets;
      cli.say(`${id}: ${r.tickets} tickets refolded in ${Date.now() - started} ms`);
    }
    cli.print(`rebuilt ${ids.length} organization${ids.length === 1 ? '' : 's'}, ${tickets} tickets`);
  });
}
