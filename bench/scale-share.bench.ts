/**
 * Sharing between nodes (issue 23; netsim/netfilter/iptables/share.ts,
 * netsim/netfilter/nftables/share.ts, netsim/ipset/share.ts, netsim/ipvs/share.ts,
 * spec `scale.share`): what
 * one more node costs, and what the first packet costs on one node, with and without
 * sharing, at 1 000 and 10 000 Services, in each kube-proxy mode.
 *
 * A case is K nodes, each an emulated kernel programmed by its own kube-proxy from the
 * same Services and EndpointSlices (proxy/fixtures.ts scaleFixture: every kind of
 * Service, 2 endpoints each, on node01 and node1: those two nodes get rules of their
 * own for the externalTrafficPolicy: Local Services, the others the same text). The
 * kernel is the mode's: iptables (Iptables), nftables (Nftables), IPVS (Ipvs, Ipsets
 * and the constant iptables rules; kube-ipvs0's bindings kept as a set of addresses).
 * Per case, in its own process (`--case`, run with --expose-gc so heap figures are
 * after a full GC):
 * - per-node memory: the heap one more node adds (the slope over nodes 3…K), for the
 *   kernel alone (each kube-proxy dropped after its sync) and with the kube-proxies kept;
 * - the CPU time of a node's first sync (kube-proxy builds the text, the kernel
 *   restores it), the first node against the next ones;
 * - the first packet of a connection to a ClusterIP on the last node (8 plain TCP
 *   Services, as kube-proxy-modes.bench.ts): iptables and nftables, the nat
 *   PREROUTING walk to the DNAT; IPVS, the virtual service lookup and its scheduler.
 * Baseline: the same case with sharing off, in the same run.
 *
 * `node --import tsx bench/scale-share.bench.ts`; SHARE_NODES sets K (default 6),
 * SHARE_MODES the modes (default iptables,nftables,ipvs).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Packet } from '../netsim/packet/packet.ts';
import { Rng } from '../netsim/time/rng.ts';
import { scaleFirstPackets } from './scale-packets.ts';
import { Iptables } from '../netsim/netfilter/iptables/iptables.ts';
import { IptablesShare } from '../netsim/netfilter/iptables/share.ts';
import type { EvalContext } from '../netsim/netfilter/eval-types.ts';
import { IptablesProxier } from '../proxy/iptables/proxier.ts';
import { netsimIptablesBackend } from '../proxy/iptables/netsim-backend.ts';
import { endpointSliceInfoFromApi, serviceInfoFromApi } from '../proxy/service-port.ts';
import { SharedProxyObjects } from '../proxy/shared-objects.ts';
import type { Proxier } from '../proxy/proxier.ts';
import { Nftables } from '../netsim/netfilter/nftables/nftables.ts';
import { NftShare } from '../netsim/netfilter/nftables/share.ts';
import { evaluateBaseChain } from '../netsim/netfilter/nftables/evaluate.ts';
import type { NftEnv } from '../netsim/netfilter/nftables/evaluate.ts';
import type { NftChain, NftTable } from '../netsim/netfilter/nftables/index.ts';
import { NftablesProxier } from '../proxy/nftables/proxier.ts';
import { Ipvs } from '../netsim/ipvs/ipvs.ts';
import { Ipsets } from '../netsim/ipset/ipset.ts';
import { IpsetShare } from '../netsim/ipset/share.ts';
import { IpvsShare } from '../netsim/ipvs/share.ts';
import { Ipv4, L4 } from '../netsim/wire/ipv4.ts';
import { IpvsProxier } from '../proxy/ipvs/proxier.ts';
import { netsimIpsets, netsimIpvs } from '../proxy/ipvs/netsim-adapters.ts';
import type { NetlinkHandle } from '../proxy/ipvs/interfaces.ts';
import { netsimNftablesBackend } from '../proxy/nftables/netsim-backend.ts';
import { CLUSTER_CIDR, NODE, scaleFixture } from '../proxy/fixtures.ts';

export interface BenchRow { name: string; value: number; unit: string; note?: string }

interface ShareCase { readonly mode: 'iptables' | 'nftables' | 'ipvs'; readonly services: number; readonly share: boolean; readonly nodes: number; readonly keepProxies: boolean }

interface ShareResult {
  readonly case: ShareCase;
  /** Heap (MB, after GC) one more node adds: the least-squares slope over nodes 3…K (the second node still grows what is shared). */
  readonly nodeMb: number;
  /** Heap of the first node (what is shared is in it). */
  readonly firstNodeMb: number;
  readonly firstSyncMs: number;
  readonly nextSyncMs: number;
  readonly packetNs: number;
  readonly rulesWalked: number;
  readonly rulesPerNode: number;
}

