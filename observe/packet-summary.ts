/**
 * The addresses, ports and flags of the IPv4 packet a trace event carries, looking
 * through flannel's encapsulations (udp backend: IP/UDP 8285/inner IP; vxlan:
 * IP/UDP 8472/VXLAN/Ethernet/inner IP) so a flow names pods, not node addresses.
 * Parsing goes through wire/'s own parsers: the layout lives there.
 */
import { parseEthernet, EtherType, ETHERNET_HEADER_LEN } from '../netsim/wire/ethernet.ts';
import { parseIpv4, ipv4HeaderLen, IpProtocol } from '../netsim/wire/ipv4.ts';
import { parseTcp } from '../netsim/wire/tcp.ts';
import { parseUdp, UDP_HEADER_LEN } from '../netsim/wire/udp.ts';
import { VXLAN_HEADER_LEN } from '../netsim/wire/vxlan.ts';
import { Icmpv4Packet } from '../netsim/wire/icmpv4.ts';
import { formatIpv4 } from '../netsim/wire/addr.ts';
import type { LinkType } from '../netsim/trace/trace-event.ts';

export interface PacketSummary {
  readonly src: string;
  readonly dst: string;
  readonly protocol: 'TCP' | 'UDP' | 'ICMP' | string;
  readonly srcPort?: number;
  readonly dstPort?: number;
  readonly tcpFlags?: readonly string[];
  readonly icmp?: string;
  /** The bytes were an encapsulation (flanneld's or VXLAN's outer packet), looked through. */
  readonly encapsulated: boolean;
}

/** flannel's default UDP ports: udp backend 8285 (flanneld), vxlan 8472 (the kernel's OTV port Linux uses by default). */
export const ENCAP_PORTS: ReadonlyMap<number, 'udp' | 'vxlan'> = new Map([[8285, 'udp'], [8472, 'vxlan']]);


/** Hubble's names of the TCP flags, in header bit order. */
const TCP_FLAG_NAMES: ReadonlyArray<[number, string]> = [[0x01, 'FIN'], [0x02, 'SYN'], [0x04, 'RST'], [0x08, 'PSH'], [0x10, 'ACK'], [0x20, 'URG']];

const ICMP_NAMES: Readonly<Record<number, string>> = { 0: 'echo reply', 3: 'destination unreachable', 8: 'echo request', 11: 'time exceeded' };
const UNREACH_CODES: Readonly<Record<number, string>> = { 0: 'net unreachable', 1: 'host unreachable', 3: 'port unreachable', 4: 'fragmentation needed', 13: 'administratively prohibited' };

function ipv4At(bytes: Uint8Array, linkType: LinkType): Uint8Array | undefined {
  if (linkType === 'raw-ip') return bytes;
  if (bytes.length < ETHERNET_HEADER_LEN) return undefined;
  const eth = parseEthernet(bytes);
  return eth.etherType === EtherType.IPV4 ? bytes.subarray(ETHERNET_HEADER_LEN) : undefined;
}

/** The innermost IPv4 packet's summary, or undefined for ARP and anything malformed. */
export function summarisePacket(bytes: Uint8Array, linkType: LinkType, encapPorts: ReadonlyMap<number, 'udp' | 'vxlan'> = ENCAP_PORTS): PacketSummary | undefined {
  try {
    let ip = ipv4At(bytes, linkType);
    let encapsulated = false;
    for (let depth = 0; ip !== undefined && depth < 2; depth++) {
      const h = parseIpv4(ip);
      const hl = ipv4HeaderLen(h);
      const l4 = ip.subarray(hl, hl + h.payloadLen);
      if (h.protocol === IpProtocol.UDP && h.fragOffset === undefined) {
        const u = parseUdp(l4);
        const encap = encapPorts.get(u.dstPort);
        if (encap !== undefined) {
          const inner = l4.subarray(UDP_HEADER_LEN);
          ip = encap === 'udp' ? inner : ipv4At(inner.subarray(VXLAN_HEADER_LEN), 'ether');
          encapsulated = true;
          continue;
        }
        return { src: formatIpv4(h.src), dst: formatIpv4(h.dst), protocol: 'UDP', srcPort: u.srcPort, dstPort: u.dstPort, encapsulated };
      }
      if (h.protocol === IpProtocol.TCP && h.fragOffset === undefined) {
        const t = parseTcp(l4);
        const flags = TCP_FLAG_NAMES.filter(([bit]) => (t.flags & bit) !== 0).map(([, name]) => name);
        return { src: formatIpv4(h.src), dst: formatIpv4(h.dst), protocol: 'TCP', srcPort: t.srcPort, dstPort: t.dstPort, tcpFlags: flags, encapsulated };
      }
      if (h.protocol === IpProtocol.ICMP) {
        const icmp = Icmpv4Packet.checked(l4);
        const type = icmp.msgType;
        const code = icmp.msgCode;
        const name = type === 3 ? (UNREACH_CODES[code] ?? `destination unreachable code ${code}`) : (ICMP_NAMES[type] ?? `type ${type} code ${code}`);
        return { src: formatIpv4(h.src), dst: formatIpv4(h.dst), protocol: 'ICMP', icmp: name, encapsulated };
      }
      return { src: formatIpv4(h.src), dst: formatIpv4(h.dst), protocol: `proto ${h.protocol}`, encapsulated };
    }
    return undefined;
  } catch {
    // A truncated or malformed packet is a drop the trace already names; it has no flow identity.
    return undefined;
  }
}
