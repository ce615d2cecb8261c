/**
 * Clusters built from a spec, across the matrix flannel backend (udp, vxlan, host-gw)
 * × runtime (docker, cni) × kube-proxy mode (iptables, ipvs, nftables): every combination
 * builds from the seed spec with that one line changed, and must give Running pods
 * with addresses from their node's flannel lease, pod → pod across nodes with the
 * TTL each backend leaves (udp: flanneld decrements twice more), pod → ClusterIP
 * reaching every backend, outside → NodePort on both nodes, pod → outside
 * masqueraded to the node's address, the device MTUs flannel derives, and the node
 * views kube-proxy leaves (`iptables-save`, `ipvsadm -Ln` in IPVS mode, `nft list
 * ruleset` in nftables mode).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../../cluster/cluster.ts';
import type { FlannelBackendType, ProxyMode, RuntimeKind } from '../../cluster/spec.ts';
import { ping } from '../../netsim/apps/ping.ts';
import { Ipv4Cidr, formatIpv4, parseIpv4 } from '../../netsim/wire/addr.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import type { Pod } from '../../control/api/index.ts';
import { fetchFrom, seedSpec } from '../support/spec-cluster.ts';
import { lookup } from '../../apps/dns/stub-resolver.ts';
import type { LookupResult } from '../../apps/dns/stub-resolver.ts';

const BACKENDS: FlannelBackendType[] = ['udp', 'vxlan', 'host-gw'];
const RUNTIMES: RuntimeKind[] = ['docker', 'cni'];
const MODES: ProxyMode[] = ['iptables', 'ipvs', 'nftables'];

/** TTL of an echo reply (sent with 64) from a pod on the other node: each node's forward, plus flanneld's two decrements in udp mode. */
const CROSS_NODE_TTL: Record<FlannelBackendType, number> = { udp: 60, vxlan: 62, 'host-gw': 62 };
/** The overlay device and the MTU flannel gives it on a 1500-byte underlay (udp: 20 IP + 8 UDP; vxlan: 50). */
const OVERLAY: Record<FlannelBackendType, { dev: string; mtu: number } | undefined> = { udp: { dev: 'flannel0', mtu: 1472 }, vxlan: { dev: 'flannel.1', mtu: 1450 }, 'host-gw': undefined };

