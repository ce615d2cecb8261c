/**
 * kube-proxy on an emulated node, end to end with real packets: endpoint churn in
 * iptables mode (a UDP flow pinned by conntrack to an endpoint that goes away is
 * moved by the post-sync conntrack cleanup, and black-holes without it; new flows
 * never reach the removed endpoint), and IPVS mode (ClusterIP load balancing and a
 * pod reaching itself through its own service, SNATed by KUBE-LOOP-BACK).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { createBridge, attachPod } from '../../netsim/topology.ts';
import { NetfilterStack } from '../../netsim/netfilter/netfilter-stack.ts';
import { Ipvs } from '../../netsim/ipvs/ipvs.ts';
import { Ipsets } from '../../netsim/ipset/ipset.ts';
import { parseIpv4, formatIpv4 } from '../../netsim/wire/addr.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import { KubeProxy } from '../../proxy/kube-proxy.ts';
import type { KubeProxyNode } from '../../proxy/kube-proxy.ts';
import { netsimKubeProxyNode } from '../../proxy/netsim-node.ts';
import { slice } from '../../proxy/fixtures.ts';
import type { Service } from '../../control/api/service.ts';

const VIP = '10.96.0.10';
const dec = new TextDecoder();

function cluster(mode: 'iptables' | 'ipvs', opts: { noCleanup?: boolean } = {}) {
  const sim = new Sim({ seed: 7 });
  const host = new NetNamespace(sim, 'node01', 'node01', { ipForward: true, bridgeNfCallIptables: true });
  const br = createBridge(host, 'cni0', '10.244.1.1/24');
  const nf = NetfilterStack.install(host);
  let node: KubeProxyNode = mode === 'ipvs' ? netsimKubeProxyNode(host, nf, { ipvs: new Ipvs(() => sim.clock.now()), ipsets: new Ipsets() }) : netsimKubeProxyNode(host, nf);
  if (opts.noCleanup === true) {
    const { conntrack: _drop, ...rest } = node;
    node = rest;
  }
  const kp = new KubeProxy(sim.clock, node, { mode, nodeName: 'node01', clusterCIDR: '10.244.0.0/16' });
  const client = attachPod(host, br, { name: 'default/client', cidr: '10.244.1.2/24', gateway: '10.244.1.1' });
  const backends = [0, 1, 2].map((i) => {
    const pod = attachPod(host, br, { name: `default/dns-${i}`, cidr: `10.244.1.${10 + i}/24`, gateway: '10.244.1.1', hairpin: true });
    const s = pod.ns.udp.bind(53);
    s.onMessage = (m) => s.send(m.src, m.sport, new TextEncoder().encode(`dns-${i}`));
    return { pod, sock: s, ip: formatIpv4(pod.ip) };
  });
  const svc: Service = { metadata: { name: 'dns', namespace: 'kube-system' }, spec: { clusterIP: VIP, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] } };
  const eps = (n: number) => slice('kube-system', 'dns', [{ name: 'dns', port: 53, protocol: 'UDP' }], backends.slice(0, n).map((b) => ({ ip: b.ip, node: 'node01' })));
  kp.onServiceAdd(svc);
  const first = eps(3);
  kp.onEndpointSliceAdd(first);
  kp.onServicesSynced();
  kp.onEndpointSlicesSynced();
  kp.start();
  /** One request from `ns` at `sport`; the name of the answering backend, or undefined. */
  const ask = (ns: NetNamespace, sport: number): string | undefined => {
    const c = ns.udp.bind(sport);
    let got: string | undefined;
    c.onMessage = (m) => {
      got = dec.decode(m.data);
    };
    c.send(parseIpv4(VIP), 53, new Uint8Array([1]));
    sim.clock.run(sim.clock.now() + 50e6);
    c.close();
    return got;
  };
  return { sim, kp, client, backends, eps, first, ask };
}

for (const cleanup of [true, false]) {
  test(`iptables mode, scale down under a pinned UDP flow: ${cleanup ? 'conntrack cleanup moves it' : 'without cleanup it black-holes'}`, () => {
    const { sim, kp, client, backends, eps, first, ask } = cluster('iptables', { noCleanup: !cleanup });
    // Find a source port pinned to dns-2 (the endpoint that will go).
    let sport = 40000;
    while (ask(client.ns, sport) !== 'dns-2') sport++;
    assert.equal(ask(client.ns, sport), 'dns-2', 'conntrack pins the flow');
    // Scale down: dns-2 leaves the slice and its pod stops answering.
    kp.onEndpointSliceUpdate(first, eps(2));
    backends[2]!.sock.close();
    sim.clock.run(sim.clock.now() + 2 * SECOND);
    const last = kp.syncs.at(-1)!;
    assert.equal(last.full, false);
    assert.deepEqual(last.updatedServices, ['kube-system/dns']);
    assert.ok(last.conntrack.some((d) => d.reason === 'ClearEntriesForNAT' && d.filter.origDst === VIP && d.filter.replySrc === backends[2]!.ip));
    if (cleanup) {
      assert.ok(last.conntrackDeleted >= 1);
      assert.ok(['dns-0', 'dns-1'].includes(ask(client.ns, sport) ?? ''), 'the same flow reaches a live endpoint');
    } else {
      assert.equal(ask(client.ns, sport), undefined, 'the stale entry still DNATs to the removed endpoint');
    }
    // New flows never go to the removed endpoint.
    const seen = new Set<string | undefined>();
    for (let p = 50000; p < 50030; p++) seen.add(ask(client.ns, p));
    assert.deepEqual([...seen].sort(), ['dns-0', 'dns-1']);
    kp.stop();
  });
}

test('iptables mode: syncs are bounded by minSyncPeriod on the virtual clock; views come from the node', () => {
  const { sim, kp, eps, first } = cluster('iptables');
  const n = kp.syncs.length;
  kp.onEndpointSliceUpdate(first, eps(2));
  kp.onEndpointSliceUpdate(eps(2), eps(1));
  assert.equal(kp.syncs.length, n, 'within minSyncPeriod of the first sync: deferred');
  sim.clock.run(sim.clock.now() + 1.1 * SECOND);
  assert.equal(kp.syncs.length, n + 1, 'both changes in one sync');
  sim.clock.run(sim.clock.now() + 31 * SECOND);
  assert.equal(kp.syncs.length, n + 2, 'periodic sync');
  assert.match(kp.iptablesSave(), /-A KUBE-SERVICES -d 10\.96\.0\.10\/32 -p udp -m comment --comment "kube-system\/dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-/);
  assert.match(kp.iptablesList('nat'), /Chain KUBE-SERVICES/);
  kp.stop();
});

test('IPVS mode: ClusterIP round robin, and a pod reaching itself through its service (KUBE-LOOP-BACK)', () => {
  const { kp, client, backends, ask } = cluster('ipvs');
  const got = [0, 1, 2, 3, 4, 5].map((i) => ask(client.ns, 41000 + i));
  // kube-proxy adds the real servers in endpoint order and IPVS puts each new one at the head of its list, so rr walks them newest first.
  assert.deepEqual(got, ['dns-2', 'dns-1', 'dns-0', 'dns-2', 'dns-1', 'dns-0']);
  const self = new Set([0, 1, 2, 3, 4, 5].map((i) => ask(backends[0]!.pod.ns, 42000 + i)));
  assert.ok(self.has('dns-0'), `hairpin works: ${[...self].join(',')}`);
  assert.match(kp.ipvsadm(), /UDP {2}10\.96\.0\.10:53 rr/);
  assert.match(kp.ipsetList(), /Name: KUBE-LOOP-BACK/);
  kp.stop();
});
