import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Conntrack, DIR_ORIGINAL, DIR_REPLY, IPS_DST_NAT, IPS_SRC_NAT } from './conntrack/conntrack.ts';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from './conntrack/tuple.ts';
import { MANIP_DST, MANIP_SRC, masqueradeSource, natIcmpError, natNullBinding, natPacket, natSetup, resolveNatRequest } from './nat.ts';
import type { NatHost } from './nat.ts';
import { buildIpv4Icmp, buildIpv4Tcp, buildIpv4Udp } from '../wire/build.ts';
import { icmpErrorQuote } from '../wire/icmpv4.ts';
import { parseIpv4 } from '../wire/addr.ts';
import { Rng } from '../time/rng.ts';

const ip = parseIpv4;

interface Flow { proto: number; src: number; dst: number; sport: number; dport: number }

/** A packet of `proto` with fixed non-address fields, so two builds differ only where NAT writes. */
function build(f: Flow, payload: Uint8Array, ttl: number, ident: number): Uint8Array {
  const hdr = { src: f.src, dst: f.dst, ttl, ident, dontFrag: true };
  if (f.proto === IPPROTO_UDP) return buildIpv4Udp(hdr, { srcPort: f.sport, dstPort: f.dport }, payload);
  if (f.proto === IPPROTO_TCP) return buildIpv4Tcp(hdr, { srcPort: f.sport, dstPort: f.dport, seq: 1000, ack: 2000, flags: 0x18, window: 5000 }, payload);
  // ICMP echo: sport is the identifier; a request travels with type 8, a reply with type 0.
  return buildIpv4Icmp(hdr, { type: f.dport === 0 ? 'echo-reply' : 'echo-request', ident: f.sport, seq: 7, data: payload });
}

const u32 = fc.integer({ min: 0x01000000, max: 0xdfffffff });
const port = fc.integer({ min: 1, max: 65535 });
const flowArb = fc.record({
  proto: fc.constantFrom(IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP),
  client: u32, vip: u32, backend: u32, node: u32,
  cport: port, vport: port, bport: port,
  payload: fc.uint8Array({ maxLength: 64 }),
  ttl: fc.integer({ min: 1, max: 255 }),
  ident: fc.integer({ min: 0, max: 65535 }),
}).filter((x) => new Set([x.client, x.vip, x.backend, x.node]).size === 4);

