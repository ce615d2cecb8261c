/**
 * A packet tracer over a node's loaded ruleset in the manner of upstream's
 * proxier_test tracePacket: run the first packet of a connection through nat
 * (PREROUTING, or OUTPUT for node-originated traffic), apply the DNAT, then the
 * filter table at FORWARD / INPUT / OUTPUT, following every `-m statistic` branch
 * (each run scripts which random draw matches). Conntrack state is NEW, `recent`
 * lists are empty, so stateful matches behave as for a first packet. The rules are
 * evaluated by the emulated kernel's own engine (netsim Iptables), not a re-parse.
 */
import type { Iptables } from '../../netsim/netfilter/iptables/iptables.ts';
import { Packet } from '../../netsim/packet/packet.ts';
import { buildIpv4Tcp, buildIpv4Udp } from '../../netsim/wire/build.ts';
import { Rng } from '../../netsim/time/rng.ts';
import { formatIpv4, parseIpv4 } from '../../netsim/wire/addr.ts';
import { CT_NEW } from '../../netsim/netfilter/eval-types.ts';
import type { AddrType, EvalContext } from '../../netsim/netfilter/eval-types.ts';
import { ipv4SetDst, l4SetDstPort } from '../../netsim/wire/ipv4.ts';

/** An Rng whose draws are scripted: draw k (0-based) matches any `--probability` iff k === hit. */
class ScriptedRng extends Rng {
  draws = 0;
  constructor(private readonly hit: number) {
    super(0);
  }
  override nextU32(): number {
    return this.draws++ === this.hit ? 0 : 0xffffffff;
  }
}

export interface TraceInput {
  readonly sourceIP: string;
  readonly protocol?: 'tcp' | 'udp';
  readonly destIP: string;
  readonly destPort: number;
}

export interface TraceOutput {
  /** "ip:port, ip:port" of every reachable endpoint, or "REJECT"/"DROP" (or "" when nothing matched). */
  readonly output: string;
  /** Whether any path marked the packet for masquerade. */
  readonly masq: boolean;
}

/** Trace the first packet of a flow; `nodeIPs` are the node's local addresses (addrtype LOCAL, node-originated traffic). */
export function tracePacket(ipt: Iptables, t: TraceInput, nodeIPs: readonly string[], mark = 0x4000): TraceOutput {
  const local = new Set([...nodeIPs, '127.0.0.1']);
  const addrType = (a: number): AddrType => (local.has(formatIpv4(a)) ? 'LOCAL' : 'UNICAST');
  const fromNode = local.has(t.sourceIP);
  const reached = new Set<string>();
  const verdicts = new Set<string>();
  let masq = false;
  // `recent` lists start empty for every branch (a first packet), and the node's own lists are put back after.
  const savedRecent = new Map(ipt.recent);
  for (let hit = 0; ; hit++) {
    ipt.recent.clear();
    const rng = new ScriptedRng(hit);
    const bytes = (t.protocol ?? 'tcp') === 'tcp'
      ? buildIpv4Tcp({ src: parseIpv4(t.sourceIP), dst: parseIpv4(t.destIP) }, { srcPort: 40000, dstPort: t.destPort, seq: 0, ack: 0, flags: 2, window: 1 }, new Uint8Array(0))
      : buildIpv4Udp({ src: parseIpv4(t.sourceIP), dst: parseIpv4(t.destIP) }, { srcPort: 40000, dstPort: t.destPort }, new Uint8Array(0));
    const pkt = new Packet(1, bytes, 0, bytes.length);
    const hook = fromNode ? 'OUTPUT' : 'PREROUTING';
    const ctx: EvalContext = { hook, inDev: fromNode ? undefined : 'eth0', outDev: undefined, now: 0, rng, ctState: CT_NEW, addrType, ipsets: undefined };
    const nat = ipt.evaluate('nat', pkt, ctx);
    let dst = t.destIP;
    if (nat.nat?.kind === 'DNAT') {
      dst = formatIpv4(nat.nat.addrMin ?? 0);
      reached.add(`${dst}:${nat.nat.portMin ?? t.destPort}`);
      ipv4SetDst(pkt.buf, pkt.off, nat.nat.addrMin ?? 0);
      if (nat.nat.portMin !== undefined) l4SetDstPort(pkt.buf, pkt.off, nat.nat.portMin);
    }
    if ((pkt.mark & mark) !== 0) masq = true;
    const fhook = fromNode ? 'OUTPUT' : local.has(dst) ? 'INPUT' : 'FORWARD';
    const f = ipt.evaluate('filter', pkt, { ...ctx, hook: fhook, inDev: fhook === 'OUTPUT' ? undefined : 'eth0', outDev: fhook === 'INPUT' ? undefined : 'eth1' });
    if (f.verdict === 'DROP') verdicts.add(f.rejectWith !== undefined ? 'REJECT' : 'DROP');
    // Every draw up to `hit` was consumed: branch `hit` does not exist, all paths are covered.
    if (rng.draws <= hit) break;
  }
  ipt.recent.clear();
  for (const [k, v] of savedRecent) ipt.recent.set(k, v);
  const output = verdicts.size > 0 ? [...verdicts].sort().join(', ') : [...reached].sort().join(', ');
  return { output, masq: verdicts.size > 0 ? false : masq };
}
