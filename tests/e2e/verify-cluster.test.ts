/**
 * `netsim verify` on examples/verify-cluster.yaml: one spec with every kind of Service
 * kube-proxy programs (ClusterIP, NodePort and LoadBalancer with externalTrafficPolicy
 * Cluster and Local, loadBalancerSourceRanges, internalTrafficPolicy Local, ClientIP
 * affinity, externalIPs, a UDP Service, headless and ExternalName, no endpoints),
 * hostPorts, hostNetwork endpoints and a selectorless Service with a hand-written
 * EndpointSlice — every node of its three agrees with its real twin on every suite, on
 * the CNI runtime (flannel vxlan, udp and host-gw), with kube-proxy in iptables mode and
 * (vxlan) in nftables mode, and on the docker runtime (flannel udp, vxlan and host-gw)
 * with its hostPorts taken out; on docker the spec as it is (with hostPorts) is refused
 * with exit 2.
 * Needs root, `ip netns`, iptables-restore and the raw-socket addon; skips otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseClusterSpec } from '../../cluster/spec.ts';
import { Cluster } from '../../cluster/cluster.ts';
import { verifyNode } from '../../cluster/verify/verify.ts';
import { SUITES, generateProbes, nodeFacts, rulesFacts } from '../../cluster/verify/suites.ts';
import { planTwin } from '../../cluster/verify/twin.ts';
import type { RulesFacts } from '../../cluster/verify/suites.ts';
import { netnsUnavailableReason, verifyNamespaces } from '../../cluster/verify/raw/netns.ts';
import { verifyCommand } from '../../cli/commands/verify.ts';

const why = netnsUnavailableReason();
if (why !== undefined) console.log(`# verify-cluster tests skipped: ${why}`);
const skip = why ?? false;

const SPEC = 'examples/verify-cluster.yaml';
const text = readFileSync(SPEC, 'utf8');

function onDocker(spec: string): string {
  assert.match(spec, /^runtime: cni$/m);
  return spec.replace(/^runtime: cni$/m, 'runtime: docker');
}

/** The example with flannel's udp or host-gw backend instead of its vxlan. */
function withBackend(spec: string, backend: 'udp' | 'vxlan' | 'host-gw'): string {
  assert.match(spec, /^ {4}backend: vxlan$/m);
  return spec.replace(/^ {4}backend: vxlan$/m, `    backend: ${backend}`);
}

/** The example on the docker runtime with `backend`, its hostPorts taken out (docker's hostPort publishing is not modelled). */
function onDockerWithoutHostPorts(spec: string, backend: 'udp' | 'vxlan' | 'host-gw'): string {
  const ports = 'ports: [{ containerPort: 80, hostPort: 8088 }, { containerPort: 53, hostPort: 5353, protocol: UDP }]';
  assert.ok(spec.includes(ports));
  return withBackend(onDocker(spec), backend).replace(ports, 'ports: [{ containerPort: 80 }, { containerPort: 53, protocol: UDP }]');
}

function inNftablesMode(spec: string): string {
  assert.match(spec, /^ {2}mode: iptables$/m);
  return spec.replace(/^ {2}mode: iptables$/m, '  mode: nftables');
}

function ours(): string[] {
  return verifyNamespaces().filter((n) => n.startsWith(`nsv-${process.pid}.`));
}

/**
 * Verifies `node` and requires agreement: every suite but `except` probed something, no
 * disagreement, every probe agreed, nothing unverifiable. `label` names the run in messages.
 */
async function assertNodeAgrees(c: Cluster, node: string, label: string, opts: { samples: number; randomProbes: number; except?: string }): Promise<void> {
  const r = await verifyNode(c, { node, samples: opts.samples, randomProbes: opts.randomProbes });
  const bySuite = Object.fromEntries(r.suites.map((s) => [s.suite, s.probes - s.skipped]));
  for (const s of SUITES) if (s !== opts.except) assert.ok((bySuite[s] ?? 0) > 0, `${label}: suite ${s} probed nothing: ${JSON.stringify(bySuite)}`);
  assert.deepEqual(r.disagreements.map((d) => `${label} ${d.suite}: ${d.description}: ${d.reason}`), []);
  assert.equal(r.agreed, r.probes - r.skipped, label);
  assert.deepEqual(r.notVerifiable, [], label);
}

type Obj = { kind?: string; metadata?: { name?: string }; spec?: Record<string, unknown> };

