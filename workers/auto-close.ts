import { closeInactive, dueForAction, inactivityLimitHours, warnInactive } from '../db/auto-close.js';
import { allOrgIds } from '../db/organizations.js';
import { closeSolved, dueSolved, solvedCloseHours } from '../db/solved-close.js';
import { withTenant } from '../db/tenant.js';
import { counter } from '../lib/metrics.js';
import { sweepCloseRequests } from './close-requests.js';
import type { WorkerDeps } from './deps.js';

const actions = counter(
  'gamemod_autoclose_total',
  'Inactivity warnings and closes, and solved tickets closed',
  ['action'],
);

/**
 * One pass over every organization with an inactivity limit: warn the tickets that have waited
 * long enough, close the warned ones whose grace is over. Run by a BullMQ job scheduler (every
 * minute by default), so it survives restarts and runs once per interval however many workers
 * there are; each ticket is re-checked under its row lock, so overlapping passes are harmless.
 * The waits are measured on the database's clock (db/auto-close.ts), not this process's.
 * Then the solved tickets past the org's delay are closed (db/solved-close.ts).
 */
export async function autoCloseSweep(
  deps: WorkerDeps,
): Promise<{ warned: number; closed: number; solvedClosed: number }> {
  let warned = 0;
  let closed = 0;
  let solvedClosed = 0;
  for await (const orgId of allOrgIds(deps.pool)) {
    solvedClosed += await closeSolvedOf(deps, orgId);
    const plan = await withTenant(deps.pool, orgId, async (tx) => {
      const limit = await inactivityLimitHours(tx);
      return limit ? { limit, due: await dueForAction(tx, limit) } : undefined;
    });
    if (!plan) continue;
    for (const t of plan.due) {
      // One transaction per ticket: one failure does not undo the others.
      try {
        const done = await withTenant(deps.pool, orgId, (tx) =>
          t.action === 'warn' ? warnInactive(tx, t.id, plan.limit) : closeInactive(tx, t.id, plan.limit),
        );
        if (done) {
          actions.inc({ action: t.action });
          if (t.action === 'warn') warned++;
          else closed++;
        }
      } catch (err) {
        deps.logger.warn({ orgId, ticketId: t.id, err: (err as Error).message }, 'auto-close step failed');
      }
    }
  }
  // Close requests whose delayed expiry job Redis lost are closed here.
  await sweepCloseRequests(deps);
  return { warned, closed, solvedClosed };
}

/** Closes the organization's solved tickets whose delay is over, one transaction each. */
async function closeSolvedOf(deps: WorkerDeps, orgId: string): Promise<number> {
  const plan = await withTenant(deps.pool, orgId, async (tx) => {
    const hours = await solvedCloseHours(tx);
    return hours ? { hours, due: await dueSolved(tx, hours) } : undefined;
  });
  let done = 0;
  for (const ticketId of plan?.due ?? []) {
    try {
      if (await withTenant(deps.pool, orgId, (tx) => closeSolved(tx, ticketId, plan?.hours ?? 0))) {
        actions.inc({ action: 'solved_close' });
        done++;
      }
    } catch (err) {
      deps.logger.warn({ orgId, ticketId, err: (err as Error).message }, 'solved close failed');
    }
  }
  return done;
}
