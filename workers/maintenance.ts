import { pruneRelayed } from '../db/outbox.js';
import type { WorkerDeps } from './deps.js';

/** Deletes relayed outbox rows (and their delivery log) older than the retention period. */
export async function pruneOutbox(deps: WorkerDeps, retentionDays: number): Promise<number> {
  const before = new Date(deps.clock.now().getTime() - retentionDays * 24 * 3600_000);
  const n = await pruneRelayed(deps.pool, before);
  if (n) deps.logger.info({ pruned: n, before }, 'pruned relayed outbox rows');
  return n;
}