test('the example covers every Service type, both traffic policies, affinity, external IPs, hostPort, hostNetwork and a selectorless Service with its EndpointSlice', () => {
  const spec = parseClusterSpec(text, SPEC);
  assert.equal(spec.nodes.length, 3);
  assert.equal(spec.runtime, 'cni');
  assert.equal(spec.proxy.mode, 'iptables');
  const objs = spec.manifests as Obj[];
  const services = objs.filter((o) => o.kind === 'Service').map((o) => o.spec ?? {});
  const has = (f: (s: Record<string, unknown>) => boolean, what: string): void => assert.ok(services.some(f), `no Service with ${what}`);
  for (const type of ['NodePort', 'LoadBalancer', 'ExternalName']) has((s) => s['type'] === type, `type ${type}`);
  has((s) => s['type'] === undefined && s['clusterIP'] === undefined && s['selector'] !== undefined, 'type ClusterIP');
  has((s) => s['clusterIP'] === 'None', 'clusterIP None (headless)');
  has((s) => s['type'] === 'LoadBalancer' && Array.isArray(s['loadBalancerSourceRanges']), 'loadBalancerSourceRanges');
  has((s) => s['externalTrafficPolicy'] === 'Local' && s['type'] === 'NodePort', 'a Local NodePort');
  has((s) => s['externalTrafficPolicy'] === 'Local' && s['type'] === 'LoadBalancer', 'a Local LoadBalancer');
  has((s) => s['type'] === 'NodePort' && s['externalTrafficPolicy'] === undefined && s['selector'] !== undefined, 'a Cluster NodePort');
  has((s) => s['internalTrafficPolicy'] === 'Local', 'internalTrafficPolicy Local');
  has((s) => s['sessionAffinity'] === 'ClientIP', 'ClientIP affinity');
  has((s) => Array.isArray(s['externalIPs']), 'externalIPs');
  has((s) => s['selector'] === undefined && s['type'] !== 'ExternalName', 'no selector');
  assert.ok(objs.some((o) => o.kind === 'EndpointSlice'), 'no hand-written EndpointSlice');
  assert.match(text, /hostPort: \d+/);
  assert.match(text, /hostNetwork: true/);
});

test('every node of the example (three nodes, CNI, flannel vxlan, iptables mode) agrees with its real twin on every suite', { skip, timeout: 600_000 }, async () => {
  const c = await Cluster.build(parseClusterSpec(text, SPEC), { apps: false });
  try {
    assert.deepEqual(c.failedPods(), []);
    assert.deepEqual([...c.nodes.keys()], ['node01', 'node02', 'node03']);
    for (const node of c.nodes.keys()) {
      const facts = rulesFacts(c.nodeView(node, 'iptables-save'));
      // The headless and ExternalName Services have no ClusterIP: kube-proxy writes nothing for them.
      assert.ok(![...facts.endpoints.keys()].some((k) => k.startsWith('default/web-headless') || k.startsWith('default/docs')), node);
      // hostNetwork endpoints are node addresses; the hand-written slice's are an outside host and a node.
      assert.deepEqual([...(facts.endpoints.get('default/metrics') ?? [])].sort(), ['192.168.50.11', '192.168.50.12', '192.168.50.13'], node);
      assert.deepEqual([...(facts.endpoints.get('default/legacy') ?? [])].sort(), ['192.168.50.12', '203.0.113.130'], node);
      // Eight samples a group: an outcome only one side showed is asked for again before it counts.
      await assertNodeAgrees(c, node, node, { samples: 8, randomProbes: node === 'node01' ? 100 : 30 });
    }
  } finally {
    await c.close();
  }
  assert.deepEqual(ours(), [], 'namespaces left behind');
});

test('every group of probes is one probe repeated (a group\'s first probe stands for it when asked again): a Service\'s UDP and TCP port 53 are two groups', { timeout: 60_000 }, async () => {
  const c = await Cluster.build(parseClusterSpec(text, SPEC), { apps: false });
  try {
    for (const node of c.nodes.keys()) {
      const groups = new Map<string, Set<string>>();
      for (const p of generateProbes(c, planTwin(c, node), { samples: 3, randomProbes: 20, seed: 1 })) {
        groups.set(p.group, (groups.get(p.group) ?? new Set()).add(JSON.stringify([p.suite, p.from, p.src, p.dst, p.proto, p.dport, p.ttl, p.service ?? null])));
      }
      assert.deepEqual([...groups].filter(([, v]) => v.size > 1).map(([g]) => g), [], node);
      assert.ok(groups.has('node-clusterip/node>kube-system/kube-dns:53/UDP') && groups.has('node-clusterip/node>kube-system/kube-dns:53/TCP'), node);
    }
  } finally {
    await c.close();
  }
});

