import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ResolvedApiToken } from '../db/api-tokens.js';
import type { Logger } from '../lib/logger.js';

const REVOKED_CHANNEL = 'gm:api-token-revoked';

/**
 * Resolved API tokens, kept briefly so a busy integration costs one token look-up every few
 * seconds instead of one per request. A revocation drops the entry at once on the instance that
 * revoked and, through Redis pub/sub, on every other instance; if that message is lost (Redis
 * away), the entry still dies with its short TTL. Keys are SHA-256 digests, never the token.
 */
export class TokenCache {
  private readonly entries = new Map<string, { token: ResolvedApiToken; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
    private readonly max = 10_000,
  ) {}

  private key(plaintext: string) {
    return createHash('sha256').update(plaintext).digest('base64url');
  }

  get(plaintext: string): ResolvedApiToken | undefined {
    const k = this.key(plaintext);
    const hit = this.entries.get(k);
    if (!hit) return undefined;
    if (hit.until <= this.now()) {
      this.entries.delete(k);
      return undefined;
    }
    return hit.token;
  }

  set(plaintext: string, token: ResolvedApiToken): void {
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    const expires = token.expiresAt ? token.expiresAt.getTime() : Number.POSITIVE_INFINITY;
    this.entries.set(this.key(plaintext), { token, until: Math.min(this.now() + this.ttlMs, expires) });
  }

  /** Forgets a token here (called locally on revoke, and for revocations heard from elsewhere). */
  forget(tokenId: string): void {
    for (const [k, v] of this.entries) if (v.token.tokenId === tokenId) this.entries.delete(k);
  }

  /** Forgets a revoked token here and tells the other instances to. */
  async revoked(redis: Redis, tokenId: string): Promise<void> {
    this.forget(tokenId);
    await redis.publish(REVOKED_CHANNEL, tokenId);
  }

  /** Listens for revocations made on other instances. */
  async listen(subscriber: Redis, log: Logger): Promise<void> {
    subscriber.on('message', (channel: string, tokenId: string) => {
      if (channel === REVOKED_CHANNEL) this.forget(tokenId);
    });
    subscriber.on('error', (err) => log.warn({ err }, 'token revocation listener error'));
    await subscriber.subscribe(REVOKED_CHANNEL);
  }
}
