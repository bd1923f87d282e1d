import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { API_TOKEN_REVOKED, type ResolvedApiToken } from '../db/api-tokens.js';

/**
 * A resolved bearer: an API token (and its maker, if a member made it), or an OAuth access token
 * (its grant's id as `tokenId`, and the staff member it acts for, if any).
 */
export type CachedToken = ResolvedApiToken & { userId?: string | null; via?: 'oauth' };

import { LIVE_CHANNEL_PATTERN, liveEnvelopeSchema } from '../lib/live.js';
import type { Logger } from '../lib/logger.js';

/**
 * Resolved API tokens, kept briefly so a busy integration costs one token look-up every few
 * seconds instead of one per request. A revocation drops the entry at once on the instance that
 * revoked; every other instance hears of it as the design says changes travel: the revocation
 * commits an `api_token.revoked` outbox event, the relay publishes it live (lib/live.ts), and
 * each instance's cache listens on the live channels. If that is delayed (Redis away, the relay
 * behind), the entry still dies with its short TTL. Keys are SHA-256 digests, never the token.
 */
export class TokenCache {
  private readonly entries = new Map<string, { token: CachedToken; until: number }>();
  /** Told of every revocation heard here (the live route closes the token's sockets). */
  private readonly revokedListeners = new Set<(tokenId: string) => void>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
    private readonly max = 10_000,
  ) {}

  private key(plaintext: string) {
    return createHash('sha256').update(plaintext).digest('base64url');
  }

  get(plaintext: string): CachedToken | undefined {
    const k = this.key(plaintext);
    const hit = this.entries.get(k);
    if (!hit) return undefined;
    if (hit.until <= this.now()) {
      this.entries.delete(k);
      return undefined;
    }
    return hit.token;
  }

  set(plaintext: string, token: CachedToken): void {
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    const expires = token.expiresAt ? token.expiresAt.getTime() : Number.POSITIVE_INFINITY;
    this.entries.set(this.key(plaintext), { token, until: Math.min(this.now() + this.ttlMs, expires) });
  }

  /** Forgets a token here: the revoking request calls it, and the listener for other instances'. */
  forget(tokenId: string): void {
    for (const [k, v] of this.entries) if (v.token.tokenId === tokenId) this.entries.delete(k);
    for (const listener of this.revokedListeners) listener(tokenId);
  }

  /**
   * Calls `listener` with the id of each token revoked from now on (on this instance or, through
   * the relay, another). Returns the function that stops it.
   */
  onRevoked(listener: (tokenId: string) => void): () => void {
    this.revokedListeners.add(listener);
    return () => this.revokedListeners.delete(listener);
  }

  /** Listens for revocations, published by the outbox relay with every other live event. */
  async listen(subscriber: Redis, log: Logger): Promise<void> {
    subscriber.on('pmessage', (pattern: string, _channel: string, message: string) => {
      // Every live event arrives here; only a revocation is parsed. A message body quoting the
      // event type is JSON-escaped inside its string, so this test never matches it.
      if (pattern !== LIVE_CHANNEL_PATTERN || !message.includes(`"type":"${API_TOKEN_REVOKED}"`)) return;
      try {
        const { event } = liveEnvelopeSchema.parse(JSON.parse(message));
        if (event.type === API_TOKEN_REVOKED && event.aggregateId) this.forget(event.aggregateId);
      } catch (err) {
        log.warn({ err }, 'dropped a malformed live message');
      }
    });
    subscriber.on('error', (err) => log.warn({ err }, 'token revocation listener error'));
    await subscriber.psubscribe(LIVE_CHANNEL_PATTERN);
  }
}