/** What the probes are made from, comparable across modes. */
function factsView(f: RulesFacts): Record<string, unknown> {
  const addr = (a: { service: string; ip: string; proto: string; port: number }): string => `${a.service} ${a.ip} ${a.proto}/${a.port}`;
  return {
    endpoints: Object.fromEntries([...f.endpoints].map(([k, v]) => [k, [...v].sort()]).sort()),
    sticky: [...f.sticky].sort(),
    rejects: f.rejects.map((r) => `${r.service} from ${r.from} ${r.dst ?? 'node'} ${r.proto}/${r.dport}`).sort(),
    external: f.externalIPs.map(addr).sort(),
    loadBalancers: f.loadBalancers.map((l) => `${addr(l)} ${l.ranges.join(',') || 'open'}`).sort(),
    hostPorts: f.hostPorts.map((h) => `${h.proto}/${h.port}`).sort(),
    healthChecks: f.healthChecks.map((h) => `${h.service} ${h.port}`).sort(),
  };
}

test('in nftables mode the probes are made from the nft ruleset and the node\'s kube-proxy: the same endpoints, affinity, no-endpoint rejects, external IPs, LoadBalancer IPs (with and without source ranges), hostPorts and health-check node ports as from iptables-save in iptables mode', { timeout: 120_000 }, async () => {
  const ipt = await Cluster.build(parseClusterSpec(text, SPEC), { apps: false });
  const nft = await Cluster.build(parseClusterSpec(inNftablesMode(text), SPEC), { apps: false });
  try {
    for (const node of ipt.nodes.keys()) {
      assert.equal(nft.nodeView(node, 'iptables-save')?.includes('KUBE-SVC-'), false, node);
      // Nothing in the nft ruleset names a health-check node port: they come from kube-proxy's health servers.
      const hc = nft.kubeProxyView(node)?.healthChecks ?? [];
      assert.ok(hc.length > 0 && hc.every((h) => !new RegExp(String.raw`\b${h.port}\b`).test(nft.nodeView(node, 'nft') ?? '')), node);
      const a = nodeFacts(ipt, node);
      const b = nodeFacts(nft, node);
      assert.deepEqual(factsView(b), factsView(a), node);
      assert.deepEqual([...b.sticky], ['default/web-sticky'], node);
      assert.ok(b.loadBalancers.some((l) => l.ranges.length > 0) && b.loadBalancers.some((l) => l.ranges.length === 0) && b.externalIPs.length > 0 && b.rejects.length === 2, node);
      assert.ok(a.healthChecks.length > 0, node);
    }
  } finally {
    await ipt.close();
    await nft.close();
  }
});

