/**
 * A capture tap: subscribes to the trace bus (with packet bytes) and records every
 * rx/tx on the selected interfaces — one interface per emulated interface, named
 * `<netns>/<dev>` (the node's own name for its root namespace, e.g. `node01/eth0`,
 * and the pod for pod namespaces, e.g. `default/webapp01/eth0`), link type Ethernet
 * or raw IPv4 (TUN), direction flags and the virtual time in nanoseconds.
 *
 * Each packet's comment says where it was and what the emulated kernel decided
 * there, until the packet reached its next device: `trace 33: node01 docker0 rx →
 * FORWARD filter FLANNEL-FWD:1 ACCEPT`, so a file opened in Wireshark explains
 * itself. A packet seen at several hops is in the file once per hop (Wireshark's
 * TCP analysis then calls the copies retransmissions); `split()` gives one file per
 * interface instead, as ns-3 writes its per-device traces.
 *
 * Observation is a tap (ARCHITECTURE.md): the emulator's core does not know it.
 */
import type { Tracer } from '../netsim/trace/tracer.ts';
import type { TraceEvent } from '../netsim/trace/trace-event.ts';
import { PcapngWriter } from './pcapng-writer.ts';
import type { PcapngNameRecord } from './pcapng-writer.ts';
import { PcapWriter } from './pcap-writer.ts';
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

interface Iface {
  readonly name: string;
  readonly linkType: number;
  readonly description: string;
}

interface Recorded {
  readonly iface: number;
  readonly t: bigint;
  readonly data: Uint8Array;
  readonly direction: 'inbound' | 'outbound';
  readonly head: string;
  readonly notes: string[];
}

/** Most decisions noted in one packet's comment (a comment holds at most 65535 bytes). */
const MAX_NOTES = 12;

/** Targets that end a packet's walk through a chain (jumps to user chains are left out of comments). */
const FINAL_VERDICTS = new Set(['ACCEPT', 'DROP', 'REJECT', 'DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT']);

/** What a decision event adds to the comment of the packet's latest device event, or undefined. */
function note(e: TraceEvent): string | undefined {
  switch (e.kind) {
    case 'nf': return e.rule === 0 || FINAL_VERDICTS.has(e.verdict) ? `${e.hook} ${e.table} ${e.chain}:${e.rule === 0 ? 'policy' : e.rule} ${e.verdict}` : undefined;
    case 'nat': return e.detail;
    case 'encap':
    case 'decap': return `${e.dev} ${e.kind}`;
    case 'deliver': return `deliver to ${e.to}`;
    case 'drop': return `DROP ${e.reason}`;
    case 'icmp-error': return e.detail;
    default: return undefined;
  }
}

export class Capture {
  private readonly ifaces: Iface[] = [];
  private readonly ids = new Map<string, number>();
  private readonly records: Recorded[] = [];
  /** The latest record of each trace id, which the decisions that follow it annotate. */
  private readonly latest = new Map<number, Recorded>();
  /** IPv4 → names, for the Name Resolution Block. */
  private readonly names = new Map<number, string[]>();
  private readonly stopFn: () => void;
  packets = 0;

  constructor(tracer: Tracer, private readonly opts: CaptureOptions = {}) {
    this.stopFn = tracer.subscribe((e) => {
      if (e.kind === 'rx' || e.kind === 'tx') this.record(e);
      else if (e.pkt !== 0) {
        const r = this.latest.get(e.pkt);
        const n = r !== undefined && r.notes.length < MAX_NOTES ? note(e) : undefined;
        if (n !== undefined) r?.notes.push(n);
      }
    }, { bytes: true });
  }

  private record(e: RxTx): void {
    if (e.data === undefined) return;
    if (this.opts.filter !== undefined && !this.opts.filter(e)) {
      this.latest.delete(e.pkt);
      return;
    }
    const key = `${e.netns}/${e.dev}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      if (this.opts.interfaces !== undefined && !this.opts.interfaces({ node: e.node, netns: e.netns, dev: e.dev })) {
        this.latest.delete(e.pkt);
        return;
      }
      id = this.ifaces.length;
      this.ifaces.push({ name: key, linkType: e.linkType === 'raw-ip' ? LINKTYPE_RAW : LINKTYPE_ETHERNET, description: `${e.dev} in ${e.netns === e.node ? `node ${e.node}` : `${e.netns} on ${e.node}`}` });
      this.ids.set(key, id);
    }
    const r: Recorded = { iface: id, t: BigInt(e.t), data: e.data, direction: e.kind === 'rx' ? 'inbound' : 'outbound', head: `trace ${e.pkt}: ${e.netns} ${e.dev} ${e.kind}`, notes: [] };
    this.records.push(r);
    if (e.pkt !== 0) this.latest.set(e.pkt, r);
    this.packets++;
  }

  /** Name records for Wireshark (`-N n`): IPv4 → pod, node, Service… names. */
  addNames(records: ReadonlyArray<{ ip: number; name: string }>): void {
    for (const r of records) {
      const names = this.names.get(r.ip) ?? [];
      if (!names.includes(r.name)) this.names.set(r.ip, [...names, r.name]);
    }
  }

  interfaceNames(): string[] {
    return this.ifaces.map((i) => i.name);
  }

  stop(): void {
    this.stopFn();
  }

  /** Every interface in one pcapng file. */
  bytes(): Uint8Array {
    return this.pcapng(this.ifaces.map((_, i) => i));
  }

  /** One pcapng file per interface, in the order the interfaces were first seen. */
  split(): Array<{ name: string; bytes: Uint8Array }> {
    return this.ifaces.map((iface, i) => ({ name: iface.name, bytes: this.pcapng([i]) }));
  }

  /**
   * Classic pcap of one interface (`resolution` 'us' is tcpdump's default and the
   * original format every reader knows; 'ns' the nanosecond magic).
   */
  pcap(name: string, resolution: 'us' | 'ns'): Uint8Array {
    const id = this.ids.get(name);
    if (id === undefined) throw new RangeError(`capture: no interface ${name}`);
    const w = new PcapWriter({ linkType: this.ifaces[id]!.linkType, resolution });
    for (const r of this.records) if (r.iface === id) w.writePacket({ timestampNs: r.t, data: r.data });
    return w.toBytes();
  }

  private pcapng(ids: readonly number[]): Uint8Array {
    const w = new PcapngWriter({ application: 'netsim', comment: this.opts.comment ?? TSHARK_HINT });
    const local = new Map(ids.map((id) => [id, w.addInterface(this.ifaces[id]!)]));
    w.addNameRecords([...this.names].map(([ip, names]): PcapngNameRecord => ({ ip: Uint8Array.of(ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255), names })));
    for (const r of this.records) {
      const at = local.get(r.iface);
      if (at !== undefined) w.writePacket({ interfaceId: at, timestampNs: r.t, data: r.data, direction: r.direction, comment: r.notes.length > 0 ? `${r.head} → ${r.notes.join('; ')}` : r.head });
    }
    return w.toBytes();
  }
}
