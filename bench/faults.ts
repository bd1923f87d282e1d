import { loadavg } from 'node:os';
import { type Load, startLoad } from './faults/load.js';
import { type Stack, startStack } from './faults/stack.js';
import type { Benchmark } from './lib/benchmark.js';
import { withCluster } from './lib/cluster.js';
import { withRedis } from './outbox.js';

// The fault suite: the whole system (API, workers, bot, relay) under steady load while one thing
// breaks at a time, on loopback. Each scenario: 4 s of load, the fault, 15 s more of load, then
// up to 20 s for the backlog to drain; what was lost, duplicated, answered 5xx and how long the
// system took to be back to normal after the fault ended.

const BEFORE_MS = 4_000;
const AFTER_MS = 15_000;
const DRAIN_MS = 20_000;
/** An event (webhook, Discord post) later than this after its commit counts as "not yet recovered". */
const LATE_MS = 3_000;
const RATE = 5; // ticket opens/s and as many replies/s through the API
const EVENT_TYPES = ['ticket.created', 'message.created'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Scenario {
  name: string;
  recoveryTargetS: number;
  /** The API's own dependencies are down: 503s are expected then (never a 500). */
  apiMayFail: boolean;
  /** `/ticket open` interactions per second through the gateway during this scenario. */
  interactions?: number;
  /** The faulty sink's events committed before the fault ended may wait for a later scheduled retry. */
  sinkScheduled?: boolean;
  fault(stack: Stack, log: (msg: string) => void): Promise<void>;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'redis-kill',
    recoveryTargetS: 5,
    apiMayFail: true,
    async fault(s, log) {
      await s.redis.stop({ kill: true });
      log('  Redis SIGKILLed; restarted 8 s later');
      await sleep(8_000);
      // The fault ends as redis-server is started again (it then loads its AOF), as in bench/outbox.ts.
      void s.redis.restart();
    },
  },
  {
    name: 'postgres-restart',
    recoveryTargetS: 15,
    apiMayFail: true,
    async fault(s, log) {
      const t = Date.now();
      await s.restartPostgres(5_000);
      log(
        `  PostgreSQL stopped (pg_ctl -m fast), 5 s down, started again (${((Date.now() - t) / 1000).toFixed(1)} s)`,
      );
    },
  },
  {
    name: 'pg-terminate',
    recoveryTargetS: 15,
    apiMayFail: true,
    async fault(s, log) {
      let killed = 0;
      for (let i = 0; i < 3; i++) {
        const r = await s.admin.query<{ n: number }>(
          `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
            where usename = 'gamemod_app' and pid <> pg_backend_pid()`,
        );
        killed += r.rows[0]?.n ?? 0;
        if (i < 2) await sleep(2_500);
      }
      log(`  pg_terminate_backend of the app role's connections, 3 times 2.5 s apart: ${killed} backends`);
    },
  },
  {
    name: 'webhook-sink',
    recoveryTargetS: 15,
    apiMayFail: false,
    sinkScheduled: true,
    async fault(s, log) {
      s.sink.mode = 'hang';
      await sleep(8_000);
      s.sink.mode = '500';
      await sleep(8_000);
      s.sink.mode = 'ok';
      log('  one of the two receivers hung for 8 s (no answer), then answered 500 for 8 s, then 204 again');
    },
  },
  {
    name: 'discord-429-5xx',
    recoveryTargetS: 15,
    apiMayFail: false,
    async fault(s, log) {
      s.fake.rateLimitNext('/channels/', 1, { count: 1_000_000 });
      await sleep(7_000);
      const limited = s.fake.requests({ method: 'POST' }).filter((r) => r.status === 429).length;
      s.fake.clearFaults();
      s.fake.failNext('/channels/', 502, { count: 1_000_000 });
      await sleep(7_000);
      const failed = s.fake.requests({ method: 'POST' }).filter((r) => r.status === 502).length;
      s.fake.clearFaults();
      log(
        `  Discord answered 429 (Retry-After 1 s) to every channel route for 7 s, then 502 for 7 s (${limited} 429s, ${failed} 502s so far)`,
      );
    },
  },
  {
    name: 'gateway-drop',
    recoveryTargetS: 15,
    apiMayFail: false,
    interactions: 2,
    async fault(s, log) {
      s.fake.gateway.dropShard(0);
      await sleep(3_000);
      s.fake.cutGateway();
      await sleep(8_000);
      s.fake.restoreGateway();
      const t = Date.now();
      while (s.fake.gateway.connectedShards().length === 0 && Date.now() - t < 30_000) await sleep(100);
      log(
        `  gateway socket dropped, 3 s later cut (reconnects refused) for 8 s; shard back ${((Date.now() - t) / 1000).toFixed(1)} s after the restore`,
      );
    },
  },
];

