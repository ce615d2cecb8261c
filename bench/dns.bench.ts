/**
 * Cluster DNS queries per second through the whole datapath: a pod on one node asks
 * the kube-dns ClusterIP, kube-proxy DNATs to the CoreDNS pod on the other node,
 * flannel (udp backend) carries it there and back, conntrack un-NATs the answer —
 * one query at a time, the next sent when the answer arrives (a client loop).
 *
 * Baseline in the same run: the same client loop to a UDP echo pod on CoreDNS's node,
 * by pod IP (no DNAT, no DNS server), with the same payload.
 * The ratio is what DNS costs over a plain pod-to-pod UDP exchange. Wall-clock time
 * of the loop only (the cluster is built before timing); CoreDNS's cache answers all
 * but the first query, as for a client asking one name over and over.
 */
import { Cluster } from '../cluster/cluster.ts';
import { demoSpec } from '../cluster/demo-flows.ts';
import { MS, SECOND } from '../netsim/time/scheduler.ts';
import { parseIpv4 } from '../netsim/wire/addr.ts';
import type { Ipv4Addr } from '../netsim/wire/addr.ts';
import type { NetNamespace } from '../netsim/stack/net-namespace.ts';
import { encodeMessage } from '../apps/dns/message.ts';
import { udpExchange } from '../apps/dns/transport.ts';
import type { BenchRow } from './experiment.bench.ts';

/** Run `n` exchanges back to back; wall-clock seconds and the count answered. */
function loop(c: Cluster, from: NetNamespace, dst: Ipv4Addr, port: number, n: number): { seconds: number; answered: number } {
  let answered = 0;
  let sent = 0;
  let finished = false;
  const next = (): void => {
    if (sent >= n) { finished = true; return; }
    sent++;
    const q = encodeMessage({ id: sent & 0xffff, rd: true, questions: [{ name: 'nginx-service.default.svc.cluster.local', type: 'A', class: 'IN' }] });
    udpExchange(from, dst, port, q, SECOND, (r) => {
      if (r.ok) answered++;
      next();
    });
  };
  const t0 = process.hrtime.bigint();
  next();
  // Periodic timers (kube-proxy, flanneld) never let the clock run dry: advance in steps.
  while (!finished) c.sim.clock.run(c.sim.clock.now() + 100 * MS);
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, answered };
}

export async function benchDns(n = Number(process.env['NETSIM_BENCH_DNS'] ?? 20_000)): Promise<BenchRow[]> {
  const spec = { ...demoSpec(), dns: { ...demoSpec().dns, replicas: 1 } };
  const c = await Cluster.build(spec);
  try {
    const coredns = [...c.pods.values()].find((p) => p.key.startsWith('kube-system/coredns-'));
    if (coredns === undefined) throw new Error('no CoreDNS pod');
    // The echo pod beside CoreDNS, so both loops take the same trip.
    await c.apply([{
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bench-echo', namespace: 'default' },
      spec: { nodeName: coredns.node, containers: [{ name: 'echo', image: 'netsim/echo', ports: [{ containerPort: 5353, protocol: 'UDP' }] }] },
    }]);
    const target = c.pods.get('default/bench-echo');
    if (target === undefined) throw new Error('no echo pod');
    // A client pod on the other node, so both loops cross flannel.
    const client = [...c.pods.values()].find((p) => p.key.startsWith('default/webapp') && p.node !== coredns.node);
    if (client === undefined) throw new Error('no client pod on the node without CoreDNS');
    c.sim.clock.runFor(SECOND);
    loop(c, client.ns, parseIpv4(c.dns!.serviceIP), 53, 200); // warm-up: ARP, conntrack, cache
    loop(c, client.ns, target.ip, 5353, 200);
    const dns = loop(c, client.ns, parseIpv4(c.dns!.serviceIP), 53, n);
    const udp = loop(c, client.ns, target.ip, 5353, n);
    const dnsQps = dns.answered / dns.seconds;
    const udpQps = udp.answered / udp.seconds;
    return [
      { name: `pod → kube-dns ClusterIP → CoreDNS on ${coredns.node} (from ${client.node}), ${n} queries`, value: Math.round(dnsQps), unit: 'queries/s', note: `${dns.answered} answered` },
      { name: `baseline: pod → UDP echo pod on ${target.node} by pod IP, same size`, value: Math.round(udpQps), unit: 'exchanges/s', note: `${udp.answered} answered` },
      { name: 'ratio baseline / DNS', value: Math.round((udpQps / dnsQps) * 100) / 100, unit: '×' },
    ];
  } finally {
    await c.close();
  }
}
