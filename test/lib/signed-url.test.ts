import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDownloadSigner } from '../../lib/signed-url.js';

const KEY = randomBytes(32).toString('base64');

function clock(start = 1_800_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('download links', () => {
  const orgId = randomUUID();
  const attachmentId = randomUUID();

  it('verifies its own tokens and returns what they are bound to', () => {
    const c = clock();
    const signer = createDownloadSigner(KEY, c.now);
    const token = signer.sign({ orgId, attachmentId, disposition: 'inline' }, 60);
    expect(signer.verify(token, attachmentId)).toEqual({
      orgId,
      attachmentId,
      disposition: 'inline',
      expiresAt: c.now() / 1000 + 60,
    });
    expect(signer.verify(signer.sign({ orgId, attachmentId })).disposition).toBe('attachment');
    expect(signer.insecureDefault).toBe(false);
  });

  it('expires, as 403, exactly at the expiry', () => {
    const c = clock();
    const signer = createDownloadSigner(KEY, c.now);
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
    expect(() => createDownloadSigner(randomBytes(32).toString('base64')).verify(token)).toThrow(
      expect.objectContaining({ code: 'not_found' }),
    );
  });

  it('works without SECRET_KEY on a fixed development key, and says so', () => {
    const a = createDownloadSigner(undefined);
    const b = createDownloadSigner(undefined);
    expect(a.insecureDefault).toBe(true);
    expect(b.verify(a.sign({ orgId, attachmentId })).orgId).toBe(orgId);
    expect(() => createDownloadSigner(Buffer.alloc(8).toString('base64'))).toThrow(
      expect.objectContaining({ code: 'config_invalid' }),
    );
  });

  it('refuses to sign for ids that are not uuids', () => {
    const signer = createDownloadSigner(KEY);
    expect(() => signer.sign({ orgId: 'x', attachmentId })).toThrow(
      expect.objectContaining({ code: 'internal' }),
    );
  });
});
