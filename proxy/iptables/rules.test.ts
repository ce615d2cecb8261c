import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { buildSyncRules, probability } from './rules.ts';
import { servicePortChain, endpointChain } from './chain-names.ts';
import { servicePorts } from '../service-port.ts';
import { services, slices, NODE, CLUSTER_CIDR } from '../fixtures.ts';
import { IptablesProxier } from './proxier.ts';
import { netsimIptablesBackend } from './netsim-backend.ts';
import { Iptables } from '../../netsim/netfilter/iptables/iptables.ts';
import { Packet } from '../../netsim/packet/packet.ts';
import { buildIpv4Tcp, buildIpv4Udp } from '../../netsim/wire/build.ts';
import { Rng } from '../../netsim/time/rng.ts';
import { parseIpv4, formatIpv4 } from '../../netsim/wire/addr.ts';
import { CT_NEW } from '../../netsim/netfilter/eval-types.ts';
import { ipv4SetDst, l4SetDstPort } from '../../netsim/wire/ipv4.ts';
import type { AddrType, EvalContext } from '../../netsim/netfilter/eval-types.ts';

const golden = readFileSync(new URL('../../tests/golden/kube-proxy/overall.iptables', import.meta.url), 'utf8');
const ports = services.flatMap((s) => servicePorts(s, slices, NODE));

test('chain names: the REFERENCE.md test vectors', () => {
  assert.equal(servicePortChain('KUBE-SVC', 'ns1/svc1:p80', 'TCP'), 'KUBE-SVC-XPGD46QRK7WJZT7O');
  assert.equal(endpointChain('ns1/svc1:p80', 'tcp', '10.180.0.1:80'), 'KUBE-SEP-SXIVWICOYRO3J4NJ');
  assert.equal(servicePortChain('KUBE-SVC', 'ns4/svc4:p80', 'tcp'), 'KUBE-SVC-4SW47YFZTEDKD3PK');
  assert.equal(servicePortChain('KUBE-SVC', 'ns5/svc5:p80', 'tcp'), 'KUBE-SVC-NUKIZ6OKUXPJNT4C');
  assert.equal(endpointChain('ns4/svc4:p80', 'tcp', '10.180.0.4:80'), 'KUBE-SEP-UKSFD7AGPMPPLUHC');
  assert.deepEqual([probability(3), probability(2)], ['0.3333333333', '0.5000000000']);
});

test('full sync of every service feature matches the reviewed golden ruleset line for line', () => {
  assert.equal(buildSyncRules(ports, { clusterCIDR: CLUSTER_CIDR }), golden);
});

test('headless and ExternalName services produce no rules; masqueradeAll marks every ClusterIP packet', () => {
  assert.ok(!golden.includes('shop/headless') && !golden.includes('shop/ext'));
  const all = buildSyncRules(ports, { masqueradeAll: true });
  assert.match(all, /-A KUBE-SVC-67NZLRHBNDSAWJRO -m comment --comment "shop\/web:http cluster IP" -m tcp -p tcp -d 10\.96\.10\.1 --dport 80 -j KUBE-MARK-MASQ\n/);
});

/** Follow the nat and filter tables for a first packet, like upstream's tracePacket: every random branch. */
function flow(ipt: Iptables, src: string, proto: 'tcp' | 'udp', dst: string, dport: number, hook: 'PREROUTING' | 'OUTPUT', local: string[]): { output: string; masq: boolean } {
  const addrType = (a: number): AddrType => (local.includes(formatIpv4(a)) ? 'LOCAL' : 'UNICAST');
  const reached = new Set<string>();
  let masq = false;
  let verdict = '';
  for (let seed = 0; seed < 64; seed++) {
    const bytes = proto === 'tcp'
      ? buildIpv4Tcp({ src: parseIpv4(src), dst: parseIpv4(dst) }, { srcPort: 40000, dstPort: dport, seq: 0, ack: 0, flags: 2, window: 1 }, new Uint8Array(0))
      : buildIpv4Udp({ src: parseIpv4(src), dst: parseIpv4(dst) }, { srcPort: 40000, dstPort: dport }, new Uint8Array(0));
    const pkt = new Packet(1, bytes, 0, bytes.length);
    const ctx: EvalContext = { hook, inDev: hook === 'PREROUTING' ? 'eth0' : undefined, outDev: undefined, now: 0, rng: new Rng(seed), ctState: CT_NEW, addrType, ipsets: undefined };
    const nat = ipt.evaluate('nat', pkt, ctx);
    if (nat.nat?.kind === 'DNAT') {
      reached.add(`${formatIpv4(nat.nat.addrMin ?? 0)}:${nat.nat.portMin ?? dport}`);
      // Apply the DNAT before the filter table, as the kernel (and upstream's tracePacket) does.
      ipv4SetDst(pkt.buf, pkt.off, nat.nat.addrMin ?? 0);
      if (nat.nat.portMin !== undefined) l4SetDstPort(pkt.buf, pkt.off, nat.nat.portMin);
    }
    if ((pkt.mark & 0x4000) !== 0) masq = true;
    const fhook = local.includes(dst) && nat.nat === undefined ? 'INPUT' : 'FORWARD';
    for (const chain of fhook === 'INPUT' ? ['INPUT'] : ['FORWARD']) {
      const f = ipt.evaluate('filter', pkt, { ...ctx, hook: chain as 'INPUT' | 'FORWARD' });
      if (f.verdict === 'DROP') verdict = f.rejectWith !== undefined ? 'REJECT' : 'DROP';
    }
  }
  return { output: verdict !== '' ? verdict : [...reached].sort().join(', '), masq };
}

