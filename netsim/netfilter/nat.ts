/**
 * NAT on top of conntrack (net/netfilter/nf_nat_core.c, nf_nat_proto.c).
 *
 * A mapping is decided once, for a connection's first packet, by changing the
 * entry's reply tuple ({@link natSetup}): destination NAT at PREROUTING/OUTPUT,
 * source NAT at POSTROUTING/INPUT. Every packet of the connection, in both
 * directions, is then rewritten from the entry alone ({@link natPacket}): a packet
 * is made to look like the inverse of the other direction's tuple, the source half
 * at source-NAT hooks and the destination half at destination-NAT hooks. ICMP
 * errors about a connection get their quoted header translated back and their
 * outer addresses fixed ({@link natIcmpError}). Checksums are fixed incrementally
 * (RFC 1624) by the wire helpers; the ICMP error checksum is recomputed.
 *
 * Port selection (get_unique_tuple / nf_nat_l4proto_unique_tuple): the original
 * port is kept when the resulting tuple is free and no random mode is asked for;
 * otherwise a free port is searched in the range (by default 1-511, 600-1023 or
 * 1024-65535 by the original port's class) from a pseudo-random offset drawn from
 * the run's RNG, up to 128 attempts then halving rounds, as kernels since 5.x do.
 * ICMP echo identifiers play the part of ports. Without any SNAT rule a "null
 * binding" still moves the source port when the reply tuple would clash.
 *
 * Not modelled: find_appropriate_src (reusing an existing mapping of the same
 * source), NAT helpers (FTP, SIP), IPv6, sequence adjustment.
 */
import { readU16, writeU16 } from '../wire/field.ts';
import { formatIpv4, maskOf } from '../wire/addr.ts';
import type { Ipv4Addr } from '../wire/addr.ts';
import { internetChecksum } from '../wire/checksum.ts';
import { Ipv4, ipv4SetDst, ipv4SetSrc, l4SetDstPort, l4SetSrcPort, icmpSetEchoIdent } from '../wire/ipv4.ts';
import type { Rng } from '../time/rng.ts';
import type { NatRequest } from './eval-types.ts';
import { IPS_DST_NAT, IPS_SRC_NAT } from './conntrack/conntrack.ts';
import type { Conntrack } from './conntrack/conntrack.ts';
import { IPPROTO_ICMP, hashTuple } from './conntrack/tuple.ts';

/** Which half of the tuple a hook may change (enum nf_nat_manip_type). */
export const MANIP_SRC = 0;
export const MANIP_DST = 1;
export type Manip = typeof MANIP_SRC | typeof MANIP_DST;

/** A resolved NAT range (struct nf_nat_range2): MASQUERADE/REDIRECT already turned into addresses. */
export interface NatRange {
  readonly addrMin: Ipv4Addr;
  readonly addrMax: Ipv4Addr;
  /** Port (ICMP: identifier) range; absent = keep the port if possible. */
  readonly portMin?: number;
  readonly portMax?: number;
  readonly random?: boolean;
  readonly randomFully?: boolean;
  readonly persistent?: boolean;
}

/** What NAT needs to know about the namespace to resolve MASQUERADE and REDIRECT. */
export interface NatHost {
  primaryAddress(dev: string): Ipv4Addr | undefined;
  /** A device's addresses in `ip addr` order (`scope` as `ip addr` prints it). */
  addressesOf(dev: string): readonly { readonly addr: Ipv4Addr; readonly prefixLen: number; readonly secondary: boolean; readonly scope: string }[];
  /** Device names in the kernel's device-list order (lo first, then as created). */
  deviceNames(): Iterable<string>;
  lookupRoute(dst: Ipv4Addr): { readonly gateway: Ipv4Addr | undefined } | undefined;
}

/**
 * The address MASQUERADE gives a packet leaving `outDev` towards `nexthop`
 * (inet_select_addr with RT_SCOPE_UNIVERSE): the device's first primary global-scope
 * address on the next hop's subnet, else its first primary global-scope address;
 * a device with none (lo has only 127.0.0.1, scope host) falls back to the first
 * primary global-scope address of any device, in device order.
 */