test('property: DNAT + SNAT on the way out, un-NAT of the reply, and the reverse mapping restore exact bytes', () => {
  fc.assert(fc.property(flowArb, (x) => {
    const icmp = x.proto === IPPROTO_ICMP;
    const ct = new Conntrack(() => 0);
    const rng = new Rng(1);
    // ICMP: the echo identifier is the "port"; NAT leaves it alone unless it clashes.
    const orig: Flow = { proto: x.proto, src: x.client, dst: x.vip, sport: x.cport, dport: icmp ? 8 : x.vport };
    const slot = ct.packetIn(x.proto, orig.src, orig.dst, orig.sport, icmp ? 8 << 8 : orig.dport, 0x02) >>> 1;
    assert.ok(natSetup(ct, slot, MANIP_DST, { addrMin: x.backend, addrMax: x.backend, ...(icmp ? {} : { portMin: x.bport, portMax: x.bport }) }, rng));
    assert.ok(natSetup(ct, slot, MANIP_SRC, { addrMin: x.node, addrMax: x.node }, rng));
    assert.ok(ct.confirm(slot));
    assert.equal(ct.statusOf(slot) & (IPS_DST_NAT | IPS_SRC_NAT), IPS_DST_NAT | IPS_SRC_NAT);
    const natPort = ct.field(slot, DIR_REPLY, 2) & 0xffff; // reply dport = the source port chosen
    const expectSport = icmp ? x.cport : natPort;
    assert.equal(natPort === x.cport || icmp, true, 'the only flow keeps its port');

    // Out: client → VIP becomes node → backend.
    const p = build(orig, x.payload, x.ttl, x.ident);
    const pOut = p.slice();
    natPacket(ct, slot, DIR_ORIGINAL, MANIP_DST, pOut, 0);
    natPacket(ct, slot, DIR_ORIGINAL, MANIP_SRC, pOut, 0);
    const out: Flow = { proto: x.proto, src: x.node, dst: x.backend, sport: expectSport, dport: icmp ? 8 : x.bport };
    assert.deepEqual(pOut, build(out, x.payload, x.ttl, x.ident), 'incremental checksums equal a fresh build');

    // Back: backend → node becomes VIP → client, found through conntrack in the reply direction.
    const back: Flow = { proto: x.proto, src: x.backend, dst: x.node, sport: icmp ? expectSport : x.bport, dport: icmp ? 0 : expectSport };
    const ref = ct.find(x.proto, back.src, back.dst, back.sport, icmp ? 0 : back.dport);
    assert.equal(ref, slot * 2 + DIR_REPLY);
    const r = build(back, x.payload, x.ttl, x.ident);
    natPacket(ct, slot, DIR_REPLY, MANIP_DST, r, 0);
    natPacket(ct, slot, DIR_REPLY, MANIP_SRC, r, 0);
    const client: Flow = { proto: x.proto, src: x.vip, dst: x.client, sport: icmp ? x.cport : x.vport, dport: icmp ? 0 : x.cport };
    assert.deepEqual(r, build(client, x.payload, x.ttl, x.ident), 'the client sees the VIP answer, byte for byte');

    // The inverse mapping applied to the translated packet gives the original bytes back.
    const inv = new Conntrack(() => 0);
    const s2 = inv.packetIn(x.proto, out.src, out.dst, out.sport, icmp ? 8 << 8 : out.dport, 0x02) >>> 1;
    assert.ok(natSetup(inv, s2, MANIP_DST, { addrMin: x.vip, addrMax: x.vip, ...(icmp ? {} : { portMin: x.vport, portMax: x.vport }) }, rng));
    assert.ok(natSetup(inv, s2, MANIP_SRC, { addrMin: x.client, addrMax: x.client, ...(icmp ? {} : { portMin: x.cport, portMax: x.cport }) }, rng));
    const back2 = pOut.slice();
    natPacket(inv, s2, DIR_ORIGINAL, MANIP_DST, back2, 0);
    natPacket(inv, s2, DIR_ORIGINAL, MANIP_SRC, back2, 0);
    assert.deepEqual(back2, p);

    // An ICMP error from the backend about the translated packet reaches the client from the
    // VIP, quoting the packet exactly as the client sent it.
    const err = buildIpv4Icmp({ src: x.backend, dst: x.node, ttl: 64, ident: 9, dontFrag: false }, { type: 'dest-unreachable', code: 3, original: icmpErrorQuote(pOut) });
    natIcmpError(ct, slot, DIR_REPLY, MANIP_DST, err, 0, err.length);
    natIcmpError(ct, slot, DIR_REPLY, MANIP_SRC, err, 0, err.length);
    assert.deepEqual(err, buildIpv4Icmp({ src: x.vip, dst: x.client, ttl: 64, ident: 9, dontFrag: false }, { type: 'dest-unreachable', code: 3, original: icmpErrorQuote(p) }));
  }), { numRuns: 300 });
});

