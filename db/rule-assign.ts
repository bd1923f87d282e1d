import { AppError } from '../lib/errors.js';
import { type Actor, recordChange } from './changes.js';
import { holdsEvery, TICKET_WORKER } from './memberships.js';
import type { Tx } from './tenant.js';
import { assign, getTicket, transfer } from './tickets.js';
import { inWorkingHours, readWorkingHours, type WorkingHours } from './working-hours.js';

/**
 * Auto-assignment inside a team. Round-robin gives the ticket to the member whose last
 * assignment (by anyone, to any ticket) is oldest, never assigned first: it rotates through the
 * team without keeping a cursor, and a member just given a ticket by hand waits their turn; least-loaded gives it to the member with the fewest open tickets
 * (ties broken the round-robin way). Members at their capacity (`team_members.max_open_tickets`)
 * are skipped, and so are members who can no longer work tickets (not holding TICKET_WORKER:
 * a demoted or disabled member): they have no open tickets, so least-loaded would otherwise hand
 * them every ticket, unseen.
 *
 * Only members at work are given tickets: in their working hours (memberships.working_hours,
 * db/working-hours.ts, judged at the database's now()) and, when the caller knows presence, online (lib/presence.ts: seen in the
 * last two minutes and not away by choice). The caller reads presence from Redis and passes the
 * online members in (db/ never reads Redis). A member who chose away asked not to be handed work
 * and one offline or off shift would leave the ticket unseen, so there is no second tier: with
 * nobody at work the ticket waits in the team's queue, unassigned, where the first member back
 * finds it, and the rule's log says why. Without presence (a caller that has none) only working
 * hours and capacity count.
 */
export type AssignStrategy = 'round_robin' | 'least_loaded';

export interface Candidate {
  userId: string;
  open: number;
  capacity: number | null;
  lastAssignedAt: Date | null;
  /** null: always at work */
  workingHours: WorkingHours | null;
}

/** Who is at work, as the caller knows it. */
export interface Availability {
  /** Members online now (lib/presence.ts); null when the caller has no presence to go by. */
  online: ReadonlySet<string> | null;
  /**
   * The moment working hours are judged at. Absent: the database's now(), the clock that SLA
   * and auto-close timers and the times shifts are compared with elsewhere go by, so a worker
   * whose clock drifts neither hands a ticket to someone off shift nor skips someone on it.
   */
  at?: Date;
}

/** Availability with the moment settled. */
export type Judged = Availability & { at: Date };

/**
 * The team's candidates, and the database's now() (for working hours), in two round trips: the
 * roster with its members' locks, then the candidates.
 */
export async function teamRoster(tx: Tx, teamId: string): Promise<{ candidates: Candidate[]; now: Date }> {
  // Capacity is per team but the open tickets counted are all of the member's, so two teams
  // sharing a member must not both count before either assigns: one transaction-level lock per
  // (org, member), taken in user id order (no deadlock between two assignments), before the
  // count below, which as a statement of its own sees what the lock's last holder committed.
  // Advisory rather than row locks: nothing else waits on them (role changes lock memberships).
  // (A CTE read twice is computed once, and read back in the order its rows were made.)
  const team = await tx.query<{ userIds: string[]; now: Date }>(
    `with members as (
       select tm.user_id from teams t
       join team_members tm on tm.org_id = t.org_id and tm.team_id = t.id
       where t.org_id = $1::uuid and t.id = $2::uuid
       order by tm.user_id
     ), locked as (
       select count(pg_advisory_xact_lock(hashtext('assignee:' || $1::text || ':' || user_id::text))) as n
       from members
     )
     select array(select user_id from members) as "userIds", now() as now, (select n from locked) as locked
     from teams t where t.org_id = $1::uuid and t.id = $2::uuid`,
    [tx.orgId, teamId],
  );
  if (!team.rows[0]) throw new AppError('not_found', 'the team of the assignment does not exist');
  const { userIds: members, now } = team.rows[0];
  if (!members.length) return { candidates: [], now };
  // Who can work tickets (all of TICKET_WORKER, not disabled), decided as membersHolding does with
  // discordMapped: moderators who are staff through a Discord role mapping work their tickets in
  // Discord, as an explicit assignment to them allows (ticketWorkerRefusal), so they count too.
  const r = await tx.query<Omit<Candidate, 'workingHours'> & { workingHours: unknown }>(
    `select tm.user_id as "userId", tm.max_open_tickets as capacity, m.working_hours as "workingHours",
       (select count(*) from tickets t
         where t.org_id = tm.org_id and t.assignee_id = tm.user_id
           and t.status in ('open', 'pending', 'on_hold'))::int as open,
       (select max(a.assigned_at) from ticket_assignments a
         where a.org_id = tm.org_id and a.user_id = tm.user_id) as "lastAssignedAt"
     from team_members tm
     join memberships m on m.org_id = tm.org_id and m.user_id = tm.user_id
     join users u on u.id = m.user_id and u.disabled_at is null
     where tm.org_id = $1::uuid and tm.team_id = $2::uuid and tm.user_id = any($3::uuid[])
       and ${holdsEvery('m', '$4')}`,
    [tx.orgId, teamId, members, TICKET_WORKER],
  );
  return { candidates: r.rows.map((c) => ({ ...c, workingHours: readWorkingHours(c.workingHours) })), now };
}

