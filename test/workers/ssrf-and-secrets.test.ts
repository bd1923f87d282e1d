import { describe, expect, it } from 'vitest';
import { createSecretBox } from '../../lib/secret-box.js';
import { refusedAddress, refusedUrl } from '../../lib/ssrf.js';
import { signatureHeader } from '../../workers/webhook-signature.js';
import { sendWebhook } from '../../workers/webhooks.js';

const strict = { allowLoopback: false, allowPrivate: false };

describe('target addresses', () => {
  it('refuses loopback, private, link-local and reserved addresses, IPv4 and IPv6', () => {
    for (const ip of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) {
      expect(refusedAddress(ip, strict)).toBe('loopback address');
      expect(refusedAddress(ip, { allowLoopback: true, allowPrivate: false })).toBeNull();
    }
    for (const ip of [
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      'fd00::1',
      'fe80::1',
      '::ffff:10.0.0.1',
    ]) {
      expect(refusedAddress(ip, strict)).toMatch(/private|reserved/);
      expect(refusedAddress(ip, { allowLoopback: false, allowPrivate: true })).toBeNull();
    }
    for (const ip of ['93.184.215.14', '172.32.0.1', '2606:4700::1111', '8.8.8.8']) {
      expect(refusedAddress(ip, strict)).toBeNull();
    }
  });

  it('refuses an IP-literal or named private target before any connection', async () => {
    const r = await sendWebhook(
      'http://169.254.169.254/latest/meta-data',
      '{}',
      {},
      {
        timeoutMs: 1_000,
        targets: strict,
      },
    );
    expect(r).toMatchObject({
      status: null,
      error: 'refused 169.254.169.254: private, link-local or reserved address',
    });
    const named = await sendWebhook('http://localhost:9/x', '{}', {}, { timeoutMs: 1_000, targets: strict });
    expect(named.error).toMatch(/refused localhost .*loopback/);
  });
});

describe('checking a URL when it is saved', () => {
  it('names the problem, or returns null for an allowed target', async () => {
    expect(await refusedUrl('http://10.0.0.5/hook', strict)).toBe('private, link-local or reserved address');
    expect(await refusedUrl('http://localhost:3000/hook', strict)).toMatch(
      /localhost resolves to a loopback/,
    );
    expect(await refusedUrl('http://[::1]/hook', strict)).toBe('loopback address');
    expect(
      await refusedUrl('http://127.0.0.1/hook', { allowLoopback: true, allowPrivate: false }),
    ).toBeNull();
    expect(await refusedUrl('not a url', strict)).toBe('not a URL');
  });
});

describe('secret box', () => {
  it('seals with a fresh IV, opens, and rejects tampering and the wrong key', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const box = createSecretBox(key);
    const a = box.seal('whsec_abc');
    const b = box.seal('whsec_abc');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(box.open(a)).toBe('whsec_abc');
    const parts = a.split('.');
    const flipped = Buffer.from(parts[3] as string, 'base64url');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(() => box.open([parts[0], parts[1], parts[2], flipped.toString('base64url')].join('.'))).toThrow(
      /cannot decrypt/,
    );
    expect(() => createSecretBox(Buffer.alloc(32, 8).toString('base64')).open(a)).toThrow(/cannot decrypt/);
    expect(() => createSecretBox(Buffer.alloc(16).toString('base64'))).toThrow(/32 bytes/);
    expect(createSecretBox(undefined).insecureDefault).toBe(true);
    expect(box.insecureDefault).toBe(false);
  });
});

describe('signature header', () => {
  it('matches the Standard Webhooks reference vector', () => {
    // The example from the Standard Webhooks specification's reference libraries.
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
    const ts = 1614265330;
    const body = '{"test": 2432232314}';
    expect(signatureHeader([secret], id, ts, body)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });
});
