import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProbeIndex } from './attribution.ts';
import { probeBytes } from './probe.ts';
import type { Probe } from './probe.ts';
import { parseIpv4 } from '../../netsim/wire/addr.ts';
import { buildIpv4Icmp, buildIpv4Tcp, buildIpv4Udp } from '../../netsim/wire/build.ts';
import { TcpFlags } from '../../netsim/wire/tcp.ts';

const base: Omit<Probe, 'index' | 'sport' | 'ipId' | 'proto' | 'dport'> = { suite: 's', group: 'g', description: 'd', from: 'default/a', src: parseIpv4('10.244.1.2'), dst: parseIpv4('10.96.0.10'), ttl: 64 };
const tcp: Probe = { ...base, index: 0, proto: 'tcp', dport: 80, sport: 20000, ipId: 0xa000 };
const udp: Probe = { ...base, index: 1, proto: 'udp', dport: 53, sport: 20001, ipId: 0xa001 };
const icmp: Probe = { ...base, index: 2, proto: 'icmp', dport: 0, sport: 20002, ipId: 0xa002 };

function index(): ProbeIndex<{ probe: Probe }> {
  const ix = new ProbeIndex<{ probe: Probe }>();
  for (const probe of [tcp, udp, icmp]) ix.add({ probe });
  return ix;
}

test('packets are attributed to their probe by content: the probe forwarded and NATed, answers, errors quoting it', () => {
  const ix = index();
  // The probe itself after DNAT and a masquerade: other addresses and ports, same IP id.
  const natted = probeBytes({ ...tcp, src: parseIpv4('192.168.50.11'), dst: parseIpv4('10.244.2.7'), sport: 61000, dport: 8080 });
  assert.equal(ix.find(natted)?.probe, tcp);
  // A RST in answer (an id of the kernel's choosing that happens to be another probe's).
  const rst = buildIpv4Tcp({ src: tcp.dst, dst: tcp.src, ident: udp.ipId }, { srcPort: 80, dstPort: tcp.sport, seq: 0, ack: 1, flags: TcpFlags.RST | TcpFlags.ACK, window: 0 }, new Uint8Array(0));
  assert.equal(ix.find(rst)?.probe, tcp);
  // ICMP port unreachable quoting the UDP probe, and host unreachable quoting the echo request.
  const quote = (p: Probe): Uint8Array => probeBytes(p).subarray(0, 28);
  assert.equal(ix.find(buildIpv4Icmp({ src: parseIpv4('10.244.1.1'), dst: udp.src, ident: 7 }, { type: 'dest-unreachable', code: 3, original: quote(udp) }))?.probe, udp);
  assert.equal(ix.find(buildIpv4Icmp({ src: parseIpv4('10.244.1.1'), dst: icmp.src, ident: 8 }, { type: 'dest-unreachable', code: 1, original: quote(icmp) }))?.probe, icmp);
  // An echo reply by its id; a UDP answer from the service port.
  assert.equal(ix.find(buildIpv4Icmp({ src: icmp.dst, dst: icmp.src, ident: 9 }, { type: 'echo-reply', ident: icmp.sport, seq: 1, data: new Uint8Array(4) }))?.probe, icmp);
  assert.equal(ix.find(buildIpv4Udp({ src: udp.dst, dst: udp.src, ident: 10 }, { srcPort: 53, dstPort: udp.sport }, new Uint8Array(3)))?.probe, udp);
});

test('strays belong to no probe: unknown ids, a matching id of another protocol, answers from a port the probe did not use', () => {
  const ix = index();
  assert.equal(ix.find(buildIpv4Udp({ src: parseIpv4('10.0.0.1'), dst: parseIpv4('10.0.0.2'), ident: 0x1234 }, { srcPort: 5353, dstPort: 5353 }, new Uint8Array(0))), undefined);
  assert.equal(ix.find(buildIpv4Udp({ src: parseIpv4('10.0.0.1'), dst: parseIpv4('10.0.0.2'), ident: tcp.ipId }, { srcPort: 1, dstPort: 2 }, new Uint8Array(0))), undefined, 'the TCP probe\'s id on a UDP packet');
  assert.equal(ix.find(buildIpv4Tcp({ src: tcp.dst, dst: tcp.src, ident: 1 }, { srcPort: 443, dstPort: tcp.sport, seq: 0, ack: 0, flags: TcpFlags.RST, window: 0 }, new Uint8Array(0))), undefined);
  assert.equal(ix.find(new Uint8Array(10)), undefined);
});
