import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ipsets, IpsetError } from './ipset.ts';
import { Packet } from '../packet/packet.ts';
import { buildIpv4Tcp } from '../wire/build.ts';
import { parseIpv4 } from '../wire/addr.ts';
import { Iptables } from '../netfilter/iptables/iptables.ts';
import { IptablesError } from '../netfilter/iptables/errors.ts';
import { Rng } from '../time/rng.ts';
import { CT_NEW } from '../netfilter/eval-types.ts';

function tcp(src: string, dst: string, sport: number, dport: number): Packet {
  const b = buildIpv4Tcp({ src: parseIpv4(src), dst: parseIpv4(dst) }, { srcPort: sport, dstPort: dport, seq: 0, ack: 0, flags: 2, window: 1 }, new Uint8Array(0));
  return new Packet(1, b, 0, b.length);
}

const kubeIpvsSets = [
  'create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536',
  'create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536',
  'create KUBE-NODE-PORT-TCP bitmap:port range 0-65535',
  'create KUBE-NODE-PORT-LOCAL-SCTP-HASH hash:ip,port family inet hashsize 1024 maxelem 65536',
  'create KUBE-LOAD-BALANCER-SOURCE-CIDR hash:ip,port,net family inet hashsize 1024 maxelem 65536',
  'add KUBE-CLUSTER-IP 10.96.0.10,tcp:80',
  'add KUBE-LOOP-BACK 10.244.1.5,tcp:8080,10.244.1.5',
  'add KUBE-NODE-PORT-TCP 30000',
  'add KUBE-LOAD-BALANCER-SOURCE-CIDR 203.0.113.7,tcp:80,198.51.100.0/24',
  '',
].join('\n');

test('kube-proxy IPVS-mode sets: restore, membership by direction flags, save round trip', () => {
  const s = new Ipsets();
  s.restore(kubeIpvsSets);
  assert.equal(s.test('KUBE-CLUSTER-IP', tcp('10.244.1.2', '10.96.0.10', 4000, 80), ['dst', 'dst']), true);
  assert.equal(s.test('KUBE-CLUSTER-IP', tcp('10.244.1.2', '10.96.0.10', 4000, 81), ['dst', 'dst']), false);
  assert.equal(s.test('KUBE-LOOP-BACK', tcp('10.244.1.5', '10.244.1.5', 4000, 8080), ['dst', 'dst', 'src']), true);
  assert.equal(s.test('KUBE-LOOP-BACK', tcp('10.244.1.6', '10.244.1.5', 4000, 8080), ['dst', 'dst', 'src']), false);
  assert.equal(s.test('KUBE-NODE-PORT-TCP', tcp('1.2.3.4', '192.168.50.11', 4000, 30000), ['dst']), true);
  assert.equal(s.test('KUBE-LOAD-BALANCER-SOURCE-CIDR', tcp('198.51.100.9', '203.0.113.7', 4000, 80), ['dst', 'dst', 'src']), true);
  assert.equal(s.test('KUBE-LOAD-BALANCER-SOURCE-CIDR', tcp('198.51.101.9', '203.0.113.7', 4000, 80), ['dst', 'dst', 'src']), false);
  const again = new Ipsets();
  again.restore(s.save());
  assert.equal(again.save(), s.save());
  assert.match(s.list('KUBE-CLUSTER-IP'), /^Name: KUBE-CLUSTER-IP\nType: hash:ip,port\nRevision: 7\nHeader: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x[0-9a-f]{8}\nSize in memory: 264\nReferences: 0\nNumber of entries: 1\nMembers:\n10\.96\.0\.10,tcp:80\n$/);
});

