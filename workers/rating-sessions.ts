import { endRatingSessionsOf } from '../lib/rating-session-index.js';
import type { WorkerDeps } from './deps.js';

/**
 * `rating.sessions_end`: a player was erased (`player.erased`), and the rating sign-in sessions
 * that served them still hold their Discord id in Redis until the idle timeout. They end now,
 * after the erasure's commit (a Redis side effect never runs inside it). Idempotent: a second run
 * finds nothing filed.
 */
export async function endErasedPlayerRatingSessions(
  deps: Pick<WorkerDeps, 'ratingSessions' | 'logger'>,
  d: { orgId: string; playerId: string },
): Promise<number> {
  if (!deps.ratingSessions) {
    deps.logger.warn({ orgId: d.orgId }, 'no sessions Redis: rating sessions end at their idle timeout');
    return 0;
  }
  return endRatingSessionsOf(deps.ratingSessions.redis, d.orgId, d.playerId);
}