const PROBES = 100_000;
const CT_NEW = 1;
/** ct state new in nft's encoding. */
const NFT_CT_NEW = 8;

const mb = (): number => {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};
const cpuMs = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1000;

/** Least-squares slope of y against its index. */
function slope(ys: readonly number[]): number {
  const n = ys.length;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, i) => {
    num += (i - mx) * (y - my);
    den += (i - mx) ** 2;
  });
  return num / den;
}

/** One node's kernel in the case's mode: how kube-proxy programs it, its first packet, the rules it holds. */
interface ModeKernel {
  /** `objects`: kube-proxy's views shared by every node (with sharing on). */
  proxier(nodeName: string, nodeIP: string, objects: SharedProxyObjects | undefined): Proxier;
  /** One first packet; the rules a kernel evaluates for it. */
  packet(pkt: Packet): number;
  rules(): number;
}

/** The kernels of one case: their share (undefined: sharing off) and a node's kernel. */
function modeKernels(c: ShareCase): () => ModeKernel {
  if (c.mode === 'nftables') {
    const share = c.share ? new NftShare() : undefined;
    return () => {
      const nft = new Nftables(() => 0, share);
      const env: NftEnv = {
        inDev: 'cni0', outDev: undefined, ctState: NFT_CT_NEW, ctStatus: 0, ctMark: 0, setCtMark: undefined, now: 0, rng: new Rng(1),
        addrType: () => 'UNICAST', onRule: undefined, onLog: undefined,
      };
      return {
        proxier: (nodeName, nodeIP) => new NftablesProxier(netsimNftablesBackend(nft), { nodeName, nodeIP, clusterCIDR: CLUSTER_CIDR, serviceCIDRs: ['10.96.0.0/12'] }),
        packet: (pkt) => {
          const table = nft.ruleset.tables.get('ip kube-proxy') as NftTable;
          const r = evaluateBaseChain(table, table.chains.get('nat-prerouting') as NftChain, pkt, env);
          if (r.nat === undefined) throw new Error('no DNAT');
          return r.rulesEvaluated;
        },
        rules: () => {
          let n = 0;
          for (const t of nft.ruleset.tables.values()) for (const ch of t.chains.values()) n += ch.rules.length;
          return n;
        },
      };
    };
  }
  if (c.mode === 'ipvs') {
    const share = c.share ? new IptablesShare() : undefined;
    const setShare = c.share ? new IpsetShare() : undefined;
    const vsShare = c.share ? new IpvsShare() : undefined;
    return () => {
      const ipt = new Iptables(share !== undefined ? { share } : {});
      const ipvs = new Ipvs(() => 0, vsShare);
      const ipsets = new Ipsets(setShare);
      ipt.setExists = (n) => ipsets.has(n);
      const bound = new Set<string>();
      return {
        proxier: (nodeName, nodeIP) => {
          // The node's addresses as netlink shows them; kube-ipvs0's bindings kept as a set (the stack's address tables are not what is measured).
          const netlink: NetlinkHandle = {
            ensureDummyDevice: () => undefined,
            ensureAddressBind: (a) => !bound.has(a) && bound.add(a) !== undefined,
            unbindAddress: (a) => void bound.delete(a),
            boundAddresses: () => [...bound],
            nodeAddresses: () => [nodeIP],
          };
          return new IpvsProxier({ ipvs: netsimIpvs(ipvs), ipset: netsimIpsets(ipsets), netlink, iptables: netsimIptablesBackend(ipt) }, { nodeName, nodeIP, clusterCIDR: CLUSTER_CIDR, masqueradeAll: false });
        },
        packet: (pkt) => {
          const vs = ipvs.lookupService('TCP', Ipv4.dst(pkt.buf, pkt.nh), L4.dstPort(pkt.buf, pkt.th));
          if (vs === undefined || ipvs.schedule(vs, Ipv4.src(pkt.buf, pkt.nh)) === undefined) throw new Error('no real server');
          return 1;
        },
        rules: () => ipvs.listServices().length,
      };
    };
  }
  const share = c.share ? new IptablesShare() : undefined;
  return () => {
    const ipt = new Iptables(share !== undefined ? { share } : {});
    const ctx: EvalContext = { hook: 'PREROUTING', inDev: 'cni0', outDev: undefined, now: 0, rng: new Rng(1), ctState: CT_NEW, addrType: () => 'UNICAST', ipsets: undefined };
    return {
      proxier: (nodeName, nodeIP, objects) => new IptablesProxier(netsimIptablesBackend(ipt), { nodeName, nodeIP, clusterCIDR: CLUSTER_CIDR, randomFully: false }, objects !== undefined ? { fragments: objects.ruleFragments } : {}),
      packet: (pkt) => {
        const r = ipt.evaluate('nat', pkt, ctx);
        if (r.nat === undefined) throw new Error('no DNAT');
        return r.rulesEvaluated;
      },
      rules: () => {
        let n = 0;
        for (const ch of ipt.chains()) n += ch.rules.length;
        return n;
      },
    };
  };
}