test('SNAT keeps the port while free, then searches the class range; --random-fully always draws; ICMP ids move on clash', () => {
  const ct = new Conntrack(() => 0);
  const rng = new Rng(3);
  const node = ip('192.168.50.11');
  const dst = ip('8.8.8.8');
  const masq = { addrMin: node, addrMax: node };
  const ports: number[] = [];
  for (let i = 0; i < 50; i++) {
    const s = ct.packetIn(IPPROTO_UDP, ip('10.244.1.2') + i, dst, 40000, 53, 0) >>> 1;
    assert.ok(natSetup(ct, s, MANIP_SRC, masq, rng));
    assert.ok(ct.confirm(s));
    ports.push(ct.field(s, DIR_REPLY, 2) & 0xffff);
  }
  assert.equal(ports[0], 40000);
  assert.equal(new Set(ports).size, 50, 'every flow got its own port');
  assert.ok(ports.every((p) => p >= 1024 && p <= 65535));
  // A privileged source port stays privileged (600-1023 class).
  const s = ct.packetIn(IPPROTO_UDP, ip('10.244.9.1'), dst, 700, 53, 0) >>> 1;
  const s2 = ct.packetIn(IPPROTO_UDP, ip('10.244.9.2'), dst, 700, 53, 0) >>> 1;
  natSetup(ct, s, MANIP_SRC, masq, rng);
  ct.confirm(s);
  natSetup(ct, s2, MANIP_SRC, masq, rng);
  const p2 = ct.field(s2, DIR_REPLY, 2) & 0xffff;
  assert.ok(p2 >= 600 && p2 <= 1023 && p2 !== 700, `port ${p2}`);
  const rf = ct.packetIn(IPPROTO_TCP, ip('10.244.9.3'), dst, 41000, 443, 0x02) >>> 1;
  natSetup(ct, rf, MANIP_SRC, { ...masq, randomFully: true }, rng);
  assert.notEqual(ct.field(rf, DIR_REPLY, 2) & 0xffff, 41000, '--random-fully does not keep the port');
  // Two pings with identifier 1 to the same host: the second gets another identifier.
  const a = ct.packetIn(IPPROTO_ICMP, ip('10.244.1.2'), dst, 1, 8 << 8, 0) >>> 1;
  natSetup(ct, a, MANIP_SRC, masq, rng);
  ct.confirm(a);
  const b = ct.packetIn(IPPROTO_ICMP, ip('10.244.1.3'), dst, 1, 8 << 8, 0) >>> 1;
  natSetup(ct, b, MANIP_SRC, masq, rng);
  assert.equal(ct.field(a, DIR_REPLY, 2) >>> 16, 1);
  assert.notEqual(ct.field(b, DIR_REPLY, 2) >>> 16, 1);
  assert.ok(ct.confirm(b));
});

test('a full port range fails; the null binding moves a clashing source port without any rule', () => {
  const ct = new Conntrack(() => 0);
  const rng = new Rng(5);
  const node = ip('192.168.50.11');
  const one = { addrMin: node, addrMax: node, portMin: 5000, portMax: 5001 };
  for (let i = 0; i < 2; i++) {
    const s = ct.packetIn(IPPROTO_UDP, ip('10.244.1.2') + i, ip('1.1.1.1'), 9, 53, 0) >>> 1;
    assert.ok(natSetup(ct, s, MANIP_SRC, one, rng));
    assert.ok(ct.confirm(s));
  }
  const s3 = ct.packetIn(IPPROTO_UDP, ip('10.244.1.9'), ip('1.1.1.1'), 9, 53, 0) >>> 1;
  assert.equal(natSetup(ct, s3, MANIP_SRC, one, rng), false, 'no unique tuple left');
  assert.equal(ct.confirm(s3), false, 'the clash drops the packet at confirmation');
  // Two clients DNATed to the same backend with the same source port and address seen
  // (e.g. after SNAT elsewhere) would share a reply tuple: the second moves.
  const x = ct.packetIn(IPPROTO_TCP, ip('10.0.0.1'), ip('10.96.0.1'), 3333, 80, 0x02) >>> 1;
  natSetup(ct, x, MANIP_DST, { addrMin: ip('10.244.1.5'), addrMax: ip('10.244.1.5'), portMin: 8080, portMax: 8080 }, rng);
  assert.ok(natNullBinding(ct, x, rng));
  ct.confirm(x);
  const y = ct.packetIn(IPPROTO_TCP, ip('10.0.0.1'), ip('10.96.0.2'), 3333, 80, 0x02) >>> 1;
  assert.equal(natSetup(ct, y, MANIP_DST, { addrMin: ip('10.244.1.5'), addrMax: ip('10.244.1.5'), portMin: 8080, portMax: 8080 }, rng), false, 'DNAT maps anyway');
  assert.ok(natNullBinding(ct, y, rng));
  assert.notEqual(ct.field(y, DIR_REPLY, 2) & 0xffff, 3333);
  assert.ok(ct.confirm(y), 'no clash at confirm');
});

