/**
 * Where a webhook may be sent (server-side request forgery): an `https://` URL whose host
 * resolves only to public addresses. Loopback, private (RFC 1918, CGNAT), link-local (cloud
 * metadata at 169.254.169.254), unique-local IPv6, multicast, documentation and unspecified
 * addresses are refused, also behind IPv4-mapped IPv6. With `allowLoopback` (development) a
 * loopback target is allowed, over `http://` too, for a receiver on the same machine.
 *
 * The check runs when an endpoint is registered and again before every attempt (DNS can
 * change), and the attempt connects to the very address that was checked
 * ({@link ResolvedTarget.address}), so a second DNS answer cannot slip in between.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** A refused target, with a stable snake_case code. */
export class TargetError extends Error {
  readonly code: 'invalid_url' | 'https_required' | 'address_not_allowed' | 'host_not_found';
  constructor(code: TargetError['code'], message: string) {
    super(message);
    this.name = 'TargetError';
    this.code = code;
  }
}

const refused = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  refused.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  refused.addSubnet(net, prefix, 'ipv6');

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** The IPv4 address inside an IPv4-mapped or -compatible IPv6 address, else the address itself. */
function unmapped(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const m = /^::(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m?.[1]) return { address: m[1], family: 'ipv4' };
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex?.[1] && hex[2]) {
    const hi = parseInt(hex[1], 16);
    const lo = parseInt(hex[2], 16);
    return { address: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, family: 'ipv4' };
  }
  return { address, family: isIP(address) === 4 ? 'ipv4' : 'ipv6' };
}

/** True for a loopback address (127/8, ::1, and their mapped forms). */
export function isLoopbackAddress(address: string): boolean {
  const a = unmapped(address);
  return loopback.check(a.address, a.family);
}

/** True when `address` is anything but a public unicast address. */
export function isNonPublicAddress(address: string): boolean {
  const a = unmapped(address);
  return refused.check(a.address, a.family);
}

/** A target that passed the check: connect to `address`, send `Host`/SNI for `url.hostname`. */
export interface ResolvedTarget {
  readonly url: URL;
  readonly address: string;
  readonly family: 4 | 6;
}

/**
 * Parses and checks the form of a webhook URL without resolving it.
 * @throws TargetError `invalid_url` (not an absolute http(s) URL, credentials or a fragment
 *   in it), `https_required`.
 */
export function parseTargetUrl(raw: string, opts: { allowLoopback: boolean }): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetError('invalid_url', 'The URL is not valid.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new TargetError('invalid_url', 'The URL must start with https://.');
  if (url.username || url.password) throw new TargetError('invalid_url', 'The URL must not carry credentials.');
  if (url.hash) throw new TargetError('invalid_url', 'The URL must not have a fragment.');
  if (url.protocol === 'http:' && !opts.allowLoopback)
    throw new TargetError('https_required', 'Webhook URLs must use https://.');
  return url;
}

/**
 * Resolves the URL's host and checks every address it has.
 * @throws TargetError as {@link parseTargetUrl}, `host_not_found`, `address_not_allowed`
 *   (any address is not public, unless loopback is allowed and it is loopback), or
 *   `https_required` (http:// to anything but loopback).
 */
export async function resolveTarget(raw: string, opts: { allowLoopback: boolean }): Promise<ResolvedTarget> {
  const url = parseTargetUrl(raw, opts);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: { address: string; family: number }[];
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await lookup(host, { all: true, verbatim: true });
    } catch {
      throw new TargetError('host_not_found', "The URL's host name does not resolve.");
    }
  }
  if (addresses.length === 0) throw new TargetError('host_not_found', "The URL's host name does not resolve.");
  for (const a of addresses) {
    const local = opts.allowLoopback && isLoopbackAddress(a.address);
    if (!local && isNonPublicAddress(a.address))
      throw new TargetError(
        'address_not_allowed',
        'Webhooks cannot be sent to private, loopback or link-local addresses.',
      );
    if (!local && url.protocol === 'http:')
      throw new TargetError('https_required', 'Plain http:// is allowed only to a loopback receiver in development.');
  }
  const first = addresses[0];
  if (!first) throw new TargetError('host_not_found', "The URL's host name does not resolve.");
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
