/**
 * The emulator's half of a verification: taps on one emulated node that make it the
 * same island as its real twin, then probes injected and observed.
 *
 * Taps (instance-level wrappers, removed by {@link EmulatorSide.dispose}; the core
 * has no flag for this):
 * - every egress device of the plan (the underlay NIC; without underlay mode flannel's
 *   TUN and VXLAN device too) is swallowed at transmit: the IPv4 packet — on the NIC,
 *   what flanneld or the VTEP encapsulated — is recorded as an `egress:DEV`
 *   observation, as the twin's sink records it, and an ARP request is answered with the
 *   sink's MAC for any address (the sink does the same). Nothing reaches the underlay or
 *   other nodes;
 * - the ICMP, UDP and TCP input of the node and pod namespaces record what is
 *   delivered locally: the point where Linux hands a copy to raw sockets
 *   (raw_local_deliver, after INPUT).
 */
import type { Sim } from '../../netsim/sim.ts';
import type { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import type { NetDevice } from '../../netsim/link/net-device.ts';
import type { Packet } from '../../netsim/packet/packet.ts';
import { packetFromBytes } from '../../netsim/packet/packet.ts';
import type { TraceEvent } from '../../netsim/trace/trace-event.ts';
import { buildArp, parseArp, ArpOp } from '../../netsim/wire/arp.ts';
import { readU16, writeU16, writeU48 } from '../../netsim/wire/field.ts';
import type { MacAddr } from '../../netsim/wire/addr.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import type { TwinPlan } from './twin.ts';
import { NetfilterStack } from '../../netsim/netfilter/netfilter-stack.ts';
import type { Observation, Probe } from './probe.ts';

type Layer = { input(inDev: NetDevice, pkt: Packet): void };

function ethernet(dst: MacAddr, src: MacAddr, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  writeU48(f, 0, dst);
  writeU48(f, 6, src);
  writeU16(f, 12, type);
  f.set(payload, 14);
  return f;
}

/** Seconds a probe's window is extended at most while a neighbour resolution is under way. */
const MAX_RESOLUTION_WAIT_S = 5;

export class EmulatorSide {
  private readonly sim: Sim;
  private readonly undo: Array<() => void> = [];
  private obs: Observation[] = [];
  private events: TraceEvent[] = [];
  private readonly stopTrace: () => void;
  private readonly stacks = new Map<string, NetNamespace>();
  private readonly egress = new Map<string, { dev: NetDevice; sinkMac: MacAddr }>();

  constructor(plan: TwinPlan, private readonly windowNs = SECOND) {
    const first = plan.stacks[0];
    if (first === undefined) throw new Error('twin plan without a node namespace');
    this.sim = first.ns.sim;
    for (const s of plan.stacks) {
      this.stacks.set(s.label, s.ns);
      for (const layer of [s.ns.icmp, s.ns.udp, s.ns.tcp] as Layer[]) this.tapInput(layer, s.label);
    }
    for (const e of plan.egress) {
      this.egress.set(e.label, { dev: e.dev, sinkMac: e.sinkMac });
      this.tapEgress(e.dev, e.label, e.sinkMac);
    }
    this.stopTrace = this.sim.tracer.subscribe((ev) => this.events.push(ev), { bytes: true });
  }

  private tapInput(layer: Layer, label: string): void {
    const orig = layer.input;
    layer.input = (inDev: NetDevice, pkt: Packet): void => {
      this.obs.push({ where: label, bytes: pkt.bytes().slice() });
      orig.call(layer, inDev, pkt);
    };
    this.undo.push(() => {
      delete (layer as { input?: unknown }).input;
    });
  }

  private tapEgress(dev: NetDevice, label: string, sinkMac: MacAddr): void {
    dev.transmit = (pkt: Packet): void => {
      if (!dev.operational()) {
        this.obs.push({ where: `${label}:link-down`, bytes: new Uint8Array(0) });
        return;
      }
      if (this.sim.tracer.enabled) dev.traceRxTx('tx', pkt);
      const b = pkt.bytes();
      if (dev.linkType === 'raw-ip') {
        this.obs.push({ where: label, bytes: b.slice() });
        return;
      }
      const type = readU16(b, 12);
      if (type === 0x0800) this.obs.push({ where: label, bytes: b.slice(14) });
      else if (type === 0x0806) {
        const req = parseArp(b.subarray(14));
        if (req.op !== ArpOp.REQUEST) return;
        const reply = buildArp({ op: ArpOp.REPLY, senderMac: sinkMac, senderIp: req.targetIp, targetMac: req.senderMac, targetIp: req.senderIp });
        this.sim.enqueue(dev, packetFromBytes(this.sim.nextPacketId(), ethernet(req.senderMac, sinkMac, 0x0806, reply)));
      }
    };
    this.undo.push(() => {
      delete (dev as { transmit?: unknown }).transmit;
    });
  }

  /** Inject `bytes` as `probe` says and run the clock for the window; what was seen, and the trace. */
  run(probe: Probe, bytes: Uint8Array): { obs: Observation[]; events: TraceEvent[]; injected: number } {
    this.obs = [];
    this.events = [];
    let injected = 0;
    const stack = this.stacks.get(probe.from);
    if (stack !== undefined) {
      const pkt = stack.newPacket(bytes);
      injected = pkt.id;
      stack.sendIp(pkt);
    } else {
      const e = this.egress.get(probe.from);
      if (e === undefined) throw new Error(`probe source ${probe.from} is not part of the twin`);
      const frame = e.dev.linkType === 'raw-ip' ? bytes : ethernet(e.dev.mac, e.sinkMac, 0x0800, bytes);
      const pkt = packetFromBytes(this.sim.nextPacketId(), frame);
      injected = pkt.id;
      this.sim.enqueue(e.dev, pkt);
    }
    this.sim.clock.runFor(this.windowNs);
    // Wait on, in virtual time, while a neighbour resolution still holds packets: the
    // kernel gives up after its probes (neigh_timer_handler, 3 × 1 s) and answers the
    // queued packets with host unreachable, which belongs to this probe, not the next.
    for (let s = 0; s < MAX_RESOLUTION_WAIT_S && this.resolving(); s++) this.sim.clock.runFor(SECOND);
    return { obs: this.obs, events: this.events, injected };
  }

  private resolving(): boolean {
    for (const ns of this.stacks.values()) if (ns.neigh.holdsPackets()) return true;
    return false;
  }

  /**
   * Run as a client ClientIP affinity has never seen: the `-m recent` lists (iptables
   * mode) and the elements of `dynamic` nft sets (nftables mode's affinity sets) are
   * empty for this run and put back after, so the outcome is one a fresh client could get.
   */
  runFresh(probe: Probe, bytes: Uint8Array): { obs: Observation[]; events: TraceEvent[]; injected: number } {
    const saved: Array<[Map<string, Map<number, number[]>>, Map<string, Map<number, number[]>>]> = [];
    const savedSets: Array<[Map<string, unknown>, Map<string, unknown>]> = [];
    for (const ns of this.stacks.values()) {
      if (!(ns.hooks instanceof NetfilterStack)) continue;
      const recent = ns.hooks.iptables.recent;
      saved.push([recent, new Map([...recent].map(([k, v]) => [k, new Map([...v].map(([a, t]) => [a, [...t]]))]))]);
      recent.clear();
      for (const t of ns.hooks.nft.ruleset.tables.values()) {
        for (const set of t.sets.values()) {
          if (!set.flags.includes('dynamic')) continue;
          savedSets.push([set.elems, new Map(set.elems)]);
          set.elems.clear();
        }
      }
    }
    try {
      return this.run(probe, bytes);
    } finally {
      for (const [recent, copy] of saved) {
        recent.clear();
        for (const [k, v] of copy) recent.set(k, v);
      }
      for (const [elems, copy] of savedSets) {
        elems.clear();
        for (const [k, v] of copy) elems.set(k, v);
      }
    }
  }

  dispose(): void {
    this.stopTrace();
    for (const u of this.undo.reverse()) u();
    this.undo.length = 0;
  }
}
