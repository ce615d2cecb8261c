/**
 * The xtables rule engine (netsim/netfilter/xtables) at kube-proxy scale.
 *
 * 1. First-packet cost: nat PREROUTING for a TCP SYN to the ClusterIP of a random
 *    service, in a kube-proxy-shaped ruleset of 10, 1 000 and 20 000 services
 *    (KUBE-SERVICES → KUBE-SVC with masquerade check and a 2-endpoint statistic
 *    cascade → KUBE-SEP with hairpin mark and DNAT). Reported in ns per evaluation,
 *    with the rules a real kernel would walk for the same packets, and the
 *    20 000 / 10 ratio (target < 1.5; the kernel's grows linearly).
 * 2. Load time of a 10 000-service ruleset from iptables-restore text, against the
 *    real `iptables-restore --test` of the same text in a private netns (root only).
 *
 * Runnable alone: `node --import tsx bench/xtables.bench.ts`.
 */
import { spawnSync } from 'node:child_process';
import { Packet } from '../netsim/packet/packet.ts';
import { Rng } from '../netsim/time/rng.ts';
import type { AddrType, EvalContext } from '../netsim/netfilter/eval-types.ts';
import { Xtables } from '../netsim/netfilter/xtables/xtables.ts';

export interface BenchRow { name: string; value: number; unit: string; note?: string }

const ip = (base: number, i: number): string => `${base >>> 24}.${(base >>> 16) & 255}.${((base >>> 8) + (i >>> 8)) & 255}.${i & 255}`;
const VIP_BASE = (10 << 24) | (96 << 16);
const POD_BASE = (10 << 24) | (200 << 16);

/** The iptables-restore text kube-proxy would write for n ClusterIP services with 2 endpoints each. */
export function kubeProxyText(n: number): string {
  const chains: string[] = [];
  const rules: string[] = [];
  const svcRules: string[] = [];
  for (let i = 0; i < n; i++) {
    const svc = `KUBE-SVC-B${String(i).padStart(14, '0')}`;
    const vip = ip(VIP_BASE, i);
    const name = `ns${i % 97}/svc${i}:http`;
    chains.push(`:${svc} - [0:0]`);
    rules.push(`-A KUBE-SERVICES -m comment --comment "${name} cluster IP" -m tcp -p tcp -d ${vip} --dport 80 -j ${svc}`);
    svcRules.push(`-A ${svc} -m comment --comment "${name} cluster IP" -m tcp -p tcp -d ${vip} --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ`);
    for (let e = 0; e < 2; e++) {
      const sep = `KUBE-SEP-E${String(i).padStart(13, '0')}${e}`;
      const pod = ip(POD_BASE, (i * 2 + e) % 65000);
      chains.push(`:${sep} - [0:0]`);
      svcRules.push(`-A ${svc} -m comment --comment "${name} -> ${pod}:8080"${e === 0 ? ' -m statistic --mode random --probability 0.5000000000' : ''} -j ${sep}`);
      svcRules.push(`-A ${sep} -m comment --comment ${name} -s ${pod} -j KUBE-MARK-MASQ`);
      svcRules.push(`-A ${sep} -m comment --comment ${name} -m tcp -p tcp -j DNAT --to-destination ${pod}:8080`);
    }
  }
  return [
    '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
    ':KUBE-SERVICES - [0:0]', ':KUBE-NODEPORTS - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ...chains,
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
    ...rules,
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    ...svcRules, 'COMMIT', '',
  ].join('\n');
}

function synTo(dst: number): Packet {
  const b = new Uint8Array(40);
  b[0] = 0x45; b[3] = 40; b[8] = 64; b[9] = 6;
  b[12] = 10; b[13] = 244; b[14] = 1; b[15] = 7;
  b[16] = dst >>> 24; b[17] = dst >>> 16; b[18] = dst >>> 8; b[19] = dst;
  b[20] = 0x9c; b[21] = 0x40; b[23] = 80; b[32] = 0x50; b[33] = 0x02;
  return new Packet(1, b, 0, 40);
}

