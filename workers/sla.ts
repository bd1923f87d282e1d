import { SYSTEM } from '../db/changes.js';
import { allOrgIds } from '../db/organizations.js';
import {
  recordTimer,
  recordTransitions,
  type SlaMetric,
  type SlaSnapshot,
  slaSnapshot,
  ticketsDueBefore,
  timerRecorded,
  unfinishedTickets,
} from '../db/sla-clocks.js';
import { withTenant } from '../db/tenant.js';
import { summary } from '../db/ticket-rows.js';
import { PRIORITIES } from '../db/ticket-rules.js';
import { getTicket, setPriority, transfer } from '../db/tickets.js';
import { isAppError } from '../lib/errors.js';
import { counter } from '../lib/metrics.js';
import type { WorkerDeps } from './deps.js';
import { type JobData, jobIds } from './jobs.js';

/**
 * SLA timers. Every relevant ticket event (through the relay) recomputes the ticket's clocks,
 * logs the transitions and schedules the warning and the breach as delayed jobs whose ids carry
 * the ticket, metric and due time: re-scheduling the same due time is a no-op, and a changed due
 * time gets new jobs while the old ones find their due time stale when they fire. A firing timer
 * re-reads the ticket under a row lock and records only if the clock still says so and the log
 * does not have it yet, so a breach is recorded once even if its job runs twice.
 */

const fired = counter('gamemod_sla_timers_total', 'SLA timers fired', ['kind', 'result']);
/** A timer that fires up to this early (clock drift between hosts) still counts. */
const EARLY_TOLERANCE_MS = 5_000;

const summaryOf = async (tx: Parameters<typeof getTicket>[0], ticketId: string) =>
  summary(await getTicket(tx, ticketId));

const isNotFound = (err: unknown) => isAppError(err) && err.code === 'not_found';

