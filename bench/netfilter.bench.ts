/**
 * iptables evaluation and restore at kube-proxy scale (issue: netfilter).
 *
 * - First-packet cost of the nat PREROUTING walk to a ClusterIP (KUBE-SERVICES with
 *   N services, each jumping to KUBE-SVC → KUBE-SEP → DNAT) for N = 10, 1 000 and
 *   20 000; the 20 000 / 10 ratio shows that indexed dispatch keeps it flat, while
 *   `rulesEvaluated` reports the linear walk a real kernel does.
 * - Time to load a 10 000-service ruleset from iptables-restore text, and, where the
 *   machine can (root + ip netns + iptables), the real `iptables-restore --test` of
 *   the same text in the same run.
 */
import { spawnSync } from 'node:child_process';
import { Iptables } from '../netsim/netfilter/iptables/iptables.ts';
import { Packet } from '../netsim/packet/packet.ts';
import { buildIpv4Tcp } from '../netsim/wire/build.ts';
import { formatIpv4 } from '../netsim/wire/addr.ts';
import { Rng } from '../netsim/time/rng.ts';
import type { EvalContext } from '../netsim/netfilter/eval-types.ts';
import { CT_NEW } from '../netsim/netfilter/eval-types.ts';

export interface BenchRow { name: string; value: number; unit: string; note?: string }

const vip = (i: number): number => (0x0a600000 + i + 1) >>> 0; // 10.96.0.0/12

/** A kube-proxy-shaped nat table: N services with 2 endpoints each. */
export function kubeProxyRuleset(n: number): string {
  const out: string[] = ['*nat', ':KUBE-SERVICES - [0:0]', ':KUBE-NODEPORTS - [0:0]', ':KUBE-MARK-MASQ - [0:0]'];
  for (let i = 0; i < n; i++) out.push(`:KUBE-SVC-${i} - [0:0]`, `:KUBE-SEP-${i}A - [0:0]`, `:KUBE-SEP-${i}B - [0:0]`);
  out.push('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000');
  for (let i = 0; i < n; i++) {
    const ip = formatIpv4(vip(i));
    out.push(`-A KUBE-SERVICES -d ${ip}/32 -p tcp -m comment --comment "ns/svc${i}:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-${i}`);
  }
  out.push('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
  for (let i = 0; i < n; i++) {
    const a = `10.244.${(i >> 8) & 255}.${(i & 255) || 1}`;
    out.push(`-A KUBE-SVC-${i} ! -s 10.244.0.0/16 -d ${formatIpv4(vip(i))}/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ`);
    out.push(`-A KUBE-SVC-${i} -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-${i}A`, `-A KUBE-SVC-${i} -j KUBE-SEP-${i}B`);
    out.push(`-A KUBE-SEP-${i}A -s ${a}/32 -j KUBE-MARK-MASQ`, `-A KUBE-SEP-${i}A -p tcp -m tcp -j DNAT --to-destination ${a}:8080`);
    out.push(`-A KUBE-SEP-${i}B -s ${a}/32 -j KUBE-MARK-MASQ`, `-A KUBE-SEP-${i}B -p tcp -m tcp -j DNAT --to-destination ${a}:8081`);
  }
  out.push('COMMIT', '');
  return out.join('\n');
}

function evalCost(n: number, probes: number, distinct = 256): { ns: number; rules: number } {
  const ipt = new Iptables();
  ipt.restore(kubeProxyRuleset(n));
  const rng = new Rng(1);
  const pick = new Rng(2);
  const targets = Array.from({ length: Math.min(distinct, n) }, () => vip(pick.int(n)));
  const pkts = Array.from({ length: 256 }, (_, i) => {
    const bytes = buildIpv4Tcp({ src: 0x0af40102, dst: targets[i % targets.length] as number }, { srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: 2, window: 65535 }, new Uint8Array(0));
    return new Packet(0, bytes, 0, bytes.length);
  });
  const ctx: EvalContext = { hook: 'PREROUTING', inDev: 'cni0', outDev: undefined, now: 0, rng, ctState: CT_NEW, addrType: () => 'UNICAST', ipsets: undefined };
  let rules = 0;
  for (let i = 0; i < 10000; i++) ipt.evaluate('nat', pkts[i & 255] as Packet, ctx);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < probes; i++) {
    const r = ipt.evaluate('nat', pkts[i & 255] as Packet, ctx);
    rules += r.rulesEvaluated;
  }
  return { ns: Number(process.hrtime.bigint() - t0) / probes, rules: rules / probes };
}

function realRestoreTest(text: string): number | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const ns = `nsbench${process.pid}`;
  if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) return undefined;
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('ip', ['netns', 'exec', ns, 'iptables-restore', '--test'], { input: text });
    if (r.status !== 0) return undefined;
    return Number(process.hrtime.bigint() - t0) / 1e6;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

export async function benchNetfilter(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const costs = new Map<number, number>();
  // Packets to the same 8 services whatever N is: how dispatch cost scales with the ruleset.
  for (const n of [10, 1000, 20000]) {
    const c = evalCost(n, 200_000, 8);
    costs.set(n, c.ns);
    rows.push({ name: `nat PREROUTING first packet to a ClusterIP, ${n} services`, value: c.ns, unit: 'ns/packet', note: `a kernel walks ${c.rules.toFixed(0)} rules on average` });
  }
  rows.push({ name: 'ratio: 20 000 services / 10 services', value: (costs.get(20000) as number) / (costs.get(10) as number), unit: 'x', note: 'target < 1.5 (the real kernel grows linearly)' });
  // Packets to 256 random services: adds the cache footprint of touching many services.
  const wide10 = evalCost(10, 200_000, 256).ns;
  const wide20k = evalCost(20000, 200_000, 256).ns;
  rows.push({ name: 'same, packets spread over 256 random services, 10 services', value: wide10, unit: 'ns/packet' });
  rows.push({ name: 'same, packets spread over 256 random services, 20 000 services', value: wide20k, unit: 'ns/packet', note: `ratio ${(wide20k / wide10).toFixed(2)}x: memory locality, not rule count` });
  const text = kubeProxyRuleset(10000);
  const t0 = process.hrtime.bigint();
  new Iptables().restore(text);
  const ours = Number(process.hrtime.bigint() - t0) / 1e6;
  rows.push({ name: `iptables-restore of a 10 000-service ruleset (${text.split('\n').length} lines), emulator`, value: ours, unit: 'ms' });
  const real = realRestoreTest(text);
  if (real !== undefined) {
    rows.push({ name: 'same text, real iptables-restore --test (nf_tables)', value: real, unit: 'ms' });
    rows.push({ name: 'ratio: real / emulator restore time', value: real / ours, unit: 'x' });
  } else rows.push({ name: 'real iptables-restore --test', value: 0, unit: 'ms', note: 'skipped: needs root, ip netns and iptables' });
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchNetfilter()) console.log(`${r.name.padEnd(80)} ${r.value.toFixed(2).padStart(12)} ${r.unit}${r.note !== undefined ? `  (${r.note})` : ''}`);
}