export async function teamCandidates(tx: Tx, teamId: string): Promise<Candidate[]> {
  return (await teamRoster(tx, teamId)).candidates;
}

/** The availability to judge by: the caller's moment if it gave one, else the database's. */
export const judgedAt = (availability: Availability | undefined, now: Date): Judged => ({
  online: availability?.online ?? null,
  at: availability?.at ?? now,
});

const byRotation = (a: Candidate, b: Candidate) => {
  const x = a.lastAssignedAt?.getTime() ?? -1;
  const y = b.lastAssignedAt?.getTime() ?? -1;
  return x - y || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0);
};

/** The member to assign, or null when every member is at capacity (or the team is empty). */
export function choose(
  candidates: readonly Candidate[],
  strategy: AssignStrategy,
  availability: Judged,
): string | null {
  const pick = chooseWithReason(candidates, strategy, availability);
  return 'userId' in pick ? pick.userId : null;
}

/** The member to assign, or why nobody is, in the words of the rule's log. */
export function chooseWithReason(
  candidates: readonly Candidate[],
  strategy: AssignStrategy,
  availability: Judged,
): { userId: string } | { reason: string } {
  if (!candidates.length) return { reason: 'no member of the team can work tickets' };
  const { online, at } = availability;
  const atWork = candidates.filter(
    (c) => (online === null || online.has(c.userId)) && inWorkingHours(c.workingHours, at),
  );
  if (!atWork.length)
    return {
      reason: online
        ? 'no member of the team is online in their working hours'
        : 'no member of the team is in their working hours',
    };
  const free = atWork.filter((c) => c.capacity === null || c.open < c.capacity);
  free.sort(strategy === 'least_loaded' ? (a, b) => a.open - b.open || byRotation(a, b) : byRotation);
  const first = free[0];
  return first ? { userId: first.userId } : { reason: 'every member is at capacity' };
}

export async function pickAssignee(
  tx: Tx,
  teamId: string,
  strategy: AssignStrategy,
  availability?: Availability,
): Promise<string | null> {
  const { candidates, now } = await teamRoster(tx, teamId);
  return choose(candidates, strategy, judgedAt(availability, now));
}

/**
 * A rule's `assign_in_team`: the ticket goes to the team and to a member at work. A ticket the
 * team already has a member working (its assignee is on the team and can work tickets) stays
 * with them, whoever is freer: the rule runs again on every message of the player, and moving
 * the ticket each time would hand the conversation to a new person mid-way. Returns what it did,
 * for the run log.
 */
export async function assignInTeam(
  tx: Tx,
  ticketId: string,
  action: { teamId: string; strategy: AssignStrategy },
  actor: Actor,
  availability?: Availability,
): Promise<string> {
  const { candidates, now } = await teamRoster(tx, action.teamId);
  const ticket = await getTicket(tx, ticketId);
  const current = ticket.assigneeId;
  const keep = current !== null && candidates.some((c) => c.userId === current);
  if (ticket.teamId !== action.teamId)
    await transfer(tx, { ticketId, teamId: action.teamId, keepAssignee: keep }, actor);
  if (keep) return `: kept ${current}, a member of the team already working it`;
  const pick = chooseWithReason(candidates, action.strategy, judgedAt(availability, now));
  if (!('userId' in pick)) return `: ${pick.reason}, left unassigned in the team`;
  await assign(tx, { ticketId, assigneeId: pick.userId }, actor);
  return `: ${pick.userId}`;
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
