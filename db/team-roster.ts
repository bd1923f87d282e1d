import type { Tx } from './tenant.js';
import { readWorkingHours, type WorkingHours } from './working-hours.js';

/**
 * Who is on each team and how loaded they are, for showing the team at a glance (`/team` on
 * Discord). Open tickets count as assignment counts them (db/rule-assign.ts): every open,
 * pending or on-hold ticket of the member, whatever its team, against the team's capacity.
 */
export interface RosterMember {
  userId: string;
  displayName: string;
  open: number;
  /** team_members.max_open_tickets; null: no cap */
  capacity: number | null;
  /** null: always at work */
  workingHours: WorkingHours | null;
}

export interface TeamRoster {
  id: string;
  name: string;
  members: RosterMember[];
}

interface Row {
  teamId: string;
  teamName: string;
  userId: string | null;
  displayName: string | null;
  capacity: number | null;
  workingHours: unknown;
  open: number | null;
}

/** The org's teams by name (or the one named, any case), each with its members by name. */
export async function teamRosters(tx: Tx, opts: { name?: string } = {}): Promise<TeamRoster[]> {
  // One statement for every team: the left join keeps a team without members, the count rides
  // the (org_id, assignee_id, status) index once per member.
  const r = await tx.query<Row>(
    `select t.id as "teamId", t.name as "teamName", tm.user_id as "userId",
       u.display_name as "displayName", tm.max_open_tickets as capacity,
       m.working_hours as "workingHours",
       case when tm.user_id is null then null else
         (select count(*) from tickets k
           where k.org_id = t.org_id and k.assignee_id = tm.user_id
             and k.status in ('open', 'pending', 'on_hold'))::int end as open
     from teams t
     left join team_members tm on tm.org_id = t.org_id and tm.team_id = t.id
     left join memberships m on m.org_id = tm.org_id and m.user_id = tm.user_id
     left join users u on u.id = tm.user_id
     where t.org_id = $1::uuid and ($2::text is null or lower(t.name) = lower($2::text))
     order by lower(t.name), t.id, lower(u.display_name), tm.user_id`,
    [tx.orgId, opts.name?.trim() ?? null],
  );
  const teams = new Map<string, TeamRoster>();
  for (const row of r.rows) {
    let team = teams.get(row.teamId);
    if (!team) {
      team = { id: row.teamId, name: row.teamName, members: [] };
      teams.set(row.teamId, team);
    }
    if (row.userId === null) continue;
    team.members.push({
      userId: row.userId,
      displayName: row.displayName ?? '',
      open: row.open ?? 0,
      capacity: row.capacity,
      workingHours: readWorkingHours(row.workingHours),
    });
  }
  return [...teams.values()];
}
