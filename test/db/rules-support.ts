import { addMember } from '../../db/memberships.js';
import { upsertPlayer } from '../../db/players.js';
import type { RuleTrigger } from '../../db/rule-defs.js';
import { runRulesForEvent } from '../../db/rule-runs.js';
import { createRule } from '../../db/rules.js';
import { addTeamMember, createTeam } from '../../db/teams.js';
import { withTenant } from '../../db/tenant.js';
import * as tickets from '../../db/tickets.js';
import { createUser } from '../../db/users.js';
import type { TestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';

/** An org with a player, a team of `agents` agents and helpers to drive rules by their events. */
export async function rulesOrg(db: TestDb, agents = 2) {
  const org = await makeOrg(db.app, 'Rules');
  const agentIds: string[] = [];
  for (let i = 0; i < agents; i++)
    agentIds.push((await createUser(db.app, { displayName: `Agent ${i}` })).id);
  const { player, team } = await withTenant(db.app, org.orgId, async (tx) => {
    for (const userId of agentIds) await addMember(tx, { userId, role: 'agent' }, org.owner);
    const team = await createTeam(tx, { name: 'Support' }, org.owner);
    for (const userId of agentIds) await addTeamMember(tx, { teamId: team.id, userId }, org.owner);
    const player = await upsertPlayer(tx, { displayName: 'Player', discordUserId: '123456789012345678' });
    return { player, team };
  });
  const playerActor = { type: 'player' as const, id: player.id };
  const tx = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(db.app, org.orgId, fn);
  return {
    ...org,
    agentIds,
    team,
    player,
    playerActor,
    tx,
    rule: (def: Record<string, unknown> & { trigger: RuleTrigger }) =>
      tx((t) => createRule(t, { name: `rule ${Math.random().toString(36).slice(2, 8)}`, ...def }, org.owner)),
    open: (subject: string, body = 'hello', extra: Record<string, unknown> = {}) =>
      tx((t) =>
        tickets.openTicket(
          t,
          { subject, body, origin: 'discord', requesterId: player.id, ...extra },
          playerActor,
        ),
      ).then((r) => r.ticket),
    /** Unrun outbox events of the org (optionally of one ticket), oldest first. */
    events: async (after = 0, ticketId?: string) => {
      const r = await db.admin.query<{ id: string; event_type: string; payload: Record<string, unknown> }>(
        `select id, event_type, payload from outbox where org_id = $1 and id > $2 and ($3::uuid is null or aggregate_id = $3)
         order by id`,
        [org.orgId, after, ticketId ?? null],
      );
      return r.rows.map((x) => ({ id: Number(x.id), type: x.event_type, payload: x.payload }));
    },
    run: (outboxId: number) => runRulesForEvent(db.app, org.orgId, outboxId),
    /** Runs rules on every event from `after` on, following the events rules cause, as the worker would. */
    drain: async (after = 0, max = 50) => {
      let last = after;
      for (let i = 0; i < max; i++) {
        const r = await db.admin.query<{ id: string }>(
          'select id from outbox where org_id = $1 and id > $2 order by id limit 1',
          [org.orgId, last],
        );
        const next = r.rows[0];
        if (!next) return;
        last = Number(next.id);
        await runRulesForEvent(db.app, org.orgId, last);
      }
      throw new Error('rules did not settle');
    },
    runs: async (ticketId: string) => {
      const r = await db.admin.query<{
        rule_id: string;
        outcome: string;
        reason: string;
        actions: string[];
        depth: number;
      }>(
        // A stretch of rules that did not run is one row (or part of the next rule's); one entry per rule here.
        `select coalesce((e.x ->> 'ruleId')::uuid, r.rule_id) as rule_id, coalesce(e.x ->> 'outcome', r.outcome) as outcome,
           coalesce(e.x ->> 'reason', r.reason) as reason, r.actions, r.depth
         from rule_runs r left join lateral jsonb_array_elements(
           coalesce(r.misses, '[]') || case when r.rule_name is not null then '[{}]'::jsonb else '[]' end
         ) with ordinality as e(x, ord) on true
         where r.org_id = $1 and r.ticket_id = $2 order by r.id, e.ord`,
        [org.orgId, ticketId],
      );
      return r.rows;
    },
    lastOutboxId: async () => {
      const r = await db.admin.query<{ id: string }>(
        'select coalesce(max(id), 0) as id from outbox where org_id = $1',
        [org.orgId],
      );
      return Number(r.rows[0]?.id ?? 0);
    },
  };
}
