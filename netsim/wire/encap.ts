/**
 * The IPv4 headers a frame carries, outermost first, looking through the two
 * encapsulations flannel uses: its udp backend's IP-in-UDP (the inner packet is the
 * whole UDP payload, port 8285) and VXLAN (an 8-byte header and an inner Ethernet
 * frame, port 8472 or IANA's 4789). What `tcpdump host A` cannot do and a user of a
 * cluster wants: find a pod's packets on the node's underlay NIC. Never throws;
 * bytes that do not parse end the walk.
 */
import { Ether, ETHERNET_HEADER_LEN, EthernetFrame, EtherType } from './ethernet.ts';
import { IpProtocol, Ipv4, IPV4_HEADER_LEN, Ipv4Packet, L4 } from './ipv4.ts';
import { UDP_HEADER_LEN } from './udp.ts';
import { VXLAN_HEADER_LEN, vxlanVniAt, VXLAN_PORT_IANA, VXLAN_PORT_LINUX_DEFAULT } from './vxlan.ts';

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

export interface Encapsulated {
  readonly kind: 'vxlan' | 'ip-in-udp';
  /** VXLAN only: the VNI and the inner frame's destination and source MACs. */
  readonly vni?: number;
  readonly innerDstMac?: number;
  readonly innerSrcMac?: number;
  /** The inner IPv4 packet (a view into `ip`, from its header on). */
  readonly inner: Uint8Array;
}

/**
 * The packet `ip` (an IPv4 packet, header first) carries, when it is a first fragment
 * of UDP to one of `ports` whose payload — up to the UDP length, as udp_rcv trims it —
 * holds an IPv4 packet (for VXLAN: the I flag set and an inner Ethernet frame of type
 * IPv4); undefined otherwise. Reads only within `ip`'s bytes; never throws.
 */
export function decapsulate(ip: Uint8Array, ports: EncapPorts = FLANNEL_ENCAP_PORTS): Encapsulated | undefined {
  if (!isIpv4(ip) || Ipv4.protocol(ip, 0) !== IpProtocol.UDP || Ipv4.fragOffset(ip, 0) !== 0) return undefined;
  const hl = Ipv4.headerLen(ip, 0);
  const ipEnd = Math.min(ip.length, Ipv4.totalLen(ip, 0));
  if (hl < IPV4_HEADER_LEN || ipEnd < hl + UDP_HEADER_LEN) return undefined;
  const udpLen = L4.udpLength(ip, hl);
  if (udpLen < UDP_HEADER_LEN || hl + udpLen > ipEnd) return undefined;
  const dport = L4.dstPort(ip, hl);
  const payload = ip.subarray(hl + UDP_HEADER_LEN, hl + udpLen);
  if (ports.ipInUdp.has(dport)) return isIpv4(payload) ? { kind: 'ip-in-udp', inner: payload } : undefined;
  if (!ports.vxlan.has(dport)) return undefined;
  const vni = vxlanVniAt(payload, 0, payload.length);
  if (vni < 0 || payload.length < VXLAN_HEADER_LEN + ETHERNET_HEADER_LEN) return undefined;
  const eth = VXLAN_HEADER_LEN;
  if (Ether.etherType(payload, eth) !== EtherType.IPV4) return undefined;
  const inner = payload.subarray(eth + ETHERNET_HEADER_LEN);
  return isIpv4(inner) ? { kind: 'vxlan', vni, innerDstMac: Ether.dst(payload, eth), innerSrcMac: Ether.src(payload, eth), inner } : undefined;
}

function isIpv4(b: Uint8Array): boolean {
  return b.length >= IPV4_HEADER_LEN && Ipv4.version(b, 0) === 4;
}

/** The packet `ip` carries inside it, if it is an encapsulation on one of `ports`. */
function innerOf(ip: Ipv4Packet, ports: EncapPorts): Ipv4Packet | undefined {
  const enc = decapsulate(ip.bytes, ports);
  return enc === undefined ? undefined : ipOfRaw(enc.inner);
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
