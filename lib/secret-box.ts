import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppError } from './errors.js';
import { decodeSecretKey } from './secret-key.js';

/**
 * Encrypts small secrets at rest (webhook signing secrets) with AES-256-GCM. The stored form is
 * `v1.<iv>.<tag>.<ciphertext>` (base64url parts), so a later key or algorithm can be told apart.
 *
 * The key is `SECRET_KEY` (32 bytes, base64; see lib/secret-key.ts for where it comes from).
 */
export interface SecretBox {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

export function createSecretBox(keyBase64: string): SecretBox {
  const key = decodeSecretKey(keyBase64);
  return {
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
