/**
 * A capture tap: subscribes to the trace bus (with packet bytes) and records every
 * rx/tx on the selected interfaces into pcapng — one interface block per emulated
 * interface, named `<netns>/<dev>` (the node's own name for its root namespace,
 * e.g. `node01/eth0`, and the pod for pod namespaces, e.g. `default/webapp01/eth0`),
 * link type Ethernet or raw IPv4 (TUN), direction flags, the virtual time in
 * nanoseconds, and a comment carrying the trace (packet) id.
 *
 * Observation is a tap (ARCHITECTURE.md): the emulator's core does not know it.
 */
import type { Tracer } from '../netsim/trace/tracer.ts';
import type { TraceEvent } from '../netsim/trace/trace-event.ts';
import { PcapngWriter } from './pcapng-writer.ts';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from './pcapng-constants.ts';

type RxTx = Extract<TraceEvent, { kind: 'rx' | 'tx' }>;

export interface CaptureOptions {
  /** Keep only interfaces for which this returns true (`netns`, `dev`, `node`). */
  readonly interfaces?: (iface: { node: string; netns: string; dev: string }) => boolean;
  /** Keep only events for which this returns true (e.g. one trace id). */
  readonly filter?: (ev: RxTx) => boolean;
  /** Section comment (e.g. how to decode flannel ports). */
  readonly comment?: string;
}

export const TSHARK_HINT = 'flannel udp: tshark -d udp.port==8285,ip; flannel vxlan: tshark -d udp.port==8472,vxlan';

export class Capture {
  private readonly enc: PcapngWriter;
  private readonly ids = new Map<string, number>();
  private readonly stopFn: () => void;
  packets = 0;

  constructor(tracer: Tracer, private readonly opts: CaptureOptions = {}) {
    this.enc = new PcapngWriter({ application: 'netsim', comment: opts.comment ?? TSHARK_HINT });
    this.stopFn = tracer.subscribe((e) => {
      if (e.kind === 'rx' || e.kind === 'tx') this.record(e);
    }, { bytes: true });
  }

  private record(e: RxTx): void {
    if (e.data === undefined) return;
    if (this.opts.filter !== undefined && !this.opts.filter(e)) return;
    const key = `${e.netns}/${e.dev}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      if (this.opts.interfaces !== undefined && !this.opts.interfaces({ node: e.node, netns: e.netns, dev: e.dev })) return;
      id = this.enc.addInterface({ name: key, linkType: e.linkType === 'raw-ip' ? LINKTYPE_RAW : LINKTYPE_ETHERNET, description: `${e.dev} in ${e.netns === e.node ? `node ${e.node}` : `${e.netns} on ${e.node}`}` });
      this.ids.set(key, id);
    }
    this.enc.writePacket({ interfaceId: id, timestampNs: BigInt(e.t), data: e.data, direction: e.kind === 'rx' ? 'inbound' : 'outbound', comment: `trace ${e.pkt}` });
    this.packets++;
  }

  /** Name records for Wireshark (`-N n`): IPv4 → pod or node name. */
  addNames(records: ReadonlyArray<{ ip: number; name: string }>): void {
    this.enc.addNameRecords(records.map((r) => ({ ip: Uint8Array.of(r.ip >>> 24, (r.ip >>> 16) & 255, (r.ip >>> 8) & 255, r.ip & 255), names: [r.name] })));
  }

  interfaceNames(): string[] {
    return [...this.ids.keys()];
  }

  stop(): void {
    this.stopFn();
  }

  bytes(): Uint8Array {
    return this.enc.toBytes();
  }
}
