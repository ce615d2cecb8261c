/**
 * nf_tables at kube-proxy scale:
 * - The first packet of a connection through kube-proxy's nat-prerouting chain (the
 *   `ip daddr . meta l4proto . th dport vmap @service-ips` dispatch, the service's
 *   `numgen` vmap, the endpoint's DNAT), with 10 and 10 000 Services: the emulator's
 *   time per packet and the rules a kernel evaluates, both flat in the Service count.
 * - Loading (CPU time) a kube-proxy nftables ruleset of 10 000 Services (`nft -f` text as the
 *   nftables proxier writes it) in the emulator, against the real nft of the same text
 *   in the same run, where the machine can (root, ip netns, nft): `nft -c -f` (parse and
 *   evaluate, no commit) and `nft -f` into a fresh namespace.
 */
import { spawnSync } from 'node:child_process';
import { Packet } from '../netsim/packet/packet.ts';
import { setIpv4Context } from '../netsim/packet/packet.ts';
import { Rng } from '../netsim/time/rng.ts';
import { buildIpv4Tcp } from '../netsim/wire/build.ts';
import { Nftables } from '../netsim/netfilter/nftables/nftables.ts';
import { evaluateBaseChain } from '../netsim/netfilter/nftables/evaluate.ts';
import type { NftEnv } from '../netsim/netfilter/nftables/evaluate.ts';
import { kubeProxyRuleset } from '../netsim/netfilter/nftables/test-support.ts';

export interface BenchRow { name: string; value: number; unit: string; note?: string }

const CLUSTER_BASE = (172 << 24) | (30 << 16);

function firstPacketCost(services: number, probes: number): { ns: number; rules: number } {
  const nft = new Nftables();
  nft.apply(kubeProxyRuleset({ services, endpointsPer: 2 }));
  const table = nft.ruleset.tables.get('ip kube-proxy');
  const chain = table?.chains.get('nat-prerouting');
  if (table === undefined || chain === undefined) throw new Error('kube-proxy table missing');
  const pick = new Rng(2);
  // Eight Services whatever the count (tcp ones: index % 5 != 4), port 80 + index % 3.
  const targets = Array.from({ length: 8 }, () => {
    let s = pick.int(services);
    while (s % 5 === 4) s = (s + 1) % services;
    return s;
  });
  const pkts = targets.map((s) => {
    const bytes = buildIpv4Tcp({ src: 0x0a000102, dst: CLUSTER_BASE + s + 1 }, { srcPort: 40000, dstPort: 80 + (s % 3), seq: 1, ack: 0, flags: 2, window: 65535 }, new Uint8Array(0));
    const p = new Packet(0, bytes, 0, bytes.length);
    setIpv4Context(p);
    return p;
  });
  const env: NftEnv = {
    inDev: 'cni0', outDev: undefined, ctState: 8, ctStatus: 0, ctMark: 0, setCtMark: undefined, now: 0, rng: new Rng(1),
    addrType: () => 'UNICAST', onRule: undefined, onLog: undefined,
  };
  let rules = 0;
  for (let i = 0; i < 20000; i++) evaluateBaseChain(table, chain, pkts[i & 7] as Packet, env);
  // CPU time, not wall time: the machine is shared.
  const c0 = process.cpuUsage();
  for (let i = 0; i < probes; i++) {
    const r = evaluateBaseChain(table, chain, pkts[i & 7] as Packet, env);
    if (r.nat === undefined) throw new Error('no DNAT');
    rules += r.rulesEvaluated;
  }
  const c = process.cpuUsage(c0);
  return { ns: ((c.user + c.system) * 1000) / probes, rules: rules / probes };
}

/**
 * CPU ms (user + system, the nft process and the kernel work it causes) of the real
 * nft on `text` in a fresh namespace (args: ['-c', '-f', '-'] or ['-f', '-']), or undefined.
 */
function realNft(args: readonly string[], text: string): number | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const ns = `nsim-nftbench-${process.pid}`;
  if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) return undefined;
  try {
    const r = spawnSync('bash', ['-c', `TIMEFORMAT='%U %S'; time (ip netns exec ${ns} nft ${args.join(' ')} >/dev/null)`], { input: text, maxBuffer: 1 << 30, encoding: 'utf8' });
    if (r.status !== 0) return undefined;
    const [u, s] = (r.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
    return ((u ?? NaN) + (s ?? NaN)) * 1000;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

export async function benchNftables(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const small = firstPacketCost(10, 200_000);
  const large = firstPacketCost(10_000, 200_000);
  rows.push({ name: 'nft nat-prerouting, first packet to a ClusterIP, 10 Services', value: small.ns, unit: 'ns/packet', note: `a kernel evaluates ${small.rules.toFixed(0)} rules` });
  rows.push({ name: 'same, 10 000 Services', value: large.ns, unit: 'ns/packet', note: `a kernel evaluates ${large.rules.toFixed(0)} rules` });
  rows.push({ name: 'ratio: 10 000 / 10 Services', value: large.ns / small.ns, unit: 'x', note: 'verdict maps: flat in the emulator and in the kernel' });
  const text = kubeProxyRuleset({ services: 10_000, endpointsPer: 2, noEndpointsEvery: 10, affinityEvery: 20 });
  const lines = text.split('\n').length;
  const c0 = process.cpuUsage();
  new Nftables().apply(text);
  const c = process.cpuUsage(c0);
  const ours = (c.user + c.system) / 1000;
  rows.push({ name: `nft -f of a 10 000-Service kube-proxy ruleset (${lines} lines), emulator`, value: ours, unit: 'ms' });
  const check = realNft(['-c', '-f', '-'], text);
  const load = realNft(['-f', '-'], text);
  if (check !== undefined && load !== undefined) {
    rows.push({ name: 'same text, real nft -c -f (parse and evaluate, no commit)', value: check, unit: 'ms', note: `${(check / ours).toFixed(2)}x the emulator` });
    rows.push({ name: 'same text, real nft -f into a fresh namespace', value: load, unit: 'ms', note: `${(load / ours).toFixed(2)}x the emulator` });
  } else rows.push({ name: 'real nft', value: 0, unit: 'ms', note: 'skipped: needs root, ip netns and nft' });
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchNftables()) console.log(`${r.name.padEnd(80)} ${r.value.toFixed(2).padStart(12)} ${r.unit}${r.note !== undefined ? `  (${r.note})` : ''}`);
}