export function masqueradeSource(host: NatHost, outDev: string, nexthop: Ipv4Addr): Ipv4Addr | undefined {
  let first: Ipv4Addr | undefined;
  for (const a of host.addressesOf(outDev)) {
    if (a.secondary || a.scope !== 'global') continue;
    if (((a.addr ^ nexthop) & maskOf(a.prefixLen)) === 0) return a.addr;
    first ??= a.addr;
  }
  if (first !== undefined) return first;
  for (const dev of host.deviceNames()) {
    for (const a of host.addressesOf(dev)) if (!a.secondary && a.scope === 'global') return a.addr;
  }
  return undefined;
}

/** kernel NF_NAT_MAX_ATTEMPTS. */
const MAX_ATTEMPTS = 128;

/**
 * Turn a rule's NAT request into a range. MASQUERADE takes the address
 * {@link masqueradeSource} picks on the outgoing device towards the next hop of the
 * packet's (current) destination `dst`; REDIRECT the incoming device's primary
 * address (127.0.0.1 for locally generated packets). Undefined when there is no
 * address (the kernel drops the packet).
 */
export function resolveNatRequest(req: NatRequest, host: NatHost, inDev: string | undefined, outDev: string | undefined, dst: Ipv4Addr): NatRange | undefined {
  const ports = {
    ...(req.portMin !== undefined ? { portMin: req.portMin, portMax: req.portMax ?? req.portMin } : {}),
    ...(req.random === true ? { random: true } : {}),
    ...(req.randomFully === true ? { randomFully: true } : {}),
    ...(req.persistent === true ? { persistent: true } : {}),
  };
  if (req.kind === 'MASQUERADE') {
    if (outDev === undefined) return undefined;
    const addr = masqueradeSource(host, outDev, host.lookupRoute(dst)?.gateway ?? dst);
    return addr === undefined ? undefined : { addrMin: addr, addrMax: addr, ...ports };
  }
  if (req.kind === 'REDIRECT') {
    const addr = inDev === undefined ? 0x7f000001 : host.primaryAddress(inDev);
    return addr === undefined ? undefined : { addrMin: addr, addrMax: addr, ...ports };
  }
  if (req.addrMin === undefined) return undefined;
  return { addrMin: req.addrMin >>> 0, addrMax: (req.addrMax ?? req.addrMin) >>> 0, ...ports };
}

/** The default source-port class of a port (nf_nat_l4proto_unique_tuple without a range). */
function portClass(p: number): [number, number] {
  if (p < 512) return [1, 511];
  if (p < 1024) return [600, 1023];
  return [1024, 65535];
}

/**
 * Whether the reply tuple with address `a` and value `v` on the manipulated side is
 * another entry's: for TCP/UDP the port on that side, for ICMP the identifier (the
 * reply's source-port field).
 */
function replyTaken(ct: Conntrack, slot: number, proto: number, manip: Manip, icmp: boolean, a: Ipv4Addr, v: number, rSrc: number, rDst: number, rSport: number, rDport: number): boolean {
  if (manip === MANIP_SRC) return ct.tupleTaken(proto, rSrc, a, icmp ? v : rSport, icmp ? rDport : v, slot);
  return ct.tupleTaken(proto, a, rDst, v, rDport, slot);
}

/**
 * Decide the mapping for `manip` and record it in the entry's reply tuple
 * (nf_nat_setup_info). Returns whether the resulting tuple is unique; when no free
 * tuple exists in the range the mapping is still made with the last candidate, as
 * the kernel does, and the clash drops the packet at confirmation.
 */