test('packet flows through the generated rules (kube-proxy test style)', () => {
  const ipt = new Iptables();
  const proxier = new IptablesProxier(netsimIptablesBackend(ipt), { nodeName: NODE, clusterCIDR: CLUSTER_CIDR });
  proxier.sync(services, slices);
  const NODE_IP = '192.168.50.11';
  const local = [NODE_IP, '127.0.0.1'];
  const cases: Array<{ name: string; src: string; proto?: 'tcp' | 'udp'; dst: string; port: number; hook?: 'OUTPUT'; output: string; masq: boolean }> = [
    { name: 'pod to cluster IP', src: '10.244.1.99', dst: '10.96.10.1', port: 80, output: '10.244.1.11:8080, 10.244.2.12:8080, 10.244.2.13:8080', masq: false },
    { name: 'node to cluster IP is masqueraded', src: NODE_IP, dst: '10.96.10.1', port: 80, hook: 'OUTPUT', output: '10.244.1.11:8080, 10.244.2.12:8080, 10.244.2.13:8080', masq: true },
    { name: 'hairpin: endpoint to its own service', src: '10.244.1.81', proto: 'udp', dst: '10.96.0.10', port: 53, output: '10.244.1.81:53', masq: true },
    { name: 'udp and tcp on the same port are separate', src: '10.244.1.99', proto: 'udp', dst: '10.96.0.10', port: 53, output: '10.244.1.81:53', masq: false },
    { name: 'external to NodePort (Cluster): every endpoint, masqueraded', src: '203.0.113.200', dst: NODE_IP, port: 30000, output: '10.244.1.21:80, 10.244.2.22:80', masq: true },
    { name: 'external to NodePort (Local): only the local endpoint, source kept', src: '203.0.113.200', dst: NODE_IP, port: 30003, output: '10.244.1.31:80', masq: false },
    { name: 'pod to NodePort (Local): pods are not subject to the policy', src: '10.244.2.99', dst: NODE_IP, port: 30003, output: '10.244.1.31:80, 10.244.2.32:80', masq: false },
    { name: 'no endpoints: REJECT on the cluster IP', src: '10.244.1.99', dst: '10.96.10.6', port: 80, output: 'REJECT', masq: false },
    { name: 'no endpoints: REJECT on the NodePort', src: '203.0.113.200', dst: NODE_IP, port: 30006, output: 'REJECT', masq: false },
    { name: 'internalTrafficPolicy Local without local endpoints: DROP', src: '10.244.1.99', dst: '10.96.10.7', port: 80, output: 'DROP', masq: false },
    { name: 'LoadBalancer IP from an allowed source range', src: '203.0.113.7', dst: '198.51.100.4', port: 80, output: '10.244.2.41:80', masq: true },
    { name: 'LoadBalancer IP from another source: dropped by KUBE-PROXY-FIREWALL', src: '198.18.0.1', dst: '198.51.100.4', port: 80, output: 'DROP', masq: false },
    { name: 'external IP', src: '203.0.113.200', dst: '192.168.99.4', port: 80, output: '10.244.2.41:80', masq: true },
    { name: 'a port the service does not have', src: '10.244.1.99', dst: '10.96.10.1', port: 443, output: '', masq: false },
  ];
  for (const c of cases) {
    const got = flow(ipt, c.src, c.proto ?? 'tcp', c.dst, c.port, c.hook ?? 'PREROUTING', local);
    assert.deepEqual(got, { output: c.output, masq: c.masq }, c.name);
  }
});

const ns = `nskp${process.pid}`;
const root = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'add', ns]).status === 0 ? false : 'needs root, ip netns and iptables';
after(() => {
  if (root === false) spawnSync('ip', ['netns', 'del', ns]);
});

test('the real kernel accepts the ruleset and its iptables-save equals the emulated node\'s', { skip: root }, () => {
  const ipt = new Iptables();
  const proxier = new IptablesProxier(netsimIptablesBackend(ipt), { nodeName: NODE, clusterCIDR: CLUSTER_CIDR });
  proxier.sync(services, slices);
  // Load the same result into the real kernel: the emulated node's own save output, then compare.
  const text = ipt.save();
  const r = spawnSync('ip', ['netns', 'exec', ns, 'iptables-restore'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const real = spawnSync('ip', ['netns', 'exec', ns, 'iptables-save'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n');
  assert.equal(text, real);
  // And the raw kube-proxy input, as kube-proxy itself would hand it over, passes --test.
  const t = spawnSync('ip', ['netns', 'exec', ns, 'iptables-restore', '--noflush', '--test'], { input: buildSyncRules(servicePorts(services[0]!, slices, NODE), { clusterCIDR: CLUSTER_CIDR }), encoding: 'utf8' });
  assert.equal(t.status, 0, t.stderr);
});

test('a 10 000-service ruleset is accepted by the real iptables-restore --test', { skip: root }, () => {
  const many = Array.from({ length: 10000 }, (_, i) => ({
    name: `ns/svc${i}:http`, protocol: 'tcp' as const, clusterIP: `10.96.${i >> 8}.${i & 255}`, port: 80, nodePort: undefined, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
    affinityTimeout: undefined, externalPolicyLocal: false, internalPolicyLocal: false, healthCheckNodePort: undefined,
    endpoints: [{ ip: `10.244.${i >> 8}.${(i & 255) || 1}`, port: 8080, ready: true, serving: true, terminating: false, local: false, key: `10.244.${i >> 8}.${(i & 255) || 1}:8080` }],
  }));
  const text = buildSyncRules(many, { clusterCIDR: CLUSTER_CIDR });
  const r = spawnSync('ip', ['netns', 'exec', ns, 'iptables-restore', '--test'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
