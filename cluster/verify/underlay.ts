/**
 * What a node puts on the underlay for a cross-node packet, opened up so it can be
 * attributed and compared: flannel's two encapsulations, VXLAN (UDP to 8472/4789, an
 * 8-byte header, an inner Ethernet frame — the kernel's vxlan driver) and the udp
 * backend's IP-in-UDP (UDP to 8285, the inner IPv4 packet is the whole payload —
 * flanneld's proxy). The ports are wire/encap.ts's {@link FLANNEL_ENCAP_PORTS}.
 */
import { FLANNEL_ENCAP_PORTS } from '../../netsim/wire/encap.ts';
import { IpProtocol, Ipv4, IPV4_HEADER_LEN, L4 } from '../../netsim/wire/ipv4.ts';
import { UDP_HEADER_LEN } from '../../netsim/wire/udp.ts';
import { Ether, ETHERNET_HEADER_LEN, EtherType } from '../../netsim/wire/ethernet.ts';
import { VXLAN_HEADER_LEN, vxlanVniAt } from '../../netsim/wire/vxlan.ts';

export interface Encapsulated {
  readonly kind: 'vxlan' | 'ip-in-udp';
  /** VXLAN only: the VNI and the inner frame's destination and source MACs. */
  readonly vni?: number;
  readonly innerDstMac?: number;
  readonly innerSrcMac?: number;
  /** The inner IPv4 packet. */
  readonly inner: Uint8Array;
}

/**
 * The encapsulated packet `ip` (an IPv4 packet, header first) carries, when it is a
 * first fragment of UDP to one of flannel's encapsulation ports whose payload holds
 * an IPv4 packet; undefined otherwise. Reads only within `ip`'s bytes.
 */
export function decapsulate(ip: Uint8Array): Encapsulated | undefined {
  if (!isIpv4(ip) || Ipv4.protocol(ip, 0) !== IpProtocol.UDP || Ipv4.fragOffset(ip, 0) !== 0) return undefined;
  const hl = Ipv4.headerLen(ip, 0);
  const end = Math.min(ip.length, Ipv4.totalLen(ip, 0));
  if (hl < IPV4_HEADER_LEN || end < hl + UDP_HEADER_LEN) return undefined;
  const dport = L4.dstPort(ip, hl);
  const payload = ip.subarray(hl + UDP_HEADER_LEN, end);
  if (FLANNEL_ENCAP_PORTS.ipInUdp.has(dport)) return isIpv4(payload) ? { kind: 'ip-in-udp', inner: payload } : undefined;
  if (!FLANNEL_ENCAP_PORTS.vxlan.has(dport)) return undefined;
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
