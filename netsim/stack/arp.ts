/**
 * ARP for one namespace (net/ipv4/arp.c): answering requests for local addresses,
 * learning from requests and replies, and resolving next hops with queued packets,
 * retransmissions and failure.
 */
import type { Packet } from '../packet/packet.ts';
import type { NetDevice } from '../link/net-device.ts';
import type { Ipv4Addr, MacAddr } from '../wire/addr.ts';
import { formatIpv4, MAC_BROADCAST } from '../wire/addr.ts';
import { ArpOp, ARP_PACKET_LEN, emitArp, parseArp } from '../wire/arp.ts';
import type { ArpRepr } from '../wire/arp.ts';
import { WireError } from '../wire/errors.ts';
import type { NeighEntry } from './neighbor-table.ts';
import type { NetNamespace } from './net-namespace.ts';
import type { DropReason } from '../trace/trace-event.ts';

const ETH_P_ARP = 0x0806;

export class ArpLayer {
  constructor(private readonly ns: NetNamespace) {}

  /** An ARP frame arrived on `dev` (pkt.off at the Ethernet header). */
  input(dev: NetDevice, pkt: Packet): void {
    const ns = this.ns;
    let arp: ArpRepr;
    try {
      arp = parseArp(pkt.buf.subarray(pkt.off + 14, pkt.off + pkt.len));
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      ns.traceDrop(pkt, 'malformed', e.message, dev.name);
      return;
    }
    if (dev.noArp) return;
    const now = ns.sim.clock.now();
    const existing = ns.neigh.get(dev.name, arp.senderIp);
    if (arp.op === ArpOp.REQUEST) {
      if (!this.answers(dev, arp.targetIp)) {
        // A request overheard from a known sender makes it STALE, except that neigh_update
        // leaves a REACHABLE entry alone (state and confirmation time) when the address is unchanged.
        if (existing !== undefined && existing.state !== 'PERMANENT' && arp.senderIp !== 0 && !(existing.state === 'REACHABLE' && existing.mac === arp.senderMac)) {
          this.update(existing, dev, arp.senderMac, 'STALE', pkt);
        }
        return;
      }
      // A request for us: the sender becomes a STALE neighbour (neigh_event_ns), then we answer.
      if (arp.senderIp !== 0) {
        if (existing === undefined) {
          const e = ns.neigh.create(dev.name, arp.senderIp, 'STALE', arp.senderMac, now);
          if (ns.sim.tracer.enabled) ns.emitNeigh(pkt, 'learned', dev.name, arp.senderIp, arp.senderMac);
          void e;
        } else if (existing.state !== 'PERMANENT') {
          this.update(existing, dev, arp.senderMac, existing.mac === arp.senderMac && existing.state === 'REACHABLE' ? 'REACHABLE' : 'STALE', pkt);
        }
      }
      this.send(dev, ArpOp.REPLY, arp.targetIp, arp.senderMac, arp.senderIp, arp.senderMac, pkt.id);
      if (ns.sim.tracer.enabled) ns.emitNeigh(pkt, 'reply', dev.name, arp.targetIp, dev.mac);
      return;
    }
    if (arp.op === ArpOp.REPLY) {
      // Unsolicited replies are ignored unless an entry exists (arp_accept=0).
      if (existing === undefined || existing.state === 'PERMANENT') return;
      this.update(existing, dev, arp.senderMac, 'REACHABLE', pkt);
    }
  }

  /** Whether this namespace answers an ARP request for `target` arriving on `dev` (arp_ignore). */
  private answers(dev: NetDevice, target: Ipv4Addr): boolean {
    const ns = this.ns;
    if (ns.sysctl.arpIgnore === 1) return ns.addressesOf(dev.name).some((a) => a.addr === target);
    if (!ns.isLocalAddress(target)) return false;
    // arp_ignore=0 answers for any local address except those on loopback-scope (127/8).
    return (target >>> 24) !== 127;
  }

  private update(e: NeighEntry, dev: NetDevice, mac: MacAddr, state: 'REACHABLE' | 'STALE', pkt: Packet): void {
    const ns = this.ns;
    const wasWaiting = e.state === 'INCOMPLETE' || e.state === 'PROBE' || e.state === 'DELAY';
    e.mac = mac;
    e.state = state;
    e.confirmed = ns.sim.clock.now();
    e.probes = 0;
    if (e.timer !== undefined) {
      ns.sim.clock.cancel(e.timer);
      e.timer = undefined;
    }
    if (ns.sim.tracer.enabled) ns.emitNeigh(pkt, wasWaiting || state === 'REACHABLE' ? 'resolved' : 'learned', dev.name, e.ip, mac);
    const queued = e.queue;
    e.queue = [];
    for (const q of queued) {
      ns.pushEthernet(q, dev, mac, 0x0800);
      dev.transmit(q);
    }
  }