test('-m set in iptables: rules match through the sets; restoring a rule naming a missing set fails', () => {
  const sets = new Ipsets();
  sets.restore(kubeIpvsSets);
  const ipt = new Iptables();
  ipt.setExists = (n) => sets.has(n);
  ipt.restore('*nat\n:KUBE-MARK-MASQ - [0:0]\n-A PREROUTING ! -s 10.244.0.0/16 -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ\n-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000\nCOMMIT\n');
  const ctx = { hook: 'PREROUTING' as const, inDev: 'eth0', outDev: undefined, now: 0, rng: new Rng(1), ctState: CT_NEW, addrType: () => 'UNICAST' as const, ipsets: sets };
  const outside = tcp('192.168.50.99', '10.96.0.10', 1, 80);
  ipt.evaluate('nat', outside, ctx);
  assert.equal(outside.mark, 0x4000, 'an off-cluster source reaching a ClusterIP in the set is marked');
  const pod = tcp('10.244.1.2', '10.96.0.10', 1, 80);
  ipt.evaluate('nat', pod, ctx);
  assert.equal(pod.mark, 0);
  const other = tcp('192.168.50.99', '10.96.0.11', 1, 80);
  ipt.evaluate('nat', other, ctx);
  assert.equal(other.mark, 0, 'not in the set');
  assert.throws(() => ipt.restore('*nat\n-A PREROUTING -m set --match-set NOPE dst -j ACCEPT\nCOMMIT\n'), (e: unknown) => e instanceof IptablesError && e.code === 'IPT_NO_SET' && e.line === 2);
});

test('errors: codes and lines; a failed restore changes nothing', () => {
  const s = new Ipsets();
  s.restore('create A hash:ip\nadd A 10.0.0.1\n');
  const before = s.save();
  const cases: Array<[string, string]> = [
    ['create B hash:nope', 'IPSET_BAD_TYPE'], ['add A 10.0.0.300', 'IPSET_BAD_ELEMENT'], ['add Z 1.2.3.4', 'IPSET_NO_SET'],
    ['create A hash:ip', 'IPSET_EXISTS'], ['add A 10.0.0.1', 'IPSET_ELEMENT_EXISTS'], ['frobnicate A', 'IPSET_PARSE'],
  ];
  for (const [text, code] of cases) {
    assert.throws(() => s.restore(`add A 10.0.0.9\n${text}\n`), (e: unknown) => e instanceof IpsetError && e.code === code && e.line === 2, text);
    assert.equal(s.save(), before);
  }
  s.restore('add A 10.0.0.1 -exist\n');
});

test('property: random restore text gives a result or an IpsetError, never another exception', () => {
  const words = ['create', 'add', 'del', 'flush', 'destroy', 'swap', 'A', 'B', 'hash:ip', 'hash:ip,port', 'bitmap:port', 'range', '0-100', '10.0.0.1', '10.0.0.1,tcp:80', '50', 'comment', '"x"', '-exist', '\n'];
  fc.assert(fc.property(fc.array(fc.constantFrom(...words), { maxLength: 40 }), (ws) => {
    const s = new Ipsets();
    try {
      s.restore(ws.join(' '));
    } catch (e) {
      assert.ok(e instanceof IpsetError, String(e));
    }
  }), { numRuns: 300 });
});

