import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Outgoing requests to addresses a studio should not reach through us: the machine itself,
 * private networks, link-local (cloud metadata at 169.254.169.254) and the like. Checked on the
 * addresses the name resolves to at connect time (a custom `lookup`), so a DNS answer that
 * changes between check and connect (rebinding) cannot slip through.
 */
export interface TargetPolicy {
  allowLoopback: boolean;
  allowPrivate: boolean;
}

type Verdict = 'loopback' | 'private' | null;

// IPv4 ranges ipaddr.js names (the IANA special-purpose registry, multicast, 240/4 and the
// broadcast address): only `unicast` is an ordinary public address.
const v4Verdict = (ip: ipaddr.IPv4): Verdict => {
  const range = ip.range();
  if (range === 'loopback') return 'loopback';
  return range === 'unicast' ? null : 'private';
};

const NAT64 = ipaddr.IPv6.parse('64:ff9b::');
const GLOBAL_UNICAST = ipaddr.IPv6.parse('2000::');
const v4Of = (p: number[], at: number) =>
  new ipaddr.IPv4([p[at] as number, p[at + 1] as number, p[at + 2] as number, p[at + 3] as number]);

/**
 * IPv6 forms that stand for an IPv4 address are judged by that address: IPv4-mapped
 * (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d, SIIT), NAT64's well-known prefix
 * (64:ff9b::/96) and 6to4 (2002:aabb:ccdd::/48). A check on the IPv6 form alone would let
 * ::ffff:7f00:1 or 64:ff9b::a9fe:a9fe reach loopback or cloud metadata.
 */
function v6Verdict(ip: ipaddr.IPv6): Verdict {
  const bytes = ip.toByteArray();
  switch (ip.range()) {
    case 'loopback':
      return 'loopback';
    case 'ipv4Mapped':
    case 'rfc6145':
      return v4Verdict(v4Of(bytes, 12));
    case '6to4':
      return v4Verdict(v4Of(bytes, 2));
    case 'rfc6052':
      // 64:ff9b::/96 is the public translator's; 64:ff9b:1::/48 (local-use, RFC 8215) reaches
      // networks of the operator's own, whatever the IPv4 part says.
      return ip.match(NAT64, 96) ? v4Verdict(v4Of(bytes, 12)) : 'private';
    case 'unicast':
      break;
    default:
      // Unspecified, link-local, unique local, site-local, multicast, discard, 2001::/23 (Teredo
      // tunnels to an obfuscated IPv4 address, ORCHID, benchmarking...), documentation, SRv6.
      return 'private';
  }
  // IPv4-compatible (::a.b.c.d, deprecated): never a real destination; loopback if it names it.
  if (bytes.slice(0, 12).every((b) => b === 0)) {
    return v4Verdict(v4Of(bytes, 12)) === 'loopback' ? 'loopback' : 'private';
  }
  // Outside 2000::/3 nothing is assigned for global unicast.
  return ip.match(GLOBAL_UNICAST, 3) ? null : 'private';
}

/**
 * An IPv6 address with its dotted IPv4 tail written as two hex groups. ipaddr.js reads
 * "::a.b.c.d" as IPv4-mapped (::ffff:a.b.c.d) rather than as the IPv4-compatible address it is,
 * so the tail is converted before it parses. The zone is dropped too.
 */
function hexTail(address: string): string {
  // The zone (fe80::1%eth0) says which interface, not which range.
  return address.replace(/%.*$/, '').replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a, b, c, d) => {
    const [w, x, y, z] = [a, b, c, d].map(Number) as [number, number, number, number];
    return `${((w << 8) | x).toString(16)}:${((y << 8) | z).toString(16)}`;
  });
}

/** Why an address is refused, or null when it may be contacted. */
export function refusedAddress(address: string, policy: TargetPolicy): string | null {
  // node's isIP takes only the canonical spellings a resolver returns (ipaddr.js would also
  // take "127.1" or "0x7f.0.0.1", which no lookup answers with).
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = family === 4 ? ipaddr.IPv4.parse(address) : ipaddr.IPv6.parse(hexTail(address));
  } catch {
    return 'not an IP address';
  }
  const verdict = ip.kind() === 'ipv4' ? v4Verdict(ip as ipaddr.IPv4) : v6Verdict(ip as ipaddr.IPv6);
  if (verdict === 'loopback') return policy.allowLoopback ? null : 'loopback address';
  if (verdict === 'private') return policy.allowPrivate ? null : 'private, link-local or reserved address';
  return null;
}

export class RefusedTargetError extends Error {
  readonly code = 'ERR_SSRF_REFUSED';
}

/** A `lookup` for http.request that refuses forbidden addresses. */
export function guardedLookup(policy: TargetPolicy) {
  return (
    hostname: string,
    options: object,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as LookupAddress[];
      for (const a of list) {
        const why = refusedAddress(a.address, policy);
        if (why) return callback(new RefusedTargetError(`refused ${hostname} (${a.address}): ${why}`), '', 0);
      }
      if ((options as { all?: boolean }).all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(new RefusedTargetError(`no address for ${hostname}`), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

/**
 * Checks a webhook URL when it is saved, so a studio hears about a forbidden target at once
 * rather than from the delivery log. Returns why it is refused, or null. The delivery checks
 * again at connect time; this is a courtesy, not the guard.
 */
export async function refusedUrl(url: string, policy: TargetPolicy): Promise<string | null> {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return 'not a URL';
  }
  if (isIP(host)) return refusedAddress(host, policy);
  const addresses = await new Promise<LookupAddress[] | null>((resolve) =>
    dnsLookup(host, { all: true }, (err, list) => resolve(err ? null : list)),
  );
  if (!addresses?.length) return `${host} does not resolve`;
  for (const a of addresses) {
    const why = refusedAddress(a.address, policy);
    if (why) return `${host} resolves to a ${why}`;
  }
  return null;
}

/**
 * A webhook URL as it may be shown in audit entries, events and alerts: scheme, host and port
 * only, with `/…` when there is more. Paths and queries often carry the receiver's token.
 */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    const more = (u.pathname && u.pathname !== '/') || u.search || u.hash;
    return `${u.protocol}//${u.host}${more ? '/…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}
