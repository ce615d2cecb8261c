/**
 * Linux bridge (net/bridge), e.g. `docker0` or `cni0`.
 *
 * A frame entering a port (br_handle_frame): the source MAC is learned; a frame for
 * the bridge's own MAC (or a port's MAC) goes up the bridge device's own stack;
 * broadcast/multicast is flooded to every other port and also delivered locally; a
 * known unicast destination is forwarded to its port; unknown unicast is flooded.
 * A frame is never sent back out the port it came in on unless that port has
 * hairpin mode on (`bridge link set dev X hairpin on`, what the CNI bridge plugin's
 * `hairpinMode` sets so a pod can reach itself through a service VIP).
 *
 * With bridge-nf-call-iptables enabled in the namespace (br_netfilter), every IPv4
 * frame entering a port runs iptables PREROUTING first (br_nf_pre_routing: in =
 * the bridge, physin = the port), before the FDB decision. When that changed the
 * destination address (kube-proxy's DNAT, or the un-SNAT of a masqueraded reply)
 * and the route to the new address leaves through this same bridge, the frame is
 * still bridged: its destination MAC becomes the neighbour's (resolved through the
 * bridge device when unknown, keeping the frame's own source MAC), with no TTL
 * change and no ip_forward involved. Otherwise a changed frame is addressed to the
 * bridge itself and goes up to be routed. Frames going up skip the IP stack's own
 * PREROUTING (ip_sabotage_in); frames forwarded between ports run FORWARD (in = out
 * = the bridge, physin/physout = the ports) and POSTROUTING (out = the bridge), so
 * kube-proxy's hairpin MASQUERADE applies there. Frames the bridge device itself
 * sends never run these hooks.
 *
 * Not modelled: STP (ports are always forwarding), VLAN filtering, multicast
 * snooping (multicast is flooded), IPv6.
 */
import type { Sim } from '../sim.ts';
import type { Packet } from '../packet/packet.ts';
import { clonePacket } from '../packet/packet.ts';
import type { MacAddr } from '../wire/addr.ts';
import { formatMac } from '../wire/addr.ts';
import { Ether, EtherType } from '../wire/ethernet.ts';
import { NetDevice } from './net-device.ts';
import type { BridgeMaster } from './net-device.ts';
import { ForwardingDatabase } from './fdb.ts';

export interface BridgePortConfig {
  hairpin: boolean;
  learning: boolean;
}

/** How the bridge consults netfilter for IPv4 frames (br_netfilter; implemented by NetNamespace). */
export interface BridgeNetfilter {
  /** bridge-nf-call-iptables is on. */
  enabled(): boolean;
  /**
   * br_nf_pre_routing for an IPv4 frame that entered `inPort` (pkt.off at the Ethernet
   * header): PREROUTING, then the bridged-DNAT decision. Returns true when the bridge
   * goes on with the FDB decision (the destination MAC may have been rewritten), false
   * when the frame was taken (dropped and traced, or waiting for its neighbour).
   */
  preRouting(pkt: Packet, bridge: Bridge, inPort: NetDevice): boolean;
  /**
   * FORWARD and POSTROUTING for a frame that went through {@link preRouting} and is
   * bridged from `inPort` to `outPort` (pkt.off at the Ethernet header). Returns false
   * when netfilter dropped it (it then traced the drop).
   */
  forward(pkt: Packet, bridge: Bridge, inPort: NetDevice, outPort: NetDevice): boolean;
}

/** Packet.brnf: PREROUTING ran in the bridge (nf_bridge_info exists, in_prerouting over). */
export const BRNF_PREROUTED = 1;
/** Packet.brnf: a bridged-DNAT frame sent to the neighbour layer of the bridge device (bridged_dnat). */
export const BRNF_BRIDGED_DNAT = 2;

export class Bridge extends NetDevice implements BridgeMaster {
  readonly fdb = new ForwardingDatabase();
  private readonly ports: NetDevice[] = [];
  private readonly portConfig = new Map<NetDevice, BridgePortConfig>();
  netfilter: BridgeNetfilter | undefined = undefined;

  constructor(sim: Sim, name: string, mac: MacAddr, mtu = 1500) {
    super(sim, name, 'bridge', 'ether', mac, mtu);
    // The bridge's own address is a local entry: frames for it go up its stack.
    this.fdb.addLocal(mac, this, sim.clock.now());
  }

