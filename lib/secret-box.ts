import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { AppError } from './errors.js';

/**
 * Encrypts small secrets at rest (webhook signing secrets) with AES-256-GCM. The stored form is
 * `v1.<iv>.<tag>.<ciphertext>` (base64url parts), so a later key or algorithm can be told apart.
 *
 * The key is `SECRET_KEY` (32 bytes, base64). Without it a fixed key derived from a public
 * string is used: fine for development and tests, no protection at all in production, which is
 * why the workers and the API log a warning when `NODE_ENV=production` runs without one.
 */
export interface SecretBox {
  seal(plaintext: string): string;
  open(sealed: string): string;
  /** True when the key is the built-in development key. */
  readonly insecureDefault: boolean;
}

const DEV_KEY = createHash('sha256').update('gamemod development secret key (not secret)').digest();

export function createSecretBox(keyBase64: string | undefined): SecretBox {
  const key = keyBase64 ? Buffer.from(keyBase64, 'base64') : DEV_KEY;
  if (key.length !== 32) throw new AppError('config_invalid', 'SECRET_KEY must be 32 bytes, base64-encoded');
  return {
    insecureDefault: !keyBase64,
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return ['v1', iv.toString('base64url'), tag.toString('base64url'), ct.toString('base64url')].join('.');
    },
    open(sealed) {
      const [version, iv, tag, ct] = sealed.split('.');
      if (version !== 'v1' || iv === undefined || tag === undefined || ct === undefined) {
        throw new AppError('internal', 'unrecognised sealed secret');
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString(
          'utf8',
        );
      } catch (cause) {
        // Wrong SECRET_KEY (rotated without re-encrypting) or a tampered value.
        throw new AppError('internal', 'cannot decrypt a stored secret (wrong SECRET_KEY?)', { cause });
      }
    },
  };
}
