import { allOrgIds } from '../db/organizations.js';
import { heldTeamTickets, reassignFromOffline, reassignOfflineMinutes } from '../db/reassign.js';
import { withTenant } from '../db/tenant.js';
import { counter } from '../lib/metrics.js';
import { presenceOf } from '../lib/presence.js';
import type { WorkerDeps } from './deps.js';

const moved = counter(
  'gamemod_reassigned_offline_total',
  'Team tickets handed on because their assignee was offline past the organization setting',
);

/**
 * Every minute, for each organization with `reassignOfflineMinutes`: a team ticket its assignee
 * still holds (open, pending or on hold: db/reassign.ts HELD_STATUSES) whose assignee has been
 * offline longer than that goes to a team member who is online and in their
 * working hours (least loaded, within capacity), as the system (db/reassign.ts). Offline time
 * counts from the later of the assignee's last activity (lib/presence.ts) and when they were
 * given the ticket, so a ticket handed on once stays with its new assignee until they too have
 * been offline that long, and enabling the setting does not sweep away tickets given an hour ago
 * to someone never seen. Both are measured at the database's now (db/reassign.ts), as working
 * hours are. Nobody at work: the ticket stays put and the next pass tries again.
 * Without presence (deps.presence absent) nothing is known to be offline, and nothing moves.
 */
export async function reassignSweep(deps: WorkerDeps): Promise<{ reassigned: number }> {
  const redis = deps.presence?.redis;
  if (!redis) return { reassigned: 0 };
  let reassigned = 0;
  for await (const orgId of allOrgIds(deps.pool)) {
    const plan = await withTenant(deps.pool, orgId, async (tx) => {
      const minutes = await reassignOfflineMinutes(tx);
      return minutes ? { minutes, ...(await heldTeamTickets(tx)) } : undefined;
    });
    if (!plan?.tickets.length) continue;
    // The database's clock, the one that stamped when each ticket was given: a worker whose
    // clock drifted would otherwise hand on a ticket given a minute ago, or never hand any on.
    const now = plan.now;
    const ids = [...new Set([...plan.memberIds, ...plan.tickets.map((t) => t.assigneeId)])];
    const presence = await presenceOf(redis, orgId, ids, now);
    const online = new Set([...presence.values()].filter((p) => p.state === 'online').map((p) => p.userId));
    const cutoff = now.getTime() - plan.minutes * 60_000;
    // Everyone handed on from in this pass, so no ticket goes back to someone just found away.
    const left = new Set<string>();
    for (const t of plan.tickets) {
      const p = presence.get(t.assigneeId);
      if (p && p.state !== 'offline') continue;
      const since = Math.max(p?.lastSeenAt?.getTime() ?? 0, t.assignedAt.getTime());
      if (since > cutoff) continue;
      left.add(t.assigneeId);
      try {
        const to = await withTenant(deps.pool, orgId, (tx) =>
          reassignFromOffline(
            tx,
            {
              ticketId: t.ticketId,
              fromUserId: t.assigneeId,
              teamId: t.teamId,
              offlineMinutes: plan.minutes,
            },
            // Working hours are judged at the database's now() (db/rule-assign.ts).
            { online },
            left,
          ),
        );
        if (to) {
          moved.inc();
          reassigned++;
        }
      } catch (err) {
        deps.logger.warn({ orgId, ticketId: t.ticketId, err: (err as Error).message }, 'reassignment failed');
      }
    }
  }
  return { reassigned };
}
