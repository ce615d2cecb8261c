import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Conntrack, CT_VERDICT_INVALID, DIR_ORIGINAL, DIR_REPLY, CtInResult, IPS_ASSURED, IPS_SEEN_REPLY } from './conntrack.ts';
import { formatEntry, listSummary } from './format.ts';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, invertTuple, icmpTuple } from './tuple.ts';
import { TCP_STATE_NAMES } from './tcp-state.ts';
import { parseIpv4 } from '../../wire/addr.ts';
import { SECOND } from '../../time/scheduler.ts';

const ip = parseIpv4;
const SYN = 0x02;
const SYNACK = 0x12;
const ACK = 0x10;
const FIN = 0x11;
const RST = 0x04;

function clock(): { now: number; ct: Conntrack } {
  const c = { now: 0, ct: undefined as unknown as Conntrack };
  c.ct = new Conntrack(() => c.now, { capacity: 16 });
  return c;
}

test('conntrack -L lines and summary as conntrack-tools 1.4.7 prints them', () => {
  const c = clock();
  const { ct } = c;
  const u = ct.packetIn(IPPROTO_UDP, ip('10.244.1.2'), ip('10.96.0.53'), 53000, 53, 0) >>> 1;
  ct.setReply(u, ip('10.244.2.7'), ip('10.244.1.2'), 53, 53000);
  assert.ok(ct.confirm(u));
  const t = ct.packetIn(IPPROTO_TCP, ip('10.244.1.2'), ip('10.96.0.10'), 40000, 80, SYN) >>> 1;
  ct.setReply(t, ip('10.244.2.3'), ip('10.244.1.2'), 8080, 40000);
  assert.ok(ct.confirm(t));
  assert.equal(ct.packetIn(IPPROTO_TCP, ip('10.244.2.3'), ip('10.244.1.2'), 8080, 40000, SYNACK), t * 2 + DIR_REPLY);
  assert.equal(ct.packetIn(IPPROTO_TCP, ip('10.244.1.2'), ip('10.96.0.10'), 40000, 80, ACK), t * 2 + DIR_ORIGINAL);
  c.now = 0.1 * SECOND;
  const es = ct.entries();
  assert.equal(formatEntry(es[0]!, c.now), 'udp      17 29 src=10.244.1.2 dst=10.96.0.53 sport=53000 dport=53 [UNREPLIED] src=10.244.2.7 dst=10.244.1.2 sport=53 dport=53000 mark=0 use=1');
  assert.equal(formatEntry(es[1]!, c.now), 'tcp      6 431999 ESTABLISHED src=10.244.1.2 dst=10.96.0.10 sport=40000 dport=80 src=10.244.2.3 dst=10.244.1.2 sport=8080 dport=40000 [ASSURED] mark=0 use=1');
  const out = ct.listCommand({ proto: IPPROTO_TCP });
  assert.equal(out.stdout.split('\n').length, 2);
  assert.equal(out.stderr, 'conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.\n');
  assert.equal(listSummary(0), 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been shown.\n');
  assert.match(ct.list({}, { extended: true }), /^ipv4 {5}2 udp {6}17 29 /);
});

test('TCP: the kernel state machine and its timeouts through a whole connection', () => {
  const c = clock();
  const { ct } = c;
  const a = ip('10.0.0.1');
  const b = ip('10.0.0.2');
  const fwd = (flags: number): number => ct.packetIn(IPPROTO_TCP, a, b, 1000, 80, flags);
  const rev = (flags: number): number => ct.packetIn(IPPROTO_TCP, b, a, 80, 1000, flags);
  const s = fwd(SYN) >>> 1;
  ct.confirm(s);
  const state = (): string => `${TCP_STATE_NAMES[ct.tcpStateOf(s)]} ${Math.round((ct.expiresAt(s) - c.now) / SECOND)}`;
  assert.equal(state(), 'SYN_SENT 120');
  assert.equal(fwd(ACK), CT_VERDICT_INVALID, 'an ACK before any SYN+ACK is invalid');
  assert.equal(fwd(SYN), s * 2, 'a retransmitted SYN stays SYN_SENT');
  rev(SYNACK);
  assert.equal(state(), 'SYN_RECV 60');
  assert.equal(rev(SYNACK), s * 2 + 1, 'a retransmitted SYN+ACK is ignored, not invalid');
  fwd(ACK);
  assert.equal(state(), 'ESTABLISHED 432000');
  assert.ok((ct.statusOf(s) & IPS_ASSURED) !== 0);
  fwd(FIN);
  assert.equal(state(), 'FIN_WAIT 120');
  rev(ACK);
  assert.equal(state(), 'CLOSE_WAIT 60');
  rev(FIN);
  assert.equal(state(), 'LAST_ACK 30');
  fwd(ACK);
  assert.equal(state(), 'TIME_WAIT 120');
  c.now += 119 * SECOND;
  assert.ok(ct.find(IPPROTO_TCP, a, b, 1000, 80) >= 0);
  c.now += 2 * SECOND;
  assert.equal(ct.find(IPPROTO_TCP, a, b, 1000, 80), -1, 'gone after TIME_WAIT');
});

test('TCP: new entries only from SYN or (loose pickup) ACK; RST before a reply kills; SYN in TIME_WAIT reopens', () => {
  const c = clock();
  const { ct } = c;
  const a = ip('10.0.0.1');
  const b = ip('10.0.0.2');
  assert.equal(ct.packetIn(IPPROTO_TCP, a, b, 1, 80, FIN), CT_VERDICT_INVALID);
  assert.equal(ct.packetIn(IPPROTO_TCP, a, b, 1, 80, RST), CT_VERDICT_INVALID);
  assert.equal(ct.packetIn(IPPROTO_TCP, a, b, 1, 80, SYNACK), CT_VERDICT_INVALID);
  const mid = ct.packetIn(IPPROTO_TCP, a, b, 2, 80, ACK) >>> 1;
  assert.equal(TCP_STATE_NAMES[ct.tcpStateOf(mid)], 'ESTABLISHED', 'mid-stream pickup (nf_conntrack_tcp_loose=1)');
  ct.confirm(mid);

  const s = ct.packetIn(IPPROTO_TCP, a, b, 3, 80, SYN) >>> 1;
  ct.confirm(s);
  ct.packetIn(IPPROTO_TCP, b, a, 80, 3, RST | ACK);
  assert.equal(ct.find(IPPROTO_TCP, a, b, 3, 80), -1, 'connection refused: the entry is gone at once');

  const t = ct.packetIn(IPPROTO_TCP, a, b, 4, 80, SYN) >>> 1;
  ct.confirm(t);
  for (const [dir, f] of [[1, SYNACK], [0, ACK], [0, FIN], [1, FIN | ACK], [0, ACK]] as const) {
    if (dir === 0) ct.packetIn(IPPROTO_TCP, a, b, 4, 80, f);
    else ct.packetIn(IPPROTO_TCP, b, a, 80, 4, f);
  }
  assert.equal(TCP_STATE_NAMES[ct.tcpStateOf(t)], 'TIME_WAIT');
  const oldId = ct.idOf(t);
  const out = new CtInResult();
  const again = ct.conntrackIn(IPPROTO_TCP, a, b, 4, 80, SYN, 0, out);
  assert.ok(out.created, 'the port is reused: a new entry');
  assert.equal(TCP_STATE_NAMES[out.oldState], 'NONE', 'the new entry had no state before the SYN');
  assert.notEqual(ct.idOf(again >>> 1), oldId);
  assert.equal(TCP_STATE_NAMES[ct.tcpStateOf(again >>> 1)], 'SYN_SENT');
});

test('UDP: 30 s unreplied; a reply alone keeps 30 s without [ASSURED]; traffic after 2 s makes a 120 s stream', () => {
  const c = clock();
  const { ct } = c;
  const a = ip('10.0.0.1');
  const b = ip('10.0.0.2');
  const s = ct.packetIn(IPPROTO_UDP, a, b, 5000, 53, 0) >>> 1;
  ct.confirm(s);
  c.now = 0.5 * SECOND;
  assert.equal(ct.packetIn(IPPROTO_UDP, b, a, 53, 5000, 0), s * 2 + 1);
  assert.ok((ct.statusOf(s) & IPS_SEEN_REPLY) !== 0);
  assert.equal(ct.expiresAt(s), c.now + 30 * SECOND);
  assert.doesNotMatch(ct.list(), /UNREPLIED|ASSURED/, 'a DNS-like exchange: neither flag');
  c.now = 3 * SECOND;
  ct.packetIn(IPPROTO_UDP, a, b, 5000, 53, 0);
  assert.equal(ct.expiresAt(s), c.now + 120 * SECOND);
  assert.match(ct.list(), /^udp {6}17 120 src=10\.0\.0\.1 .* \[ASSURED\] mark=0 use=1$/m);
  c.now += 121 * SECOND;
  assert.equal(ct.size(), 0);
});

test('ICMP echo: the request opens, the reply (type 0) matches in the reply direction; a stray reply is invalid', () => {
  const c = clock();
  const { ct } = c;
  const a = ip('10.0.0.1');
  const b = ip('10.0.0.2');
  assert.equal(ct.packetIn(IPPROTO_ICMP, b, a, 7, 0 << 8, 0), CT_VERDICT_INVALID);
  const s = ct.packetIn(IPPROTO_ICMP, a, b, 7, 8 << 8, 0) >>> 1;
  ct.confirm(s);
  assert.equal(ct.packetIn(IPPROTO_ICMP, b, a, 7, 0, 0), s * 2 + 1);
  assert.equal(ct.list(), 'icmp     1 30 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=7 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=7 mark=0 use=1\n');
  assert.deepEqual(invertTuple(icmpTuple(a, b, 7)), icmpTuple(b, a, 7, 0));
});

test('confirm refuses a clash; kill leaves a dying entry readable until the clock moves', () => {
  const c = clock();
  const { ct } = c;
  const a = ip('10.0.0.1');
  const b = ip('10.0.0.2');
  const s1 = ct.packetIn(IPPROTO_UDP, a, b, 1, 2, 0) >>> 1;
  const s2 = ct.create(IPPROTO_UDP, ip('10.0.0.9'), b, 1, 2);
  ct.setReply(s2, b, a, 2, 1); // a reply tuple equal to s1's
  assert.ok(ct.confirm(s1));
  assert.equal(ct.confirm(s2), false);
  ct.kill(s1);
  assert.equal(ct.find(IPPROTO_UDP, a, b, 1, 2), -1);
  assert.ok(ct.holds(s1, ct.tagOf(s1)), 'still allocated in this instant');
  c.now = 1;
  ct.sweep();
  assert.equal(ct.holds(s1, ct.tagOf(s1)), false);
});

test('deleteByFilter / conntrack -D: by original destination and port, reply source, NAT flags', () => {
  const { ct } = clock();
  const flows: Array<[string, string, number]> = [['10.96.0.10', '10.244.1.5', 5000], ['10.96.0.10', '10.244.1.6', 5001], ['10.96.0.11', '10.244.1.5', 5002]];
  for (const [dst, rs, sport] of flows) {
    const s = ct.packetIn(IPPROTO_UDP, ip('10.244.9.9'), ip(dst), sport, 53, 0) >>> 1;
    ct.setReply(s, ip(rs), ip('10.244.9.9'), 53, sport);
    ct.setStatus(s, 1 << 5);
    ct.confirm(s);
  }
  const t = ct.packetIn(IPPROTO_TCP, ip('10.244.9.9'), ip('10.96.0.10'), 6000, 53, SYN) >>> 1;
  ct.confirm(t);
  assert.equal(ct.size(), 4);
  assert.equal(ct.entries({ dstNat: true }).length, 3);
  assert.equal(ct.deleteByFilter({ proto: IPPROTO_UDP, origDst: ip('10.96.0.10'), replySrc: ip('10.244.1.5') }), 1);
  const d = ct.deleteCommand({ proto: IPPROTO_UDP, origDport: 53 });
  assert.equal(d.stderr, 'conntrack v1.4.7 (conntrack-tools): 2 flow entries have been deleted.\n');
  assert.equal(d.stdout.split('\n').filter((l) => l !== '').length, 2);
  assert.equal(ct.size(), 1);
  assert.equal(ct.entries({ tcpState: 'SYN_SENT' }).length, 1);
});

test('the table grows and rehashes: 20 000 entries all found, counts exact after deletes and expiry', () => {
  const c = clock();
  const { ct } = c;
  const n = 20000;
  for (let i = 0; i < n; i++) ct.confirm(ct.packetIn(IPPROTO_UDP, 0x0a000000 + i, ip('10.96.0.10'), 1024 + (i % 60000), 53, 0) >>> 1);
  assert.equal(ct.count, n);
  for (let i = 0; i < n; i += 97) {
    const r = ct.find(IPPROTO_UDP, ip('10.96.0.10'), 0x0a000000 + i, 53, 1024 + (i % 60000));
    assert.ok(r >= 0 && (r & 1) === DIR_REPLY, `reply of flow ${i}`);
  }
  assert.equal(ct.deleteByFilter({ origSrc: 0x0a000005 }), 1);
  assert.equal(ct.size(), n - 1);
  assert.ok(ct.bytesAllocated() / n < 160, `${(ct.bytesAllocated() / n).toFixed(0)} bytes per entry`);
  c.now = 31 * SECOND;
  assert.equal(ct.size(), 0);
});

test('property: the table agrees with a Map model under random inserts, kills and lookups', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom('add', 'kill', 'find'), fc.integer({ min: 0, max: 40 })), { maxLength: 300 }), (ops) => {
    const { ct } = clock();
    const model = new Map<number, number>();
    for (const [op, k] of ops) {
      const src = 0x0a000000 + k;
      if (op === 'add') {
        const out = new CtInResult();
        const r = ct.conntrackIn(IPPROTO_UDP, src, 0x0a600001, 1000 + k, 53, 0, 0, out);
        assert.equal(out.created, !model.has(k));
        if (!model.has(k)) {
          ct.confirm(r >>> 1);
          model.set(k, r >>> 1);
        } else assert.equal(r >>> 1, model.get(k));
      } else if (op === 'kill') {
        const s = model.get(k);
        if (s !== undefined) ct.kill(s);
        model.delete(k);
      } else {
        const r = ct.find(IPPROTO_UDP, 0x0a600001, src, 53, 1000 + k);
        assert.equal(r >= 0, model.has(k));
      }
    }
    assert.equal(ct.count, model.size);
  }), { numRuns: 150 });
});
