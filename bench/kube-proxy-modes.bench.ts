/**
 * kube-proxy's two rule-based modes side by side, in the same run: the first packet of
 * a connection to a ClusterIP through the node's nat PREROUTING, with the rulesets the
 * emulated kube-proxy itself writes (IptablesProxier into the emulated iptables,
 * NftablesProxier's transactions into the emulated nf_tables) for 10 and 20 000
 * Services × 2 endpoints (proxy/fixtures.ts scaleFixture: every kind of Service).
 *
 * Per case: the emulator's CPU time per packet (both should stay flat: indexed
 * dispatch in iptables, hashed verdict maps in nftables), the rules a real kernel
 * would evaluate (iptables walks KUBE-SERVICES rule by rule; nftables looks the
 * destination up in the service-ips map), and the modelled kernel cost those rules
 * mean at the experiments' RULE_COST_NS per rule. Packets go to the same 8 plain
 * ClusterIP Services whatever the count. CPU time (user + system), not wall time:
 * the machine is shared.
 *
 * Run alone: `node --import tsx bench/kube-proxy-modes.bench.ts`.
 */
import type { Packet } from '../netsim/packet/packet.ts';
import { Rng } from '../netsim/time/rng.ts';
import { scaleFirstPackets } from './scale-packets.ts';
import { Iptables } from '../netsim/netfilter/iptables/iptables.ts';
import type { EvalContext } from '../netsim/netfilter/eval-types.ts';
import { Nftables } from '../netsim/netfilter/nftables/nftables.ts';
import { evaluateBaseChain } from '../netsim/netfilter/nftables/evaluate.ts';
import type { NftEnv } from '../netsim/netfilter/nftables/evaluate.ts';
import { IptablesProxier } from '../proxy/iptables/proxier.ts';
import { netsimIptablesBackend } from '../proxy/iptables/netsim-backend.ts';
import { NftablesProxier } from '../proxy/nftables/proxier.ts';
import { netsimNftablesBackend } from '../proxy/nftables/netsim-backend.ts';
import type { Proxier } from '../proxy/proxier.ts';
import { endpointSliceInfoFromApi, serviceInfoFromApi } from '../proxy/service-port.ts';
import { CLUSTER_CIDR, NODE, NODE_IP, scaleFixture } from '../proxy/fixtures.ts';
import { RULE_COST_NS } from '../experiments/runner/run-mode.ts';

export interface BenchRow { name: string; value: number; unit: string; note?: string }

const PROBES = 100_000;
/** ct state new (nft encoding) / conntrack's NEW (iptables EvalContext). */
const NFT_CT_NEW = 8;
const CT_NEW = 1;

function feed(p: Proxier, n: number): void {
  const { services, slices } = scaleFixture(n, 2);
  for (const s of services) p.onServiceUpdate(undefined, serviceInfoFromApi(s));
  for (const s of slices) {
    const info = endpointSliceInfoFromApi(s);
    if (info !== undefined) p.onEndpointSliceUpdate(info, false);
  }
  p.sync();
}

function cpuNs(run: () => number): { ns: number; rules: number } {
  for (let i = 0; i < 20_000; i++) run();
  let rules = 0;
  const c0 = process.cpuUsage();
  for (let i = 0; i < PROBES; i++) rules += run();
  const c = process.cpuUsage(c0);
  return { ns: ((c.user + c.system) * 1000) / PROBES, rules: rules / PROBES };
}

const opts = { nodeName: NODE, nodeIP: NODE_IP, clusterCIDR: CLUSTER_CIDR };

function iptablesMode(n: number): { ns: number; rules: number } {
  const ipt = new Iptables();
  feed(new IptablesProxier(netsimIptablesBackend(ipt), { ...opts, randomFully: false }), n);
  const pkts = scaleFirstPackets(n);
  const ctx: EvalContext = { hook: 'PREROUTING', inDev: 'cni0', outDev: undefined, now: 0, rng: new Rng(1), ctState: CT_NEW, addrType: () => 'UNICAST', ipsets: undefined };
  let k = 0;
  return cpuNs(() => {
    const r = ipt.evaluate('nat', pkts[k++ & 7] as Packet, ctx);
    if (r.nat === undefined) throw new Error('iptables mode: no DNAT');
    return r.rulesEvaluated;
  });
}

function nftablesMode(n: number): { ns: number; rules: number } {
  const nft = new Nftables();
  feed(new NftablesProxier(netsimNftablesBackend(nft), { ...opts, serviceCIDRs: ['10.96.0.0/12'] }), n);
  const table = nft.ruleset.tables.get('ip kube-proxy');
  const chain = table?.chains.get('nat-prerouting');
  if (table === undefined || chain === undefined) throw new Error('nftables mode: no kube-proxy table');
  const pkts = scaleFirstPackets(n);
  const env: NftEnv = {
    inDev: 'cni0', outDev: undefined, ctState: NFT_CT_NEW, ctStatus: 0, ctMark: 0, setCtMark: undefined, now: 0, rng: new Rng(1),
    addrType: () => 'UNICAST', onRule: undefined, onLog: undefined,
  };
  let k = 0;
  return cpuNs(() => {
    const r = evaluateBaseChain(table, chain, pkts[k++ & 7] as Packet, env);
    if (r.nat === undefined) throw new Error('nftables mode: no DNAT');
    return r.rulesEvaluated;
  });
}

export async function benchKubeProxyModes(): Promise<BenchRow[]> {
  await Promise.resolve();
  const rows: BenchRow[] = [];
  const results = new Map<string, { ns: number; rules: number }>();
  for (const n of [10, 20_000]) {
    for (const [mode, run] of [['iptables', iptablesMode], ['nftables', nftablesMode]] as const) {
      const r = run(n);
      results.set(`${mode} ${n}`, r);
      rows.push({
        name: `first packet to a ClusterIP, ${mode} mode, ${n} Services (kube-proxy's own rules)`, value: r.ns, unit: 'ns/packet (emulator CPU)',
        note: `a kernel evaluates ${r.rules.toFixed(1)} rules: modelled ${((r.rules * RULE_COST_NS) / 1000).toFixed(1)} µs`,
      });
    }
  }
  for (const mode of ['iptables', 'nftables']) {
    const a = results.get(`${mode} 10`) as { ns: number; rules: number };
    const b = results.get(`${mode} 20000`) as { ns: number; rules: number };
    rows.push({ name: `ratio 20 000 / 10 Services, ${mode} mode: emulator time`, value: b.ns / a.ns, unit: 'x', note: `modelled kernel cost ${(b.rules / a.rules).toFixed(1)}x` });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchKubeProxyModes()) console.log(`${r.name.padEnd(96)} ${r.value.toFixed(2).padStart(10)} ${r.unit}${r.note !== undefined ? `  (${r.note})` : ''}`);
}
