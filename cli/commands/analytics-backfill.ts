import { parseArgs } from 'node:util';
import { rebuildOrg } from '../../db/analytics-fold.js';
import { rebuildPlayerActivity } from '../../db/analytics-players.js';
import { rebuildSentiment } from '../../db/analytics-sentiment.js';
import { allOrgIds } from '../../db/organizations.js';
import { isUuid, withTenant } from '../../db/tenant.js';
import { type Cli, CliError, withDatabase } from '../context.js';

export const summary = "rebuild the analytics rollups from the raw tables (one organization's, or all)";
export const usage = `npm run cli -- analytics backfill [--org <id>]

  --org  the organization's id; without it every organization is rebuilt

After a new dimension, a change of an organization's time zone, or rollups suspected wrong.
Rebuilds the ticket rollups, the player activity ones (sessions and reports from the games) and
the sentiment trend (scored player messages).
Each organization is rebuilt in one transaction; the workers' fold waits for it meanwhile.`;

export async function run(argv: string[], cli: Cli): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { org: { type: 'string' } }, strict: true });
  if (values.org !== undefined && !isUuid(values.org)) throw new CliError('--org: an organization id (uuid)');
  await withDatabase(async (pool) => {
    const ids: string[] = [];
    if (values.org) ids.push(values.org);
    else for await (const id of allOrgIds(pool)) ids.push(id);
    const n = { tickets: 0, sessions: 0, reports: 0, messages: 0 };
    for (const id of ids) {
      const started = Date.now();
      const r = await withTenant(pool, id, async (tx) => ({
        ...(await rebuildPlayerActivity(tx)),
        tickets: (await rebuildOrg(tx)).tickets,
        messages: (await rebuildSentiment(tx)).messages,
      }));
      n.tickets += r.tickets;
      n.sessions += r.sessions;
      n.reports += r.reports;
      n.messages += r.messages;
      cli.say(
        `${id}: ${r.tickets} tickets, ${r.sessions} sessions, ${r.reports} reports, ${r.messages} scored messages refolded in ${Date.now() - started} ms`,
      );
    }
    cli.print(
      `rebuilt ${ids.length} organization${ids.length === 1 ? '' : 's'}, ${n.tickets} tickets, ${n.sessions} sessions, ${n.reports} reports, ${n.messages} scored messages`,
    );
  });
}
