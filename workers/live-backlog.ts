import { orgTopic, ticketTopic, voidBacklogs } from '../lib/live.js';
import type { WorkerDeps } from './deps.js';

/**
 * `live.forget`: a retention batch (db/retention-apply.ts, event `retention.removed`) purged or
 * anonymised tickets or messages whose earlier envelopes the live backlog still holds (a topic
 * keeps its last ~1,000, replayed to panels on reconnect). Their tickets' backlogs and the org's
 * go, as a player's erasure has the relay do: a reconnecting panel refetches what is left instead
 * of replaying subjects and words retention removed. Idempotent: voiding twice voids nothing more.
 */
export async function forgetLiveBacklogs(
  deps: Pick<WorkerDeps, 'live' | 'logger'>,
  d: { orgId: string; ticketIds: readonly string[] },
): Promise<number> {
  if (!deps.live) {
    deps.logger.warn({ orgId: d.orgId }, 'no live Redis: retention leaves the backlogs to age out');
    return 0;
  }
  return voidBacklogs(deps.live.redis, [orgTopic(d.orgId), ...d.ticketIds.map(ticketTopic)]);
}
