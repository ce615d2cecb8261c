/**
 * Probe signatures (compare.ts) over every packet shape verify meets, and every
 * truncation of each: the text is pinned by a hash taken before compare.ts read its
 * headers through wire/'s accessors instead of raw offsets, so that change (and any
 * later one) cannot move a signature unnoticed. A few are spelled out to show what
 * the hash covers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { observationSignature } from './compare.ts';
import { probeBytes, PROBE_SEQ } from './probe.ts';
import type { Probe } from './probe.ts';
import { buildIpv4Icmp, buildIpv4Tcp, buildIpv4Udp } from '../../netsim/wire/build.ts';
import { TcpFlags } from '../../netsim/wire/tcp.ts';
import { parseIpv4 } from '../../netsim/wire/addr.ts';

const base: Probe = { suite: 'pod-pod', group: 'pod-pod/0', description: 'udp', from: 'default/a', src: parseIpv4('10.244.1.3'), dst: parseIpv4('10.244.2.2'), proto: 'udp', dport: 53, ttl: 64, index: 3, sport: 20003, ipId: 0xa003 };
const probes: Probe[] = [base, { ...base, proto: 'tcp', dport: 80 }, { ...base, proto: 'icmp', dport: 0 }];

function packets(p: Probe): Uint8Array[] {
  const sent = probeBytes(p);
  const back = { src: p.dst, dst: p.src, ttl: 63, ident: 0x1234, tos: 0xc0, dontFrag: false };
  const bad = probeBytes(p);
  bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0xff; // transport checksum no longer verifies
  const badIp = probeBytes(p);
  badIp[10] = (badIp[10] ?? 0) ^ 0x01;
  return [
    sent, bad, badIp,
    buildIpv4Udp({ ...back, dontFrag: true }, { srcPort: 53, dstPort: p.sport }, new Uint8Array([1, 2, 3, 4, 5])),
    buildIpv4Udp(back, { srcPort: 40000, dstPort: 7 }, new Uint8Array(0)),
    buildIpv4Tcp(back, { srcPort: 80, dstPort: p.sport, seq: 77, ack: PROBE_SEQ + 1, flags: TcpFlags.SYN | TcpFlags.ACK, window: 64240 }, new Uint8Array([9, 9])),
    buildIpv4Tcp(back, { srcPort: 80, dstPort: p.sport, seq: 0, ack: PROBE_SEQ + 1, flags: TcpFlags.RST | TcpFlags.ACK, window: 0 }, new Uint8Array(0)),
    buildIpv4Icmp(back, { type: 'echo-reply', ident: p.sport, seq: 1, data: new Uint8Array([1, 2]) }),
    buildIpv4Icmp(back, { type: 'echo-request', ident: 999, seq: 2, data: new Uint8Array(0) }),
    buildIpv4Icmp(back, { type: 'dest-unreachable', code: 3, original: sent }),
    buildIpv4Icmp(back, { type: 'dest-unreachable', code: 4, nextHopMtu: 1450, original: sent }),
    buildIpv4Icmp(back, { type: 'time-exceeded', code: 0, original: sent.subarray(0, 28) }),
    buildIpv4Icmp(back, { type: 'other', icmpType: 13, code: 0, rest: new Uint8Array(4) }),
  ];
}

function allSignatures(): string[] {
  const out: string[] = [];
  const known = new Set([53, 80]);
  for (const p of probes) {
    for (const pkt of packets(p)) {
      // Every prefix: the reads past a short header must stay behind the length checks.
      for (let n = pkt.length; n >= 0; n--) out.push(observationSignature({ where: 'w', bytes: pkt.subarray(0, n) }, p, known));
    }
  }
  return out;
}

test('signatures of every packet shape and every truncation are unchanged (pinned by hash)', () => {
  const sigs = allSignatures();
  const hash = createHash('sha256').update(sigs.join('\n')).digest('hex');
  assert.equal(`${sigs.length} ${hash}`, '1702 187a75bc5fcd3b6e4eb02fee8aaea8c489778fce5dd9f198f2b9ffb7fb9bf4d5');
});

test('signatures spelled out: a UDP probe, a TCP SYN-ACK, an ICMP fragmentation-needed with its quote', () => {
  const [udp, tcp] = probes as [Probe, Probe, Probe];
  const sigs = (p: Probe): string[] => packets(p).map((b) => observationSignature({ where: 'w', bytes: b }, p, new Set([53, 80])));
  assert.equal(sigs(udp)[0], 'w: 10.244.1.3>10.244.2.2 tos 0x0 len 44 DF ttl 64 id $ipid ipcsum ok | udp $sport>53 ulen 24 csum ok data probe');
  assert.equal(sigs(tcp)[5], 'w: 10.244.2.2>10.244.1.3 tos 0xc0 len 42 ttl 63 id gen ipcsum ok | tcp 80>$sport flags 0x12 seq 77 ack $seq+1 win 64240 hdr 20 csum ok data 2B:0909');
  assert.equal(sigs(udp)[10], 'w: 10.244.2.2>10.244.1.3 tos 0xc0 len 72 ttl 63 id gen ipcsum ok | icmp 3/4 mtu 1450 csum ok quote 44B [10.244.1.3>10.244.2.2 tos 0x0 len 44 DF ttl 64 id $ipid ipcsum ok | udp $sport>53 ulen 24 csum quoted]');
});