  /** `ip link set PORT master BRIDGE`. */
  addPort(port: NetDevice, cfg: Partial<BridgePortConfig> = {}): void {
    if (port.master !== undefined) throw new Error(`${port.name} is already enslaved to ${port.master.name}`);
    if (port.linkType !== 'ether') throw new Error(`${port.name}: only Ethernet devices can be bridge ports`);
    port.master = this;
    this.ports.push(port);
    this.portConfig.set(port, { hairpin: cfg.hairpin ?? false, learning: cfg.learning ?? true });
    this.fdb.addLocal(port.mac, port, this.sim.clock.now());
    // The bridge takes the smallest port MTU unless set explicitly; Linux does this too.
    if (port.mtu < this.mtu) this.mtu = port.mtu;
  }

  removePort(port: NetDevice): void {
    const i = this.ports.indexOf(port);
    if (i < 0) return;
    this.ports.splice(i, 1);
    this.portConfig.delete(port);
    this.fdb.flushPort(port);
    port.master = undefined;
  }

  portList(): readonly NetDevice[] {
    return this.ports;
  }

  config(port: NetDevice): BridgePortConfig | undefined {
    return this.portConfig.get(port);
  }

  setHairpin(port: NetDevice, on: boolean): void {
    const c = this.portConfig.get(port);
    if (c === undefined) throw new Error(`${port.name} is not a port of ${this.name}`);
    c.hairpin = on;
  }

  /** Implements {@link BridgeMaster.handleFrame} (br_handle_frame): the pre-routing hook, then the FDB decision. */
  handleFrame(inPort: NetDevice, pkt: Packet): void {
    if (pkt.len < 14) {
      this.drop(pkt, 'malformed', `${this.name}: runt frame of ${pkt.len} bytes on ${inPort.name}`);
      return;
    }
    pkt.brnf = 0;
    const nf = this.netfilter;
    if (nf !== undefined && Ether.etherType(pkt.buf, pkt.off) === EtherType.IPV4 && nf.enabled()) {
      if (this.sim.tracer.enabled) this.traceBridge(pkt, 'nf-call', inPort.name, undefined, `bridge-nf-call-iptables: PREROUTING for an IPv4 frame from ${inPort.name}`);
      if (!nf.preRouting(pkt, this, inPort)) return;
    }
    this.handleFrameFinish(inPort, pkt);
  }

  /** br_handle_frame_finish: learn the source, then deliver, forward or flood by destination MAC. */
  handleFrameFinish(inPort: NetDevice, pkt: Packet): void {
    const now = this.sim.clock.now();
    const b = pkt.buf;
    const o = pkt.off;
    const dst = Ether.dst(b, o);
    const src = Ether.src(b, o);
    const cfg = this.portConfig.get(inPort);
    if (cfg?.learning === true && !Ether.srcIsGroup(b, o)) {
      const r = this.fdb.learn(src, inPort, now);
      if ((r === 'new' || r === 'moved') && this.sim.tracer.enabled) {
        this.traceBridge(pkt, 'learn', inPort.name, src, `learned ${formatMac(src)} on ${inPort.name}${r === 'moved' ? ' (moved)' : ''}`);
      }
    }
    if (Ether.dstIsGroup(b, o)) {
      this.flood(pkt, inPort, true);
      return;
    }
    const e = this.fdb.lookup(dst, now);
    if (e === undefined) {
      this.flood(pkt, inPort, false);
      return;
    }
    if (e.local) {
      // For the bridge's own address (or a port's): up the bridge device's stack.
      if (this.sim.tracer.enabled) this.traceBridge(pkt, 'local', inPort.name, dst, `to ${this.name} itself`);
      this.deliverLocal(pkt);
      return;
    }
    if (e.port === inPort && !(cfg?.hairpin ?? false)) {
      if (this.sim.tracer.enabled) this.traceBridge(pkt, 'no-reflect', inPort.name, dst, `${formatMac(dst)} is behind ingress port ${inPort.name}, hairpin off: not sent back`);
      pkt.brnf = 0;
      return;
    }
    if (this.sim.tracer.enabled) this.traceBridge(pkt, 'forward', e.port.name, dst, `${formatMac(dst)} → ${e.port.name}${e.port === inPort ? ' (hairpin)' : ''}`);
    this.forwardTo(pkt, inPort, e.port);
  }

