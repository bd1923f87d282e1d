import { performance } from 'node:perf_hooks';
import type { Actor } from '../db/changes.js';
import { recordChange } from '../db/changes.js';
import { addMember } from '../db/memberships.js';
import { createPool, type Pool } from '../db/pool.js';
import { pickAssignee } from '../db/rule-assign.js';
import { runRulesForEvent } from '../db/rule-runs.js';
import { createRule } from '../db/rules.js';
import { addTeamMember, createTeam } from '../db/teams.js';
import { withTenant } from '../db/tenant.js';
import { assign, openTicket } from '../db/tickets.js';
import { createUser } from '../db/users.js';
import type { Benchmark } from './lib/benchmark.js';
import { withCluster } from './lib/cluster.js';
import { fmtMs, median, quantile } from './lib/load.js';
import { makeBenchOrg } from './outbox.js';

const MEMBERS = 20;
const OPEN_TICKETS = 2_000;
const DECISIONS = 1_000;
const TICKETS = 200;
const EVENTS = 600;
const CONCURRENCY = 8;
const ROUNDS = 3;

async function timed(n: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        await fn(i);
        out.push(performance.now() - t);
      }
    }),
  );
  return out.sort((a, b) => a - b);
}

const line = (label: string, xs: number[]) =>
  `${label.padEnd(34)} p50 ${fmtMs(quantile(xs, 0.5))}  p99 ${fmtMs(quantile(xs, 0.99))}`;

/** A team of MEMBERS agents holding OPEN_TICKETS open tickets between them. */
async function loadedTeam(pool: Pool, org: { orgId: string; actor: Actor }) {
  const users: string[] = [];
  for (let i = 0; i < MEMBERS; i++) users.push((await createUser(pool, { displayName: `Agent ${i}` })).id);
  return withTenant(pool, org.orgId, async (tx) => {
    const team = await createTeam(tx, { name: 'Support' }, org.actor);
    for (const userId of users) {
      await addMember(tx, { userId, role: 'agent' }, org.actor);
      await addTeamMember(tx, { teamId: team.id, userId }, org.actor);
    }
    for (let i = 0; i < OPEN_TICKETS; i++) {
      const { ticket } = await openTicket(tx, { subject: `load ${i}`, origin: 'api' }, org.actor);
      await assign(tx, { ticketId: ticket.id, assigneeId: users[i % MEMBERS] as string }, org.actor);
    }
    return team.id;
  });
}

/** An org whose ticket.updated events run `rules` rules, the last of them the only one that matches. */
async function rulesOrg(pool: Pool, name: string, rules: number) {
  const org = await makeBenchOrg(pool, name);
  const ticketIds = await withTenant(pool, org.orgId, async (tx) => {
    for (let i = 0; i < rules - 1; i++) {
      await createRule(
        tx,
        {
          name: `never ${i}`,
          trigger: 'ticket.updated',
          conditions: [
            { kind: 'priority', in: ['normal', 'high'] },
            { kind: 'text', contains: [`no-such-word-${i}`] },
          ],
          actions: [{ type: 'set_priority', priority: 'urgent' }],
        },
        org.actor,
      );
    }
    await createRule(
      tx,
      {
        name: 'the one that matches',
        trigger: 'ticket.updated',
        conditions: [{ kind: 'priority', in: ['normal'] }],
        actions: [{ type: 'notify', to: 'assignee', message: 'bench' }],
      },
      org.actor,
    );
    const ids: string[] = [];
    for (let i = 0; i < TICKETS; i++)
      ids.push((await openTicket(tx, { subject: `bench ${i}`, origin: 'api' }, org.actor)).ticket.id);
    return ids;
  });
  return { ...org, ticketIds };
}

