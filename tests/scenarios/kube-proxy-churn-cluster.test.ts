/**
 * Endpoint churn in a running spec-built cluster (issue 6), in both proxy modes: a
 * Deployment behind a TCP+UDP Service is scaled down and up through its scale
 * subresource while clients on both nodes keep sending. After kube-proxy's sync no
 * new TCP connection reaches the removed pod, and new pods take traffic; UDP flows
 * pinned to the removed pod are moved by kube-proxy's conntrack cleanup.
 *
 * Without the cleanup (`conntrackCleanup: false`, a kube-proxy without the conntrack
 * tool) iptables mode black-holes those flows for as long as they keep sending: the
 * conntrack entry still DNATs to the dead address and every packet refreshes it.
 * IPVS mode does not: the flow lives in IPVS's own connection table, and with the
 * real server gone (kube-proxy removes UDP real servers at once and sets
 * expire_nodest_conn=1) IPVS expires the connection and schedules the next datagram
 * afresh — so the flows move there even without the cleanup.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../../cluster/cluster.ts';
import { resourceForKind } from '../../control/resources/index.ts';
import type { ProxyMode } from '../../cluster/spec.ts';
import { MS, SECOND } from '../../netsim/time/scheduler.ts';
import type { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { fetchFrom, seedSpec } from '../support/spec-cluster.ts';

const MANIFESTS = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {netsim.io/apps: "http:80,udp-echo:53"}
    spec:
      containers: [{name: web, image: netsim/http}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, protocol: TCP}, {name: dns, port: 53, protocol: UDP}]
---
apiVersion: v1
kind: Pod
metadata: {name: client1}
spec: {nodeName: node01, containers: [{name: c, image: netsim/http-client}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client2}
spec: {nodeName: node02, containers: [{name: c, image: netsim/http-client}]}
`;

async function churnCluster(mode: ProxyMode, conntrackCleanup: boolean) {
  /** Which pod the last datagram reached (the echo app's tap). */
  let lastHit = '';
  const cluster = await Cluster.build(seedSpec({ mode, manifests: MANIFESTS }), { conntrackCleanup, appTap: (pod) => { lastHit = pod.replace(/^default\//, ''); } });
  const vip = cluster.services.get('default/web')!.clusterIP;
  const client1 = cluster.pods.get('default/client1')!.ns;
  const client2 = cluster.pods.get('default/client2')!.ns;
  const web = (): string[] => [...cluster.pods.keys()].filter((k) => k.startsWith('default/web-')).map((k) => k.slice(8));
  const deployments = resourceForKind('apps/v1', 'Deployment')!;
  const scale = async (replicas: number): Promise<void> => {
    await cluster.control.registry.patch(deployments, 'default', 'web', 'merge', { spec: { replicas } }, {}, 'scale');
  };
  /** Long-lived UDP flows (fixed source ports on client1). */
  const flows = [0, 1, 2, 3, 4, 5].map((i) => {
    const s = client1.udp.bind(40000 + i);
    let replies = 0;
    s.onMessage = () => { replies++; };
    return { s, replies: () => replies };
  });
  /** One datagram per flow, 50 ms apart; which pod each reached ('-' when none answered). */
  const udpRound = async (socks = flows): Promise<string[]> => {
    const out: string[] = [];
    for (const f of socks) {
      lastHit = '';
      const before = f.replies();
      f.s.send(vip, 53, new Uint8Array([1]));
      await cluster.runFor(50 * MS);
      out.push(f.replies() > before ? lastHit : '-');
    }
    return out;
  };
  /** Whether both nodes' kube-proxy rules still send to `ip`. */
  const programmed = (ip: string): boolean[] => ['node01', 'node02'].map((n) => {
    const text = mode === 'iptables' ? cluster.nodeView(n, 'iptables-save') ?? '' : cluster.nodeView(n, 'ipvsadm') ?? '';
    return text.includes(mode === 'iptables' ? `--to-destination ${ip}:` : ` ${ip}:80 `);
  });
  const tcpRound = async (n: number): Promise<string[]> => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(await fetchFrom(cluster, (i % 2 === 0 ? client1 : client2) as NetNamespace, vip, 80, SECOND));
    return out;
  };
  return { cluster, web, scale, udpRound, programmed, tcpRound, flows, client1, vip };
}

for (const mode of ['iptables', 'ipvs'] as const) {
  for (const cleanup of [true, false]) {
    test(`churn (${mode}, conntrack cleanup ${cleanup ? 'on' : 'off'}): scale 3 → 2 → 4 under TCP and UDP traffic`, async () => {
      const h = await churnCluster(mode, cleanup);
      const { cluster } = h;
      try {
        const initial = h.web();
        assert.equal(initial.length, 3);
        const pinned = await h.udpRound();
        assert.deepEqual(await h.udpRound(), pinned, 'conntrack pins each UDP flow to one endpoint');
        assert.deepEqual([...new Set(pinned)].sort(), [...initial].sort(), 'the six flows are spread over all three pods');

        // Scale down; find the victim and its address before it goes.
        const ips = new Map(initial.map((p) => [p, cluster.podIp(`default/${p}`)!]));
        await h.scale(2);
        await cluster.runFor(100 * MS);
        const victim = initial.find((p) => !h.web().includes(p));
        assert.ok(victim !== undefined, 'one pod removed');
        const victimIp = ips.get(victim)!;
        const victimFlows = pinned.flatMap((p, i) => (p === victim ? [i] : []));
        assert.ok(victimFlows.length > 0);

        // Keep the UDP flows going until both nodes' kube-proxy have synced the removal.
        for (let i = 0; h.programmed(victimIp).some(Boolean); i++) {
          assert.ok(i < 40, 'kube-proxy synced within 4 s');
          const r = await h.udpRound();
          for (const [j, p] of r.entries()) assert.ok(p !== victim, `flow ${j} answered by the removed pod`);
          await cluster.runFor(50 * MS);
        }
        // After the sync: three more rounds over the next 1.5 s.
        let after: string[] = [];
        for (let k = 0; k < 3; k++) {
          after = await h.udpRound();
          await cluster.runFor(200 * MS);
        }
        for (const [j, p] of after.entries()) {
          if (!victimFlows.includes(j)) assert.equal(p, pinned[j], `flow ${j} stays on its endpoint`);
          else if (cleanup || mode === 'ipvs') assert.ok(p !== '-' && p !== victim && h.web().includes(p), `flow ${j} moved to a live pod, got ${p}`);
          else assert.equal(p, '-', `flow ${j}: without the conntrack cleanup iptables mode black-holes it`);
        }
        if (!cleanup && mode === 'iptables') {
          assert.match(cluster.nodeView('node01', 'conntrack') ?? '', new RegExp(`^udp .* dport=53 .*src=${victimIp.replace(/\./g, '\\.')} dst=`, 'm'), 'the stale entry still points at the removed pod');
        }
        // New TCP connections after the sync: all answered, none by the removed pod.
        const tcp = await h.tcpRound(8);
        for (const who of tcp) assert.ok(h.web().includes(who), `new connection answered by a live pod, got ${who}`);
        assert.deepEqual([...new Set(tcp)].sort(), [...h.web()].sort());

        // Scale up: once kube-proxy has the new endpoints, new connections and new flows reach them.
        await h.scale(4);
        await cluster.runFor(200 * MS);
        const added = h.web().filter((p) => !initial.includes(p));
        assert.equal(added.length, 2);
        for (let i = 0; added.some((p) => !h.programmed(cluster.podIp(`default/${p}`)!).every(Boolean)); i++) {
          assert.ok(i < 40, 'kube-proxy synced the new endpoints within 4 s');
          await cluster.runFor(100 * MS);
        }
        const tcp2 = await h.tcpRound(12);
        for (const p of added) assert.ok(tcp2.includes(p), `new pod ${p} gets new connections: ${tcp2.join(' ')}`);
        for (const who of tcp2) assert.ok(who !== victim && h.web().includes(who));
        const fresh = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => {
          const s = h.client1.udp.bind(41000 + i);
          let replies = 0;
          s.onMessage = () => { replies++; };
          return { s, replies: () => replies };
        });
        const udp2 = await h.udpRound(fresh);
        assert.ok(added.some((p) => udp2.includes(p)), `new UDP flows reach the new pods: ${udp2.join(' ')}`);
        for (const p of udp2) assert.ok(p !== '-' && p !== victim);
      } finally {
        await cluster.close();
      }
    });
  }
}