interface Figures {
  committed: number;
  lost: number;
  duplicated: number;
  redelivered: number;
  api5xx: number;
  api500: number;
  apiErrors: number;
  recoveryS: number;
  notes: string[];
}

/** The outbox events of this scenario for the two subscribed types. */
async function eventsSince(stack: Stack, since: number) {
  const r = await stack.admin.query<{ id: string; at: number }>(
    `select id::text, (extract(epoch from created_at) * 1000)::float8 as at from outbox
      where id > $1 and org_id = $2 and event_type = any($3::text[]) order by id`,
    [since, stack.orgId, EVENT_TYPES],
  );
  return r.rows.map((x) => ({ webhookId: `msg_${x.id}`, outboxId: Number(x.id), at: Number(x.at) }));
}

/** Successful Discord posts carrying each load marker, with when they arrived. */
function discordPosts(stack: Stack, fromIndex: number): Map<string, number[]> {
  const posts = new Map<string, number[]>();
  const all = stack.fake.requests({ method: 'POST' }).slice(fromIndex);
  for (const r of all) {
    if (r.status >= 300 || !/\/channels\/\d+\/messages$/.test(r.path)) continue;
    const m = /fx\d+-\d+/.exec(JSON.stringify(r.body));
    if (!m) continue;
    const list = posts.get(m[0]) ?? [];
    list.push(r.at);
    posts.set(m[0], list);
  }
  return posts;
}