/** Writes EVENTS ticket.updated events and returns their outbox ids. */
async function events(
  pool: Pool,
  org: { orgId: string; actor: Actor; ticketIds: string[] },
): Promise<number[]> {
  return withTenant(pool, org.orgId, async (tx) => {
    for (let i = 0; i < EVENTS; i++) {
      const ticketId = org.ticketIds[i % org.ticketIds.length] as string;
      await recordChange(tx, org.actor, {
        ticketId,
        action: 'bench.touched',
        event: { type: 'ticket.updated', aggregateType: 'ticket', aggregateId: ticketId, payload: { i } },
      });
    }
    const r = await tx.query<{ id: string }>(
      "select id from outbox where org_id = $1::uuid and event_type = 'ticket.updated' order by id desc limit $2::int",
      [tx.orgId, EVENTS],
    );
    return r.rows.map((x) => Number(x.id)).reverse();
  });
}

async function run(log: (msg: string) => void): Promise<void> {
  await withCluster(log, async (pgh) => {
    const pool = createPool({
      url: pgh.urlFor('app'),
      max: 16,
      statementTimeoutMs: 20_000,
      connectTimeoutMs: 5_000,
    });
    try {
      // 1. Assignment decisions, against the bare transaction that locks the team row.
      const org = await makeBenchOrg(pool, 'Assign');
      const teamId = await loadedTeam(pool, org);
      const decide = (strategy: 'round_robin' | 'least_loaded') => () =>
        withTenant(pool, org.orgId, (tx) => pickAssignee(tx, teamId, strategy));
      const bare = () =>
        withTenant(pool, org.orgId, (tx) =>
          tx.query('select 1 from teams where id = $1::uuid for update', [teamId]),
        );
      await timed(200, 1, bare);
      const base = await timed(DECISIONS, 1, bare);
      const rr = await timed(DECISIONS, 1, decide('round_robin'));
      const ll = await timed(DECISIONS, 1, decide('least_loaded'));
      log(
        `assignment decision, ${MEMBERS} members, ${OPEN_TICKETS} open tickets, ${DECISIONS} decisions each:`,
      );
      log(`  ${line('baseline (transaction, team lock)', base)}`);
      log(`  ${line('round-robin', rr)}`);
      log(`  ${line('least-loaded', ll)}`);
      const worst = Math.max(quantile(rr, 0.99), quantile(ll, 0.99));
      log(`  p99 target ≤ 10 ms: ${worst <= 10 ? 'PASS' : 'FAIL'} (${fmtMs(worst)})`);

      // 2. Processing one event with 1 rule and with 100 (99 that do not match, then 1 that does).
      const one = await rulesOrg(pool, 'OneRule', 1);
      const hundred = await rulesOrg(pool, 'HundredRules', 100);
      const p50 = { one: [] as number[], hundred: [] as number[] };
      const p99 = { one: [] as number[], hundred: [] as number[] };
      for (let round = 0; round < ROUNDS; round++) {
        for (const [key, o] of [
          ['one', one],
          ['hundred', hundred],
        ] as const) {
          const ids = await events(pool, o);
          const xs = await timed(ids.length, CONCURRENCY, (i) =>
            runRulesForEvent(pool, o.orgId, ids[i] as number),
          );
          p50[key].push(quantile(xs, 0.5));
          p99[key].push(quantile(xs, 0.99));
        }
      }
      const m = (xs: number[]) => median(xs);
      log(
        `event to effect (rules run and logged), ${EVENTS} ticket.updated events × ${ROUNDS} rounds, ${CONCURRENCY} at once (medians of rounds):`,
      );
      log(`  1 rule (baseline)  p50 ${fmtMs(m(p50.one))}  p99 ${fmtMs(m(p99.one))}`);
      log(`  100 rules          p50 ${fmtMs(m(p50.hundred))}  p99 ${fmtMs(m(p99.hundred))}`);
      const ratio = m(p50.hundred) / m(p50.one);
      log(
        `  100 rules / 1 rule: p50 ${ratio.toFixed(2)}×, p99 ${(m(p99.hundred) / m(p99.one)).toFixed(2)}× (target ≤ 1.2×: ${ratio <= 1.2 ? 'PASS' : 'FAIL'})`,
      );
    } finally {
      await pool.end();
    }
  });
}

export const rules: Benchmark = {
  name: 'rules',
  description:
    'auto-assignment decision p99 against a bare transaction; event processing with 100 rules against 1',
  run,
};
