/**
 * Underlay packets in the verifier: flannel's encapsulations opened up (netsim/wire/encap.ts),
 * attributed to the probe their inner packet is (attribution.ts) and compared field by
 * field with only the VXLAN flow-hash source port masked (compare.ts); the
 * `flannel-proxy` node view read as the twin's proxy arguments (twin.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decapsulate } from '../../netsim/wire/encap.ts';
import { ProbeIndex } from './attribution.ts';
import { observationSignature } from './compare.ts';
import { probeBytes } from './probe.ts';
import type { Probe } from './probe.ts';
import { parseFlannelProxyView } from './twin.ts';
import { buildIpv4Udp } from '../../netsim/wire/build.ts';
import { emitVxlan } from '../../netsim/wire/vxlan.ts';
import { writeU16, writeU48 } from '../../netsim/wire/field.ts';
import { parseIpv4 } from '../../netsim/wire/addr.ts';
import { internetChecksum, pseudoHeaderSum } from '../../netsim/wire/checksum.ts';

const probe: Probe = { suite: 'pod-remote', group: 'pod-remote/0', description: 'udp', from: 'default/a', src: parseIpv4('10.244.1.3'), dst: parseIpv4('10.244.2.2'), proto: 'udp', dport: 80, ttl: 64, index: 3, sport: 20003, ipId: 0xa003 };
const node1 = parseIpv4('192.168.50.11');
const node2 = parseIpv4('192.168.50.12');

function vxlan(inner: Uint8Array, o: { sport?: number; ttl?: number; dst?: number; vni?: number } = {}): Uint8Array {
  const payload = new Uint8Array(8 + 14 + inner.length);
  emitVxlan({ vni: o.vni ?? 1 }, payload, 0);
  writeU48(payload, 8, 0x1a7df111c1b2);
  writeU48(payload, 14, 0xeefbbf328b9f);
  writeU16(payload, 20, 0x0800);
  payload.set(inner, 22);
  return buildIpv4Udp({ src: node1, dst: o.dst ?? node2, ttl: o.ttl ?? 64, ident: 0x4321, dontFrag: false }, { srcPort: o.sport ?? 40311, dstPort: 8472 }, payload);
}

function ipInUdp(inner: Uint8Array, sport = 8285): Uint8Array {
  return buildIpv4Udp({ src: node1, dst: node2, ttl: 64, ident: 0x77, dontFrag: true }, { srcPort: sport, dstPort: 8285 }, inner);
}

const sig = (b: Uint8Array): string => observationSignature({ where: 'egress:eth0', bytes: b }, probe, new Set([80]));

test('an underlay packet is opened to its inner packet: VXLAN (VNI, inner MACs) and flannel\'s IP-in-UDP; other UDP is not', () => {
  const inner = probeBytes(probe);
  const v = decapsulate(vxlan(inner, { vni: 7 }));
  assert.equal(v?.kind, 'vxlan');
  assert.equal(v?.vni, 7);
  assert.equal(v?.innerDstMac, 0x1a7df111c1b2);
  assert.deepEqual(v?.inner, inner);
  assert.deepEqual(decapsulate(ipInUdp(inner))?.inner, inner);
  assert.equal(decapsulate(inner), undefined);
  assert.equal(decapsulate(buildIpv4Udp({ src: node1, dst: node2, ttl: 64, ident: 1 }, { srcPort: 1, dstPort: 8285 }, new Uint8Array(8))), undefined, 'no IPv4 packet inside');
});

test('decapsulate never throws and never reads past its bytes (fast-check: truncations and random bytes)', () => {
  const whole = vxlan(probeBytes(probe));
  fc.assert(fc.property(fc.nat(whole.length), fc.uint8Array({ maxLength: 120 }), (cut, junk) => {
    decapsulate(whole.subarray(0, cut));
    const mixed = new Uint8Array([...whole.subarray(0, cut), ...junk]);
    const r = decapsulate(mixed);
    if (r !== undefined) assert.ok(r.inner.byteOffset + r.inner.length <= mixed.byteOffset + mixed.length);
  }));
});

test('an encapsulated packet is attributed to the probe its inner packet is, whatever the outer id and ports', () => {
  const idx = new ProbeIndex<{ probe: Probe }>();
  const slot = { probe };
  idx.add(slot);
  assert.equal(idx.find(vxlan(probeBytes(probe))), slot);
  assert.equal(idx.find(ipInUdp(probeBytes(probe))), slot);
  assert.equal(idx.find(vxlan(probeBytes({ ...probe, ipId: 0xbeef, sport: 999 }))), undefined);
});

test('underlay signatures: the VXLAN source port (a keyed flow hash) is masked; outer TTL, destination, VNI, an IP-in-UDP port and the inner packet are not', () => {
  const inner = probeBytes(probe);
  const a = sig(vxlan(inner));
  assert.match(a, /udp flow-hash>8472 .* vxlan vni 1 eth ee:fb:bf:32:8b:9f>1a:7d:f1:11:c1:b2 \|\| 10\.244\.1\.3>10\.244\.2\.2 .* id \$ipid .* udp \$sport>80/);
  assert.equal(sig(vxlan(inner, { sport: 55555 })), a);
  assert.notEqual(sig(vxlan(inner, { sport: 80 })), a, 'a port below 1024 is no flow hash');
  assert.notEqual(sig(vxlan(inner, { ttl: 63 })), a);
  assert.notEqual(sig(vxlan(inner, { dst: parseIpv4('192.168.50.13') })), a);
  assert.notEqual(sig(vxlan(inner, { vni: 2 })), a);
  const ttlInner = probeBytes({ ...probe, ttl: 63 });
  assert.notEqual(sig(vxlan(ttlInner)), a);
  assert.match(sig(ipInUdp(inner)), /udp 8285>8285 .* ip-in-udp \|\|/);
  assert.notEqual(sig(ipInUdp(inner, 8286)), sig(ipInUdp(inner)));
});

test('an outer checksum left to the device (CHECKSUM_PARTIAL: the pseudo-header sum) compares as computed; a wrong one does not', () => {
  const full = vxlan(probeBytes(probe));
  const partial = full.slice();
  const l4len = partial.length - 20;
  writeU16(partial, 26, pseudoHeaderSum(node1, node2, 17, l4len));
  assert.notEqual(internetChecksum(partial, 20, l4len, pseudoHeaderSum(node1, node2, 17, l4len)), 0);
  assert.equal(sig(partial), sig(full));
  const wrong = full.slice();
  wrong[27] = (wrong[27] ?? 0) ^ 0x10;
  assert.match(sig(wrong), /csum BAD vxlan/);
});

test('the flannel-proxy node view is read as the twin proxy\'s socket and lease routes; a malformed view is an error', () => {
  const spec = parseFlannelProxyView('flannel0', parseIpv4('10.244.1.0'), 'listen 192.168.50.11:8285\n10.244.2.0/24 → 192.168.50.12:8285\n10.244.3.0/24 → 192.168.50.13:8285\n');
  assert.deepEqual(spec, { tun: 'flannel0', tunAddr: '10.244.1.0', bindAddr: '192.168.50.11', port: 8285, routes: ['10.244.2.0/24=192.168.50.12', '10.244.3.0/24=192.168.50.13'] });
  assert.throws(() => parseFlannelProxyView('flannel0', 0, '10.244.2.0/24 → 192.168.50.12:8285\n'), /no listen line/);
  assert.throws(() => parseFlannelProxyView('flannel0', 0, 'listen 1.2.3.4:1\nnonsense\n'), /bad route line/);
});
