/**
 * Which probe a packet the kernel delivered belongs to, by its content — never by
 * when it came: on a loaded machine an answer arrives after the next probe was sent,
 * and an ICMP host unreachable after an ARP failure comes ~3 s later (the kernel's
 * neighbour resolution gives up after 3 probes of 1 s).
 *
 * A packet belongs to a probe when
 * - it is an ICMP error whose quoted header carries the probe's IP id (or, quoting a
 *   packet whose id another kernel chose, the probe's source port or echo id);
 * - it is an answer: TCP/UDP to the probe's source port from its destination port
 *   (after the node un-NATed it), an echo reply with the probe's echo id;
 * - it is the probe itself, forwarded, NATed or not: the probe's IP id (forwarding
 *   and NAT keep it) and protocol.
 * Answers are looked at before ids: a packet a kernel generated carries an id of the
 * kernel's choosing, which may equal some probe's.
 */
import type { Probe } from './probe.ts';

const u16 = (b: Uint8Array, o: number): number => ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
const PROTO: Record<Probe['proto'], number> = { icmp: 1, tcp: 6, udp: 17 };

export class ProbeIndex<T extends { readonly probe: Probe }> {
  private readonly byIpId = new Map<number, T>();
  /** `${ip proto}/${source port or echo id}` → slot. */
  private readonly bySport = new Map<string, T>();

  add(slot: T): void {
    this.byIpId.set(slot.probe.ipId, slot);
    this.bySport.set(`${PROTO[slot.probe.proto]}/${slot.probe.sport}`, slot);
  }

  /** The probe slot `bytes` (an IPv4 packet) belongs to, or undefined for a stray. */
  find(bytes: Uint8Array): T | undefined {
    if (bytes.length < 20 || (bytes[0] ?? 0) >> 4 !== 4) return undefined;
    const hl = ((bytes[0] ?? 0) & 0x0f) * 4;
    const proto = bytes[9] ?? 0;
    const l4 = bytes.subarray(hl);
    if (proto === 1 && l4.length >= 8) {
      const type = l4[0] ?? 0;
      if (type === 3 || type === 11 || type === 12 || type === 5) return this.quoted(l4.subarray(8));
      if (type === 0) return this.bySport.get(`1/${u16(l4, 4)}`);
    }
    if ((proto === 6 || proto === 17) && l4.length >= 4) {
      const answer = this.bySport.get(`${proto}/${u16(l4, 2)}`);
      if (answer !== undefined && answer.probe.dport === u16(l4, 0)) return answer;
    }
    const own = this.byIpId.get(u16(bytes, 4));
    return own !== undefined && PROTO[own.probe.proto] === proto ? own : undefined;
  }

  private quoted(inner: Uint8Array): T | undefined {
    if (inner.length < 20 || (inner[0] ?? 0) >> 4 !== 4) return undefined;
    const byId = this.byIpId.get(u16(inner, 4));
    if (byId !== undefined && PROTO[byId.probe.proto] === (inner[9] ?? 0)) return byId;
    const hl = ((inner[0] ?? 0) & 0x0f) * 4;
    const proto = inner[9] ?? 0;
    if (inner.length < hl + 8) return undefined;
    // An error about a packet some kernel generated in answer (its id is the kernel's): by ports / echo id.
    const key = proto === 1 ? `1/${u16(inner, hl + 4)}` : `${proto}/${u16(inner, hl + 2)}`;
    return this.bySport.get(key);
  }
}