  /** The bridge device's own stack transmits (br_dev_xmit). */
  protected xmit(pkt: Packet): void {
    if ((pkt.brnf & BRNF_BRIDGED_DNAT) !== 0) {
      // br_nf_pre_routing_finish_bridge_slow: a bridged-DNAT frame whose destination MAC
      // the neighbour layer just filled in gets its own source MAC back and is bridged
      // as if it had just arrived on its ingress port.
      const physIn = pkt.brnfPhysIn as NetDevice | undefined;
      pkt.brnf &= ~BRNF_BRIDGED_DNAT;
      if (physIn === undefined || physIn.master !== this) {
        this.drop(pkt, 'link-down', `${this.name}: bridged-DNAT frame lost its ingress port`);
        return;
      }
      Ether.setSrc(pkt.buf, pkt.off, pkt.brnfSavedSrc);
      this.handleFrameFinish(physIn, pkt);
      return;
    }
    pkt.brnf = 0;
    pkt.brnfPhysIn = undefined;
    const now = this.sim.clock.now();
    const b = pkt.buf;
    const o = pkt.off;
    if (!Ether.dstIsGroup(b, o)) {
      const e = this.fdb.lookup(Ether.dst(b, o), now);
      if (e !== undefined && !e.local) {
        if (this.sim.tracer.enabled) this.traceBridge(pkt, 'forward', e.port.name, e.mac, `${formatMac(e.mac)} → ${e.port.name}`);
        e.port.transmit(pkt);
        return;
      }
    }
    this.flood(pkt, undefined, false);
  }

  private forwardTo(pkt: Packet, inPort: NetDevice, outPort: NetDevice): void {
    // br_nf_forward_ip / br_nf_post_routing act only on frames br_nf_pre_routing saw.
    if ((pkt.brnf & BRNF_PREROUTED) !== 0 && this.netfilter !== undefined) {
      if (this.sim.tracer.enabled) this.traceBridge(pkt, 'nf-call', outPort.name, undefined, `bridge-nf-call-iptables: FORWARD and POSTROUTING for a frame bridged ${inPort.name} → ${outPort.name}`);
      if (!this.netfilter.forward(pkt, this, inPort, outPort)) return;
    }
    pkt.brnf = 0;
    pkt.brnfPhysIn = undefined;
    outPort.transmit(pkt);
  }

  /** Send to every port except the ingress (unless hairpin); `alsoLocal` delivers a copy up the stack. */
  private flood(pkt: Packet, inPort: NetDevice | undefined, alsoLocal: boolean): void {
    const targets: NetDevice[] = [];
    for (const p of this.ports) {
      if (p === inPort && !(this.portConfig.get(p)?.hairpin ?? false)) continue;
      if (!p.operational()) continue;
      targets.push(p);
    }
    if (this.sim.tracer.enabled) {
      this.traceBridge(pkt, 'flood', inPort?.name, Ether.dst(pkt.buf, pkt.off), `flood to ${targets.length === 0 ? 'no port' : targets.map((t) => t.name).join(', ')}${alsoLocal && inPort !== undefined ? ` and ${this.name}` : ''}`);
    }
    const local = alsoLocal && inPort !== undefined;
    for (let i = 0; i < targets.length; i++) {
      const last = i === targets.length - 1 && !local;
      const copy = last ? pkt : clonePacket(pkt);
      const t = targets[i] as NetDevice;
      if (inPort !== undefined) this.forwardTo(copy, inPort, t);
      else t.transmit(copy);
    }
    if (local) this.deliverLocal(pkt);
  }

  private deliverLocal(pkt: Packet): void {
    if (!this.up) {
      this.drop(pkt, 'link-down', `${this.name} is down`);
      return;
    }
    this.stats.rxPackets++;
    this.stats.rxBytes += pkt.len;
    if (this.sim.tracer.enabled) this.traceRxTx('rx', pkt);
    this.deliverUp(pkt);
  }

  traceBridge(pkt: Packet, action: 'learn' | 'forward' | 'flood' | 'local' | 'no-reflect' | 'nf-call' | 'bridged-dnat', port: string | undefined, mac: MacAddr | undefined, detail: string): void {
    this.sim.tracer.emit({
      kind: 'bridge', t: this.sim.clock.now(), node: this.owner?.node ?? '', netns: this.owner?.name ?? '', pkt: pkt.id,
      bridge: this.name, action, ...(port !== undefined ? { port } : {}), ...(mac !== undefined ? { mac: formatMac(mac) } : {}), detail,
    });
  }
}
