import type { LookupAddress } from 'node:dns';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FORBIDDEN_ADDRESS,
  ForbiddenAddressError,
  assertHostAllowed,
  forbiddenRange,
  guardedLookup,
  parseAllowList,
  type Resolver,
} from '../../src/infra/webhooks/address-guard.ts';

/** [address, the range it must be refused as] — every notation of one place counts. */
const FORBIDDEN: [string, string][] = [
  ['127.0.0.1', 'loopback'],
  ['127.1', 'loopback'],
  ['2130706433', 'loopback'],
  ['0x7f000001', 'loopback'],
  ['017700000001', 'loopback'],
  ['0177.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['::1', 'loopback'],
  ['[::1]', 'loopback'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['64:ff9b::7f00:1', 'loopback'],
  ['64:ff9b::a00:1', 'private'],
  // ipaddr.js reads ::127.0.0.1 as v4-mapped (RFC 4291 says IPv4-compatible): refused either way.
  ['::127.0.0.1', 'loopback'],
  ['::7f00:1', 'ipv4Compatible'],
  ['::5db8:d822', 'ipv4Compatible'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['::', 'unspecified'],
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.254', 'private'],
  ['192.168.1.1', 'private'],
  ['::ffff:192.168.1.1', 'private'],
  ['100.64.0.1', 'carrierGradeNat'],
  ['100.127.255.254', 'carrierGradeNat'],
  ['169.254.169.254', 'linkLocal'],
  ['::ffff:169.254.169.254', 'linkLocal'],
  ['fe80::1', 'linkLocal'],
  ['fe80::1%eth0', 'linkLocal'],
  ['fd00::1', 'uniqueLocal'],
  ['fc00::1', 'uniqueLocal'],
  ['fd00:ec2::254', 'uniqueLocal'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['ff02::1', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['192.0.2.1', 'reserved'],
  ['198.51.100.7', 'reserved'],
  ['203.0.113.9', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['240.0.0.1', 'reserved'],
  ['2001:db8::1', 'reserved'],
  ['2001:2::1', 'benchmarking'],
  ['64:ff9b:1::a00:1', 'rfc6052'],
  ['2002:7f00:1::', '6to4'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'teredo'],
  ['4000::1', 'unallocated'],
  ['localhost', 'notAnAddress'],
  ['', 'notAnAddress'],
];

const PUBLIC = ['93.184.216.34', '8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '2001:4860:4860::8888', '::ffff:93.184.216.34', '64:ff9b::5db8:d822'];

describe('forbiddenRange (ASVS 5.0 1.3.6: no webhook to internal addresses)', () => {
  it.each(FORBIDDEN)('refuses %s as %s', (address, range) => {
    expect(forbiddenRange(address)).toBe(range);
  });

  it.each(PUBLIC)('allows the public address %s', (address) => {
    expect(forbiddenRange(address)).toBeNull();
  });

  it.each([
    ['http://2130706433/', 'loopback'],
    ['http://0x7f000001:8080/hook', 'loopback'],
    ['http://017700000001/', 'loopback'],
    ['http://127.1/', 'loopback'],
    ['https://0177.0.0.1/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[::ffff:7f00:1]/', 'loopback'],
    ['http://[64:ff9b::a9fe:a9fe]/latest/meta-data/', 'linkLocal'],
    ['http://[fd00::1]:9000/', 'uniqueLocal'],
    ['http://169.254.169.254/latest/meta-data/', 'linkLocal'],
  ])('refuses the URL %s by the hostname URL parsing gives (range %s)', (url, range) => {
    const { hostname } = new URL(url);
    expect(forbiddenRange(hostname)).toBe(range);
    expect(() => assertHostAllowed(hostname)).toThrow(ForbiddenAddressError);
  });

  it('lets an IP-literal URL host through when the allow-list opens it', () => {
    const allow = parseAllowList(['127.0.0.0/8', '::1/128']);
    expect(() => assertHostAllowed(new URL('http://2130706433:8080/').hostname, allow)).not.toThrow();
    expect(() => assertHostAllowed(new URL('http://[::1]/').hostname, allow)).not.toThrow();
    expect(() => assertHostAllowed(new URL('http://10.0.0.1/').hostname, allow)).toThrow(ForbiddenAddressError);
  });

  it('leaves a URL host that is a name to the lookup', () => {
    expect(() => assertHostAllowed(new URL('https://hooks.example.com/x').hostname)).not.toThrow();
    expect(() => assertHostAllowed(new URL('https://[2606:4700::1111]/x').hostname)).not.toThrow();
  });

  describe('with the allow-list 127.0.0.0/8', () => {
    const allow = parseAllowList(['127.0.0.0/8']);

    it.each(['127.0.0.1', '127.1', '2130706433', '::ffff:127.0.0.1', '64:ff9b::7f00:1', '127.10.20.30'])('opens %s', (address) => {
      expect(forbiddenRange(address, allow)).toBeNull();
    });

    it.each([
      ['::1', 'loopback'],
      ['10.0.0.1', 'private'],
      ['169.254.169.254', 'linkLocal'],
      ['128.0.0.1', null],
      ['126.255.255.255', null],
      ['fd00::1', 'uniqueLocal'],
    ])('still judges %s on its own (%s)', (address, range) => {
      expect(forbiddenRange(address, allow)).toBe(range);
    });
  });

  it('opens IPv6 ranges the operator names, and nothing beside them', () => {
    const allow = parseAllowList(['fd00:1234::/32', '::1/128']);
    expect(forbiddenRange('fd00:1234::9', allow)).toBeNull();
    expect(forbiddenRange('::1', allow)).toBeNull();
    expect(forbiddenRange('fd00:1235::9', allow)).toBe('uniqueLocal');
    expect(forbiddenRange('127.0.0.1', allow)).toBe('loopback');
  });

  it.each(['127.0.0.1', '10.0.0.0/33', 'fd00::/129', 'localhost/8', ''])('refuses %j as an allow-list entry', (cidr) => {
    expect(() => parseAllowList([cidr])).toThrow(/not a CIDR range/);
  });
});

/** Runs the guarded lookup as Node's socket would call it. */
function lookupWith(lookup: ReturnType<typeof guardedLookup>, hostname: string, all: boolean): Promise<string | LookupAddress[]> {
  return new Promise((resolve, reject) => {
    lookup(hostname, { all }, (err, address) => (err ? reject(err) : resolve(address)));
  });
}

describe('guardedLookup (ASVS 5.0 1.3.6: judged on the address connected to)', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer((_req, res) => res.end('delivered'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  /** A POST to `hostname` as the delivery worker makes it: the status, or the error's code. */
  function post(hostname: string, lookup: ReturnType<typeof guardedLookup>): Promise<number | string> {
    return new Promise((resolve) => {
      const req = request({ host: hostname, port, method: 'POST', path: '/hook', lookup }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      req.end('{}');
    });
  }

  it('refuses localhost, by the real dns.lookup', async () => {
    const err = await lookupWith(guardedLookup(), 'localhost', true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForbiddenAddressError);
    expect(err).toMatchObject({ code: FORBIDDEN_ADDRESS, hostname: 'localhost', range: 'loopback' });
    expect((err as Error).message).toMatch(/^localhost resolves to .+, which is in a forbidden range \(loopback\)/);
  });

  it('refuses a numeric name that resolves to loopback (2130706433 given as a host, not through URL)', async () => {
    await expect(lookupWith(guardedLookup(), '2130706433', false)).rejects.toMatchObject({ code: FORBIDDEN_ADDRESS, address: '127.0.0.1' });
  });

  it('makes node:http fail the request with EWEBHOOKADDRESS before any connection', async () => {
    let connections = 0;
    const count = () => connections++;
    server.on('connection', count);
    try {
      expect(await post('localhost', guardedLookup())).toBe(FORBIDDEN_ADDRESS);
    } finally {
      server.off('connection', count);
    }
    expect(connections).toBe(0);
  });

  it('is not called by node:http for an IP-literal host: assertHostAllowed must judge those', async () => {
    let called = false;
    const lookup: ReturnType<typeof guardedLookup> = (hostname, options, callback) => {
      called = true;
      guardedLookup()(hostname, options, callback);
    };
    expect(await post('127.0.0.1', lookup)).toBe(200);
    expect(called).toBe(false);
  });

  it('lets localhost through when the allow-list opens loopback, in both lookup forms', async () => {
    const lookup = guardedLookup(parseAllowList(['127.0.0.0/8', '::1/128']));
    expect(await lookupWith(lookup, 'localhost', false)).toMatch(/^(127\.0\.0\.1|::1)$/);
    expect(await lookupWith(lookup, 'localhost', true)).toEqual(expect.arrayContaining([expect.objectContaining({ address: expect.stringMatching(/^(127\.0\.0\.1|::1)$/) })]));
    expect(await post('localhost', lookup)).toBe(200);
  });

  it('refuses a name whose answers mix a public and a private address, even when the public one comes first (DNS rebinding)', async () => {
    const rebinding: Resolver = (_hostname, _options, callback) =>
      callback(null, [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.5', family: 4 },
      ]);
    await expect(lookupWith(guardedLookup([], rebinding), 'hooks.example.com', false)).rejects.toMatchObject({ code: FORBIDDEN_ADDRESS, address: '10.0.0.5', range: 'private' });
  });

  it('judges every lookup anew: a name that turned private since the last one is refused', async () => {
    const answers = ['93.184.216.34', '169.254.169.254'];
    const changing: Resolver = (_hostname, _options, callback) => callback(null, [{ address: answers.shift()!, family: 4 }]);
    const lookup = guardedLookup([], changing);
    expect(await lookupWith(lookup, 'hooks.example.com', false)).toBe('93.184.216.34');
    await expect(lookupWith(lookup, 'hooks.example.com', false)).rejects.toMatchObject({ code: FORBIDDEN_ADDRESS, range: 'linkLocal' });
  });

  it('passes the resolver’s own error on', async () => {
    const failing: Resolver = (hostname, _options, callback) => callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
    await expect(lookupWith(guardedLookup([], failing), 'nowhere.invalid', true)).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});