for (const backend of BACKENDS) {
  for (const runtime of RUNTIMES) {
    for (const mode of MODES) {
      test(`spec-built cluster: ${backend} + ${runtime} + ${mode}`, async () => {
        const cluster = await Cluster.build(seedSpec({ backend, runtime, mode }));
        try {
          const bridge = runtime === 'docker' ? 'docker0' : 'cni0';
          // Pods Running with addresses from their node's lease; the Node's podCIDR is that lease.
          const all = await cluster.control.api.list<Pod>('pods');
          // The seed's six, the DNS add-on's two CoreDNS replicas in kube-system, and on each node a kube-proxy
          // and a kube-flannel pod (host network, checked by cluster/system-pods.test.ts).
          assert.equal(all.length, 12);
          assert.equal(all.filter((p) => p.spec.hostNetwork === true).length, 4);
          const pods = all.filter((p) => p.spec.hostNetwork !== true);
          assert.equal(pods.filter((p) => p.metadata.namespace === 'kube-system' && p.metadata.labels?.['k8s-app'] === 'kube-dns').length, 2);
          const nodes = await cluster.control.api.list<{ metadata: { name: string }; spec: { podCIDR?: string } }>('nodes');
          for (const p of pods) {
            assert.equal(p.status?.phase, 'Running', `${p.metadata.name} Running`);
            assert.equal(p.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
            const cn = cluster.clusterNodes.get(p.spec.nodeName ?? '');
            assert.ok(cn !== undefined, `${p.metadata.name} bound to a node`);
            const lease = cn.flanneld.lease?.subnet;
            assert.ok(lease !== undefined);
            assert.ok(lease.contains(parseIpv4(p.status?.podIP ?? '0.0.0.0')), `${p.metadata.name} ${p.status?.podIP} in ${lease.toString()}`);
            assert.equal(nodes.find((n) => n.metadata.name === cn.name)?.spec.podCIDR, lease.toString());
          }
          const leases = [...cluster.clusterNodes.values()].map((cn) => cn.flanneld.lease?.subnet.toString());
          assert.notEqual(leases[0], leases[1], 'the nodes hold different leases');
          for (const l of leases) assert.ok(Ipv4Cidr.parse('10.244.0.0/16').containsCidr(Ipv4Cidr.parse(l ?? '')));

          // Device MTUs: the overlay's, and the bridge and pod eth0 follow FLANNEL_MTU.
          const overlay = OVERLAY[backend];
          for (const cn of cluster.clusterNodes.values()) {
            const mtu = overlay?.mtu ?? 1500;
            if (overlay !== undefined) assert.equal(cn.ns.device(overlay.dev).mtu, overlay.mtu, `${cn.name} ${overlay.dev}`);
            for (const other of ['flannel0', 'flannel.1']) if (other !== overlay?.dev) assert.throws(() => cn.ns.device(other), `${cn.name} has no ${other}`);
            assert.equal(cn.ns.device(bridge).mtu, mtu, `${cn.name} ${bridge}`);
            for (const p of cluster.pods.values()) if (p.node === cn.name) assert.equal(p.ns.device('eth0').mtu, mtu, `${p.key} eth0`);
          }

          const webapp01 = cluster.pods.get('default/webapp01')!;
          const webapp03 = cluster.pods.get('default/webapp03')!;
          const backendPod = cluster.pods.get('default/backend')!;
          assert.equal(webapp01.node, 'node01');
          assert.equal(backendPod.node, 'node02');

          // pod → pod across nodes: the echo reply's TTL says how many hops decremented it.
          const pg = ping(webapp01.ns, backendPod.ip, { count: 1 });
          await cluster.runFor(2 * SECOND);
          assert.equal(pg.replies.length, 1, 'cross-node echo reply');
          assert.equal(pg.replies[0]?.ttl, CROSS_NODE_TTL[backend]);
          assert.equal(await fetchFrom(cluster, webapp01.ns, backendPod.ip, 80), 'backend');

          // pod → ClusterIP from both nodes: every nginx replica answers some connection.
          const svc = cluster.services.get('default/nginx-service')!;
          assert.equal(formatIpv4(svc.clusterIP), '10.96.63.155');
          const nginx = [...cluster.pods.keys()].filter((k) => k.startsWith('default/nginx-deployment-')).map((k) => k.slice('default/'.length)).sort();
          assert.equal(nginx.length, 2);
          const seen = new Set<string>();
          for (let i = 0; i < 6; i++) seen.add(await fetchFrom(cluster, (i % 2 === 0 ? webapp01 : webapp03).ns, svc.clusterIP, 80));
          assert.deepEqual([...seen].sort(), nginx, 'ClusterIP connections reach exactly the nginx pods');

          // By name: the pod's resolver walks its search path to kube-dns (a CoreDNS pod on either node).
          // (In IPVS mode the parallel A and AAAA can lose the conntrack insert race and stall 5 s.)
          for (const from of [webapp01, webapp03]) {
            let found: LookupResult | undefined;
            lookup(from.ns, 'nginx-service', { resolvConf: from.resolvConf!, hosts: from.hosts ?? '' }, (r) => { found = r; });
            await cluster.runFor(12 * SECOND);
            assert.deepEqual(found?.addresses, ['10.96.63.155'], `${from.key} resolves nginx-service`);
          }

          // outside → NodePort on each node's address.
          const client = cluster.external.get('client')!;
          for (const n of ['node01', 'node02']) {
            const who = await fetchFrom(cluster, client, cluster.nodes.get(n)!.primaryAddress('eth0')!, 30000);
            assert.ok(nginx.includes(who), `client → ${n}:30000 answered by an nginx pod, got ${who}`);
          }

          // pod → outside: masqueraded to node02's address.
          const sink = client.udp.bind(9);
          const sources: string[] = [];
          sink.onMessage = (m) => sources.push(formatIpv4(m.src));
          webapp03.ns.udp.bind(0).send(client.primaryAddress('eth0')!, 9, new Uint8Array([1]));
          await cluster.runFor(SECOND);
          assert.deepEqual(sources, ['192.168.50.12']);
          assert.equal(await fetchFrom(cluster, webapp03.ns, client.primaryAddress('eth0')!, 80), 'client');

          // Node views.
          const save = cluster.nodeView('node01', 'iptables-save') ?? '';
          assert.match(save, /^-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG$/m);
          if (mode !== 'nftables') assert.match(save, /^-A KUBE-POSTROUTING .*-j MASQUERADE/m);
          const ipvsadm = cluster.nodeView('node01', 'ipvsadm');
          const nft = cluster.nodeView('node01', 'nft') ?? '';
          if (mode === 'nftables') {
            // kube-proxy's table, its service-ips verdict map holding the ClusterIP, and the NodePort; no KUBE- chains in iptables.
            assert.doesNotMatch(save, /KUBE-SVC-|KUBE-SERVICES/);
            assert.match(nft, /^table ip kube-proxy \{$/m);
            assert.match(nft, /^\tchain nat-prerouting \{\n\t\ttype nat hook prerouting priority dstnat; policy accept;$/m);
            assert.match(nft, /\b10\.96\.63\.155 \. tcp \. 80 : goto service-\w{8}-default\/nginx-service\/tcp\//);
            assert.match(nft, /\btcp \. 30000 : goto external-\w{8}-default\/nginx-service\/tcp\//);
            assert.equal(nft.match(/^\tchain endpoint-\w{8}-default\/nginx-service\/tcp\/__/gm)?.length, 2, nft);
            assert.equal(ipvsadm, undefined, 'no IPVS in nftables mode');
          } else if (mode === 'iptables') {
            assert.match(save, /^-A KUBE-SERVICES -d 10\.96\.63\.155\/32 -p tcp -m comment --comment "default\/nginx-service cluster IP" -m tcp --dport 80 -j KUBE-SVC-\w{16}$/m);
            assert.match(save, /^-A KUBE-NODEPORTS -p tcp -m comment --comment "default\/nginx-service" -m tcp --dport 30000 -j KUBE-EXT-\w{16}$/m);
            assert.equal(save.match(/^-A KUBE-SEP-\w{16} -p tcp -m comment --comment "default\/nginx-service" -m tcp -j DNAT --to-destination /gm)?.length, 2);
            assert.equal(ipvsadm, undefined, 'no IPVS in iptables mode');
            assert.doesNotMatch(nft, /kube-proxy/);
          } else {
            assert.doesNotMatch(save, /KUBE-SVC-/);
            assert.match(save, /--match-set KUBE-CLUSTER-IP dst,dst/);
            assert.ok(ipvsadm !== undefined);
            const endpoints = nginx.map((n) => cluster.podIp(`default/${n}`)).sort();
            const block = (vip: string): string[] => {
              const lines = ipvsadm.split('\n');
              const i = lines.findIndex((l) => l.startsWith(`TCP  ${vip} rr`));
              assert.ok(i >= 0, `ipvsadm lists ${vip}\n${ipvsadm}`);
              const out: string[] = [];
              for (let j = i + 1; j < lines.length && lines[j]!.startsWith('  ->'); j++) out.push(lines[j]!.split(/\s+/)[2]!.replace(/:80$/, ''));
              return out.sort();
            };
            assert.deepEqual(block('10.96.63.155:80'), endpoints);
            assert.deepEqual(block('192.168.50.11:30000'), endpoints);
          }
        } finally {
          await cluster.close();
        }
      });
    }
  }
}