export function natSetup(ct: Conntrack, slot: number, manip: Manip, range: NatRange, rng: Rng): boolean {
  const proto = ct.protoOf(slot);
  const rSrc = ct.field(slot, 1, 0);
  const rDst = ct.field(slot, 1, 1);
  const rl4 = ct.field(slot, 1, 2);
  const rSport = rl4 >>> 16;
  const rDport = rl4 & 0xffff;
  const icmp = proto === IPPROTO_ICMP;
  // The value NAT may change: for TCP/UDP the port on the manipulated side; for ICMP the identifier.
  const cur = icmp ? rSport : manip === MANIP_SRC ? rDport : rSport;
  const curAddr = manip === MANIP_SRC ? rDst : rSrc;

  // 1. The address: the current one when in range, else spread by a hash of the flow.
  let addr = range.addrMin;
  if (range.addrMax > range.addrMin) {
    if (curAddr >= range.addrMin && curAddr <= range.addrMax) addr = curAddr;
    else {
      const h = hashTuple(proto, ct.field(slot, 0, 0), range.persistent === true ? 0 : ct.field(slot, 0, 1), 0);
      addr = (range.addrMin + Math.floor((h / 4294967296) * (range.addrMax - range.addrMin + 1))) >>> 0;
    }
  }

  // 2. The port: keep it when allowed and free.
  const randomAll = range.random === true || range.randomFully === true;
  let value = cur;
  let ok = false;
  if (!randomAll) {
    if (range.portMin !== undefined) {
      const max = range.portMax ?? range.portMin;
      if (cur >= range.portMin && cur <= max && (range.portMin === max || !replyTaken(ct, slot, proto, manip, icmp, addr, cur, rSrc, rDst, rSport, rDport))) ok = true;
    } else if (manip === MANIP_DST || !replyTaken(ct, slot, proto, manip, icmp, addr, cur, rSrc, rDst, rSport, rDport)) ok = true;
  }
  if (!ok) {
    let min: number;
    let size: number;
    if (range.portMin !== undefined) {
      min = range.portMin;
      size = (range.portMax ?? range.portMin) - range.portMin + 1;
    } else if (icmp) {
      min = 0;
      size = 65536;
    } else if (manip === MANIP_DST) {
      ok = true; // DNAT without ports leaves the port alone
      min = cur;
      size = 1;
    } else {
      const [lo, hi] = portClass(cur);
      min = lo;
      size = hi - lo + 1;
    }
    if (!ok) {
      let off = manip === MANIP_SRC || randomAll ? rng.int(65536) : 0;
      let attempts = Math.min(size, MAX_ATTEMPTS);
      for (;;) {
        for (let i = 0; i < attempts; i++, off++) {
          value = min + (off % size);
          if (!replyTaken(ct, slot, proto, manip, icmp, addr, value, rSrc, rDst, rSport, rDport)) {
            ok = true;
            break;
          }
        }
        if (ok || attempts >= size || attempts < 16) break;
        attempts = Math.floor(attempts / 2);
        off = rng.int(65536);
      }
      // Nothing free: like the kernel, keep the last candidate; the clash surfaces at
      // confirmation (or a later source binding moves the port).
    } else value = cur;
  }
  const s = manip === MANIP_SRC ? rSrc : addr;
  const d = manip === MANIP_SRC ? addr : rDst;
  const sp = icmp || manip === MANIP_DST ? value : rSport;
  const dp = icmp || manip === MANIP_DST ? rDport : value;
  if (s !== rSrc || d !== rDst || sp !== rSport || dp !== rDport) {
    // Only a real change marks the connection as NATed (nf_nat_setup_info).
    ct.setReply(slot, s, d, sp, dp);
    ct.setStatus(slot, manip === MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT);
  }
  return ok;
}

/**
 * The implicit source binding of a connection no SNAT rule mapped
 * (nf_nat_alloc_null_binding): the source stays, but the port moves if the reply
 * tuple is already taken by another connection. Returns whether the tuple is unique.
 */
export function natNullBinding(ct: Conntrack, slot: number, rng: Rng): boolean {
  const rl4 = ct.field(slot, 1, 2);
  if (!ct.tupleTaken(ct.protoOf(slot), ct.field(slot, 1, 0), ct.field(slot, 1, 1), rl4 >>> 16, rl4 & 0xffff, slot)) return true;
  const a = ct.field(slot, 1, 1);
  return natSetup(ct, slot, MANIP_SRC, { addrMin: a, addrMax: a }, rng);
}

/** Whether a packet of direction `dir` needs rewriting at a hook of type `manip` (nf_nat_inet_fn's status test). */
export function natNeeded(status: number, dir: number, manip: Manip): boolean {
  let bit = manip === MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
  if (dir === 1) bit = bit === IPS_SRC_NAT ? IPS_DST_NAT : IPS_SRC_NAT;
  return (status & bit) !== 0;
}

/**
 * Rewrite one packet (IPv4 header at `off`) of direction `dir` at a `manip` hook so it
 * matches the inverse of the other direction's tuple (nf_nat_packet). Returns whether
 * any byte changed.
 */
export function natPacket(ct: Conntrack, slot: number, dir: number, manip: Manip, b: Uint8Array, off: number): boolean {
  if (!natNeeded(ct.statusOf(slot), dir, manip)) return false;
  const other = dir ^ 1;
  // Target tuple = invert(tuple[other]): its src is other.dst, its dst is other.src.
  const tSrc = ct.field(slot, other, 1);
  const tDst = ct.field(slot, other, 0);
  const l4 = ct.field(slot, other, 2);
  const tSport = l4 & 0xffff;
  const tDport = l4 >>> 16;
  return manipPacket(b, off, manip, tSrc, tDst, tSport, tDport, ct.protoOf(slot) === IPPROTO_ICMP ? l4 >>> 16 : -1);
}

