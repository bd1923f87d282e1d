import { AppError } from '../lib/errors.js';
import { type Actor, recordChange } from './changes.js';
import { membersHolding, TICKET_WORKER } from './memberships.js';
import type { Tx } from './tenant.js';

/**
 * Auto-assignment inside a team. Round-robin gives the ticket to the member whose last
 * assignment (by anyone, to any ticket) is oldest, never assigned first: it rotates through the
 * team without keeping a cursor, and a member just given a ticket by hand waits their turn; least-loaded gives it to the member with the fewest open tickets
 * (ties broken the round-robin way). Members at their capacity (`team_members.max_open_tickets`)
 * are skipped, and so are members who can no longer work tickets (membersHolding TICKET_WORKER:
 * a demoted or disabled member): they have no open tickets, so least-loaded would otherwise hand
 * them every ticket, unseen.
 *
 * Presence (online, away) is not considered: the live hub only knows who is viewing a ticket,
 * not whether a member is at work.
 */
export type AssignStrategy = 'round_robin' | 'least_loaded';

export interface Candidate {
  userId: string;
  open: number;
  capacity: number | null;
  lastAssignedAt: Date | null;
}

export async function teamCandidates(tx: Tx, teamId: string): Promise<Candidate[]> {
  const team = await tx.query<{ userIds: string[] }>(
    `select array(select tm.user_id from team_members tm
                   where tm.org_id = t.org_id and tm.team_id = t.id order by tm.user_id) as "userIds"
     from teams t where t.org_id = $1::uuid and t.id = $2::uuid`,
    [tx.orgId, teamId],
  );
  if (!team.rows[0]) throw new AppError('not_found', 'the team of the assignment does not exist');
  const members = team.rows[0].userIds;
  if (!members.length) return [];
  // Capacity is per team but the open tickets counted are all of the member's, so two teams
  // sharing a member must not both count before either assigns: one transaction-level lock per
  // (org, member), taken in user id order (no deadlock between two assignments), before the
  // count below, which as a statement of its own sees what the lock's last holder committed.
  // Advisory rather than row locks: nothing else waits on them (role changes lock memberships).
  await tx.query(
    `select pg_advisory_xact_lock(hashtext('assignee:' || $1::text || ':' || u::text))
     from (select u from unnest($2::uuid[]) u order by u) s`,
    [tx.orgId, members],
  );
  // Moderators who are staff through a Discord role mapping work their tickets in Discord, as
  // an explicit assignment to them allows (ticketWorkerRefusal): they are candidates too.
  const workers = [...(await membersHolding(tx, members, TICKET_WORKER, { discordMapped: true }))];
  const r = await tx.query<Candidate>(
    `select tm.user_id as "userId", tm.max_open_tickets as capacity,
       (select count(*) from tickets t
         where t.org_id = tm.org_id and t.assignee_id = tm.user_id
           and t.status in ('open', 'pending', 'on_hold'))::int as open,
       (select max(a.assigned_at) from ticket_assignments a
         where a.org_id = tm.org_id and a.user_id = tm.user_id) as "lastAssignedAt"
     from team_members tm
     where tm.org_id = $1::uuid and tm.team_id = $2::uuid and tm.user_id = any($3::uuid[])`,
    [tx.orgId, teamId, workers],
  );
  return r.rows;
}

const byRotation = (a: Candidate, b: Candidate) => {
  const x = a.lastAssignedAt?.getTime() ?? -1;
  const y = b.lastAssignedAt?.getTime() ?? -1;
  return x - y || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0);
};

/** The member to assign, or null when every member is at capacity (or the team is empty). */
export function choose(candidates: readonly Candidate[], strategy: AssignStrategy): string | null {
  const free = candidates.filter((c) => c.capacity === null || c.open < c.capacity);
  free.sort(strategy === 'least_loaded' ? (a, b) => a.open - b.open || byRotation(a, b) : byRotation);
  return free[0]?.userId ?? null;
}

export async function pickAssignee(tx: Tx, teamId: string, strategy: AssignStrategy): Promise<string | null> {
  return choose(await teamCandidates(tx, teamId), strategy);
}

/** Sets a member's capacity in a team (null: no limit). */
export async function setMemberCapacity(
  tx: Tx,
  teamId: string,
  userId: string,
  maxOpenTickets: number | null,
  actor: Actor,
): Promise<void> {
  const r = await tx.query(
    `update team_members set max_open_tickets = $4::int
     where org_id = $1::uuid and team_id = $2::uuid and user_id = $3::uuid`,
    [tx.orgId, teamId, userId, maxOpenTickets],
  );
  if (!r.rowCount) throw new AppError('not_found', 'the member is not on this team');
  await recordChange(tx, actor, {
    action: 'team.member_capacity_set',
    target: { type: 'team', id: teamId },
    data: { userId, maxOpenTickets },
  });
}
