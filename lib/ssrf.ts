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
  ['::', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  forbidden.addSubnet(net, prefix, 'ipv6');
}

/** Why an address is refused, or null when it may be contacted. */
export function refusedAddress(address: string, policy: TargetPolicy): string | null {
  let ip = address;
  let family = isIP(ip);
  if (family === 0) return 'not an IP address';
  // IPv4-mapped IPv6 (::ffff:127.0.0.1) is checked as the IPv4 address it is.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) {
    ip = mapped[1];
    family = 4;
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
