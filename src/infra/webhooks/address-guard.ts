import dns from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Where webhook deliveries may connect (docs/design/webhooks.md §6, ASVS 5.0
 * 1.3.6). An endpoint's URL is an operator's or an API caller's input: without
 * this, a delivery could reach the host's loopback services, the private
 * network or a cloud's metadata service (169.254.169.254). The check is made on
 * the address the socket connects to — in `lookup`, after DNS answered — so a
 * name that resolves to a public address when the endpoint is saved and to
 * 127.0.0.1 when it is called (DNS rebinding) is refused all the same.
 *
 * Default deny: only global unicast addresses pass; every special range
 * ipaddr.js knows (loopback, private, CGNAT, link-local, unique-local,
 * multicast, unspecified, broadcast, documentation, benchmarking, reserved,
 * 6to4, Teredo, …) is forbidden unless the operator's allow-list opens it.
 */

/** The `code` of the error a refused address fails with, as Node's own network errors carry one. */
export const FORBIDDEN_ADDRESS = 'EWEBHOOKADDRESS';

/** CIDR ranges the operator opened (WEBHOOKS_ALLOW_NETWORKS): parseAllowList makes one. */
export type AllowList = readonly (readonly [ipaddr.IPv4 | ipaddr.IPv6, number])[];

/** A connection to a forbidden address, refused before it was made. */
export class ForbiddenAddressError extends Error {
  readonly code = FORBIDDEN_ADDRESS;

  constructor(
    /** The name asked for (or the address itself, for an IP literal). */
    readonly hostname: string,
    readonly address: string,
    /** Why: the address's range, e.g. `loopback`, `private`, `linkLocal`. */
    readonly range: string,
  ) {
    const what = hostname === address ? address : `${hostname} resolves to ${address}, which`;
    super(`${what} is in a forbidden range (${range}): webhooks are not sent there unless WEBHOOKS_ALLOW_NETWORKS opens it`);
    this.name = 'ForbiddenAddressError';
  }
}

/** The operator's CIDR ranges, parsed; throws naming the first that is not one (`127.0.0.0/8`, `fd00::/8`). */
export function parseAllowList(cidrs: readonly string[]): AllowList {
  return cidrs.map((cidr) => {
    if (!ipaddr.isValidCIDR(cidr)) throw new TypeError(`not a CIDR range: ${JSON.stringify(cidr)} (write it as 10.0.0.0/8 or fd00::/8)`);
    return ipaddr.parseCIDR(cidr);
  });
}

/** RFC 6052's well-known NAT64 prefix: the last 32 bits are a public IPv4 address (it must not carry others). */
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');
/** Deprecated IPv4-compatible IPv6 (::a.b.c.d); ipaddr.js calls it unicast. */
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');
/** Where every global unicast IPv6 address is (IANA); the rest is unallocated. */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

/** The IPv4 address a v4-mapped or well-known-prefix NAT64 address reaches; else the address itself. */
function reachedAddress(address: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  if (address.kind() === 'ipv4') return address;
  const v6 = address as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address();
  if (v6.match(NAT64_WELL_KNOWN)) return new ipaddr.IPv4(v6.toByteArray().slice(12));
  return v6;
}

/** The range name of `address`; `unicast` only for a global unicast one. */
function rangeOf(address: ipaddr.IPv4 | ipaddr.IPv6): string {
  const range = address.range();
  if (range !== 'unicast' || address.kind() === 'ipv4') return range;
  if (address.match(IPV4_COMPATIBLE)) return 'ipv4Compatible';
  return address.match(GLOBAL_UNICAST_V6) ? 'unicast' : 'unallocated';
}

/** A URL's hostname writes an IPv6 address in brackets: `[::1]`. */
function unbracketed(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function opened(address: ipaddr.IPv4 | ipaddr.IPv6, allow: AllowList): boolean {
  return allow.some(([network, bits]) => network.kind() === address.kind() && address.match(network, bits));
}

/**
 * Why a connection to `address` is refused — its range, e.g. `loopback` — or
 * null when it is allowed. `address` is an IP address in any notation
 * ipaddr.js reads (127.1, 2130706433 and 0x7f000001 are 127.0.0.1), or a
 * URL's hostname (`[::1]`); what is not an address is `notAnAddress`. A
 * v4-mapped (::ffff:127.0.0.1) or NAT64 (64:ff9b::7f00:1) address is judged
 * by the IPv4 address it reaches. The allow-list opens a range by the address
 * as written or as reached.
 */
export function forbiddenRange(address: string, allow: AllowList = []): string | null {
  const literal = unbracketed(address);
  if (!ipaddr.isValid(literal)) return 'notAnAddress';
  const parsed = ipaddr.parse(literal);
  const reached = reachedAddress(parsed);
  if (opened(parsed, allow) || opened(reached, allow)) return null;
  const range = rangeOf(reached);
  return range === 'unicast' ? null : range;
}

/**
 * Refuses a URL host that is itself an IP address in a forbidden range.
 * Needed beside guardedLookup: Node connects to an IP literal without calling
 * `lookup` at all. A name passes here and is judged by guardedLookup.
 */
export function assertHostAllowed(hostname: string, allow: AllowList = []): void {
  const literal = unbracketed(hostname);
  if (isIP(literal) === 0) return;
  const range = forbiddenRange(literal, allow);
  if (range) throw new ForbiddenAddressError(hostname, literal, range);
}

/** How a name is resolved: dns.lookup, every answer (a test may answer as a rebinding DNS server would). */
export type Resolver = (hostname: string, options: dns.LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void) => void;

const systemResolver: Resolver = (hostname, options, callback) => dns.lookup(hostname, options, callback);

/**
 * A `lookup` for node:http / node:https `request` and undici's `connect`
 * options: resolves with dns.lookup, and fails with a ForbiddenAddressError
 * (code EWEBHOOKADDRESS) when any answer is forbidden — not only the one the
 * socket would pick, so a name mixing a public and a private address never
 * connects. Answers as Node asks: every address with `all`, else the first.
 */
export function guardedLookup(allow: AllowList = [], resolve: Resolver = systemResolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      for (const { address } of addresses) {
        const range = forbiddenRange(address, allow);
        if (range) return callback(new ForbiddenAddressError(hostname, address, range), []);
      }
      const [first] = addresses;
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND', hostname }), []);
      if (options.all) return callback(null, addresses);
      callback(null, first.address, first.family);
    });
  };
}
