/**
 * Remembered walks shared across flows: the first packet of a new connection (and the
 * first of each direction) replays a walk another flow took, when the new packet agrees
 * with that flow's packet on every header field the walk's tests read. This is the idea
 * of Open vSwitch's megaflow cache (a flow entry keyed only by the fields its lookup
 * consulted, with a mask per entry), made exact for iptables: a walk is a deterministic
 * function of the fields its evaluated tests read and of the conditions a remembered
 * walk already records (flow-walks.ts: ruleset, ipset and route generations, conntrack
 * state, mark on entry, devices). So a packet equal on those fields and conditions takes the
 * same walk — the same rules counted in the same order, the same policy, the same
 * `rulesEvaluated`, the same mark out, ACCEPT — and the replay is indistinguishable.
 *
 * What a walk read is collected while it runs (WalkRecord.fields): each evaluated rule
 * adds the fields its tests up to the one that failed can read (FastRule.failFields; all
 * of them when it matched — conservative: an address test that failed counts both
 * addresses the rule tests), each indexed run of kube-proxy's KUBE-SERVICES shape the
 * destination and its port. The protocol is always part of the
 * key, and only TCP and UDP packets whose ports the evaluator reads (unfragmented, long
 * enough) use classes, so the evaluator's `hasPorts` is the same for all of them. A walk
 * that evaluated a test that is not flow-invariant (statistic, recent, nfacct, limit,
 * TCP flags) or a CONNMARK, LOG or NOTRACK target is never remembered at all.
 *
 * Used by the table operations (ops/ipt-do-table.ts) for packets whose own flow has no
 * remembered walk yet, and by NAT for a connection's first packet at the nat table
 * (ops/nf-nat-ipv4.ts: the walk and the answer it gave, DNAT or MASQUERADE included —
 * the mapping itself is set up after it, as before); with the fast path off (`NetfilterStack.fastPath`) or anyone
 * tracing, nothing here runs. Not modelled in the kernel: its nf_flowtable offloads
 * established flows only; this is an emulator's memo and must change nothing.
 */
import { Ipv4, L4 } from '../wire/ipv4.ts';
import type { NfContext } from '../stack/netfilter-hooks.ts';
import { holdsNow } from './flow-slots.ts';
import type { FlowConditions } from './flow-slots.ts';

/** Header fields a walk's tests may read (the protocol is always in the key). */
export const F_SADDR = 1;
export const F_DADDR = 2;
export const F_SPORT = 4;
export const F_DPORT = 8;
export const F_ALL = F_SADDR | F_DADDR | F_SPORT | F_DPORT;

/** One remembered walk under one mask: the masked field values it was taken with. */
class ClassEntry<V> {
  constructor(
    readonly fields: number,
    readonly proto: number,
    readonly saddr: number,
    readonly daddr: number,
    readonly sport: number,
    readonly dport: number,
    readonly walk: V,
    readonly next: ClassEntry<V> | undefined,
  ) {}
}

/** Entries above which the cache starts again (walks of old ipset generations and gone devices pile up otherwise). */
const MAX_ENTRIES = 4096;
/** Distinct masks probed per lookup at most (a table whose walks read many combinations stops adding new ones). */
const MAX_MASKS = 8;

function hashOf(fields: number, proto: number, s: number, d: number, sp: number, dp: number): number {
  let h = Math.imul(fields ^ (proto << 4), 0x9e3779b1);
  h = Math.imul(h ^ s, 0x85ebca6b);
  h = Math.imul(h ^ d, 0xc2b2ae35);
  h = Math.imul(h ^ (sp << 16 | dp), 0x27d4eb2f);
  return (h ^ (h >>> 15)) | 0;
}

/** The walks of one table at one hook (a FlowWalk, or what a nat walk answered with it), shared across flows by the fields they read. */
export class FlowClasses<V extends FlowConditions> {
  private readonly masks: number[] = [];
  private readonly byHash = new Map<number, ClassEntry<V>>();
  private gen = -1;
  private stored = 0;

  /**
   * The walk a TCP or UDP packet with ports at `o` (header length `hl`, protocol
   * `proto`) takes under these conditions, if one is remembered.
   */
  find(b: Uint8Array, o: number, hl: number, proto: number, gen: number, setGen: number | undefined, routeGen: number, ctState: number, mark: number, ctx: NfContext): V | undefined {
    if (gen !== this.gen || this.masks.length === 0) return undefined;
    const saddr = Ipv4.src(b, o);
    const daddr = Ipv4.dst(b, o);
    const sport = L4.srcPort(b, o + hl);
    const dport = L4.dstPort(b, o + hl);
    const masks = this.masks;
    for (let i = 0; i < masks.length; i++) {
      const m = masks[i] as number;
      const s = (m & F_SADDR) !== 0 ? saddr : 0;
      const d = (m & F_DADDR) !== 0 ? daddr : 0;
      const sp = (m & F_SPORT) !== 0 ? sport : 0;
      const dp = (m & F_DPORT) !== 0 ? dport : 0;
      for (let e = this.byHash.get(hashOf(m, proto, s, d, sp, dp)); e !== undefined; e = e.next) {
        if (e.fields === m && e.proto === proto && e.saddr === s && e.daddr === d && e.sport === sp && e.dport === dp
          && holdsNow(e.walk, gen, setGen, routeGen, ctState, mark, ctx)) return e.walk;
      }
    }
    return undefined;
  }

  /**
   * Remember `walk`, which read `fields` of the packet at `o` (as for {@link find}), in
   * ruleset generation `gen`. A walk that read the source port is not kept: clients'
   * ports are ephemeral, so it would hardly serve another flow and would crowd out those
   * that do (kube-proxy's IPVS mode tests `dst,dst` sets on every first packet).
   */
  add(b: Uint8Array, o: number, hl: number, proto: number, gen: number, fields: number, walk: V): void {
    if ((fields & F_SPORT) !== 0) return;
    if (gen !== this.gen || this.stored >= MAX_ENTRIES) {
      this.byHash.clear();
      this.masks.length = 0;
      this.gen = gen;
      this.stored = 0;
    }
    if (!this.masks.includes(fields)) {
      if (this.masks.length >= MAX_MASKS) return;
      this.masks.push(fields);
    }
    const s = (fields & F_SADDR) !== 0 ? Ipv4.src(b, o) : 0;
    const d = (fields & F_DADDR) !== 0 ? Ipv4.dst(b, o) : 0;
    const sp = (fields & F_SPORT) !== 0 ? L4.srcPort(b, o + hl) : 0;
    const dp = (fields & F_DPORT) !== 0 ? L4.dstPort(b, o + hl) : 0;
    const h = hashOf(fields, proto, s, d, sp, dp);
    for (let e = this.byHash.get(h); e !== undefined; e = e.next) if (e.walk === walk && e.fields === fields && e.proto === proto && e.saddr === s && e.daddr === d && e.sport === sp && e.dport === dp) return;
    this.byHash.set(h, new ClassEntry(fields, proto, s, d, sp, dp, walk, this.byHash.get(h)));
    this.stored++;
  }
}

/** Whether the evaluator reads the ports of the packet at `o` (what classes require): TCP or UDP, unfragmented, four bytes of L4 header. */
export function classifiable(b: Uint8Array, o: number, len: number): boolean {
  const p = Ipv4.protocol(b, o);
  return (p === 6 || p === 17) && Ipv4.fragOffset(b, o) === 0 && len >= Ipv4.headerLen(b, o) + 4;
}
