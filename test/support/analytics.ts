import { setTimeout as sleep } from 'node:timers/promises';
import { type FoldResult, foldOrg } from '../../db/analytics-fold.js';
import type { Pool } from '../../db/pool.js';
import { withTenant } from '../../db/tenant.js';

/**
 * Folds an organization once every transaction that had begun by now has ended. The fold stops
 * at the oldest transaction still running anywhere on the server (that is what keeps it from
 * skipping a late commit), and the other test files run theirs at the same time: a fold called
 * straight away may rightly fold nothing yet.
 */
export async function foldCaughtUp(pool: Pool, orgId: string, timeoutMs = 15_000): Promise<FoldResult> {
  const horizon = await pool.query<{ xmax: string }>(
    'select pg_snapshot_xmax(pg_current_snapshot())::text as xmax',
  );
  const xmax = horizon.rows[0]?.xmax as string;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await pool.query<{ done: boolean }>(
      'select pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8 as done',
      [xmax],
    );
    if (now.rows[0]?.done) break;
    if (Date.now() > deadline) throw new Error(`a transaction older than ${xmax} is still running`);
    await sleep(20);
  }
  return withTenant(pool, orgId, (tx) => foldOrg(tx));
}
