/**
 * The packet tracer of upstream kube-proxy's iptables proxier tests
 * (pkg/proxy/iptables/proxier_test.go: iptablesTracer, tracePacket), with the same
 * semantics, walking the rules the emulated kernel holds after kube-proxy's restores
 * (netsim Iptables' own parsed model, so the restore path is exercised too):
 *
 * - nat PREROUTING first (for every source, node-local ones included); every DNAT a
 *   path reaches is an output; a jump taken through `-m statistic` does not end the
 *   calling chain, so every probability branch is followed;
 * - then, with the destination rewritten by the first DNAT, the filter chains
 *   KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, KUBE-NODEPORTS, KUBE-PROXY-FIREWALL run in
 *   that order (not the hooks: upstream does not know the packet's direction), each
 *   ACCEPT/DROP/REJECT is an output;
 * - a rule that looks at history (`-m recent --rcheck`, `-m mark`, `-m conntrack`)
 *   never matches; `-m addrtype` LOCAL means 127.0.0.1 or one of the node IPs; any
 *   other match (comment, nfacct, recent --set) is assumed to match;
 * - a jump to KUBE-MARK-MASQ sets "masq" and continues.
 */
import type { Iptables } from '../../netsim/netfilter/iptables/iptables.ts';
import type { AddrMatch, Rule } from '../../netsim/netfilter/iptables/model.ts';
import type { TableName } from '../../netsim/netfilter/eval-types.ts';
import { formatIpv4, parseIpv4 } from '../../netsim/wire/addr.ts';

export interface PacketFlowTest {
  readonly name: string;
  readonly sourceIP: string;
  /** tcp (default), udp or sctp. */
  readonly protocol?: string;
  readonly destIP: string;
  readonly destPort: number;
  /** "ip:port, ip:port", or ACCEPT/DROP/REJECT, or "" when nothing matched. */
  readonly output: string;
  readonly masq?: boolean;
}

const PROTO_NUM: Record<string, number> = { tcp: 6, udp: 17, sctp: 132 };

function addrMatches(m: AddrMatch, ip: string): boolean {
  const v = parseIpv4(ip);
  return (((v & m.mask) >>> 0) === m.addr) !== m.invert;
}

class Tracer {
  readonly matches: string[] = [];
  readonly outputs: string[] = [];
  masq = false;
  private readonly local: Set<string>;

  constructor(private readonly ipt: Iptables, nodeIPs: readonly string[]) {
    this.local = new Set(['127.0.0.1', ...nodeIPs]);
  }

  private ruleMatches(r: Rule, src: string, proto: string, dst: string, dport: number): boolean {
    if (r.src !== undefined && !addrMatches(r.src, src)) return false;
    if (r.dst !== undefined && !addrMatches(r.dst, dst)) return false;
    if (r.proto !== undefined && r.proto.num !== 0 && (r.proto.num === PROTO_NUM[proto]) === r.proto.invert) return false;
    for (const m of r.matches) {
      switch (m.kind) {
        case 'addrtype': {
          const test = (spec: { types: readonly string[]; invert: boolean } | undefined, ip: string): boolean =>
            spec === undefined || (spec.types.includes(this.local.has(ip) ? 'LOCAL' : 'UNICAST') !== spec.invert);
          if (!test(m.src, src) || !test(m.dst, dst)) return false;
          break;
        }
        case 'tcp':
        case 'udp':
        case 'sctp':
          if (m.dport !== undefined && (dport >= m.dport.min && dport <= m.dport.max) === m.dport.invert) return false;
          break;
        case 'recent':
          if (m.action !== 'set') return false;
          break;
        case 'mark':
        case 'conntrack':
        case 'state':
          return false;
        default:
          break;
      }
    }
    return true;
  }

  /** Returns whether a terminal target was hit. */
  runChain(table: TableName, chain: string, src: string, proto: string, dst: string, dport: number): boolean {
    const c = this.ipt.chain(table, chain);
    if (c === undefined) return false;
    for (const r of c.rules) {
      if (r.target.kind === 'none') continue;
      if (!this.ruleMatches(r, src, proto, dst, dport)) continue;
      this.matches.push(`${chain}: ${JSON.stringify(r.target)}`);
      const t = r.target;
      switch (t.kind) {
        case 'ACCEPT':
        case 'DROP':
        case 'REJECT':
          this.outputs.push(t.kind);
          return true;
        case 'DNAT':
          this.outputs.push(`${formatIpv4(t.addrMin)}${t.portMin !== undefined ? `:${t.portMin}` : ''}`);
          return true;
        case 'jump':
        case 'goto': {
          if (t.chain === 'KUBE-MARK-MASQ') {
            this.masq = true;
            continue;
          }
          const terminated = this.runChain(table, t.chain, src, proto, dst, dport);
          if (terminated && !r.matches.some((m) => m.kind === 'statistic')) return true;
          break;
        }
        default:
          break;
      }
    }
    return false;
  }
}

/** upstream tracePacket: the outputs (comma-joined) and whether the packet would be masqueraded. */
export function tracePacketUpstream(ipt: Iptables, nodeIPs: readonly string[], t: Omit<PacketFlowTest, 'name' | 'output' | 'masq'>): { output: string; masq: boolean; matches: string[] } {
  const tr = new Tracer(ipt, nodeIPs);
  const proto = (t.protocol ?? 'tcp').toLowerCase();
  let dst = t.destIP;
  tr.runChain('nat', 'PREROUTING', t.sourceIP, proto, dst, t.destPort);
  if (tr.outputs.length > 0) dst = (tr.outputs[0] as string).split(':')[0] as string;
  for (const c of ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL']) tr.runChain('filter', c, t.sourceIP, proto, dst, t.destPort);
  return { output: tr.outputs.join(', '), masq: tr.masq, matches: tr.matches };
}
