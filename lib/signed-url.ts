import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { AppError } from './errors.js';
import { decodeSecretKey } from './secret-key.js';

/**
 * Expiring download tokens for attachments: `<payload>.<mac>`, both base64url, where the
 * payload names the organization, the attachment, the disposition and the expiry, and the mac
 * is HMAC-SHA256 over the payload. The download route checks the token, then reads the
 * attachment inside that organization's tenant, so a token can never open another org's file.
 *
 * The key is derived (HKDF) from `SECRET_KEY`, with its own label, so it never equals the key
 * `lib/secret-box.ts` encrypts with. The expiry sits inside the signed payload, so editing the
 * link can't extend it, and a link is refused when it claims to live longer than the configured
 * maximum (`DOWNLOAD_LINK_MAX_MINUTES`), so lowering the maximum also cuts links already out.
 */
export interface DownloadClaims {
  orgId: string;
  attachmentId: string;
  disposition: 'attachment' | 'inline';
  /** Unix seconds. */
  expiresAt: number;
}

export interface DownloadSigner {
  /** A token valid for `ttlSeconds` (default 5 minutes, at most the signer's maximum). */
  sign(
    claims: { orgId: string; attachmentId: string; disposition?: 'attachment' | 'inline' },
    ttlSeconds?: number,
  ): string;
  /**
   * The token's claims when its mac is right, it has not expired and (when given) it is for
   * `attachmentId`. Throws `not_found` for any bad token and `forbidden` for an expired one.
   */
  verify(token: string, attachmentId?: string): DownloadClaims;
  /** The longest a link lives, in seconds. */
  readonly maxTtlSeconds: number;
}

/** Clock skew between instances that a link's expiry may exceed the maximum by. */
const SKEW_SECONDS = 30;

const claimsSchema = z.object({
  o: z.uuid(),
  a: z.uuid(),
  d: z.enum(['attachment', 'inline']),
  e: z.number().int().positive(),
});

const invalid = () => new AppError('not_found', 'this download link is not valid');

/**
 * Builds the signer from `SECRET_KEY` (base64 of 32 bytes). `now` (milliseconds) is injectable so
 * tests control expiry.
 */
export function createDownloadSigner(
  secretKeyBase64: string,
  opts: { maxTtlSeconds?: number; now?: () => number } = {},
): DownloadSigner {
  const maxTtlSeconds = opts.maxTtlSeconds ?? 15 * 60;
  const now = opts.now ?? Date.now;
  const tokens = macTokens(secretKeyBase64, 'gamemod download links v1');

  return {
    maxTtlSeconds,
    sign(claims, ttlSeconds = 300) {
      const ttl = Math.min(Math.max(Math.floor(ttlSeconds), 1), maxTtlSeconds);
      const parsed = claimsSchema.safeParse({
        o: claims.orgId,
        a: claims.attachmentId,
        d: claims.disposition ?? 'attachment',
        e: Math.floor(now() / 1000) + ttl,
      });
      // Ids come from our own rows; anything else is a bug, not a user's mistake.
      if (!parsed.success) throw new AppError('internal', 'cannot sign a download link for these ids');
      return tokens.seal(parsed.data);
    },
    verify(token, attachmentId) {
      const parsed = tokens.open(token, claimsSchema);
      if (!parsed) throw invalid();
      if (attachmentId !== undefined && parsed.a !== attachmentId) throw invalid();
      const nowSeconds = now() / 1000;
      if (parsed.e <= nowSeconds) throw new AppError('forbidden', 'this download link has expired');
      // Signed by us but living longer than allowed now: the maximum was lowered since.
      if (parsed.e > nowSeconds + maxTtlSeconds + SKEW_SECONDS) {
        throw new AppError('forbidden', 'this download link has expired');
      }
      return { orgId: parsed.o, attachmentId: parsed.a, disposition: parsed.d, expiresAt: parsed.e };
    },
  };
}

/**
 * `<payload>.<mac>` tokens (both base64url): the payload is JSON, the mac HMAC-SHA256 under a key
 * derived (HKDF) from `SECRET_KEY` with the caller's own label, so a token made for one purpose
 * never passes as another's and no key equals the one `lib/secret-box.ts` encrypts with.
 */
export function macTokens(secretKeyBase64: string, label: string) {
  const key = Buffer.from(hkdfSync('sha256', decodeSecretKey(secretKeyBase64), Buffer.alloc(0), label, 32));
  const mac = (payload: string) => createHmac('sha256', key).update(payload).digest();
  return {
    seal(claims: unknown): string {
      const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
      return `${payload}.${mac(payload).toString('base64url')}`;
    },
    /** The claims when the mac is right and they fit the schema; null for anything else. */
    open<T>(token: unknown, schema: z.ZodType<T>): T | null {
      if (typeof token !== 'string' || token.length > 512) return null;
      const [payload, sig, extra] = token.split('.');
      if (!payload || !sig || extra !== undefined) return null;
      const given = Buffer.from(sig, 'base64url');
      const expected = mac(payload);
      // timingSafeEqual needs equal lengths; the length of a mac is public anyway.
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
      try {
        return schema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
      } catch {
        return null;
      }
    },
  };
}