function runCase(c: ShareCase): ShareResult {
  const { services, slices } = scaleFixture(c.services, 2);
  const kernel = modeKernels(c);
  // As the cluster does: with sharing, kube-proxy's view of each API object is converted once for every node.
  const objects = c.share ? new SharedProxyObjects() : undefined;
  const serviceInfo = objects !== undefined ? (s: (typeof services)[number]) => objects.service(s) : serviceInfoFromApi;
  const sliceInfo = objects !== undefined ? (s: (typeof slices)[number]) => objects.slice(s) : endpointSliceInfoFromApi;
  const kernels: ModeKernel[] = [];
  const proxiers: Proxier[] = [];
  const syncMs: number[] = [];
  const heaps = [mb()];
  for (let k = 0; k < c.nodes; k++) {
    const nodeName = k === 0 ? NODE : `node${k}`;
    const node = kernel();
    const p = node.proxier(nodeName, `192.168.50.${11 + k}`, objects);
    for (const s of services) p.onServiceUpdate(undefined, serviceInfo(s));
    for (const s of slices) {
      const info = sliceInfo(s);
      if (info !== undefined) p.onEndpointSliceUpdate(info, false);
    }
    const t0 = process.cpuUsage();
    p.sync();
    syncMs.push(cpuMs(process.cpuUsage(t0)));
    kernels.push(node);
    if (c.keepProxies) proxiers.push(p);
    heaps.push(mb());
  }
  // The first packet on the last node.
  const node = kernels[kernels.length - 1] as ModeKernel;
  const pkts = scaleFirstPackets(c.services);
  let rules = 0;
  const once = (k: number): number => node.packet(pkts[k & 7] as Packet);
  for (let i = 0; i < 20_000; i++) once(i);
  // The fastest of five rounds: the machine is shared, and load only ever adds time.
  let packetNs = Infinity;
  for (let round = 0; round < 5; round++) {
    rules = 0;
    const p0 = process.cpuUsage();
    for (let i = 0; i < PROBES; i++) rules += once(i);
    packetNs = Math.min(packetNs, (cpuMs(process.cpuUsage(p0)) * 1e6) / PROBES);
  }
  const rulesPerNode = node.rules();
  return {
    case: c,
    nodeMb: slope(heaps.slice(2)),
    firstNodeMb: (heaps[1] as number) - (heaps[0] as number),
    firstSyncMs: syncMs[0] as number,
    nextSyncMs: syncMs.slice(1).reduce((a, b) => a + b, 0) / (syncMs.length - 1),
    packetNs,
    rulesWalked: rules / PROBES,
    rulesPerNode,
  };
}

