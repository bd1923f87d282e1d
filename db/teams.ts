import { z } from 'zod';
import { type Actor, recordChange } from './changes.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

export interface Team {
  id: string;
  name: string;
  description: string | null;
}

export const createTeamInput = z.object({
  name: z.string().trim().min(1).max(100),
  description: z.string().trim().max(500).optional(),
});

export async function createTeam(tx: Tx, raw: z.input<typeof createTeamInput>, actor: Actor): Promise<Team> {
  const input = parseInput(createTeamInput, raw);
  const r = await tx.query<Team>(
    'insert into teams (org_id, name, description) values ($1::uuid, $2::text, $3::text) returning id, name, description',
    [tx.orgId, input.name, input.description ?? null],
  );
  const team = r.rows[0] as Team;
  await recordChange(tx, actor, {
    action: 'team.created',
    target: { type: 'team', id: team.id },
    data: { name: team.name },
  });
  return team;
}

export const teamMemberInput = z.object({ teamId: id, userId: id });

/** Adds a member of the org to a team; the composite keys refuse a user from elsewhere. */
export async function addTeamMember(
  tx: Tx,
  raw: z.input<typeof teamMemberInput>,
  actor: Actor,
): Promise<void> {
  const input = parseInput(teamMemberInput, raw);
  await tx.query(
    `insert into team_members (org_id, team_id, user_id) values ($1::uuid, $2::uuid, $3::uuid) on conflict do nothing`,
    [tx.orgId, input.teamId, input.userId],
  );
  await recordChange(tx, actor, {
    action: 'team.member_added',
    target: { type: 'team', id: input.teamId },
    data: input,
  });
}

export async function removeTeamMember(
  tx: Tx,
  raw: z.input<typeof teamMemberInput>,
  actor: Actor,
): Promise<void> {
  const input = parseInput(teamMemberInput, raw);
  await tx.query(
    'delete from team_members where org_id = $1::uuid and team_id = $2::uuid and user_id = $3::uuid',
    [tx.orgId, input.teamId, input.userId],
  );
  await recordChange(tx, actor, {
    action: 'team.member_removed',
    target: { type: 'team', id: input.teamId },
    data: input,
  });
}

export async function listTeams(tx: Tx): Promise<Team[]> {
  const r = await tx.query<Team>(
    'select id, name, description from teams where org_id = $1::uuid order by name',
    [tx.orgId],
  );
  return r.rows;
}