/**
 * Set one side of a packet: addresses and ports (or the ICMP echo identifier `icmpId`
 * when ≥ 0). Returns whether anything changed.
 */
function manipPacket(b: Uint8Array, off: number, manip: Manip, src: number, dst: number, sport: number, dport: number, icmpId: number): boolean {
  let changed = false;
  const hl = Ipv4.headerLen(b, off);
  const proto = Ipv4.protocol(b, off);
  const ports = (proto === 6 || proto === 17) && off + hl + 4 <= b.length;
  if (manip === MANIP_SRC) {
    if (Ipv4.src(b, off) !== src) {
      ipv4SetSrc(b, off, src);
      changed = true;
    }
    if (icmpId >= 0) changed = icmpIdent(b, off, hl, icmpId) || changed;
    else if (ports && readU16(b, off + hl) !== sport) {
      // A quoted header may end before its checksum: then only the port is written.
      if (!l4SetSrcPort(b, off, sport)) writeU16(b, off + hl, sport);
      changed = true;
    }
  } else {
    if (Ipv4.dst(b, off) !== dst) {
      ipv4SetDst(b, off, dst);
      changed = true;
    }
    if (icmpId >= 0) changed = icmpIdent(b, off, hl, icmpId) || changed;
    else if (ports && readU16(b, off + hl + 2) !== dport) {
      if (!l4SetDstPort(b, off, dport)) writeU16(b, off + hl + 2, dport);
      changed = true;
    }
  }
  return changed;
}

function icmpIdent(b: Uint8Array, off: number, hl: number, id: number): boolean {
  if (readU16(b, off + hl + 4) === id) return false;
  return icmpSetEchoIdent(b, off, id);
}

/**
 * An ICMP error related to a connection (nf_nat_icmp_reply_translation): the quoted
 * header is made to look like the packet its sender had sent (the opposite manip of
 * this hook, towards the other direction's tuple), the outer header gets this hook's
 * manip, and the ICMP checksum is recomputed. `len` is the outer packet's length.
 * Returns whether anything changed.
 */
export function natIcmpError(ct: Conntrack, slot: number, dir: number, manip: Manip, b: Uint8Array, off: number, len: number): boolean {
  if (!natNeeded(ct.statusOf(slot), dir, manip)) return false;
  const hl = Ipv4.headerLen(b, off);
  const q = off + hl + 8;
  if (len < hl + 8 + 20) return false;
  const other = dir ^ 1;
  // Inner: manip !manip towards tuple[other] itself.
  const oSrc = ct.field(slot, other, 0);
  const oDst = ct.field(slot, other, 1);
  const ol4 = ct.field(slot, other, 2);
  // Work on a view that ends where the packet ends, so the inner header's helpers stay inside the quote.
  const view = b.subarray(0, off + len);
  const icmpInner = ct.protoOf(slot) === IPPROTO_ICMP;
  const innerChanged = manipPacket(view, q, manip === MANIP_SRC ? MANIP_DST : MANIP_SRC, oSrc, oDst, ol4 >>> 16, ol4 & 0xffff, icmpInner ? ol4 >>> 16 : -1);
  // Outer: this hook's manip towards invert(tuple[other]).
  let outerChanged = false;
  if (manip === MANIP_SRC) {
    if (Ipv4.src(b, off) !== oDst) {
      ipv4SetSrc(b, off, oDst);
      outerChanged = true;
    }
  } else if (Ipv4.dst(b, off) !== oSrc) {
    ipv4SetDst(b, off, oSrc);
    outerChanged = true;
  }
  if (innerChanged) {
    writeU16(b, off + hl + 2, 0);
    writeU16(b, off + hl + 2, internetChecksum(b, off + hl, off + len));
  }
  return innerChanged || outerChanged;
}

/** `a.b.c.d:port` or `a.b.c.d` for traces. */
export function describeEndpoint(addr: Ipv4Addr, port: number | undefined): string {
  return port === undefined ? formatIpv4(addr) : `${formatIpv4(addr)}:${port}`;
}
