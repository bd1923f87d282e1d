import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

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

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

const forbidden = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  forbidden.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  // The unspecified address and IPv4-compatible addresses (::a.b.c.d, deprecated); ::1 is
  // loopback, checked before this list.
  ['::', 96],
  // Local-use NAT64 (RFC 8215): translates to networks of the operator's own.
  ['64:ff9b:1::', 48],
  // Teredo: tunnels to an obfuscated IPv4 address that cannot be checked here.
  ['2001::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  forbidden.addSubnet(net, prefix, 'ipv6');
}

/** The eight 16-bit groups of an IPv6 address (an embedded dotted IPv4 tail included). */
function hextets(ip: string): number[] | null {
  let text = ip.toLowerCase().replace(/%.*$/, '');
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const part = (x: string) => (x ? x.split(':').map((h) => Number.parseInt(h, 16)) : []);
  const hi = part(head);
  const lo = tail === undefined ? [] : part(tail);
  const groups = tail === undefined ? hi : [...hi, ...new Array(8 - hi.length - lo.length).fill(0), ...lo];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff)
    ? groups
    : null;
}

const v4From = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;

/**
 * The IPv4 address an IPv6 address stands for, when it embeds one: IPv4-mapped (::ffff:a.b.c.d,
 * also written in hex), NAT64 (64:ff9b::/96) and 6to4 (2002::/16). A check on the IPv6 form alone
 * would let ::ffff:7f00:1 or 64:ff9b::a9fe:a9fe reach loopback or cloud metadata.
 */
function embeddedIpv4(g: number[]): string | null {
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && g[5] === 0xffff) return v4From(g[6] as number, g[7] as number);
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return v4From(g[6] as number, g[7] as number);
  if (g[0] === 0x2002) return v4From(g[1] as number, g[2] as number);
  return null;
}

/** Why an address is refused, or null when it may be contacted. */
export function refusedAddress(address: string, policy: TargetPolicy): string | null {
  let ip = address;
  let family = isIP(ip);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    const g = hextets(ip);
    if (!g) return 'not an IP address';
    const v4 = embeddedIpv4(g);
    if (v4) {
      ip = v4;
      family = 4;
    } else {
      ip = g.map((x) => x.toString(16)).join(':');
    }
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (loopback.check(ip, type)) return policy.allowLoopback ? null : 'loopback address';
  if (forbidden.check(ip, type))
    return policy.allowPrivate ? null : 'private, link-local or reserved address';
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
