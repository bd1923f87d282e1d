import { describe, expect, it } from 'vitest';
import { storedRollups } from '../db/analytics-fold.js';
import { withTenant } from '../db/tenant.js';
import { openTicket } from '../db/tickets.js';
import { runCli } from './support/cli.js';
import { useTestDb } from './support/db.js';
import { makeOrg } from './support/fixtures.js';

/** `npm run cli -- analytics backfill` as a real process against this file's test database. */
const db = useTestDb();

const cli = (args: string[]) => runCli(db.appUrl, args);

describe('analytics backfill', () => {
  it('rebuilds one organization, then all, from the raw tables', async () => {
    const org = await makeOrg(db.app, 'Backfill');
    await withTenant(db.app, org.orgId, (tx) =>
      openTicket(tx, { subject: 'Old one', origin: 'email' }, org.owner),
    );
    const one = await cli(['analytics', 'backfill', '--org', org.orgId]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout.trim()).toBe('rebuilt 1 organization, 1 tickets');
    const rows = await withTenant(db.app, org.orgId, (tx) => storedRollups(tx, 'daily'));
    expect(rows.map((r) => [r.kind, r.n, r.source])).toEqual([['opened', 1, 'email']]);
    const all = await cli(['analytics', 'backfill']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout.trim()).toBe('rebuilt 1 organization, 1 tickets');
    const bad = await cli(['analytics', 'backfill', '--org', 'demo']);
    expect(bad.code).toBe(2);
  });
});
