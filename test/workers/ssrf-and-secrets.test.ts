import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretBox } from '../../lib/secret-box.js';
import { randomSecretKey } from '../../lib/secret-key.js';
import { displayUrl, refusedAddress, refusedUrl } from '../../lib/ssrf.js';
import { signatureHeader } from '../../workers/webhook-signature.js';
import { sendWebhook } from '../../workers/webhooks.js';
import { startReceiver } from './support.js';

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

  it('sees through IPv6 forms that embed an IPv4 address: hex-mapped, NAT64, 6to4, IPv4-compatible', () => {
    for (const ip of ['::ffff:7f00:1', '::FFFF:7F00:0001', '0:0:0:0:0:ffff:127.0.0.1']) {
      expect(refusedAddress(ip, strict)).toBe('loopback address');
    }
    for (const ip of [
      '::ffff:a9fe:a9fe', // 169.254.169.254, hex-mapped
      '64:ff9b::a9fe:a9fe', // NAT64 of the metadata address
      '64:ff9b::10.0.0.1',
      '64:ff9b:1::8.8.8.8', // local-use NAT64: private by definition
      '2002:a9fe:a9fe::1', // 6to4 of 169.254.169.254
      '2002:c0a8:0101::', // 6to4 of 192.168.1.1
      '::10.0.0.1', // IPv4-compatible (deprecated)
      '::8.8.8.8',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2', // Teredo
    ]) {
      expect(refusedAddress(ip, strict), ip).toMatch(/private|reserved|loopback/);
    }
    // NAT64 and 6to4 of a public address are public.
    for (const ip of ['64:ff9b::808:808', '64:ff9b::8.8.8.8', '2002:808:808::1']) {
      expect(refusedAddress(ip, strict), ip).toBeNull();
    }
    expect(refusedAddress('64:ff9b::7f00:1', strict)).toBe('loopback address');
  });

  it('does not follow a redirect, even to an allowed target', async () => {
    const elsewhere = await startReceiver();
    const rx = await startReceiver(() => ({ status: 302, headers: { location: elsewhere.url } }));
    try {
      const r = await sendWebhook(
        rx.url,
        '{}',
        {},
        {
          timeoutMs: 2_000,
          targets: { allowLoopback: true, allowPrivate: false },
        },
      );
      expect(r.status).toBe(302);
      expect(rx.requests).toHaveLength(1);
      expect(elsewhere.requests).toHaveLength(0);
    } finally {
      await rx.close();
      await elsewhere.close();
    }
  });

  it('shows only the origin of a URL', () => {
    expect(displayUrl('https://hooks.example.com/services/T0/B0/s3cret?x=1')).toBe(
      'https://hooks.example.com/…',
    );
    expect(displayUrl('http://example.com:8080')).toBe('http://example.com:8080');
    expect(displayUrl('nope')).toBe('(invalid URL)');
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
    const key = randomSecretKey();
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
    expect(() => createSecretBox(randomSecretKey()).open(a)).toThrow(/cannot decrypt/);
    expect(() => createSecretBox(randomBytes(16).toString('base64'))).toThrow(/SECRET_KEY: 16 bytes/);
    expect(() => createSecretBox(Buffer.alloc(32, 7).toString('base64'))).toThrow(/not random enough/);
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