test('MASQUERADE picks the outgoing device address on the next hop\'s subnet; REDIRECT the incoming device\'s', () => {
  const addrs: Record<string, { addr: number; prefixLen: number; secondary: boolean; scope: string }[]> = {
    lo: [{ addr: ip('127.0.0.1'), prefixLen: 8, secondary: false, scope: 'host' }],
    eth0: [{ addr: ip('10.0.0.5'), prefixLen: 24, secondary: false, scope: 'global' }, { addr: ip('192.168.50.11'), prefixLen: 24, secondary: false, scope: 'global' }],
    cni0: [{ addr: ip('10.244.1.1'), prefixLen: 24, secondary: false, scope: 'global' }],
  };
  const host: NatHost = {
    primaryAddress: (d) => (d === 'cni0' ? ip('10.244.1.1') : undefined),
    addressesOf: (d) => addrs[d] ?? [],
    deviceNames: () => Object.keys(addrs),
    lookupRoute: () => ({ gateway: ip('192.168.50.1') }),
  };
  assert.equal(resolveNatRequest({ kind: 'MASQUERADE', randomFully: true }, host, undefined, 'eth0', ip('8.8.8.8'))?.addrMin, ip('192.168.50.11'));
  assert.equal(resolveNatRequest({ kind: 'MASQUERADE' }, host, undefined, undefined, ip('8.8.8.8')), undefined);
  assert.deepEqual(resolveNatRequest({ kind: 'REDIRECT', portMin: 15001 }, host, 'cni0', undefined, ip('8.8.8.8')), { addrMin: ip('10.244.1.1'), addrMax: ip('10.244.1.1'), portMin: 15001, portMax: 15001 });
  assert.equal(resolveNatRequest({ kind: 'REDIRECT' }, host, undefined, 'lo', ip('8.8.8.8'))?.addrMin, ip('127.0.0.1'));
  assert.deepEqual(resolveNatRequest({ kind: 'DNAT', addrMin: ip('10.244.1.5'), portMin: 80 }, host, 'cni0', undefined, 0), { addrMin: ip('10.244.1.5'), addrMax: ip('10.244.1.5'), portMin: 80, portMax: 80 });
});

test('MASQUERADE out lo: never 127.0.0.1 (scope host) but the first primary global address in device order (inet_select_addr, checked on a real kernel)', () => {
  const addrs: Record<string, { addr: number; prefixLen: number; secondary: boolean; scope: string }[]> = {
    lo: [{ addr: ip('127.0.0.1'), prefixLen: 8, secondary: false, scope: 'host' }, { addr: ip('10.9.9.9'), prefixLen: 32, secondary: false, scope: 'link' }],
    d0p: [],
    d0: [{ addr: ip('10.1.1.9'), prefixLen: 24, secondary: true, scope: 'global' }, { addr: ip('10.1.1.1'), prefixLen: 24, secondary: false, scope: 'global' }],
    d1: [{ addr: ip('10.2.2.2'), prefixLen: 24, secondary: false, scope: 'global' }],
  };
  const host: NatHost = {
    primaryAddress: () => undefined,
    addressesOf: (d) => addrs[d] ?? [],
    deviceNames: () => Object.keys(addrs),
    lookupRoute: () => ({ gateway: undefined }),
  };
  // Real kernel (6.x): with these devices, `-o lo -j MASQUERADE` maps 10.2.2.2 → 10.2.2.2
  // and 127.0.0.1 → 127.0.0.1 both to source 10.1.1.1.
  assert.equal(resolveNatRequest({ kind: 'MASQUERADE' }, host, undefined, 'lo', ip('10.2.2.2'))?.addrMin, ip('10.1.1.1'));
  assert.equal(masqueradeSource(host, 'lo', ip('127.0.0.1')), ip('10.1.1.1'));
  // A global address on lo itself comes first; link-scope ones on the device never.
  addrs['lo']?.push({ addr: ip('10.7.7.7'), prefixLen: 32, secondary: false, scope: 'global' });
  assert.equal(masqueradeSource(host, 'lo', ip('10.2.2.2')), ip('10.7.7.7'));
  // No global address anywhere: no source (the kernel drops: "lo ate my IP address").
  for (const k of Object.keys(addrs)) addrs[k] = (addrs[k] ?? []).filter((a) => a.scope !== 'global');
  assert.equal(resolveNatRequest({ kind: 'MASQUERADE' }, host, undefined, 'lo', ip('10.2.2.2')), undefined);
});
