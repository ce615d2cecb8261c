/**
 * The NetworkPolicy enforcer (kube-router's controller, policy/) at 1 000 policies
 * over 5 000 pods, against the same cluster with no policies, in the same run.
 *
 * The cluster: 100 namespaces × 50 pods over 50 nodes (100 pods on the measured
 * node); per namespace 10 policies, each selecting the 5 pods of one `app` label and
 * allowing TCP 80 from another app's pods. The node's netfilter and ipsets are the
 * emulator's own (policy/netsim-node.ts), so a sync includes iptables-save, the
 * restore parse and load, and the ipset restore.
 *
 * - Full sync: fullPolicySync() from an empty node (first) and again (steady state:
 *   every sync rewrites every chain under a new version, as upstream does).
 * - First-packet cost: the filter table's FORWARD walk of a SYN from a pod on another
 *   node to a local pod (conntrack NEW) — what every new connection pays — for a
 *   connection a policy allows and one it denies; and the rules a real kernel walks.
 *
 * Run alone: `npm run bench -- policy`.
 */
import { Sim } from '../netsim/sim.ts';
import { NetNamespace } from '../netsim/stack/net-namespace.ts';
import { NetfilterStack } from '../netsim/netfilter/netfilter-stack.ts';
import { Ipsets } from '../netsim/ipset/ipset.ts';
import { Packet } from '../netsim/packet/packet.ts';
import { buildIpv4Tcp } from '../netsim/wire/build.ts';
import { parseIpv4 } from '../netsim/wire/addr.ts';
import { CT_NEW } from '../netsim/netfilter/eval-types.ts';
import type { AddrType, EvalContext } from '../netsim/netfilter/eval-types.ts';
import { Rng } from '../netsim/time/rng.ts';
import { NetworkPolicyController } from '../policy/controller.ts';
import { netsimIpsetCommands, netsimIptablesCommands } from '../policy/netsim-node.ts';
import type { Namespace, NetworkPolicy, Pod } from '../control/api/index.ts';

export interface BenchRow { name: string; value: number; unit: string; note?: string }

const NAMESPACES = 100;
const PODS_PER_NS = 50;
const NODES = 50;
const APPS = 10;
const NODE_IP = '192.168.0.1';