test('every node of the example in kube-proxy\'s nftables mode (the twin loads each node\'s ruleset with the real nft -f) agrees with its real twin on every suite', { skip, timeout: 900_000 }, async () => {
  const c = await Cluster.build(parseClusterSpec(inNftablesMode(text), SPEC), { apps: false });
  try {
    assert.deepEqual(c.failedPods(), []);
    for (const node of c.nodes.keys()) {
      assert.match(c.nodeView(node, 'nft') ?? '', /^table ip kube-proxy \{$/m);
      // Twelve samples a group: a four-endpoint group asks the kernel 24 more times for a backend only the emulator showed.
      await assertNodeAgrees(c, node, node, { samples: 12, randomProbes: node === 'node01' ? 100 : 30 });
    }
  } finally {
    await c.close();
  }
  assert.deepEqual(ours(), [], 'namespaces left behind');
});

test('every node of the example on the CNI runtime with flannel udp and with host-gw (hostPorts kept) agrees with its real twin on every suite', { skip, timeout: 1_500_000 }, async () => {
  // The device each backend adds beside cni0: udp's TUN flannel0; host-gw adds none (routes via the other nodes).
  for (const [backend, overlay] of [['udp', 'flannel0'], ['host-gw', undefined]] as const) {
    const c = await Cluster.build(parseClusterSpec(withBackend(text, backend), SPEC), { apps: false });
    try {
      assert.deepEqual(c.failedPods(), [], backend);
      for (const node of c.nodes.keys()) {
        const devs = [...(c.nodes.get(node)?.devices.keys() ?? [])];
        assert.ok(devs.includes('cni0') && !devs.includes('docker0') && !devs.includes('flannel.1'), `${backend} ${node}: ${devs.join(' ')}`);
        assert.equal(devs.includes('flannel0'), overlay !== undefined, `${backend} ${node}: ${devs.join(' ')}`);
        // As many random probes as the docker backends' run: the suites are the vxlan run's, only the datapath under them differs.
        await assertNodeAgrees(c, node, `cni ${backend} ${node}`, { samples: 8, randomProbes: 30 });
      }
    } finally {
      await c.close();
    }
  }
  assert.deepEqual(ours(), [], 'namespaces left behind');
});

test('every node of the example on the docker runtime with flannel udp (hostPorts taken out) agrees with its real twin on every suite but hostport', { skip, timeout: 900_000 }, async () => {
  const c = await Cluster.build(parseClusterSpec(onDockerWithoutHostPorts(text, 'udp'), SPEC), { apps: false });
  try {
    assert.deepEqual(c.failedPods(), []);
    for (const node of c.nodes.keys()) {
      const devs = c.nodes.get(node)?.devices;
      assert.ok(devs?.has('docker0') === true && devs.has('flannel0'), `${node}: ${[...(devs?.keys() ?? [])].join(' ')}`);
      await assertNodeAgrees(c, node, node, { samples: 8, randomProbes: node === 'node01' ? 100 : 30, except: 'hostport' });
    }
  } finally {
    await c.close();
  }
  assert.deepEqual(ours(), [], 'namespaces left behind');
});

test('every node of the example on the docker runtime with flannel vxlan and with host-gw (hostPorts taken out) agrees with its real twin on every suite but hostport', { skip, timeout: 1_200_000 }, async () => {
  // The device each backend adds beside docker0: vxlan's flannel.1; host-gw adds none (routes via the other nodes).
  for (const [backend, overlay] of [['vxlan', 'flannel.1'], ['host-gw', undefined]] as const) {
    const c = await Cluster.build(parseClusterSpec(onDockerWithoutHostPorts(text, backend), SPEC), { apps: false });
    try {
      assert.deepEqual(c.failedPods(), [], backend);
      for (const node of c.nodes.keys()) {
        const devs = [...(c.nodes.get(node)?.devices.keys() ?? [])];
        assert.ok(devs.includes('docker0') && !devs.includes('flannel0') && !devs.includes('cni0'), `${backend} ${node}: ${devs.join(' ')}`);
        assert.equal(devs.includes('flannel.1'), overlay !== undefined, `${backend} ${node}: ${devs.join(' ')}`);
        // Fewer random probes than the udp run: the suites are the same, only the datapath under them differs.
        await assertNodeAgrees(c, node, `${backend} ${node}`, { samples: 8, randomProbes: 30, except: 'hostport' });
      }
    } finally {
      await c.close();
    }
  }
  assert.deepEqual(ours(), [], 'namespaces left behind');
});

test('on the docker runtime the example (with hostPorts) is refused: exit 2, NETSIM_VERIFY_POD_NOT_STARTED naming the spec, the pod and why', { skip }, async () => {
  let out = '';
  let err = '';
  const docker = onDocker(text);
  const code = await verifyCommand(() => Cluster.build(parseClusterSpec(docker, 'docker.yaml'), { apps: false }), { probes: 0, samples: 1, seed: 1, output: 'text', pcapDir: '/tmp/netsim-verify-cluster-test', source: 'docker.yaml' }, (s) => { out += s; }, (s) => { err += s; });
  assert.equal(code, 2, err);
  assert.equal(out, '');
  assert.match(err, /^netsim: NETSIM_VERIFY_POD_NOT_STARTED: docker\.yaml: pod default\/edge-\w+ on node01 did not start: .*hostPort 8088\/TCP, 5353\/UDP: .*use runtime: cni/m);
  assert.equal(err.match(/NETSIM_VERIFY_POD_NOT_STARTED/g)?.length, 3, 'one line per pod (one a node)');
  assert.match(err, /nothing was verified/);
  assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
  assert.deepEqual(ours(), []);
});
