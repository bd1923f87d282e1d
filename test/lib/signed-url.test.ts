import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { randomSecretKey } from '../../lib/secret-key.js';
import { createDownloadSigner } from '../../lib/signed-url.js';

const KEY = randomSecretKey();

function clock(start = 1_800_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('download links', () => {
  const orgId = randomUUID();
  const attachmentId = randomUUID();

  it('verifies its own tokens and returns what they are bound to', () => {
    const c = clock();
    const signer = createDownloadSigner(KEY, { now: c.now });
    const token = signer.sign({ orgId, attachmentId, disposition: 'inline' }, 60);
    expect(signer.verify(token, attachmentId)).toEqual({
      orgId,
      attachmentId,
      disposition: 'inline',
      expiresAt: c.now() / 1000 + 60,
    });
    expect(signer.verify(signer.sign({ orgId, attachmentId })).disposition).toBe('attachment');
  });

  it('expires, as 403, exactly at the expiry', () => {
    const c = clock();
    const signer = createDownloadSigner(KEY, { now: c.now });
    const token = signer.sign({ orgId, attachmentId }, 300);
    c.advance(299_999);
    expect(signer.verify(token).attachmentId).toBe(attachmentId);
    c.advance(1);
    expect(() => signer.verify(token)).toThrow(expect.objectContaining({ code: 'forbidden', status: 403 }));
  });

  it('refuses tokens for another attachment, under another key, tampered or malformed, as 404', () => {
    const signer = createDownloadSigner(KEY);
    const token = signer.sign({ orgId, attachmentId });
    const [payload, mac] = token.split('.') as [string, string];
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), o: randomUUID() }),
    ).toString('base64url');
    const flipped = `${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BB' : 'AA'}`;
    const bad = [
      `${forged}.${mac}`,
      `${payload}.${flipped}`,
      `${payload}.`,
      `${payload}.${mac}.x`,
      'nonsense',
      '',
      'a'.repeat(600),
    ];
    for (const t of bad) {
      expect(() => signer.verify(t)).toThrow(expect.objectContaining({ code: 'not_found' }));
    }
    expect(() => signer.verify(token, randomUUID())).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(() => createDownloadSigner(randomSecretKey()).verify(token)).toThrow(
      expect.objectContaining({ code: 'not_found' }),
    );
  });

  it('never lives longer than the maximum, however long it was asked for', () => {
    const c = clock();
    const signer = createDownloadSigner(KEY, { now: c.now, maxTtlSeconds: 900 });
    const token = signer.sign({ orgId, attachmentId }, 7 * 24 * 3600);
    expect(signer.verify(token).expiresAt).toBe(c.now() / 1000 + 900);
    c.advance(900_000);
    expect(() => signer.verify(token)).toThrow(expect.objectContaining({ code: 'forbidden' }));
    // The default maximum is 15 minutes.
    expect(createDownloadSigner(KEY).maxTtlSeconds).toBe(900);
  });

  it('refuses a link that lives longer than the maximum allows now, even with a good mac', () => {
    const c = clock();
    const before = createDownloadSigner(KEY, { now: c.now, maxTtlSeconds: 24 * 3600 });
    const token = before.sign({ orgId, attachmentId }, 24 * 3600);
    const after = createDownloadSigner(KEY, { now: c.now, maxTtlSeconds: 900 });
    expect(() => after.verify(token)).toThrow(expect.objectContaining({ code: 'forbidden' }));
    // Once it is within the new maximum again it is honoured until its own expiry.
    c.advance((24 * 3600 - 900) * 1000);
    expect(after.verify(token).attachmentId).toBe(attachmentId);
  });

  it('has no default key: a missing, short or patterned SECRET_KEY is refused', () => {
    for (const bad of [
      '',
      Buffer.alloc(8).toString('base64'),
      Buffer.alloc(32).toString('base64'),
      'not base64!',
    ]) {
      expect(() => createDownloadSigner(bad)).toThrow(expect.objectContaining({ code: 'config_invalid' }));
    }
  });

  it('refuses to sign for ids that are not uuids', () => {
    const signer = createDownloadSigner(KEY);
    expect(() => signer.sign({ orgId: 'x', attachmentId })).toThrow(
      expect.objectContaining({ code: 'internal' }),
    );
  });
});
