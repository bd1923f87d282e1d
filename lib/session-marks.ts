import type { Redis } from 'ioredis';

/**
 * Which sign-in sessions are still alive, for what outlives a request. The API marks a session's
 * reference (api/sessions.ts sessionRef: a hash that never names the session's own Redis entry)
 * with the time the session has left, and moves the mark whenever it slides the session's idle
 * window; workers ask before sending what a session subscribed to (Web Push). A mark is never
 * removed by hand: signing out already removes what the session held, and a session that times
 * out takes its mark with it, which is what this is for.
 */
export const sessionMarkKey = (ref: string) => `gm:sess-live:${ref}`;

/** The references among `refs` whose session is still alive. */
export async function liveSessionRefs(redis: Redis, refs: readonly string[]): Promise<Set<string>> {
  if (!refs.length) return new Set();
  const found = await redis.mget(...refs.map(sessionMarkKey));
  return new Set(refs.filter((_, i) => found[i] !== null));
}
