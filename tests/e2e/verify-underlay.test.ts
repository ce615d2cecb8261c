/**
 * `netsim verify` on the underlay: the twin of a node of examples/verify-cluster.yaml
 * holds flannel's real devices — a real `flannel.1` VXLAN device with flanneld's FDB and
 * neighbour entries, or a real `flannel0` TUN read by a real flanneld-like proxy
 * (cluster/verify/raw/flannel-proxy.c) — so a cross-node probe is compared as the
 * encapsulated packet each side puts on the underlay NIC: outer IPv4 and UDP headers,
 * VXLAN header and inner MACs, inner packet. Both backends agree; an emulated underlay
 * made wrong after the twin was built (a VTEP's FDB entry pointed at another node, the
 * node's default TTL changed) is reported as disagreements on exactly the probes it
 * touches. Needs root, `ip netns`, iptables-restore, the raw-socket addon and (udp) gcc.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseClusterSpec } from '../../cluster/spec.ts';
import { Cluster } from '../../cluster/cluster.ts';
import { verifyNode } from '../../cluster/verify/verify.ts';
import type { VerifyReport } from '../../cluster/verify/verify.ts';
import { planTwin } from '../../cluster/verify/twin.ts';
import { netnsUnavailableReason, verifyNamespaces } from '../../cluster/verify/raw/netns.ts';
import { buildFlannelProxy } from '../../cluster/verify/raw/flannel-proxy.ts';
import { VxlanDevice } from '../../netsim/overlay/vxlan-device.ts';
import { parseIpv4 } from '../../netsim/wire/addr.ts';

const why = netnsUnavailableReason();
if (why !== undefined) console.log(`# verify-underlay tests skipped: ${why}`);
const built = why === undefined ? buildFlannelProxy() : undefined;
const gccWhy = built !== undefined && 'reason' in built ? built.reason : undefined;
if (gccWhy !== undefined) console.log(`# verify-underlay udp test skipped: ${gccWhy}`);

const SPEC = 'examples/verify-cluster.yaml';
const text = readFileSync(SPEC, 'utf8');

function withBackend(backend: 'vxlan' | 'udp'): string {
  assert.match(text, /^ {4}backend: vxlan$/m);
  return text.replace(/^ {4}backend: vxlan$/m, `    backend: ${backend}`);
}

function ours(): string[] {
  return verifyNamespaces().filter((n) => n.startsWith(`nsv-${process.pid}.`));
}

function agreement(r: VerifyReport, label: string): void {
  assert.deepEqual(r.disagreements.map((d) => `${label} ${d.suite}: ${d.description}: ${d.reason}`), []);
  assert.ok(r.probes - r.skipped > 0, label);
  assert.equal(r.agreed, r.probes - r.skipped, label);
  assert.deepEqual(r.notVerifiable, [], label);
}

/** The kernel side's outcome lines of every probe-level disagreement. */
function kernelLines(r: VerifyReport): string[] {
  return r.disagreements.flatMap((d) => ('outcome' in d.kernel ? d.kernel.outcome : []));
}
function emulatorLines(r: VerifyReport): string[] {
  return r.disagreements.flatMap((d) => ('outcome' in d.emulator ? d.emulator.outcome : []));
}

// Services too: a ClusterIP, NodePort or LoadBalancer probe DNATed to a pod on another node leaves encapsulated.
const SUITES = ['pod-remote', 'pod-clusterip', 'external-nodeport'] as const;

