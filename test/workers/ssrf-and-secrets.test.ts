import { randomBytes } from 'node:crypto';
import { getEventListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createSecretBox } from '../../lib/secret-box.js';
import { randomSecretKey } from '../../lib/secret-key.js';
import { displayUrl, guardedLookup, RefusedTargetError, refusedAddress, refusedUrl } from '../../lib/ssrf.js';
import { sendWebhook } from '../../workers/webhook-send.js';
import { signatureHeader } from '../../workers/webhook-signature.js';
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

const allowPrivate = { allowLoopback: false, allowPrivate: true };
const allowLoopback = { allowLoopback: true, allowPrivate: false };

/**
 * The IANA IPv4 and IPv6 special-purpose registries (and the multicast and reserved blocks), each
 * with addresses at its edges. `loopback` ranges open with WEBHOOK_ALLOW_LOOPBACK, the others
 * with WEBHOOK_ALLOW_PRIVATE.
 */
const IPV4_SPECIAL: Array<[string, string[], 'loopback' | 'private']> = [
  ['0.0.0.0/8 "this network"', ['0.0.0.0', '0.1.2.3', '0.255.255.255'], 'private'],
  ['10.0.0.0/8 private', ['10.0.0.0', '10.1.2.3', '10.255.255.255'], 'private'],
  ['100.64.0.0/10 shared (CGNAT)', ['100.64.0.0', '100.100.100.100', '100.127.255.255'], 'private'],
  ['127.0.0.0/8 loopback', ['127.0.0.0', '127.0.0.1', '127.255.255.255'], 'loopback'],
  ['169.254.0.0/16 link-local', ['169.254.0.0', '169.254.169.254', '169.254.255.255'], 'private'],
  ['172.16.0.0/12 private', ['172.16.0.0', '172.20.1.1', '172.31.255.255'], 'private'],
  ['192.0.0.0/24 IETF protocol assignments', ['192.0.0.0', '192.0.0.9', '192.0.0.255'], 'private'],
  ['192.0.2.0/24 TEST-NET-1', ['192.0.2.0', '192.0.2.1', '192.0.2.255'], 'private'],
  ['192.88.99.0/24 6to4 relay anycast', ['192.88.99.0', '192.88.99.1', '192.88.99.255'], 'private'],
  ['192.168.0.0/16 private', ['192.168.0.0', '192.168.1.1', '192.168.255.255'], 'private'],
  ['198.18.0.0/15 benchmarking', ['198.18.0.0', '198.19.255.255'], 'private'],
  ['198.51.100.0/24 TEST-NET-2', ['198.51.100.0', '198.51.100.7', '198.51.100.255'], 'private'],
  ['203.0.113.0/24 TEST-NET-3', ['203.0.113.0', '203.0.113.9', '203.0.113.255'], 'private'],
  ['224.0.0.0/4 multicast', ['224.0.0.0', '224.0.0.1', '239.255.255.255'], 'private'],
  ['240.0.0.0/4 reserved', ['240.0.0.0', '250.1.2.3', '255.255.255.254'], 'private'],
  ['255.255.255.255/32 limited broadcast', ['255.255.255.255'], 'private'],
];

