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
 * kernel's choosing, which may equal some probe's. An encapsulated packet on the
 * underlay (VXLAN, flannel's IP-in-UDP) belongs to the probe its inner packet belongs to.
 */
import type { Probe } from './probe.ts';
import { decapsulate } from '../../netsim/wire/encap.ts';
import { Ipv4, IPV4_HEADER_LEN, L4 } from '../../netsim/wire/ipv4.ts';
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
    if (bytes.length < IPV4_HEADER_LEN || Ipv4.version(bytes, 0) !== 4) return undefined;
    const enc = decapsulate(bytes);
    if (enc !== undefined) return this.find(enc.inner);
    const hl = Ipv4.headerLen(bytes, 0);
    const proto = Ipv4.protocol(bytes, 0);
    const l4 = bytes.subarray(hl);
    // Every read below is inside the bounds just checked.
    if (proto === 1 && l4.length >= 8) {
      const type = L4.icmpType(l4, 0);
      if (type === 3 || type === 11 || type === 12 || type === 5) return this.quoted(l4.subarray(8));
      if (type === 0) return this.bySport.get(`1/${L4.icmpEchoId(l4, 0)}`);
    }
    if ((proto === 6 || proto === 17) && l4.length >= 4) {
      const answer = this.bySport.get(`${proto}/${L4.dstPort(l4, 0)}`);
      if (answer !== undefined && answer.probe.dport === L4.srcPort(l4, 0)) return answer;
    }
    const own = this.byIpId.get(Ipv4.ident(bytes, 0));
    return own !== undefined && PROTO[own.probe.proto] === proto ? own : undefined;
  }

  private quoted(inner: Uint8Array): T | undefined {
    if (inner.length < IPV4_HEADER_LEN || Ipv4.version(inner, 0) !== 4) return undefined;
    const byId = this.byIpId.get(Ipv4.ident(inner, 0));
    if (byId !== undefined && PROTO[byId.probe.proto] === Ipv4.protocol(inner, 0)) return byId;
    const hl = Ipv4.headerLen(inner, 0);
    const proto = Ipv4.protocol(inner, 0);
    if (inner.length < hl + 8) return undefined;
    // An error about a packet some kernel generated in answer (its id is the kernel's): by ports / echo id.
    const key = proto === 1 ? `1/${L4.icmpEchoId(inner, hl)}` : `${proto}/${L4.dstPort(inner, hl)}`;
    return this.bySport.get(key);
  }
}
