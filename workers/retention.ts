import { randomUUID } from 'node:crypto';
import { allOrgIds } from '../db/organizations.js';
import type { Pool } from '../db/pool.js';
import { listRetentionPolicies, type RetentionPolicy } from '../db/retention.js';
import { applyRetentionBatch, type RetentionCounts, recordRetentionRun } from '../db/retention-apply.js';
import { withTenant } from '../db/tenant.js';
import type { Logger } from '../lib/logger.js';
import type { Storage } from '../lib/storage/index.js';
import type { WorkerDeps } from './deps.js';

/** How often the scheduler applies every organization's policies. */
export const RETENTION_EVERY_MS = 3600_000;

export interface RetentionOptions {
  /** Rows per transaction: small enough that a batch's locks and WAL never stall requests. */
  batchSize?: number;
  /** Pause between batches, leaving the database to requests (and autovacuum) in between. */
  pauseMs?: number;
  /** Batches one org gets in one run; what is left waits for the next run. */
  maxBatches?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Applies one organization's policies now, batch by batch, and audits the run with its counts.
 * Stored objects are deleted after the batch that removed their rows commits: a failed delete
 * leaves an unreferenced object (counted as `fileErrors` and logged), never a row whose file is
 * gone. Tickets go first, so their messages and files are not counted twice.
 */
export async function applyRetention(
  env: { pool: Pool; storage: Storage | null; logger: Logger; now: Date; signal?: AbortSignal },
  orgId: string,
  opts: RetentionOptions = {},
): Promise<{ runId: string; counts: RetentionCounts; complete: boolean } | null> {
  const policies = await withTenant(env.pool, orgId, (tx) => listRetentionPolicies(tx));
  if (!policies.length) return null;
  const order = ['tickets', 'messages', 'attachments', 'player_sessions', 'audit_logs'];
  policies.sort((a, b) => order.indexOf(a.target) - order.indexOf(b.target));
  const limit = opts.batchSize ?? 500;
  let budget = opts.maxBatches ?? 2_000;
  const counts: RetentionCounts = {};
  let complete = true;
  for (const policy of policies) {
    const done = await applyPolicy(env, orgId, policy, limit, opts.pauseMs ?? 0, counts, () => budget-- > 0);
    if (!done) complete = false;
  }
  const runId = randomUUID();
  await withTenant(env.pool, orgId, (tx) =>
    recordRetentionRun(tx, { id: runId, startedAt: env.now, counts, complete }),
  );
  env.logger.info({ orgId, runId, counts, complete }, 'retention applied');
  return { runId, counts, complete };
}

async function applyPolicy(
  env: { pool: Pool; storage: Storage | null; logger: Logger; now: Date; signal?: AbortSignal },
  orgId: string,
  policy: RetentionPolicy,
  limit: number,
  pauseMs: number,
  counts: RetentionCounts,
  mayRun: () => boolean,
): Promise<boolean> {
  for (;;) {
    if (env.signal?.aborted || !mayRun()) return false;
    const batch = await withTenant(env.pool, orgId, (tx) => applyRetentionBatch(tx, policy, env.now, limit));
    counts[policy.target] = (counts[policy.target] ?? 0) + batch.rows;
    for (const key of batch.storageKeys) {
      try {
        if (!env.storage) throw new Error('no storage configured');
        await env.storage.delete(key);
        counts.files = (counts.files ?? 0) + 1;
      } catch (err) {
        counts.fileErrors = (counts.fileErrors ?? 0) + 1;
        env.logger.warn(
          { orgId, key, err: (err as Error).message },
          'retention could not delete a stored object',
        );
      }
    }
    if (batch.rows < limit) return true;
    if (pauseMs) await sleep(pauseMs);
  }
}

/** How the scheduled sweep paces itself: batches of the default size, 20 ms apart. */
export const SWEEP_OPTIONS: RetentionOptions = { pauseMs: 20 };

/** The scheduled job: every organization with policies, one after the other. */
export async function retentionSweep(deps: WorkerDeps, opts: RetentionOptions = {}): Promise<number> {
  let runs = 0;
  const now = deps.clock.now();
  for await (const orgId of allOrgIds(deps.pool)) {
    if (deps.shutdown?.aborted) break;
    const run = await applyRetention(
      {
        pool: deps.pool,
        storage: deps.storage,
        logger: deps.logger,
        now,
        ...(deps.shutdown ? { signal: deps.shutdown } : {}),
      },
      orgId,
      { ...SWEEP_OPTIONS, ...opts },
    );
    if (run) runs++;
  }
  return runs;
}
