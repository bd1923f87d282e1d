import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, changedAny, diffChanges, recordChange } from './changes.js';
import { id } from './schemas.js';
import { slaChanged } from './sla-policies.js';
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
  const r = await tx.query(
    `insert into team_members (org_id, team_id, user_id) values ($1::uuid, $2::uuid, $3::uuid) on conflict do nothing`,
    [tx.orgId, input.teamId, input.userId],
  );
  // Already on the team: adding again is a no-op, not a second entry in the audit log.
  if (!r.rowCount) return;
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
  const r = await tx.query(
    'delete from team_members where org_id = $1::uuid and team_id = $2::uuid and user_id = $3::uuid',
    [tx.orgId, input.teamId, input.userId],
  );
  // Nothing removed (no such team, or they were not on it): an entry would record a removal
  // that never happened.
  if (!r.rowCount) throw new AppError('not_found', 'this user is not on the team');
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

/** A team with the ids of its members. */
export async function getTeam(tx: Tx, teamId: string): Promise<Team & { memberIds: string[] }> {
  const r = await tx.query<Team & { memberIds: string[] }>(
    `select t.id, t.name, t.description,
       coalesce((select array_agg(tm.user_id order by tm.created_at) from team_members tm
                 where tm.org_id = t.org_id and tm.team_id = t.id), '{}') as "memberIds"
     from teams t where t.org_id = $1::uuid and t.id = $2::uuid`,
    [tx.orgId, parseInput(id, teamId)],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'team not found');
  return r.rows[0];
}

export const updateTeamInput = z
  .object({
    name: z.string().trim().min(1).max(100).optional(),
    description: z.string().trim().max(500).nullable().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, 'nothing to change');

export async function updateTeam(
  tx: Tx,
  teamId: string,
  raw: z.input<typeof updateTeamInput>,
  actor: Actor,
): Promise<Team> {
  const input = parseInput(updateTeamInput, raw);
  const b = await tx.query<Team>(
    'select id, name, description from teams where org_id = $1::uuid and id = $2::uuid for update',
    [tx.orgId, parseInput(id, teamId)],
  );
  const before = b.rows[0];
  if (!before) throw new AppError('not_found', 'team not found');
  const r = await tx.query<Team>(
    `update teams set name = coalesce($3::text, name),
       description = case when $4::boolean then $5::text else description end, updated_at = now()
     where org_id = $1::uuid and id = $2::uuid returning id, name, description`,
    [
      tx.orgId,
      parseInput(id, teamId),
      input.name ?? null,
      input.description !== undefined,
      input.description ?? null,
    ],
  );
  const team = r.rows[0] as Team;
  const changes = diffChanges(before, team, ['name', 'description']);
  if (changedAny(changes)) {
    await recordChange(tx, actor, {
      action: 'team.updated',
      target: { type: 'team', id: team.id },
      data: { changes },
    });
  }
  return team;
}

/**
 * Deletes a team; its tickets keep their assignee and lose the team, and the SLA policies scoped
 * to it go with it. Either can change which policy a ticket falls under, so then the workers
 * recompute the organization's due times (`sla.settings_changed`).
 */
export async function deleteTeam(tx: Tx, teamId: string, actor: Actor): Promise<void> {
  // Asked before the delete, which clears both (the policies by cascade, tickets.team_id set null).
  const used = await tx.query(
    `select exists (select 1 from sla_policies where org_id = $1::uuid and team_id = $2::uuid)
         or exists (select 1 from tickets where org_id = $1::uuid and team_id = $2::uuid
                      and status not in ('solved', 'closed')) as used`,
    [tx.orgId, parseInput(id, teamId)],
  );
  const r = await tx.query<{ name: string }>(
    'delete from teams where org_id = $1::uuid and id = $2::uuid returning name',
    [tx.orgId, teamId],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'team not found');
  await recordChange(tx, actor, {
    action: 'team.deleted',
    target: { type: 'team', id: teamId },
    data: r.rows[0],
    ...(used.rows[0]?.used ? { event: slaChanged(tx.orgId) } : {}),
  });
}
