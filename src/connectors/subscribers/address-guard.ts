/**
 * Where outbound webhooks may connect. A subscription URL is operator config,
 * but what its host resolves to is not: a name can point (or be re-pointed
 * between a check and the connection — DNS rebinding) at loopback, the private
 * network, or a cloud metadata service. So the check runs inside the socket's
 * own `lookup`, on the very addresses the connection then uses, and an IP
 * literal in the URL is checked as it is. `allowPrivateNetworks` on a
 * subscription lifts it, for subscribers on the same network on purpose.
 */
import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Not on the public internet, by RFC 6890 and friends; metadata services sit inside these too. */
const REFUSED: ReadonlyArray<[string, number, 'ipv4' | 'ipv6', string]> = [
  ['0.0.0.0', 8, 'ipv4', 'this-network'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'carrier-grade NAT'], // 100.100.100.200: Alibaba Cloud metadata
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'], // 169.254.169.254: AWS, GCP, Azure metadata
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignments'], // 192.0.0.192: Oracle Cloud metadata
  ['192.0.2.0', 24, 'ipv4', 'documentation'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking'],
  ['198.51.100.0', 24, 'ipv4', 'documentation'],
  ['203.0.113.0', 24, 'ipv4', 'documentation'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  // IPv4 inside IPv6 (mapped, NAT64, 6to4, Teredo) could carry any of the above: refused whole.
  ['::ffff:0:0', 96, 'ipv6', 'IPv4-mapped'],
  ['64:ff9b::', 96, 'ipv6', 'NAT64'],
  ['2002::', 16, 'ipv6', '6to4'],
  ['2001::', 32, 'ipv6', 'Teredo'],
  ['100::', 64, 'ipv6', 'discard'],
  ['2001:db8::', 32, 'ipv6', 'documentation'],
  ['fc00::', 7, 'ipv6', 'unique-local'], // fd00:ec2::254: AWS metadata over IPv6
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['fec0::', 10, 'ipv6', 'site-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

const lists = REFUSED.map(([net, prefix, family, kind]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, family);
  return { list, family, kind };
});

/** Why an address is refused ("loopback", "private"…), or undefined for a public one. */
export function refusedKind(address: string): string | undefined {
  const version = isIP(address);
  if (version === 0) return 'not an IP address';
  const family = version === 4 ? 'ipv4' : 'ipv6';
  return lists.find((l) => l.family === family && l.list.check(address, family))?.kind;
}

export class RefusedAddressError extends Error {
  readonly code = 'EADDRREFUSED';
  constructor(host: string, address: string, kind: string) {
    super(
      `refused: ${host === address ? address : `${host} resolves to ${address}`}, a ${kind} address (set allowPrivateNetworks on the subscription to allow it)`,
    );
    this.name = 'RefusedAddressError';
  }
}

interface ResolvedAddress {
  address: string;
  family: number;
}
/** Every address a host name resolves to. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );

/** The URL's host when it is an IP literal, checked as is (no lookup happens for one). */
export function literalRefusal(hostname: string): RefusedAddressError | undefined {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) === 0) return undefined;
  const kind = refusedKind(host);
  return kind ? new RefusedAddressError(host, host, kind) : undefined;
}

/**
 * A `lookup` for the socket: resolves, refuses the connection if ANY address is refused (a mixed
 * answer is how rebinding hides), and otherwise hands the addresses on in the shape asked for.
 */
export function guardedLookup(resolver: Resolver, opts: { allowPrivateNetworks: boolean }): LookupFunction {
  return (hostname, options, callback) => {
    resolver(hostname).then(
      (addresses) => {
        const wanted = addresses.filter((a) => !options.family || a.family === options.family);
        for (const a of opts.allowPrivateNetworks ? [] : wanted) {
          const kind = refusedKind(a.address);
          if (kind) return callback(new RefusedAddressError(hostname, a.address, kind), '', 0);
        }
        if (wanted.length === 0)
          return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
        if (options.all) return (callback as unknown as (err: null, all: ResolvedAddress[]) => void)(null, wanted);
        callback(null, wanted[0]!.address, wanted[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
