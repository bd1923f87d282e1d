import { type Actor, recordChange, SYSTEM } from './changes.js';
import { chooseWithReason, judgedAt, teamRoster } from './rule-assign.js';
import type { Tx } from './tenant.js';
import { assign } from './tickets.js';

/**
 * Handing on the team tickets an assignee who went offline still holds (the org's
 * `reassign_offline_minutes`). Presence lives in Redis: workers/reassign.ts reads it and says
 * who is online; this module finds the tickets and moves them, as the system, one transaction
 * each.
 */

/** Minutes an assignee may be offline before their tickets are handed on; null: never. */
export async function reassignOfflineMinutes(tx: Tx): Promise<number | null> {
  const r = await tx.query<{ minutes: number | null }>(
    'select reassign_offline_minutes as minutes from organizations where id = $1::uuid',
    [tx.orgId],
  );
  return r.rows[0]?.minutes ?? null;
}

export interface HeldTicket {
  ticketId: string;
  teamId: string;
  assigneeId: string;
  /** When the assignee was given it: their offline time counts from here at the earliest. */
  assignedAt: Date;
}

/**
 * The statuses in which a ticket is still in its assignee's hands: open (staff owe an answer),
 * pending (the player may answer any moment, and the assignee is who must read it) and on hold
 * (staff will pick it up again). Solved and closed tickets are done with: staff have answered,
 * and the solved-close and auto-close timers decide what becomes of them.
 */
export const HELD_STATUSES = ['open', 'pending', 'on_hold'] as const;

/**
 * Team tickets with an assignee, in a status the assignee still holds them in, every member of
 * those teams (whose presence the caller reads), and the database's now: `assignedAt` was
 * stamped by this clock, so how long an assignee has been away is measured on it too, never on
 * a worker's clock that may have drifted hours from it.
 */
export async function heldTeamTickets(
  tx: Tx,
  limit = 1000,
): Promise<{ tickets: HeldTicket[]; memberIds: string[]; now: Date }> {
  const r = await tx.query<HeldTicket & { now: Date }>(
    `select t.id as "ticketId", t.team_id as "teamId", t.assignee_id as "assigneeId",
       coalesce((select max(a.assigned_at) from ticket_assignments a
                  where a.org_id = t.org_id and a.ticket_id = t.id and a.user_id = t.assignee_id),
                t.updated_at) as "assignedAt", now() as now
     from tickets t
     where t.org_id = $1::uuid and t.status = any($3::text[]) and t.team_id is not null
       and t.assignee_id is not null and t.merged_into_id is null
     order by t.created_at, t.id limit $2::int`,
    [tx.orgId, limit, HELD_STATUSES],
  );
  const now = r.rows[0]?.now;
  if (!now) return { tickets: [], memberIds: [], now: new Date() };
  const m = await tx.query<{ userId: string }>(
    `select distinct user_id as "userId" from team_members
     where org_id = $1::uuid and team_id = any($2::uuid[])`,
    [tx.orgId, [...new Set(r.rows.map((t) => t.teamId))]],
  );
  const tickets = r.rows.map(({ now: _, ...t }) => t);
  return { tickets, memberIds: m.rows.map((x) => x.userId), now };
}

/**
 * Gives the ticket to a team member at work (least loaded, within capacity), other than the
 * offline assignee and anyone in `exclude`, as the system: one `ticket.assigned` event, audited,
 * and a `ticket.reassigned_offline` entry saying why. Checked again under the ticket's lock, so a
 * ticket someone took or moved since the sweep looked is left alone. Returns the new assignee, or
 * null when the ticket stays as it is (changed meanwhile, or nobody at work to take it).
 */
export async function reassignFromOffline(
  tx: Tx,
  input: { ticketId: string; fromUserId: string; teamId: string; offlineMinutes: number },
  /** Who is online (lib/presence.ts); working hours are judged at the database's now(). */
  availability: { online: ReadonlySet<string>; at?: Date },
  exclude: ReadonlySet<string> = new Set(),
  actor: Actor = SYSTEM,
): Promise<string | null> {
  const held = await tx.query(
    `select 1 from tickets
     where org_id = $1::uuid and id = $2::uuid and status = any($5::text[]) and merged_into_id is null
       and team_id = $3::uuid and assignee_id = $4::uuid
     for update`,
    [tx.orgId, input.ticketId, input.teamId, input.fromUserId, HELD_STATUSES],
  );
  if (!held.rowCount) return null;
  const roster = await teamRoster(tx, input.teamId);
  const candidates = roster.candidates.filter((c) => c.userId !== input.fromUserId && !exclude.has(c.userId));
  const pick = chooseWithReason(candidates, 'least_loaded', judgedAt(availability, roster.now));
  if (!('userId' in pick)) return null;
  await assign(tx, { ticketId: input.ticketId, assigneeId: pick.userId }, actor);
  await recordChange(tx, actor, {
    ticketId: input.ticketId,
    action: 'ticket.reassigned_offline',
    data: { from: input.fromUserId, to: pick.userId, offlineMinutes: input.offlineMinutes },
  });
  return pick.userId;
}