async function measure(
  stack: Stack,
  sc: Scenario,
  load: Load,
  since: number,
  fakeFrom: number,
  faultStart: number,
  faultEnd: number,
): Promise<Figures> {
  const notes: string[] = [];
  const events = await eventsSince(stack, since);
  const replies = load.sent.filter((x) => x.kind === 'reply' && x.status === 201);
  const opens = load.sent.filter((x) => x.kind === 'open');
  let brokenUntil = faultEnd;
  let lost = 0;

  // API: every failure counts as "still broken" until it ends; 5xx within the fault reported.
  const during = load.sent.filter((x) => x.sentAt >= faultStart && x.sentAt <= faultEnd);
  const api5xx = during.filter((x) => x.status >= 500).length;
  const byStatus = new Map<number, number>();
  for (const x of during) if (x.status >= 500) byStatus.set(x.status, (byStatus.get(x.status) ?? 0) + 1);
  if (byStatus.size)
    notes.push(`5xx during the fault by status: ${[...byStatus].map(([k, n]) => `${k}×${n}`).join(', ')}`);
  const api500 = load.sent.filter((x) => x.status === 500).length;
  const apiErrors = during.filter((x) => x.status === 0).length;
  const refused = new Map<string, number>();
  for (const x of load.sent) {
    if (x.status === 0 || x.status >= 500) brokenUntil = Math.max(brokenUntil, x.doneAt);
    else if (x.status >= 400)
      refused.set(`${x.status} ${x.kind}`, (refused.get(`${x.status} ${x.kind}`) ?? 0) + 1);
  }
  for (const [what, n] of refused) notes.push(`API answered ${what} ${n} times`);
  const after5xx = load.sent.filter((x) => x.sentAt > faultEnd && (x.status >= 500 || x.status === 0)).length;
  if (after5xx) notes.push(`${after5xx} API requests failed after the fault ended`);

  // Tickets answered 201 must exist once; answered with an error they may exist (committed, then the answer was lost).
  const subjects = await stack.admin.query<{ m: string; n: number }>(
    `select substring(subject from 'fx[0-9]+-[0-9]+') as m, count(*)::int as n from tickets
      where org_id = $1 and subject like 'Crash on launch fx%' group by 1`,
    [stack.orgId],
  );
  const inDb = new Map(subjects.rows.map((r) => [r.m, Number(r.n)]));
  let duplicated = 0;
  let ghosts = 0;
  for (const o of opens) {
    const n = inDb.get(o.marker) ?? 0;
    if (o.status === 201 && n === 0) lost += 1;
    if (n > 1) duplicated += n - 1;
    if (o.status !== 201 && n > 0) ghosts += 1;
  }
  if (ghosts)
    notes.push(
      `${ghosts} opens answered with an error were committed anyway (the answer was lost, not the ticket)`,
    );

  // Webhooks, per receiver: every event delivered, under one webhook-id per event.
  let redelivered = 0;
  const scheduled = sc.sinkScheduled
    ? new Set(
        (
          await stack.admin.query<{ id: string }>(
            `select outbox_id::text as id from webhook_deliveries
              where subscription_id = $1 and outbox_id > $2 and status = 'failed' and next_attempt_at is not null`,
            [stack.sinkSubscriptionId, since],
          )
        ).rows.map((r) => Number(r.id)),
      )
    : new Set<number>();
  let waiting = 0;
  for (const [name, rcv] of [
    ['receiver', stack.good],
    ['sink', stack.sink],
  ] as const) {
    let missing = 0;
    const ids = new Set(events.map((e) => e.webhookId));
    for (const e of events) {
      const got = rcv.firstOk.get(e.webhookId);
      if (got === undefined) {
        if (name === 'sink' && scheduled.has(e.outboxId) && e.at <= faultEnd) waiting += 1;
        else missing += 1;
        continue;
      }
      if ((rcv.attempts.get(e.webhookId) ?? 0) > 1) redelivered += 1;
      // The faulty sink's late deliveries of events from the fault are its retry schedule, not a slow system.
      if (name === 'sink' && sc.sinkScheduled && e.at <= faultEnd) continue;
      if (got - e.at > LATE_MS) brokenUntil = Math.max(brokenUntil, got);
    }
    for (const set of rcv.idsPerEvent.values()) {
      if (set.size > 1 && [...set].some((id) => ids.has(id))) duplicated += set.size - 1;
    }
    if (missing) notes.push(`${missing} events never reached the ${name}`);
    lost += missing;
  }
  if (waiting)
    notes.push(
      `${waiting} events for the faulty sink wait for their scheduled retry (Svix schedule: 5 s, then 5 min)`,
    );

  // Discord: every reply answered 201 posted once in its channel.
  const posts = discordPosts(stack, fakeFrom);
  let discordLost = 0;
  const late: Array<{ marker: string; sentAt: number; delay: number }> = [];
  for (const r of replies) {
    const at = posts.get(r.marker);
    if (!at) {
      discordLost += 1;
      continue;
    }
    if (at.length > 1) duplicated += at.length - 1;
    const first = Math.min(...at);
    if (first - r.doneAt > LATE_MS) {
      brokenUntil = Math.max(brokenUntil, first);
      late.push({ marker: r.marker, sentAt: r.sentAt, delay: first - r.doneAt });
    }
  }
  if (discordLost) notes.push(`${discordLost} replies never posted on Discord`);
  if (late.length) {
    const worst = late.reduce((a, b) => (b.delay > a.delay ? b : a));
    notes.push(
      `${late.length} replies posted on Discord more than ${LATE_MS / 1000} s after their commit; the latest ${(worst.delay / 1000).toFixed(1)} s (${worst.marker}, sent ${((worst.sentAt - faultEnd) / 1000).toFixed(1)} s after the fault ended)`,
    );
  }
  lost += discordLost;

  // Interactions through the gateway: those sent after the fault ended must all be answered in time.
  if (load.played.length) {
    const inFault = load.played.filter((p) => p.sentAt >= faultStart && p.sentAt <= faultEnd);
    const after = load.played.filter((p) => p.sentAt > faultEnd);
    const unanswered = after.filter((p) => !p.ack);
    for (const p of unanswered) brokenUntil = Math.max(brokenUntil, p.sentAt + 3_000);
    const before = load.played.filter((p) => p.sentAt < faultStart);
    notes.push(
      `interactions: before ${before.filter((p) => p.ack).length}/${before.length} acked, during the outage ${inFault.filter((p) => p.ack).length}/${inFault.length} (Discord shows "interaction failed" for those), after ${after.length - unanswered.length}/${after.length}`,
    );
    // A late (> 3 s) first answer is how an interaction is lost on Discord.
    lost += after.filter((p) => !p.ack && p.sentAt > faultEnd + sc.recoveryTargetS * 1000).length;
  }

  const undelivered = lost > 0;
  const recoveryS = undelivered ? Number.POSITIVE_INFINITY : Math.max(0, brokenUntil - faultEnd) / 1000;
  return {
    committed: events.length,
    lost,
    duplicated,
    redelivered,
    api5xx,
    api500,
    apiErrors,
    recoveryS,
    notes,
  };
}

