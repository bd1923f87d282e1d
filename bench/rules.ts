import { performance } from 'node:perf_hooks';
import type { Actor } from '../db/changes.js';
import { addMember } from '../db/memberships.js';
import { createPool, type Pool } from '../db/pool.js';
import { pickAssignee } from '../db/rule-assign.js';
import { createRule } from '../db/rules.js';
import { addTeamMember, createTeam } from '../db/teams.js';
import { withTenant } from '../db/tenant.js';
import { assign, openTicket, updateFields } from '../db/tickets.js';
import { createUser } from '../db/users.js';
import { randomSecretKey } from '../lib/secret-key.js';
import type { Benchmark } from './lib/benchmark.js';
import { withCluster } from './lib/cluster.js';
import { fmtMs, median, quantile } from './lib/load.js';
import { startWorkersChild } from './lib/workers-child.js';
import { makeBenchOrg, withRedis } from './outbox.js';

const MEMBERS = 20;
const OPEN_TICKETS = 2_000;
const DECISIONS = 1_000;
/** Tickets per rules org: at RATE a second each is changed again only every few seconds. */
const TICKETS = 2_000;
/**
 * The issue's rate. `RULES_RATE` runs the same measurement at another one, to find what a machine
 * sustains end to end when it does not carry 500 a second (the verdict stays the 500/s one's).
 */
const RATE = Number(process.env['RULES_RATE'] ?? 500);
/** `RULES_ONLY=assignment` measures the assignment decisions alone (seconds, not minutes). */
const ASSIGNMENT_ONLY = process.env['RULES_ONLY'] === 'assignment';
const ROUND_S = 8;
const WARMUP_S = 2;
const ROUNDS = 3;
/** As bench/outbox.ts runs the workers (its comment says why not WORKER_CONCURRENCY's 50). */
const WORKER_CONCURRENCY = 20;
const POLL_MS = 5;
/** More events than this waiting for their effect: the system is behind, the watcher looks less often. */
const BEHIND = 200;
const POLL_BEHIND_MS = 50;
/** A baseline p50 above this means the pipeline fell behind the rate: the ratio compares backlogs. */
const KEPT_UP_MS = 1_000;
/** How long after the last commit of a round its effects may still arrive. */
const DRAIN_MS = 15_000;

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
  return withTenant(pool, org.orgId, async (tx) => {
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
    // Its action writes a history row and an event that is no rule trigger: no chain follows.
    const matching = await createRule(
      tx,
      {
        name: 'the one that matches',
        trigger: 'ticket.updated',
        conditions: [{ kind: 'priority', in: ['normal'] }],
        actions: [{ type: 'notify', to: 'assignee', message: 'bench' }],
      },
      org.actor,
    );
    const ticketIds: string[] = [];
    for (let i = 0; i < TICKETS; i++)
      ticketIds.push((await openTicket(tx, { subject: `bench ${i}`, origin: 'api' }, org.actor)).ticket.id);
    return { ...org, ticketIds, ruleId: matching.id };
  });
}

type RulesOrg = Awaited<ReturnType<typeof rulesOrg>>;

/**
 * Watches for the effect of each committed event: the matching rule's log row, which commits in
 * the same transaction as its action. Asks only for the events still waiting (by the log's
 * unique (org, outbox id, rule) key), every POLL_MS, as a superuser (the app role sees no rows
 * without a tenant). Its granularity adds up to POLL_MS to both sides alike (POLL_BEHIND_MS when
 * more than BEHIND events wait, i.e. when the effects are already far behind the commits).
 */
