import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  formatIpv4,
  formatMac,
  Ipv4Cidr,
  Ipv4Interface,
  isBroadcastMac,
  isMulticastMac,
  MAC_BROADCAST,
  maskOf,
  parseIpv4,
  parseMac,
  prefixLenOf,
} from './addr.ts';
import { WireError } from './errors.ts';

function badAddr(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof WireError && e.code === 'WIRE_BAD_ADDRESS' && e.layer === 'addr');
}

test('addr: parse and format IPv4', () => {
  assert.equal(parseIpv4('10.244.1.2'), 0x0af40102);
  assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  assert.equal(parseIpv4('0.0.0.0'), 0);
  assert.equal(formatIpv4(0xc0a800c7), '192.168.0.199');
  assert.equal(formatIpv4(-1), '255.255.255.255');
  for (const s of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.4 ', ' 1.2.3.4', '1..3.4', '1.2.3.', 'a.b.c.d', '1.2.3.-4', '1.2.3.4/24']) {
    badAddr(() => parseIpv4(s));
  }
  assert.match(
    (() => {
      try {
        parseIpv4('300.1.1.1');
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })(),
    /^addr: invalid IPv4 address "300\.1\.1\.1"$/,
  );
});

test('addr: IPv4 round trip (property)', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (a) => parseIpv4(formatIpv4(a)) === a));
});

test('addr: MAC parse/format/classify', () => {
  const m = parseMac('02:42:0A:F4:01:03');
  assert.equal(m, 0x02420af40103);
  assert.equal(formatMac(m), '02:42:0a:f4:01:03');
  assert.equal(formatMac(MAC_BROADCAST), 'ff:ff:ff:ff:ff:ff');
  assert.equal(formatMac(0), '00:00:00:00:00:00');
  assert.ok(isBroadcastMac(parseMac('ff:ff:ff:ff:ff:ff')));
  assert.ok(isMulticastMac(MAC_BROADCAST));
  assert.ok(isMulticastMac(parseMac('01:00:5e:00:00:16')));
  assert.ok(isMulticastMac(parseMac('33:33:00:00:00:01')));
  assert.ok(!isMulticastMac(m));
  for (const s of ['02:42:0a:f4:01', '02-42-0a-f4-01-03', '2:42:0a:f4:01:03', '02:42:0a:f4:01:0g', '02:42:0a:f4:01:03:04']) badAddr(() => parseMac(s));
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (x) => parseMac(formatMac(x)) === x));
});

test('addr: maskOf / prefixLenOf edge cases', () => {
  assert.equal(maskOf(0), 0);
  assert.equal(maskOf(1), 0x80000000);
  assert.equal(maskOf(24), 0xffffff00);
  assert.equal(maskOf(32), 0xffffffff);
  badAddr(() => maskOf(33));
  badAddr(() => maskOf(-1));
  badAddr(() => maskOf(1.5));
  for (let p = 0; p <= 32; p++) assert.equal(prefixLenOf(maskOf(p)), p);
  badAddr(() => prefixLenOf(0xff00ff00));
});

test('addr: Ipv4Cidr', () => {
  const c = Ipv4Cidr.parse('10.244.1.0/24');
  assert.equal(c.network, 0x0af40100);
  assert.equal(c.prefixLen, 24);
  assert.equal(c.mask, 0xffffff00);
  assert.equal(c.broadcast, parseIpv4('10.244.1.255'));
  assert.equal(c.size, 256);
  assert.equal(c.host(1), parseIpv4('10.244.1.1'));
  assert.equal(c.host(255), c.broadcast);
  badAddr(() => c.host(256));
  assert.ok(c.contains(parseIpv4('10.244.1.77')));
  assert.ok(!c.contains(parseIpv4('10.244.2.1')));
  assert.equal(c.toString(), '10.244.1.0/24');
  assert.equal(JSON.stringify({ c }), '{"c":"10.244.1.0/24"}');
  // Like Go's net.ParseCIDR, host bits are cleared.
  assert.ok(Ipv4Cidr.parse('10.244.1.5/24').equals(c));
  assert.ok(Ipv4Cidr.of(parseIpv4('10.244.1.200'), 24).equals(c));

  const all = Ipv4Cidr.parse('0.0.0.0/0');
  assert.equal(all.mask, 0);
  assert.equal(all.size, 2 ** 32);
  assert.equal(all.broadcast, 0xffffffff);
  assert.ok(all.contains(0xffffffff) && all.contains(0));
  const one = Ipv4Cidr.parse('10.96.0.10/32');
  assert.ok(one.contains(parseIpv4('10.96.0.10')) && !one.contains(parseIpv4('10.96.0.11')));
  assert.equal(one.broadcast, one.network);

  const pod = Ipv4Cidr.parse('10.244.0.0/16');
  assert.equal(pod.subnet(3, 24).toString(), '10.244.3.0/24');
  assert.ok(pod.containsCidr(c) && !c.containsCidr(pod));
  assert.ok(pod.overlaps(c) && c.overlaps(pod));
  assert.ok(!c.overlaps(Ipv4Cidr.parse('10.244.2.0/24')));
  badAddr(() => pod.subnet(256, 24));
  badAddr(() => pod.subnet(0, 8));

  for (const s of ['10.244.1.0', '10.244.1.0/33', '10.244.1.0/024', '10.244.1.0/', '10.244.1/24', '010.244.1.0/24', '10.244.1.0/2 4', '10.244.1.0/-1']) {
    badAddr(() => Ipv4Cidr.parse(s));
  }
});

test('addr: Ipv4Cidr.contains agrees with the definition (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 0xffffffff }), (a, p, x) => {
      const c = Ipv4Cidr.of(a, p);
      const expected = p === 0 || Math.floor(x / 2 ** (32 - p)) === Math.floor(a / 2 ** (32 - p));
      return c.contains(x) === expected && c.contains(c.network) && c.contains(c.broadcast) && Ipv4Cidr.parse(c.toString()).equals(c);
    }),
  );
});

test('addr: Ipv4Interface keeps the host part', () => {
  const i = Ipv4Interface.parse('10.244.1.1/24');
  assert.equal(i.addr, parseIpv4('10.244.1.1'));
  assert.equal(i.prefixLen, 24);
  assert.equal(i.cidr.toString(), '10.244.1.0/24');
  assert.equal(i.mask, 0xffffff00);
  assert.equal(i.broadcast, parseIpv4('10.244.1.255'));
  assert.equal(i.toString(), '10.244.1.1/24');
  assert.ok(i.equals(new Ipv4Interface(parseIpv4('10.244.1.1'), 24)));
  badAddr(() => Ipv4Interface.parse('10.244.1.1'));
});