  /** Start or join resolution of `nexthop` on `dev`; `pkt` waits for the answer. */
  resolve(dev: NetDevice, nexthop: Ipv4Addr, pkt: Packet, existing: NeighEntry | undefined): void {
    const ns = this.ns;
    const now = ns.sim.clock.now();
    let e = existing;
    if (e !== undefined && e.state === 'FAILED') {
      ns.neigh.remove(dev.name, nexthop);
      e = undefined;
    }
    if (e === undefined) {
      e = ns.neigh.create(dev.name, nexthop, 'INCOMPLETE', undefined, now);
      e.queue.push(pkt);
      if (ns.sim.tracer.enabled) ns.emitNeigh(pkt, 'queued', dev.name, nexthop);
      this.solicit(dev, e, pkt.id);
      return;
    }
    if (e.queue.length >= ns.neigh.params.unresQlen) {
      const old = e.queue.shift() as Packet;
      ns.traceDrop(old, 'neigh-queue-full', `ARP queue for ${formatIpv4(nexthop)} full`, dev.name);
    }
    e.queue.push(pkt);
    if (ns.sim.tracer.enabled) ns.emitNeigh(pkt, 'queued', dev.name, nexthop);
  }

  /** Broadcast a request and arm the retransmission timer. */
  private solicit(dev: NetDevice, e: NeighEntry, pktId: number): void {
    const ns = this.ns;
    e.probes++;
    const src = this.sourceFor(dev, e.ip);
    this.send(dev, ArpOp.REQUEST, src, MAC_BROADCAST, e.ip, 0, pktId);
    if (ns.sim.tracer.enabled) ns.emitNeigh(undefined, 'request', dev.name, e.ip);
    e.timer = ns.sim.clock.after(ns.neigh.params.retransTime, () => {
      e.timer = undefined;
      if (e.state !== 'INCOMPLETE') return;
      if (e.probes >= ns.neigh.params.mcastSolicit) {
        e.state = 'FAILED';
        this.failQueued(e, 'neigh-failed');
        return;
      }
      this.solicit(dev, e, pktId);
    });
  }

  /** STALE entry used: DELAY, then unicast probes if nothing confirms it. */
  startDelay(e: NeighEntry, dev: NetDevice): void {
    const ns = this.ns;
    e.state = 'DELAY';
    const confirmedAt = e.confirmed;
    e.timer = ns.sim.clock.after(ns.neigh.params.delayFirstProbe, () => {
      e.timer = undefined;
      if (e.confirmed !== confirmedAt || e.state !== 'DELAY') return;
      e.state = 'PROBE';
      e.probes = 0;
      this.probe(dev, e);
    });
  }

  private probe(dev: NetDevice, e: NeighEntry): void {
    const ns = this.ns;
    e.probes++;
    this.send(dev, ArpOp.REQUEST, this.sourceFor(dev, e.ip), e.mac ?? MAC_BROADCAST, e.ip, 0, 0);
    e.timer = ns.sim.clock.after(ns.neigh.params.retransTime, () => {
      e.timer = undefined;
      if (e.state !== 'PROBE') return;
      if (e.probes >= ns.neigh.params.ucastSolicit) {
        e.state = 'FAILED';
        this.failQueued(e, 'neigh-failed');
        return;
      }
      this.probe(dev, e);
    });
  }

  /**
   * Drop everything waiting on `e`, each with an ICMP host unreachable to its source
   * (arp_error_report → ip_link_failure → icmp_send): forwarded packets and locally
   * generated ones alike — a local sender gets it through loopback (ping's
   * "Destination Host Unreachable", EHOSTUNREACH on a connected socket).
   */
  failQueued(e: NeighEntry, reason: DropReason): void {
    const ns = this.ns;
    if (ns.sim.tracer.enabled) ns.emitNeigh(undefined, 'failed', e.dev, e.ip);
    const queued = e.queue;
    e.queue = [];
    for (const q of queued) {
      if (reason === 'neigh-failed') ns.icmp.sendError(q, 3, 1, 0);
      ns.traceDrop(q, reason, `no ARP answer for ${formatIpv4(e.ip)} on ${e.dev}`, e.dev);
    }
  }

  private sourceFor(dev: NetDevice, target: Ipv4Addr): Ipv4Addr {
    const addrs = this.ns.addressesOf(dev.name);
    for (const a of addrs) {
      const mask = a.prefixLen === 0 ? 0 : (0xffffffff << (32 - a.prefixLen)) >>> 0;
      if (((a.addr & mask) >>> 0) === ((target & mask) >>> 0)) return a.addr;
    }
    return addrs[0]?.addr ?? this.ns.addrs.find((a) => a.scope === 'global')?.addr ?? 0;
  }

  private send(dev: NetDevice, op: number, senderIp: Ipv4Addr, dstMac: MacAddr, targetIp: Ipv4Addr, targetMac: MacAddr, id: number): void {
    const ns = this.ns;
    const pkt = ns.newPacket(new Uint8Array(ARP_PACKET_LEN), id === 0 ? ns.sim.nextPacketId() : id);
    emitArp({ op, senderMac: dev.mac, senderIp, targetMac, targetIp }, pkt.buf, pkt.off);
    ns.pushEthernet(pkt, dev, dstMac, ETH_P_ARP);
    dev.transmit(pkt);
  }
}