test('flannel vxlan: every node\'s twin has a real flannel.1 (VNI 1, port 8472, local = node IP, nolearning, flanneld\'s FDB entries), cross-node probes agree on the underlay bytes, and a VTEP\'s FDB entry pointed at the wrong node is a disagreement on exactly the probes to that node', { skip: why ?? false, timeout: 600_000 }, async () => {
  const c = await Cluster.build(parseClusterSpec(withBackend('vxlan'), SPEC), { apps: false });
  try {
    assert.deepEqual(c.failedPods(), []);
    for (const node of c.nodes.keys()) {
      const plan = planTwin(c, node, { underlay: true });
      const n = plan.namespaces.find((x) => x.role === 'node');
      const addr = c.nodes.get(node)?.primaryAddress('eth0');
      assert.ok(n !== undefined && addr !== undefined);
      assert.deepEqual(plan.egress.map((e) => e.label), ['egress:eth0'], `${node}: flannel.1 is no sink`);
      assert.ok(n.ip.some((l) => l.startsWith(`link add flannel.1 type vxlan id 1 local ${[addr >>> 24, (addr >>> 16) & 255, (addr >>> 8) & 255, addr & 255].join('.')} dev eth0 dstport 8472 nolearning`)), node);
      assert.equal(n.bridge?.filter((l) => / dev flannel\.1 dst 192\.168\.50\.\d+ self permanent$/.test(l)).length, 2, `${node}: one FDB entry per remote lease`);
      agreement(await verifyNode(c, { node, samples: 4, randomProbes: 0, suites: node === 'node01' ? SUITES : ['pod-remote'] }), `vxlan ${node}`);
    }
    // The emulated node01's FDB entry for one remote VTEP now sends to the third node's address.
    const node02 = parseIpv4('192.168.50.12');
    const node03 = parseIpv4('192.168.50.13');
    const vx = c.nodes.get('node01')?.devices.get('flannel.1');
    assert.ok(vx instanceof VxlanDevice);
    const entry = vx.fdbEntries().find((e) => e.dst === node02);
    assert.ok(entry !== undefined);
    let r: VerifyReport;
    try {
      r = await verifyNode(c, { node: 'node01', samples: 4, randomProbes: 0, suites: ['pod-remote'], tamper: () => vx.fdbAdd(entry.mac, node03) });
    } finally {
      vx.fdbAdd(entry.mac, node02);
    }
    const remote = r.disagreements.length;
    assert.ok(remote > 0, 'the wrong lease was not noticed');
    // node01's pods probe one pod per remote node in three protocols: half of the probes go to node02.
    assert.equal(remote, (r.probes - r.skipped) / 2, JSON.stringify(r.disagreements.map((d) => d.description)));
    for (const l of kernelLines(r)) assert.match(l, /^egress:eth0: 192\.168\.50\.11>192\.168\.50\.12 .* udp flow-hash>8472 .* vxlan vni 1 /);
    for (const l of emulatorLines(r)) assert.match(l, /^egress:eth0: 192\.168\.50\.11>192\.168\.50\.13 .* udp flow-hash>8472 .* vxlan vni 1 /);
  } finally {
    await c.close();
  }
  assert.deepEqual(ours(), [], 'namespaces left behind');
});

test('flannel udp: every node\'s twin has a real flannel0 TUN (MTU 1472) read by a real flanneld-like proxy with the emulated proxy\'s lease routes, cross-node probes agree on the underlay bytes (IP-in-UDP 8285 → 8285), and a changed outer TTL is a disagreement on every cross-node probe', { skip: why ?? gccWhy ?? false, timeout: 600_000 }, async () => {
  const c = await Cluster.build(parseClusterSpec(withBackend('udp'), SPEC), { apps: false });
  try {
    assert.deepEqual(c.failedPods(), []);
    for (const node of c.nodes.keys()) {
      const plan = planTwin(c, node, { underlay: true });
      const n = plan.namespaces.find((x) => x.role === 'node');
      assert.ok(n?.ip.includes('tuntap add dev flannel0 mode tun') === true && n.ip.includes('link set flannel0 mtu 1472'), node);
      assert.deepEqual(plan.egress.map((e) => e.label), ['egress:eth0'], `${node}: flannel0 is no sink`);
      assert.equal(plan.flannelProxies.length, 1);
      assert.equal(plan.flannelProxies[0]?.port, 8285);
      assert.equal(plan.flannelProxies[0]?.routes.length, 2, `${node}: one route per remote lease`);
      agreement(await verifyNode(c, { node, samples: 4, randomProbes: 0, suites: node === 'node01' ? SUITES : ['pod-remote'] }), `udp ${node}`);
    }
    const ns = c.nodes.get('node01');
    assert.ok(ns !== undefined);
    let r: VerifyReport;
    try {
      r = await verifyNode(c, { node: 'node01', samples: 4, randomProbes: 0, suites: ['pod-remote', 'pod-outside'], tamper: () => {
        ns.sysctl.defaultTtl = 63;
      } });
    } finally {
      ns.sysctl.defaultTtl = 64;
    }
    // Only the encapsulated packets carry a TTL the node chose: forwarded packets to the outside keep the pod's.
    assert.ok(r.disagreements.length > 0, 'the changed outer TTL was not noticed');
    assert.deepEqual([...new Set(r.disagreements.map((d) => d.suite))], ['pod-remote']);
    assert.equal(r.disagreements.length, r.suites.find((s) => s.suite === 'pod-remote')?.probes);
    for (const l of kernelLines(r)) assert.match(l, /^egress:eth0: 192\.168\.50\.11>192\.168\.50\.1[23] .* ttl 64 id gen .* udp 8285>8285 .* ip-in-udp \|\| .* ttl 62 /);
    for (const l of emulatorLines(r)) assert.match(l, /^egress:eth0: 192\.168\.50\.11>192\.168\.50\.1[23] .* ttl 63 id gen .* udp 8285>8285 .* ip-in-udp \|\| .* ttl 62 /);
  } finally {
    await c.close();
  }
  assert.deepEqual(ours(), [], 'namespaces left behind');
});