function cluster(): { pods: Pod[]; namespaces: Namespace[]; policies: NetworkPolicy[] } {
  const pods: Pod[] = [];
  const namespaces: Namespace[] = [];
  const policies: NetworkPolicy[] = [];
  for (let n = 0; n < NAMESPACES; n++) {
    const ns = `ns${n}`;
    namespaces.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } } });
    for (let i = 0; i < PODS_PER_NS; i++) {
      const k = n * PODS_PER_NS + i;
      const node = k % NODES;
      pods.push({
        apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod${i}`, namespace: ns, labels: { app: `app${i % APPS}` } },
        spec: { nodeName: `node${node}`, containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: 80 }] }] },
        status: { phase: 'Running', hostIP: `192.168.0.${node + 1}`, podIP: `10.${node}.${k >> 8 & 255}.${k & 255}`, podIPs: [{ ip: `10.${node}.${k >> 8 & 255}.${k & 255}` }] },
      });
    }
    for (let a = 0; a < APPS; a++) {
      policies.push({
        apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `allow-app${a}`, namespace: ns },
        spec: { podSelector: { matchLabels: { app: `app${a}` } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: `app${(a + 1) % APPS}` } } }], ports: [{ protocol: 'TCP', port: 80 }] }], policyTypes: ['Ingress'] },
      });
    }
  }
  return { pods, namespaces, policies };
}

interface Node {
  readonly nf: NetfilterStack;
  readonly sets: Ipsets;
  readonly npc: NetworkPolicyController;
}

function node(pods: Pod[], namespaces: Namespace[], policies: NetworkPolicy[]): Node {
  const sim = new Sim({ seed: 1 });
  const ns = new NetNamespace(sim, 'node0');
  const nf = new NetfilterStack(ns);
  const sets = new Ipsets();
  let t = 0n;
  const npc = new NetworkPolicyController(
    { nodeName: 'node0', nodeIPs: [NODE_IP], serviceClusterIPRange: '10.96.0.0/12', nodePortRange: '30000:32767' },
    { iptables: netsimIptablesCommands(nf), ipset: netsimIpsetCommands(nf, sets), listers: { pods: () => pods, namespaces: () => namespaces, networkPolicies: () => policies }, clock: sim.clock, nowUnixNano: () => (t += 1_000_000_000n) },
  );
  return { nf, sets, npc };
}

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/**
 * Mean ns per FORWARD walk of a SYN from a pod on another node to a local pod (routed in
 * from flannel.1 to cni0, conntrack NEW), and the rules a kernel would walk (mean).
 * `pairs` are [source, destination] addresses.
 */
function firstPacket(n: Node, pairs: ReadonlyArray<readonly [string, string]>, rounds: number): { ns: number; rules: number; verdicts: string } {
  const pkts = pairs.map(([src, dst], i) => {
    const b = buildIpv4Tcp({ src: parseIpv4(src), dst: parseIpv4(dst) }, { srcPort: 40000 + i, dstPort: 80, seq: 1, ack: 0, flags: 2, window: 1 }, new Uint8Array(0));
    return new Packet(1, b, 0, b.length);
  });
  const node = parseIpv4(NODE_IP);
  const ctx: EvalContext = { hook: 'FORWARD', inDev: 'flannel.1', outDev: 'cni0', now: 0, rng: new Rng(1), ctState: CT_NEW, addrType: (a): AddrType => (a === node ? 'LOCAL' : 'UNICAST'), ipsets: n.sets };
  let rules = 0;
  const verdicts = new Set<string>();
  for (const p of pkts) {
    const r = n.nf.iptables.evaluate('filter', p, ctx);
    rules += r.rulesEvaluated;
    verdicts.add(r.rejectWith !== undefined ? 'REJECT' : r.verdict);
  }
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) for (const p of pkts) {
    p.mark = 0;
    n.nf.iptables.evaluate('filter', p, ctx);
  }
  return { ns: Number(process.hrtime.bigint() - t0) / (rounds * pkts.length), rules: rules / pkts.length, verdicts: [...verdicts].sort().join('/') };
}

export async function benchPolicy(): Promise<BenchRow[]> {
  await Promise.resolve();
  const { pods, namespaces, policies } = cluster();
  const ip = (ns: number, i: number): string => (pods[ns * PODS_PER_NS + i] as Pod).status?.podIP as string;
  const localCount = pods.filter((p) => p.status?.hostIP === NODE_IP).length;
  // The node's pod in each namespace is pod0 (app0); pod1 (app1, another node) is allowed in, pod2 (app2) is not.
  const allowed = Array.from({ length: NAMESPACES }, (_, n) => [ip(n, 1), ip(n, 0)] as const);
  const denied = Array.from({ length: NAMESPACES }, (_, n) => [ip(n, 2), ip(n, 0)] as const);
  const rows: BenchRow[] = [];
  const steady: Record<string, number> = {};
  const packet: Record<string, number> = {};
  for (const [label, pol] of [['no policies', [] as NetworkPolicy[]], ['1 000 policies', policies]] as const) {
    const n = node(pods, namespaces, pol);
    let t0 = process.hrtime.bigint();
    const r1 = n.npc.fullPolicySync();
    const first = ms(t0);
    t0 = process.hrtime.bigint();
    const r2 = n.npc.fullPolicySync();
    steady[label] = ms(t0);
    if (r1 === undefined || r2 === undefined) throw new Error(`policy bench: sync failed: ${n.npc.errors.map((e) => e.message).join('; ')}`);
    const a = firstPacket(n, allowed, 200);
    packet[label] = a.ns;
    rows.push(
      { name: `${label}: first full sync (${localCount} local pods of ${pods.length})`, value: first, unit: 'ms' },
      { name: `${label}: steady full sync`, value: steady[label] as number, unit: 'ms', note: `${r2.restoreText.split('\n').length} restore lines, ${n.sets.names().length} ipsets` },
      { name: `${label}: first packet, remote pod → local pod (allowed)`, value: a.ns, unit: 'ns', note: `${a.verdicts}; a kernel walks ${a.rules.toFixed(1)} rules` },
    );
    if (pol.length > 0) {
      const d = firstPacket(n, denied, 200);
      rows.push({ name: `${label}: first packet, remote pod → local pod (denied)`, value: d.ns, unit: 'ns', note: `${d.verdicts}; a kernel walks ${d.rules.toFixed(1)} rules` });
    }
  }
  rows.push(
    { name: 'ratio steady full sync, 1 000 policies / none', value: (steady['1 000 policies'] as number) / (steady['no policies'] as number), unit: '×' },
    { name: 'ratio first packet (allowed), 1 000 policies / none', value: (packet['1 000 policies'] as number) / (packet['no policies'] as number), unit: '×' },
  );
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchPolicy()) console.log(r.name, r.value.toFixed(2), r.unit, r.note ?? '');
}
