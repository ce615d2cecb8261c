/**
 * Namespaces sharing their sets (share.ts) show what namespaces of their own show:
 * random restores (good and bad lines, swaps, flushes, destroys) and direct edits, in
 * any order across three namespaces, leave every namespace's `ipset save`, `ipset
 * list`, packet lookups, errors and generation as a namespace without a share has
 * them; a change to a shared set in one namespace is not seen by another; and the
 * share engaged (namespaces restoring the same lines hold the same set).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ipsets } from './ipset.ts';
import { IpsetShare } from './share.ts';
import { Packet } from '../packet/packet.ts';
import { buildIpv4Tcp } from '../wire/build.ts';
import { parseIpv4 } from '../wire/addr.ts';

function tcp(dst: string, dport: number): Packet {
  const b = buildIpv4Tcp({ src: parseIpv4('10.244.1.5'), dst: parseIpv4(dst) }, { srcPort: 40000, dstPort: dport, seq: 0, ack: 0, flags: 2, window: 1 }, new Uint8Array(0));
  return new Packet(1, b, 0, b.length);
}

const LINES = [
  'create A hash:ip,port family inet hashsize 1024 maxelem 65536 -exist',
  'create A hash:ip,port family inet hashsize 1024 maxelem 65536',
  'create B hash:ip,port family inet hashsize 1024 maxelem 65536 -exist',
  'create P bitmap:port range 0-65535 -exist',
  'add A 10.96.0.1,tcp:80 -exist',
  'add A 10.96.0.2,tcp:80',
  'add A 10.96.0.3,udp:53 -exist',
  'del A 10.96.0.1,tcp:80 -exist',
  'del A 10.96.0.2,tcp:80',
  'add B 10.96.0.1,tcp:80 -exist',
  'add B not-an-element',
  'add P 30080 -exist',
  'del P 30080',
  'flush A',
  'swap A B',
  'destroy P',
];

type Op = { kind: 'restore'; lines: string[] } | { kind: 'add' | 'del'; set: string; elem: string };

/** Restores the namespaces repeat (as kube-proxies do), so that they share sets. */
const SCRIPTS = [
  [LINES[0], LINES[2], LINES[4], LINES[5]],
  [LINES[0], LINES[3], LINES[6], LINES[11]],
  [LINES[0], LINES[2], LINES[9], LINES[7]],
  [LINES[14]],
  [LINES[13], LINES[4]],
].map((l) => l as string[]);

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('restore' as const), lines: fc.constantFrom(...SCRIPTS) }),
  fc.record({ kind: fc.constant('restore' as const), lines: fc.array(fc.constantFrom(...LINES), { minLength: 1, maxLength: 5 }) }),
  fc.record({ kind: fc.constantFrom('add' as const, 'del' as const), set: fc.constantFrom('A', 'B'), elem: fc.constantFrom('10.96.0.1,tcp:80', '10.96.0.9,tcp:80') }),
);

function run(sets: Ipsets, o: Op): string {
  try {
    if (o.kind === 'restore') sets.restore(`${o.lines.join('\n')}\n`);
    else if (o.kind === 'add') sets.add(o.set, o.elem, { exist: true });
    else sets.del(o.set, o.elem, { exist: true });
    return 'ok';
  } catch (e) {
    return (e as Error).message;
  }
}

function view(sets: Ipsets): string[] {
  const probes = [tcp('10.96.0.1', 80), tcp('10.96.0.3', 53), tcp('10.96.0.9', 80)];
  return [sets.save(), sets.list(), String(sets.generation), ...['A', 'B'].flatMap((n) => probes.map((p) => String(sets.test(n, p, ['dst', 'dst']))))];
}

test('property: namespaces sharing sets end as namespaces of their own, whatever each does', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(2), op), { minLength: 1, maxLength: 25 }), (steps) => {
    const share = new IpsetShare();
    const shared = [new Ipsets(share), new Ipsets(share), new Ipsets(share)];
    const own = [new Ipsets(), new Ipsets(), new Ipsets()];
    for (const [who, o] of steps) {
      assert.equal(run(shared[who] as Ipsets, o), run(own[who] as Ipsets, o));
      for (let i = 0; i < 3; i++) assert.deepEqual(view(shared[i] as Ipsets), view(own[i] as Ipsets));
    }
  }), { numRuns: 300 });
});

test('namespaces restoring the same lines hold one set; a change in one is not seen by the other', () => {
  const share = new IpsetShare();
  const [a, b] = [new Ipsets(share), new Ipsets(share)];
  const text = 'create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536 -exist\nadd KUBE-CLUSTER-IP 10.96.0.1,tcp:80 -exist\nadd KUBE-CLUSTER-IP 10.96.0.2,tcp:80 -exist\n';
  a.restore(text);
  b.restore(text);
  assert.equal(share.stats().hits, 1);
  const members = (s: Ipsets): unknown => (s as unknown as { sets: Map<string, { members: unknown }> }).sets.get('KUBE-CLUSTER-IP')?.members;
  assert.equal(members(a), members(b));
  b.add('KUBE-CLUSTER-IP', '10.96.0.3,tcp:80');
  assert.notEqual(members(a), members(b));
  assert.equal(a.testElement('KUBE-CLUSTER-IP', '10.96.0.3,tcp:80'), false);
  assert.equal(b.testElement('KUBE-CLUSTER-IP', '10.96.0.3,tcp:80'), true);
  // The next restore of the same lines from the same set is shared again.
  const more = 'add KUBE-CLUSTER-IP 10.96.0.4,tcp:80 -exist\n';
  a.restore(more);
  const c = new Ipsets(share);
  c.restore(text);
  c.restore(more);
  assert.equal(members(c), members(a));
});

test('a swap names two sets: the sets it leaves are not taken from another namespace whose other set differed', () => {
  const share = new IpsetShare();
  const [a, b, own] = [new Ipsets(share), new Ipsets(share), new Ipsets()];
  const setup = 'create A hash:ip,port -exist\ncreate B hash:ip,port -exist\nadd A 10.96.0.1,tcp:80 -exist\n';
  for (const s of [a, b, own]) s.restore(setup);
  for (const s of [b, own]) s.add('B', '10.96.0.9,tcp:80');
  a.restore('swap A B\n');
  for (const s of [b, own]) s.restore('swap A B\n');
  assert.equal(b.save(), own.save());
  assert.equal(b.testElement('A', '10.96.0.9,tcp:80'), true);
});
