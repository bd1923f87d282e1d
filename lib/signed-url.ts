import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { AppError } from './errors.js';

/**
 * Expiring download tokens for attachments: `<payload>.<mac>`, both base64url, where the
 * payload names the organization, the attachment, the disposition and the expiry, and the mac
 * is HMAC-SHA256 over the payload. The download route checks the token, then reads the
 * attachment inside that organization's tenant, so a token can never open another org's file.
 *
 * The key is derived (HKDF) from `SECRET_KEY`, with its own label, so it never equals the key
 * `lib/secret-box.ts` encrypts with. Without `SECRET_KEY` a fixed development key is used, as
 * there: links then survive restarts and work across instances, but protect nothing.
 */
export interface DownloadClaims {
  orgId: string;
  attachmentId: string;
  disposition: 'attachment' | 'inline';
  /** Unix seconds. */
  expiresAt: number;
}

export interface DownloadSigner {
  /** A token valid for `ttlSeconds` (default 5 minutes, at most 7 days). */
  sign(
    claims: { orgId: string; attachmentId: string; disposition?: 'attachment' | 'inline' },
    ttlSeconds?: number,
  ): string;
  /**
   * The token's claims when its mac is right, it has not expired and (when given) it is for
   * `attachmentId`. Throws `not_found` for any bad token and `forbidden` for an expired one.
   */
  verify(token: string, attachmentId?: string): DownloadClaims;
  readonly insecureDefault: boolean;
}

const DEV_SECRET = createHash('sha256').update('gamemod development signing key (not secret)').digest();
const MAX_TTL = 7 * 24 * 3600;

const claimsSchema = z.object({
  o: z.uuid(),
  a: z.uuid(),
  d: z.enum(['attachment', 'inline']),
  e: z.number().int().positive(),
});

const invalid = () => new AppError('not_found', 'this download link is not valid');

/**
 * Builds the signer from `SECRET_KEY` (base64 of 32 bytes) or, without one, the development key.
 * `now` (milliseconds) is injectable so tests control expiry.
 */
export function createDownloadSigner(
  secretKeyBase64: string | undefined,
  now: () => number = Date.now,
): DownloadSigner {
  const master = secretKeyBase64 ? Buffer.from(secretKeyBase64, 'base64') : DEV_SECRET;
  if (master.length < 32) throw new AppError('config_invalid', 'SECRET_KEY must be 32 bytes, base64-encoded');
  const key = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'gamemod download links v1', 32));
  const mac = (payload: string) => createHmac('sha256', key).update(payload).digest();

  return {
    insecureDefault: !secretKeyBase64,
    sign(claims, ttlSeconds = 300) {
      const ttl = Math.min(Math.max(Math.floor(ttlSeconds), 1), MAX_TTL);
      const parsed = claimsSchema.safeParse({
        o: claims.orgId,
        a: claims.attachmentId,
        d: claims.disposition ?? 'attachment',
        e: Math.floor(now() / 1000) + ttl,
      });
      // Ids come from our own rows; anything else is a bug, not a user's mistake.
      if (!parsed.success) throw new AppError('internal', 'cannot sign a download link for these ids');
      const body = parsed.data;
      const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
      return `${payload}.${mac(payload).toString('base64url')}`;
    },
    verify(token, attachmentId) {
      if (typeof token !== 'string' || token.length > 512) throw invalid();
      const [payload, sig, extra] = token.split('.');
      if (!payload || !sig || extra !== undefined) throw invalid();
      const given = Buffer.from(sig, 'base64url');
      const expected = mac(payload);
      // timingSafeEqual needs equal lengths; the length of a mac is public anyway.
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
      let parsed: z.infer<typeof claimsSchema>;
      try {
        parsed = claimsSchema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
      } catch {
        throw invalid();
      }
      if (attachmentId !== undefined && parsed.a !== attachmentId) throw invalid();
      if (parsed.e * 1000 <= now()) throw new AppError('forbidden', 'this download link has expired');
      return { orgId: parsed.o, attachmentId: parsed.a, disposition: parsed.d, expiresAt: parsed.e };
    },
  };
}