function watchEffects(admin: Pool, org: RulesOrg) {
  const waiting = new Map<number, number>();
  const seenAt = new Map<number, number>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      if (waiting.size) {
        const r = await admin.query<{ outboxId: string }>(
          `select outbox_id as "outboxId" from rule_runs
            where org_id = $1::uuid and rule_id = $2::uuid and outbox_id = any($3::bigint[])`,
          [org.orgId, org.ruleId, [...waiting.keys()]],
        );
        const now = performance.now();
        for (const row of r.rows) {
          const id = Number(row.outboxId);
          const at = waiting.get(id);
          if (at === undefined) continue;
          waiting.delete(id);
          seenAt.set(id, now - at);
        }
      }
      // Far behind, a poll every few ms naming thousands of events would load the database it
      // measures; then the latencies are seconds and a coarser look changes nothing.
      await new Promise((r) => setTimeout(r, waiting.size > BEHIND ? POLL_BEHIND_MS : POLL_MS));
    }
  })();
  return {
    expect(outboxId: number, committedAt: number) {
      waiting.set(outboxId, committedAt);
    },
    get waiting() {
      return waiting.size;
    },
    latencies: () => [...seenAt.values()].sort((a, b) => a - b),
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/**
 * Commits `ticket.updated` changes in `org` at RATE a second for `seconds` (open loop: a slow
 * commit does not slow the schedule), each a real change in its own transaction through db/
 * (`updateFields`: a new subject, with its history row and outbox event), and hands each
 * event's outbox id and commit time to the watcher. Then waits for the effects to show (at most
 * DRAIN_MS) and returns the latencies, from the commit returning to the effect seen.
 */
async function round(pool: Pool, admin: Pool, org: RulesOrg, seconds: number) {
  const watch = watchEffects(admin, org);
  const pending = new Set<Promise<void>>();
  let failures = 0;
  let firstFailure: string | undefined;
  let n = 0;
  const started = performance.now();
  const total = RATE * seconds;
  while (n < total) {
    const due = started + (n * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const i = n++;
    const ticketId = org.ticketIds[i % org.ticketIds.length] as string;
    const p = withTenant(pool, org.orgId, async (tx) => {
      await updateFields(tx, { ticketId, subject: `bench ${i} ${started.toFixed(0)}` }, org.actor);
      // This transaction's own event: the newest unrelayed row of the org it can see.
      const r = await tx.query<{ id: string }>(
        `select id from outbox where org_id = $1::uuid and relayed_at is null and aggregate_id = $2::uuid
          order by id desc limit 1`,
        [tx.orgId, ticketId],
      );
      return Number(r.rows[0]?.id);
    }).then(
      (outboxId) => watch.expect(outboxId, performance.now()),
      (err: unknown) => {
        failures++;
        firstFailure ??= err instanceof Error ? err.message : String(err);
      },
    );
    const tracked = p.finally(() => pending.delete(tracked));
    pending.add(tracked);
  }
  await Promise.all(pending);
  const until = performance.now() + DRAIN_MS;
  while (watch.waiting > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
  const missing = watch.waiting;
  await watch.stop();
  return { lat: watch.latencies(), committed: total - failures, failures, firstFailure, missing };
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
      if (ASSIGNMENT_ONLY) return;

      // 2. Outbox to effect at a steady RATE events/s, with 1 rule and with 100 (99 that do not
      // match, then 1 that does), through the real workers: the relay and the rules processor.
      const one = await rulesOrg(pool, 'OneRule', 1);
      const hundred = await rulesOrg(pool, 'HundredRules', 100);
      await withRedis(async (redis) => {
        const admin = createPool({
          url: pgh.urlFor('super'),
          max: 2,
          statementTimeoutMs: 10_000,
          connectTimeoutMs: 5_000,
        });
        // The workers in a process of their own with the relay in its thread, as the workers role
        // runs beside the API: the writers and the watcher here would otherwise share their loop.
        const workers = await startWorkersChild({
          dbUrl: pgh.urlFor('app'),
          redisUrl: redis.url,
          secretKey: randomSecretKey(),
          poolMax: WORKER_CONCURRENCY + 4,
          concurrency: WORKER_CONCURRENCY,
          pollMs: 200,
          prefix: 'benchrules',
          webhooksToLoopback: false,
        });
        try {
          // Warm-up: both orgs, untimed (the worker's rule cache, plans, connections).
          await round(pool, admin, one, WARMUP_S);
          await round(pool, admin, hundred, WARMUP_S);
          const p50 = { one: [] as number[], hundred: [] as number[] };
          const p99 = { one: [] as number[], hundred: [] as number[] };
          /** Rounds in which the writer or the workers did not keep up (commits failed, effects lost). */
          let shortfalls = 0;
          log(
            `outbox to effect (commit of a ticket.updated change to the matching rule's log row and action committed), ${RATE} events/s for ${ROUND_S} s a round, ${ROUNDS} alternating rounds, relay + rules processor (${WORKER_CONCURRENCY} jobs at once):`,
          );
          for (let r = 0; r < ROUNDS; r++) {
            const order: Array<['one' | 'hundred', RulesOrg]> =
              r % 2 === 0
                ? [
                    ['one', one],
                    ['hundred', hundred],
                  ]
                : [
                    ['hundred', hundred],
                    ['one', one],
                  ];
            for (const [key, o] of order) {
              const res = await round(pool, admin, o, ROUND_S);
              p50[key].push(quantile(res.lat, 0.5));
              p99[key].push(quantile(res.lat, 0.99));
              if (res.failures || res.missing) shortfalls++;
              log(
                `  round ${r + 1} ${(key === 'one' ? '1 rule' : '100 rules').padEnd(9)} p50 ${fmtMs(quantile(res.lat, 0.5))}  p99 ${fmtMs(quantile(res.lat, 0.99))}  effects ${res.lat.length}/${res.committed}${res.failures ? `, ${res.failures} commits failed (first: ${res.firstFailure})` : ''}${res.missing ? `, ${res.missing} not seen within ${DRAIN_MS / 1000} s` : ''}`,
              );
            }
          }
          const m = (xs: number[]) => median(xs);
          log(`  1 rule (baseline)  p50 ${fmtMs(m(p50.one))}  p99 ${fmtMs(m(p99.one))}`);
          log(`  100 rules          p50 ${fmtMs(m(p50.hundred))}  p99 ${fmtMs(m(p99.hundred))}`);
          const ratio = m(p50.hundred) / m(p50.one);
          // Saturated, both sides measure the backlog, not the rules: a ratio near 1 then says
          // nothing, so it is no pass.
          const keptUp = shortfalls === 0 && m(p50.one) <= KEPT_UP_MS;
          log(
            `  100 rules / 1 rule: p50 ${ratio.toFixed(2)}×, p99 ${(m(p99.hundred) / m(p99.one)).toFixed(2)}× (target ≤ 1.2×: ${ratio <= 1.2 && keptUp ? 'PASS' : 'FAIL'})`,
          );
          if (!keptUp)
            log(
              `  not kept up at ${RATE} events/s (${shortfalls} of ${ROUNDS * 2} rounds with failed commits or lost effects, baseline p50 ${fmtMs(m(p50.one))} against ≤ ${KEPT_UP_MS} ms): both sides measured a backlog, so the ratio is not a verdict`,
            );
        } finally {
          await workers.stop();
          await admin.end();
        }
      });
    } finally {
      await pool.end();
    }
  });
}

export const rules: Benchmark = {
  name: 'rules',
  description:
    'auto-assignment decision p99 against a bare transaction; outbox-to-effect latency at 500 events/s through the relay and the rules processor, 100 rules against 1',
  run,
};
