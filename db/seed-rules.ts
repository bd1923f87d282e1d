import type { Actor } from './changes.js';
import { createRule } from './rules.js';
import type { Tx } from './tenant.js';

/** The demo workspace's automation rules: routing by auto-assignment and an escalation. */
export async function seedRules(
  tx: Tx,
  owner: Actor,
  teams: { support: string; safety: string },
): Promise<void> {
  await createRule(
    tx,
    {
      name: 'Crash reports to Player Support',
      trigger: 'ticket.created',
      conditions: [{ kind: 'text', contains: ['crash', 'freeze', 'black screen'] }],
      actions: [
        { type: 'set_tags', add: ['crash'], remove: [] },
        { type: 'assign_in_team', teamId: teams.support, strategy: 'round_robin' },
      ],
    },
    owner,
  );
  await createRule(
    tx,
    {
      name: 'Player reports to Trust & Safety',
      trigger: 'player.reported',
      actions: [{ type: 'assign_in_team', teamId: teams.safety, strategy: 'least_loaded' }],
    },
    owner,
  );
  await createRule(
    tx,
    {
      name: 'Escalate chargeback threats',
      trigger: 'message.player',
      conditions: [{ kind: 'text', in: 'message', contains: ['chargeback', 'refund'] }],
      actions: [
        { type: 'set_priority', priority: 'high' },
        { type: 'note', body: 'Mentions a refund or chargeback: answer before the SLA warns.' },
      ],
    },
    owner,
  );
}