interface FirstPacket { ns: number; kernelRules: number }

/** `distinct`: how many different services the probes hit (all n when omitted). */
function firstPacketCost(n: number, probes: number, distinct = n): FirstPacket {
  const x = new Xtables();
  x.restore(kubeProxyText(n));
  const pick = new Rng(`bench-xt-${n}`);
  const POOL = 4096;
  const pkts = Array.from({ length: POOL }, () => {
    const i = pick.int(distinct) * Math.floor(n / distinct);
    return synTo((VIP_BASE + ((i >>> 8) << 8) + (i & 255)) >>> 0);
  });
  const ctx: EvalContext = {
    hook: 'PREROUTING', inDev: 'cni0', outDev: undefined, now: 0, rng: new Rng(1), ctState: 1,
    addrType: (): AddrType => 'UNICAST', ipsets: undefined,
  };
  let walked = 0;
  for (let i = 0; i < 50_000; i++) x.evaluate('nat', pkts[i % POOL] as Packet, ctx);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < probes; i++) {
    const p = pkts[i % POOL] as Packet;
    p.mark = 0;
    walked += x.evaluate('nat', p, ctx).rulesEvaluated;
  }
  const ns = Number(process.hrtime.bigint() - t0) / probes;
  return { ns, kernelRules: walked / probes };
}

function realRestoreMs(text: string): number | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const ns = `nsxt-${process.pid}-bench`;
  if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) return undefined;
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('ip', ['netns', 'exec', ns, 'iptables-restore', '--test'], { input: text });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return r.status === 0 ? ms : undefined;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

export async function benchXtables(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const probes = 300_000;
  const res = new Map<number, FirstPacket>();
  for (const n of [10, 1000, 20000]) {
    const r = firstPacketCost(n, probes);
    res.set(n, r);
    rows.push({ name: `xtables first packet, ${n} services`, value: Math.round(r.ns), unit: 'ns/eval', note: `a kernel walks ${r.kernelRules.toFixed(0)} rules` });
  }
  const ratio = (res.get(20000) as FirstPacket).ns / (res.get(10) as FirstPacket).ns;
  rows.push({ name: 'xtables first packet 20000 / 10 services', value: Number(ratio.toFixed(2)), unit: 'ratio', note: 'target < 1.5; uniform over all services: bound by cache misses, not rules' });
  // The same walk when the probes hit a working set of 10 services spread over the ruleset:
  // what the indexed dispatch costs apart from memory locality.
  const hot = firstPacketCost(20000, probes, 10);
  rows.push({ name: 'xtables first packet, 20000 services, 10 hot', value: Math.round(hot.ns), unit: 'ns/eval', note: `a kernel walks ${hot.kernelRules.toFixed(0)} rules` });
  rows.push({ name: 'xtables 20000 (10 hot) / 10 services', value: Number((hot.ns / (res.get(10) as FirstPacket).ns).toFixed(2)), unit: 'ratio', note: 'dispatch scaling' });

  const text = kubeProxyText(10_000);
  const lines = text.split('\n').length;
  const x = new Xtables();
  const t0 = process.hrtime.bigint();
  x.restore(text);
  const ours = Number(process.hrtime.bigint() - t0) / 1e6;
  rows.push({ name: 'xtables restore 10000 services', value: Math.round(ours), unit: 'ms', note: `${lines} lines` });
  const real = realRestoreMs(text);
  if (real !== undefined) {
    rows.push({ name: 'real iptables-restore --test, same text', value: Math.round(real), unit: 'ms', note: 'nf_tables, private netns' });
    rows.push({ name: 'real / emulator restore time', value: Number((real / ours).toFixed(2)), unit: 'ratio' });
  } else {
    rows.push({ name: 'real iptables-restore --test, same text', value: NaN, unit: 'ms', note: 'skipped: needs root and ip netns' });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await benchXtables();
  const w = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) console.log(`${r.name.padEnd(w)}  ${String(r.value).padStart(9)} ${r.unit.padEnd(8)} ${r.note ?? ''}`);
}