export async function recomputeSla(
  deps: WorkerDeps,
  data: JobData<'sla.recompute'>,
): Promise<SlaSnapshot | undefined> {
  const nowMs = deps.clock.now().getTime();
  const result = await withTenant(deps.pool, data.orgId, async (tx) => {
    let snap: SlaSnapshot;
    try {
      snap = await slaSnapshot(tx, data.ticketId, { lock: true });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const superseded = await recordTransitions(tx, snap);
    const timers: Array<{ metric: (typeof snap.metrics)[number]; kind: 'warn' | 'breach'; at: Date }> = [];
    for (const m of snap.metrics) {
      if (m.state !== 'active' || !m.dueAt) continue;
      const cycle = m.startedAt ?? null;
      const breached = await timerRecorded(tx, data.ticketId, m.metric, 'breach', cycle);
      if (breached) continue;
      timers.push({ metric: m, kind: 'breach', at: m.dueAt });
      // A warning due when the breach is already due would arrive with or after it: none.
      const late = nowMs >= m.dueAt.getTime();
      if (m.warnAt && !late && !(await timerRecorded(tx, data.ticketId, m.metric, 'warn', cycle))) {
        timers.push({ metric: m, kind: 'warn', at: m.warnAt });
      }
    }
    return { snap, timers, superseded };
  });
  if (!result) return undefined;
  await removeTimers(deps, data.ticketId, result.superseded);
  const now = nowMs;
  await deps.queues.enqueueMany(
    result.timers.map(({ metric, kind, at }) => {
      const dueAt = metric.dueAt as Date;
      return {
        name: 'sla.fire' as const,
        payload: {
          orgId: data.orgId,
          ticketId: data.ticketId,
          metric: metric.metric,
          kind,
          dueAt: dueAt.toISOString(),
        },
        opts: {
          jobId: jobIds.slaFire(data.ticketId, metric.metric, kind, dueAt),
          delay: Math.max(0, at.getTime() - now),
        },
      };
    }),
  );
  return result.snap;
}

/**
 * Removes the timer jobs of due times a recompute superseded: they would find their due time
 * stale anyway, but left alone they sit in Redis until then (up to a year for a long target).
 * A job already running cannot be removed; it finds itself stale.
 */
async function removeTimers(
  deps: WorkerDeps,
  ticketId: string,
  superseded: ReadonlyArray<{ metric: SlaMetric; dueAt: Date }>,
): Promise<void> {
  const timers = deps.queues.get('timers');
  for (const { metric, dueAt } of superseded) {
    for (const kind of ['warn', 'breach'] as const) {
      await timers.remove(jobIds.slaFire(ticketId, metric, kind, dueAt)).catch(() => 0);
    }
  }
}

export type FireResult = 'recorded' | 'stale' | 'duplicate' | 'early';

export async function fireSlaTimer(deps: WorkerDeps, data: JobData<'sla.fire'>): Promise<FireResult> {
  const dueAt = new Date(data.dueAt);
  const now = deps.clock.now().getTime();
  const result = await withTenant(deps.pool, data.orgId, async (tx): Promise<FireResult> => {
    let snap: SlaSnapshot;
    try {
      snap = await slaSnapshot(tx, data.ticketId, { lock: true });
    } catch (err) {
      if (isNotFound(err)) return 'stale';
      throw err;
    }
    await recordTransitions(tx, snap);
    const m = snap.metrics.find((x) => x.metric === data.metric);
    if (m?.state !== 'active' || !m.dueAt || Math.abs(m.dueAt.getTime() - dueAt.getTime()) >= 1000) {
      return 'stale';
    }
    if (data.kind === 'warn' && now >= m.dueAt.getTime()) return 'stale';
    const fireAt = data.kind === 'warn' ? m.warnAt : m.dueAt;
    if (!fireAt || now + EARLY_TOLERANCE_MS < fireAt.getTime()) return 'early';
    const cycle = m.startedAt ?? null;
    if (await timerRecorded(tx, data.ticketId, data.metric, data.kind, cycle)) return 'duplicate';
    // A warning that would arrive after its breach says nothing new.
    if (data.kind === 'warn' && (await timerRecorded(tx, data.ticketId, data.metric, 'breach', cycle))) {
      return 'duplicate';
    }
    await recordTimer(tx, snap, data.metric, data.kind, m.dueAt, await summaryOf(tx, data.ticketId));
    if (data.kind === 'breach' && snap.policy) {
      const ticket = await getTicket(tx, data.ticketId);
      if (snap.policy.escalatePriority) {
        const next = PRIORITIES[PRIORITIES.indexOf(ticket.priority) + 1];
        if (next) await setPriority(tx, { ticketId: ticket.id, priority: next }, SYSTEM);
      }
      const team = snap.policy.escalationTeamId;
      if (team && ticket.teamId !== team) {
        await transfer(tx, { ticketId: ticket.id, teamId: team, keepAssignee: false }, SYSTEM);
      }
    }
    return 'recorded';
  });
  fired.inc({ kind: data.kind, result });
  if (result === 'early') {
    // Delayed jobs run on the worker's clock; if that ran ahead, try again when it is time.
    throw new Error(`SLA ${data.kind} for ${data.ticketId} fired early; retrying`);
  }
  return result;
}

/** How far ahead the sweep looks, and how often it runs (job scheduler `sla-sweep`). */
export const SLA_SWEEP_EVERY_MS = 5 * 60_000;
/** A timer overdue by more than this is left to the ticket's next event and the failed-job sweep. */
export const SLA_SWEEP_LOOKBACK_MS = 24 * 3600_000;

/**
 * Enqueues a recompute for every open ticket whose SLA falls due before the next sweep. Timers
 * are delayed jobs; one lost with a Redis crash would otherwise wait for the ticket's next event.
 * The job id carries the sweep's time slot, so overlapping sweeps do not double the work.
 */
export async function slaSweep(deps: WorkerDeps): Promise<number> {
  const now = deps.clock.now();
  const before = new Date(now.getTime() + 2 * SLA_SWEEP_EVERY_MS);
  const notBefore = new Date(now.getTime() - SLA_SWEEP_LOOKBACK_MS);
  const slot = Math.floor(now.getTime() / SLA_SWEEP_EVERY_MS);
  let n = 0;
  for await (const orgId of allOrgIds(deps.pool)) {
    const ids = await withTenant(deps.pool, orgId, (tx) => ticketsDueBefore(tx, before, notBefore));
    n += ids.length;
    await deps.queues.enqueueMany(
      ids.map((ticketId) => ({
        name: 'sla.recompute' as const,
        payload: { orgId, ticketId },
        opts: { jobId: jobIds.slaSweep(ticketId, slot) },
      })),
    );
  }
  return n;
}

/** Enqueues a recompute for each unfinished ticket of the org after its SLA settings changed. */
export async function recomputeOrg(deps: WorkerDeps, data: JobData<'sla.recompute_org'>): Promise<number> {
  let after: string | null = null;
  let n = 0;
  for (;;) {
    const ids: string[] = await withTenant(deps.pool, data.orgId, (tx) => unfinishedTickets(tx, after));
    if (!ids.length) break;
    n += ids.length;
    await deps.queues.enqueueMany(
      ids.map((ticketId) => ({
        name: 'sla.recompute' as const,
        payload: { orgId: data.orgId, ticketId },
        opts: { jobId: jobIds.slaRecomputeOrgTicket(data.outboxId, ticketId) },
      })),
    );
    after = ids.at(-1) ?? null;
  }
  return n;
}
