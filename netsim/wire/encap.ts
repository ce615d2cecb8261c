/**
 * The IPv4 headers a frame carries, outermost first, looking through the two
 * encapsulations flannel uses: its udp backend's IP-in-UDP (the inner packet is the
 * whole UDP payload, port 8285) and VXLAN (an 8-byte header and an inner Ethernet
 * frame, port 8472 or IANA's 4789). What `tcpdump host A` cannot do and a user of a
 * cluster wants: find a pod's packets on the node's underlay NIC. Never throws;
 * bytes that do not parse end the walk.
 */
import { EthernetFrame, EtherType } from './ethernet.ts';
import { IpProtocol, Ipv4Packet } from './ipv4.ts';
import { UdpDatagram } from './udp.ts';
import { VxlanHeader, VXLAN_PORT_IANA, VXLAN_PORT_LINUX_DEFAULT } from './vxlan.ts';

/** UDP ports whose payload is an encapsulated packet (the defaults of flannel's backends). */
export interface EncapPorts {
  /** IP-in-UDP: flannel udp backend (pkg/backend/udp defaultPort 8285). */
  readonly ipInUdp: ReadonlySet<number>;
  /** VXLAN: Linux's default 8472 (flannel's), IANA's 4789. */
  readonly vxlan: ReadonlySet<number>;
}

export const FLANNEL_ENCAP_PORTS: EncapPorts = { ipInUdp: new Set([8285]), vxlan: new Set([VXLAN_PORT_LINUX_DEFAULT, VXLAN_PORT_IANA]) };

/** Nested encapsulations followed at most (a packet inside a packet inside …). */
const MAX_DEPTH = 4;

function ipOfEthernet(bytes: Uint8Array): Ipv4Packet | undefined {
  try {
    const eth = EthernetFrame.checked(bytes);
    return eth.etherType === EtherType.IPV4 ? Ipv4Packet.checked(eth.payload()) : undefined;
  } catch {
    return undefined;
  }
}

function ipOfRaw(bytes: Uint8Array): Ipv4Packet | undefined {
  try {
    return Ipv4Packet.checked(bytes);
  } catch {
    return undefined;
  }
}

/** The packet `ip` carries inside it, if it is an encapsulation on one of `ports`. */
function innerOf(ip: Ipv4Packet, ports: EncapPorts): Ipv4Packet | undefined {
  if (ip.protocol !== IpProtocol.UDP || ip.fragOffset !== 0) return undefined;
  try {
    const udp = UdpDatagram.checked(ip.payload());
    const port = udp.dstPort;
    if (ports.ipInUdp.has(port)) return ipOfRaw(udp.payload());
    if (ports.vxlan.has(port)) return ipOfEthernet(VxlanHeader.checked(udp.payload()).payload());
  } catch {
    return undefined;
  }
  return undefined;
}

/** Every IPv4 header in a frame (`ether`: Ethernet II; `raw-ip`: TUN), outermost first. */
export function ipv4Headers(frame: Uint8Array, linkType: 'ether' | 'raw-ip', ports: EncapPorts = FLANNEL_ENCAP_PORTS): Ipv4Packet[] {
  const out: Ipv4Packet[] = [];
  let ip = linkType === 'ether' ? ipOfEthernet(frame) : ipOfRaw(frame);
  while (ip !== undefined && out.length < MAX_DEPTH) {
    out.push(ip);
    ip = innerOf(ip, ports);
  }
  return out;
}
