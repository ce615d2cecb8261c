/**
 * The real conntrack-tools as the oracle for `conntrack -L`: where the machine allows
 * (root, `ip netns`, `conntrack`), the same entries are inserted into a private
 * network namespace's kernel table with `conntrack -I` and into ours by driving
 * packets through the state machines; the listings must agree line for line
 * (seconds left aside: the kernel's clock ticks between insert and list). Skipped
 * with a printed reason elsewhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Conntrack } from './conntrack.ts';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from './tuple.ts';
import { parseIpv4 } from '../../wire/addr.ts';

const ip = parseIpv4;
const NS = `netsim-ct-oracle-${process.pid}`;

function can(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (spawnSync('conntrack', ['--version']).status !== 0) return 'conntrack (conntrack-tools) not installed';
  if (spawnSync('ip', ['netns', 'add', NS]).status !== 0) return 'cannot create a network namespace';
  return undefined;
}

const INSERTS = [
  '-p tcp -s 10.244.1.2 -d 10.96.0.10 --sport 40000 --dport 80 -r 10.244.2.3 -q 10.244.1.2 --reply-port-src 8080 --reply-port-dst 40000 --state ESTABLISHED -u SEEN_REPLY,ASSURED -t 432000',
  '-p udp -s 10.244.1.2 -d 10.96.0.53 --sport 53000 --dport 53 -r 10.244.2.7 -q 10.244.1.2 --reply-port-src 53 --reply-port-dst 53000 -t 30',
  '-p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 1000 --dport 80 --state TIME_WAIT -u SEEN_REPLY,ASSURED -t 120',
  '-p udp -s 10.0.0.1 -d 10.0.0.2 --sport 5000 --dport 53 -t 30 -u SEEN_REPLY',
  '-p icmp -s 10.0.0.1 -d 10.0.0.2 --icmp-type 8 --icmp-code 0 --icmp-id 7 -t 30',
  '-p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 1001 --dport 80 --state SYN_SENT -t 120 -m 16384',
];

function ours(): string[] {
  const now = 0;
  const ct = new Conntrack(() => now);
  const a = ip('10.0.0.1');
  const b = ip('10.0.0.2');
  // 1: DNATed TCP, handshake done.
  const t = ct.packetIn(IPPROTO_TCP, ip('10.244.1.2'), ip('10.96.0.10'), 40000, 80, 0x02) >>> 1;
  ct.setReply(t, ip('10.244.2.3'), ip('10.244.1.2'), 8080, 40000);
  ct.confirm(t);
  ct.packetIn(IPPROTO_TCP, ip('10.244.2.3'), ip('10.244.1.2'), 8080, 40000, 0x12);
  ct.packetIn(IPPROTO_TCP, ip('10.244.1.2'), ip('10.96.0.10'), 40000, 80, 0x10);
  // 2: DNATed UDP, unanswered.
  const u = ct.packetIn(IPPROTO_UDP, ip('10.244.1.2'), ip('10.96.0.53'), 53000, 53, 0) >>> 1;
  ct.setReply(u, ip('10.244.2.7'), ip('10.244.1.2'), 53, 53000);
  ct.confirm(u);
  // 3: TCP closed to TIME_WAIT.
  ct.confirm(ct.packetIn(IPPROTO_TCP, a, b, 1000, 80, 0x02) >>> 1);
  for (const [fwd, f] of [[false, 0x12], [true, 0x10], [true, 0x11], [false, 0x11], [true, 0x10]] as const) {
    if (fwd) ct.packetIn(IPPROTO_TCP, a, b, 1000, 80, f);
    else ct.packetIn(IPPROTO_TCP, b, a, 80, 1000, f);
  }
  // 4: UDP answered once.
  ct.confirm(ct.packetIn(IPPROTO_UDP, a, b, 5000, 53, 0) >>> 1);
  ct.packetIn(IPPROTO_UDP, b, a, 53, 5000, 0);
  // 5: ping without answer.
  ct.confirm(ct.packetIn(IPPROTO_ICMP, a, b, 7, 8 << 8, 0) >>> 1);
  // 6: SYN with a mark.
  const m = ct.packetIn(IPPROTO_TCP, a, b, 1001, 80, 0x02) >>> 1;
  ct.setMark(m, 16384);
  ct.confirm(m);
  return ct.list().trimEnd().split('\n');
}

const noSeconds = (l: string): string => l.replace(/^(\S+ +\d+) \d+ /, '$1 _ ');

test('conntrack -L matches the real conntrack-tools for the same entries', (t) => {
  const why = can();
  if (why !== undefined) {
    t.skip(`real conntrack oracle skipped: ${why}`);
    return;
  }
  try {
    for (const args of INSERTS) {
      const r = spawnSync('ip', ['netns', 'exec', NS, 'conntrack', '-I', ...args.split(' ')], { encoding: 'utf8' });
      assert.equal(r.status, 0, `conntrack -I ${args}: ${r.stderr}`);
    }
    const real = spawnSync('ip', ['netns', 'exec', NS, 'conntrack', '-L'], { encoding: 'utf8' });
    assert.equal(real.status, 0, real.stderr);
    assert.equal(real.stderr, `conntrack v1.4.7 (conntrack-tools): ${INSERTS.length} flow entries have been shown.\n`);
    const theirs = real.stdout.trimEnd().split('\n').map(noSeconds).sort();
    assert.deepEqual(ours().map(noSeconds).sort(), theirs);
  } finally {
    spawnSync('ip', ['netns', 'del', NS]);
  }
});