const IPV6_SPECIAL: Array<[string, string[], 'loopback' | 'private']> = [
  ['::1/128 loopback', ['::1', '0:0:0:0:0:0:0:1'], 'loopback'],
  ['::/128 unspecified', ['::', '0:0:0:0:0:0:0:0'], 'private'],
  [
    '::/96 IPv4-compatible (deprecated)',
    ['::2', '::8.8.8.8', '::8.8.8.8%eth0', '::ffff', '::1:0'],
    'private',
  ],
  [
    '64:ff9b:1::/48 local-use NAT64',
    ['64:ff9b:1::', '64:ff9b:1::8.8.8.8', '64:ff9b:1:ffff:ffff:ffff:ffff:ffff'],
    'private',
  ],
  ['100::/64 discard-only', ['100::', '100::1', '100::ffff:ffff:ffff:ffff'], 'private'],
  [
    '2001::/23 IETF protocol assignments',
    ['2001:1::1', '2001:2::1', '2001:3::1', '2001:1ff:ffff::1'],
    'private',
  ],
  [
    '2001::/32 Teredo',
    ['2001::', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001:0:ffff:ffff:ffff:ffff:ffff:ffff'],
    'private',
  ],
  [
    '2001:db8::/32 documentation',
    ['2001:db8::', '2001:db8::1', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'],
    'private',
  ],
  ['3fff::/20 documentation', ['3fff::1', '3fff:fff:ffff::1'], 'private'],
  ['5f00::/16 segment routing SIDs', ['5f00::1'], 'private'],
  ['fc00::/7 unique local', ['fc00::', 'fd00::1', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], 'private'],
  [
    'fe80::/10 link-local',
    ['fe80::', 'fe80::1', 'fe80::1%eth0', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    'private',
  ],
  ['fec0::/10 site-local (deprecated)', ['fec0::1'], 'private'],
  ['ff00::/8 multicast', ['ff00::', 'ff02::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], 'private'],
  ['outside 2000::/3 (unassigned)', ['1::1', '4000::1', 'e000::1'], 'private'],
];

/** Every IPv6 spelling that stands for an IPv4 address and reaches it (or a translator for it). */
function embeddings(v4: string): string[] {
  const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number];
  const hi = ((a << 8) | b).toString(16);
  const lo = ((c << 8) | d).toString(16);
  return [
    `::ffff:${v4}`, // IPv4-mapped (::ffff:0:0/96)
    `::ffff:${hi}:${lo}`, // the same in hex
    `0:0:0:0:0:FFFF:${hi.toUpperCase()}:${lo.toUpperCase()}`,
    `::ffff:0:${v4}`, // IPv4-translated (::ffff:0:0:0/96, SIIT)
    `::ffff:0:${hi}:${lo}`,
    `64:ff9b::${v4}`, // NAT64 well-known prefix (64:ff9b::/96)
    `64:ff9b::${hi}:${lo}`,
    `2002:${hi}:${lo}::`, // 6to4 (2002::/16)
    `2002:${hi}:${lo}:1:2:3:4:5`,
  ];
}

describe('every IANA special-purpose range', () => {
  it.each(IPV4_SPECIAL)('refuses IPv4 %s', (_name, ips, kind) => {
    for (const ip of ips) {
      const why = kind === 'loopback' ? 'loopback address' : 'private, link-local or reserved address';
      expect(refusedAddress(ip, strict), ip).toBe(why);
      expect(refusedAddress(ip, kind === 'loopback' ? allowLoopback : allowPrivate), ip).toBeNull();
      expect(refusedAddress(ip, kind === 'loopback' ? allowPrivate : allowLoopback), ip).toBe(why);
    }
  });

  it.each(IPV4_SPECIAL)('refuses IPv4 %s in every IPv6 form that embeds it', (_name, ips, kind) => {
    for (const ip of ips) {
      for (const form of embeddings(ip)) {
        const why = kind === 'loopback' ? 'loopback address' : 'private, link-local or reserved address';
        expect(refusedAddress(form, strict), `${form} (${ip})`).toBe(why);
        expect(refusedAddress(form, kind === 'loopback' ? allowPrivate : allowLoopback), form).toBe(why);
      }
    }
  });

  it.each(IPV6_SPECIAL)('refuses IPv6 %s', (_name, ips, kind) => {
    for (const ip of ips) {
      const why = kind === 'loopback' ? 'loopback address' : 'private, link-local or reserved address';
      expect(refusedAddress(ip, strict), ip).toBe(why);
      expect(refusedAddress(ip, kind === 'loopback' ? allowLoopback : allowPrivate), ip).toBeNull();
    }
  });

  it('lets public unicast through, also behind IPv4-mapped, translated, NAT64 and 6to4 forms', () => {
    // Just outside the special ranges' edges, and well-known public hosts.
    const publicV4 = [
      '1.1.1.1',
      '8.8.8.8',
      '9.255.255.255',
      '11.0.0.0',
      '100.63.255.255',
      '100.128.0.0',
      '126.255.255.255',
      '128.0.0.0',
      '169.253.255.255',
      '169.255.0.0',
      '172.15.255.255',
      '172.32.0.0',
      '192.0.1.1',
      '192.0.3.0',
      '192.88.98.255',
      '192.167.255.255',
      '192.169.0.0',
      '198.17.255.255',
      '198.20.0.0',
      '198.51.99.255',
      '203.0.112.255',
      '223.255.255.255',
    ];
    for (const ip of publicV4) {
      expect(refusedAddress(ip, strict), ip).toBeNull();
      for (const form of embeddings(ip)) expect(refusedAddress(form, strict), form).toBeNull();
    }
    for (const ip of ['2606:4700:4700::1111', '2a00:1450:4001::200e', '2001:200::1', '2620:fe::fe']) {
      expect(refusedAddress(ip, strict), ip).toBeNull();
    }
  });

  it('checks what a name resolves to when the connection is made, in both lookup forms', async () => {
    const resolve = (policy: typeof strict, all: boolean) =>
      new Promise<{ err: Error | null; address: unknown }>((done) =>
        guardedLookup(policy)('localhost', { all }, (err, address) => done({ err, address })),
      );
    for (const all of [true, false]) {
      const refused = await resolve(strict, all);
      expect(refused.err).toBeInstanceOf(RefusedTargetError);
      expect(refused.err?.message).toMatch(/refused localhost \((127\.0\.0\.1|::1)\): loopback address/);
      expect((await resolve(allowLoopback, all)).err).toBeNull();
    }
  });

  it('answers anything that is not an IP address as such', () => {
    for (const bad of ['', 'example.com', '1.2.3', '::g', '1.2.3.4.5', '01.2.3.4']) {
      expect(refusedAddress(bad, { allowLoopback: true, allowPrivate: true }), bad).toBe('not an IP address');
    }
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

describe('deliveries in flight', () => {
  it('listens on the shutdown signal once however many deliveries wait, and interrupts them all', async () => {
    // Answers nothing: every delivery stays in flight until the signal.
    const hung = http.createServer(() => {});
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(hung.address() as AddressInfo).port}/hook`;
    const stop = new AbortController();
    try {
      const sends = Array.from({ length: 200 }, () =>
        sendWebhook(url, '{}', {}, { timeoutMs: 10_000, targets: allowLoopback, signal: stop.signal }),
      );
      // One listener, not one per request: adding and removing them scans the list each time.
      expect(getEventListeners(stop.signal, 'abort')).toHaveLength(1);
      stop.abort();
      const results = await Promise.all(sends);
      expect(results.filter((r) => r.aborted)).toHaveLength(200);
      expect(results[0]?.error).toMatch(/shutting down/);
    } finally {
      hung.closeAllConnections();
      await new Promise((resolve) => hung.close(resolve));
    }
  });
});