function spawnCase(c: ShareCase): ShareResult | { failed: string } {
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=12000', '--import', 'tsx', fileURLToPath(import.meta.url), '--case', JSON.stringify(c)], {
    encoding: 'utf8', timeout: 900_000, maxBuffer: 1 << 24, killSignal: 'SIGKILL',
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{"case"'));
  if (line === undefined) return { failed: r.error !== undefined ? r.error.message : `exit ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` };
  return JSON.parse(line) as ShareResult;
}

export async function benchScaleShare(): Promise<BenchRow[]> {
  await Promise.resolve();
  const nodes = Number(process.env['SHARE_NODES'] ?? 6);
  const rows: BenchRow[] = [];
  const modes = (process.env['SHARE_MODES'] ?? 'iptables,nftables,ipvs').split(',') as Array<ShareCase['mode']>;
  for (const mode of modes) for (const services of [1000, 10_000]) {
    const got = new Map<string, ShareResult>();
    for (const share of [false, true]) {
      for (const keepProxies of [false, true]) {
        const r = spawnCase({ mode, services, share, nodes, keepProxies });
        const label = `${mode} mode, ${services} Services, sharing ${share ? 'on' : 'off'}`;
        if ('failed' in r) {
          rows.push({ name: `per-node memory, ${label}`, value: Number.NaN, unit: 'not measured', note: r.failed });
          continue;
        }
        got.set(`${share} ${keepProxies}`, r);
        if (keepProxies) {
          rows.push({ name: `heap one more node adds, kernel + kube-proxy, ${label}`, value: r.nodeMb, unit: 'MB', note: `first node ${r.firstNodeMb.toFixed(1)} MB` });
          continue;
        }
        rows.push({ name: `heap one more node's kernel adds, ${label}`, value: r.nodeMb, unit: 'MB', note: `first node ${r.firstNodeMb.toFixed(1)} MB; ${r.rulesPerNode} rules a node` });
        rows.push({ name: `first sync of a further node (text + restore), ${label}`, value: r.nextSyncMs, unit: 'ms CPU', note: `first node ${r.firstSyncMs.toFixed(0)} ms` });
        rows.push({ name: `first packet to a ClusterIP on one node, ${label}`, value: r.packetNs, unit: 'ns/packet (emulator CPU)', note: `a kernel walks ${r.rulesWalked.toFixed(1)} rules` });
      }
    }
    const ratio = (name: string, a: ShareResult | undefined, b: ShareResult | undefined, f: (r: ShareResult) => number, note?: string): void => {
      if (a !== undefined && b !== undefined) rows.push({ name: `${name}, ${mode} mode, ${services} Services`, value: f(a) / f(b), unit: 'x', ...(note !== undefined ? { note } : {}) });
    };
    ratio('ratio off / on: heap one more node\'s kernel adds', got.get('false false'), got.get('true false'), (r) => r.nodeMb);
    ratio('ratio off / on: heap one more node adds, kernel + kube-proxy', got.get('false true'), got.get('true true'), (r) => r.nodeMb);
    ratio('ratio off / on: a further node\'s first sync', got.get('false false'), got.get('true false'), (r) => r.nextSyncMs);
    ratio('ratio on / off: first packet', got.get('true false'), got.get('false false'), (r) => r.packetNs, 'target ≈ 1: sharing must not slow the datapath');
  }
  return rows;
}

const caseArg = process.argv.indexOf('--case');
if (caseArg >= 0) {
  console.log(JSON.stringify(runCase(JSON.parse(process.argv[caseArg + 1] as string) as ShareCase)));
  process.exit(0);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchScaleShare()) console.log(`${r.name.padEnd(90)} ${(Number.isNaN(r.value) ? '—' : r.value.toFixed(2)).padStart(10)} ${r.unit}${r.note !== undefined ? `  (${r.note})` : ''}`);
}