/** Waits until every event reached the receivers and every reply was posted, or `DRAIN_MS`. */
async function drain(stack: Stack, load: Load, since: number, fakeFrom: number): Promise<void> {
  const deadline = Date.now() + DRAIN_MS;
  while (Date.now() < deadline) {
    const events = await eventsSince(stack, since).catch(() => null);
    if (events) {
      const webhooksIn = events.every((e) => stack.good.firstOk.has(e.webhookId));
      const posts = discordPosts(stack, fakeFrom);
      const repliesIn = load.sent.every((x) => x.kind !== 'reply' || x.status !== 201 || posts.has(x.marker));
      const backlog = await stack.admin
        .query<{ n: number }>('select count(*)::int as n from outbox where relayed_at is null')
        .catch(() => null);
      if (webhooksIn && repliesIn && backlog?.rows[0]?.n === 0) return;
    }
    await sleep(500);
  }
}

async function runScenario(stack: Stack, sc: Scenario, log: (msg: string) => void): Promise<void> {
  log(`\n-- ${sc.name}`);
  const since = Number(
    (await stack.admin.query<{ m: string }>('select coalesce(max(id), 0)::text as m from outbox')).rows[0]
      ?.m ?? 0,
  );
  const fakeFrom = stack.fake.requests({ method: 'POST' }).length;
  const started = Date.now();
  const load = startLoad(stack, {
    perSecond: RATE,
    ...(sc.interactions ? { interactions: sc.interactions } : {}),
  });
  await sleep(BEFORE_MS);
  const faultStart = Date.now();
  try {
    await sc.fault(stack, log);
  } finally {
    stack.fake.clearFaults();
    stack.fake.restoreGateway();
    stack.sink.mode = 'ok';
  }
  const faultEnd = Date.now();
  await sleep(AFTER_MS);
  await load.stop();
  await drain(stack, load, since, fakeFrom);
  const f = await measure(stack, sc, load, since, fakeFrom, faultStart, faultEnd);
  const took = (Date.now() - started) / 1000;
  const opens = load.sent.filter((x) => x.kind === 'open').length;
  const replies = load.sent.length - opens;
  log(
    `  load: ${opens} opens and ${replies} replies through the API (${RATE}/s each)${load.played.length ? `, ${load.played.length} interactions` : ''}; ${f.committed} webhook events; fault ${((faultEnd - faultStart) / 1000).toFixed(1)} s; scenario ${took.toFixed(0)} s`,
  );
  for (const n of f.notes) log(`  note: ${n}`);
  const rec = Number.isFinite(f.recoveryS)
    ? `${f.recoveryS.toFixed(1)} s`
    : 'never (something is still missing)';
  const apiOk = f.api500 === 0 && (sc.apiMayFail || f.api5xx + f.apiErrors === 0);
  log(`  ${sc.name}: events lost ${f.lost} (target 0): ${f.lost === 0 ? 'PASS' : 'FAIL'}`);
  log(
    `  ${sc.name}: duplicated deliveries ${f.duplicated} (target 0; ${f.redelivered} redelivered under the same webhook-id, allowed): ${f.duplicated === 0 ? 'PASS' : 'FAIL'}`,
  );
  log(
    `  ${sc.name}: API 5xx during the fault ${f.api5xx} (500s in the whole run: ${f.api500}; timeouts/resets during the fault: ${f.apiErrors}) (target: no 500${sc.apiMayFail ? ', 503 while a dependency is down' : ', none at all'}): ${apiOk ? 'PASS' : 'FAIL'}`,
  );
  log(
    `  ${sc.name}: recovery ${rec} after the fault ended (target ≤ ${sc.recoveryTargetS} s): ${f.recoveryS <= sc.recoveryTargetS ? 'PASS' : 'FAIL'}`,
  );
}

async function run(log: (msg: string) => void): Promise<void> {
  const only = process.env['FAULTS_ONLY']?.split(',');
  const load = () =>
    loadavg()
      .map((n) => n.toFixed(2))
      .join(' / ');
  log(`load average (1/5/15 min) at the start: ${load()}`);
  await withCluster(log, async (pgh, pgDir) => {
    await withRedis(async (redis) => {
      const stack = await startStack(pgh, pgDir, redis, log);
      try {
        for (const sc of SCENARIOS) {
          if (only && !only.includes(sc.name)) continue;
          await runScenario(stack, sc, log);
        }
        log(`load average (1/5/15 min) at the end: ${load()}`);
      } finally {
        await stack.close();
      }
    });
  });
}

export const faults: Benchmark = {
  name: 'faults',
  description:
    'the whole system under load through Redis SIGKILL, Postgres restart, pg_terminate_backend, a failing webhook sink, Discord 429/5xx and a gateway drop: lost, duplicated, 5xx, recovery',
  run,
};