test('property: packet lookups agree with element membership for every set type; save → restore → save is stable', () => {
  const ipArb = fc.integer({ min: 0, max: 7 }).map((i) => `10.0.0.${i}`);
  const portArb = fc.integer({ min: 79, max: 81 });
  fc.assert(fc.property(
    fc.array(fc.tuple(ipArb, portArb, ipArb, fc.constantFrom(24, 30, 32)), { maxLength: 12 }),
    fc.array(fc.tuple(ipArb, portArb, ipArb), { minLength: 1, maxLength: 8 }),
    (elems, probes) => {
      const s = new Ipsets();
      s.restore(['create IP hash:ip', 'create IPP hash:ip,port', 'create IPPI hash:ip,port,ip', 'create IPPN hash:ip,port,net', 'create NET hash:net', 'create PORTS bitmap:port range 0-1000', ''].join('\n'));
      for (const [a, p, c, len] of elems) {
        s.add('IP', a, { exist: true });
        s.add('IPP', `${a},tcp:${p}`, { exist: true });
        s.add('IPPI', `${a},tcp:${p},${c}`, { exist: true });
        s.add('IPPN', `${a},tcp:${p},${c}/${len}`, { exist: true });
        s.add('NET', `${c}/${len}`, { exist: true });
        s.add('PORTS', String(p), { exist: true });
      }
      for (const [d, p, src] of probes) {
        const pkt = tcp(src, d, 1000, p);
        assert.equal(s.test('IP', pkt, ['dst']), s.testElement('IP', d));
        assert.equal(s.test('IPP', pkt, ['dst', 'dst']), s.testElement('IPP', `${d},tcp:${p}`));
        assert.equal(s.test('IPPI', pkt, ['dst', 'dst', 'src']), s.testElement('IPPI', `${d},tcp:${p},${src}`));
        const covered = elems.some(([a, pp, c, len]) => a === d && pp === p && ((parseIpv4(c) ^ parseIpv4(src)) >>> (32 - len)) === 0);
        assert.equal(s.test('IPPN', pkt, ['dst', 'dst', 'src']), covered);
        assert.equal(s.test('NET', pkt, ['src']), elems.some(([, , c, len]) => ((parseIpv4(c) ^ parseIpv4(src)) >>> (32 - len)) === 0));
        assert.equal(s.test('PORTS', pkt, ['dst']), s.testElement('PORTS', String(p)));
      }
      const again = new Ipsets();
      again.restore(s.save());
      assert.equal(again.save(), s.save());
    },
  ), { numRuns: 200 });
});

test('timeout 0 sets and nomatch elements (kube-router\'s ipBlock except): the most specific prefix decides; save as ipset 7.17 prints it', () => {
  const s = new Ipsets();
  s.restore([
    'create TMP-X hash:net timeout 0', 'flush TMP-X',
    'add TMP-X 10.0.0.0/16 timeout 0', 'add TMP-X 10.0.1.0/24 timeout 0 nomatch', 'add TMP-X 10.0.1.128/25 timeout 0',
    'create KUBE-SRC-T hash:net timeout 0', 'swap TMP-X KUBE-SRC-T', 'flush TMP-X', 'destroy TMP-X', '',
  ].join('\n'), { exist: true });
  const hit = (ip: string): boolean => s.test('KUBE-SRC-T', tcp(ip, '10.244.1.2', 4000, 80), ['src']);
  assert.equal(hit('10.0.2.5'), true);
  assert.equal(hit('10.0.1.5'), false, 'inside the nomatch /24');
  assert.equal(hit('10.0.1.200'), true, 'a more specific /25 inside the nomatch /24 matches again');
  assert.equal(hit('10.1.0.1'), false);
  assert.equal(s.testElement('KUBE-SRC-T', '10.0.1.0/24'), false);
  assert.equal(s.has('TMP-X'), false);
  // `ipset save` in a fresh namespace (ipset 7.17, kernel 6.x) printed these lines (member order aside).
  const saved = s.save().split('\n');
  assert.match(saved[0] as string, /^create KUBE-SRC-T hash:net family inet hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval 0x[0-9a-f]{8}$/);
  assert.deepEqual(saved.slice(1).filter((l) => l !== '').sort(), ['add KUBE-SRC-T 10.0.0.0/16 timeout 0', 'add KUBE-SRC-T 10.0.1.0/24 timeout 0 nomatch', 'add KUBE-SRC-T 10.0.1.128/25 timeout 0']);
  assert.match(s.list('KUBE-SRC-T'), /Header: family inet hashsize 1024 maxelem 65536 timeout 0 bucketsize 12/);
  // Measured: an empty hash:net with timeout is 456 bytes, each member 64 more.
  assert.match(s.list('KUBE-SRC-T'), /Size in memory: 648\n/);
  assert.throws(() => s.restore('create H hash:ip\nadd H 10.0.0.1 nomatch\n'), (e: unknown) => e instanceof IpsetError && /nomatch/.test(e.message));
  assert.equal(s.has('H'), false, 'the failed restore changed nothing');
});
