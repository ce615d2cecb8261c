import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as wire from './index.ts';
import { PING_PACKET } from './test-support.ts';

test('index: the overloaded parseIpv4 parses addresses and packets', () => {
  assert.equal(wire.parseIpv4('10.244.1.2'), 0x0af40102);
  const r = wire.parseIpv4(PING_PACKET, { verifyChecksum: true });
  assert.equal(r.protocol, wire.IpProtocol.ICMP);
  assert.equal(wire.parseIpv4Addr('1.2.3.4'), 0x01020304);
  assert.equal(wire.parseIpv4Packet(PING_PACKET).ttl, 64);
});

test('index: re-exports the contract names', () => {
  const names = [
    'readU16', 'writeU16', 'readU32', 'writeU32', 'readU48', 'writeU48',
    'WireError',
    'parseIpv4', 'formatIpv4', 'parseMac', 'formatMac', 'MAC_BROADCAST', 'isBroadcastMac', 'isMulticastMac', 'Ipv4Cidr', 'Ipv4Interface', 'maskOf',
    'onesComplementSum', 'internetChecksum', 'ipv4HeaderChecksum', 'pseudoHeaderSum', 'checksumUpdate16', 'checksumUpdate32',
    'EtherType', 'ETHERNET_HEADER_LEN', 'EthernetFrame', 'parseEthernet', 'emitEthernet', 'buildEthernetFrame',
    'ArpOp', 'ARP_PACKET_LEN', 'ArpPacket', 'parseArp', 'emitArp', 'buildArp',
    'IpProtocol', 'IPV4_HEADER_LEN', 'Ipv4Packet', 'emitIpv4', 'ipv4HeaderLen',
    'ipv4DecrementTtl', 'ipv4SetSrc', 'ipv4SetDst', 'l4SetSrcPort', 'l4SetDstPort', 'icmpSetEchoIdent',
    'IcmpType', 'IcmpUnreachCode', 'IcmpTimeExceededCode', 'parseIcmpv4', 'emitIcmpv4', 'icmpv4ReprLen', 'Icmpv4Packet', 'icmpErrorQuote',
    'UDP_HEADER_LEN', 'UdpDatagram', 'parseUdp', 'emitUdp',
    'TcpFlags', 'TcpSegment', 'parseTcp', 'emitTcp', 'tcpHeaderLen', 'formatTcpFlags',
    'VXLAN_HEADER_LEN', 'VxlanHeader', 'parseVxlan', 'emitVxlan', 'VXLAN_PORT_IANA', 'VXLAN_PORT_LINUX_DEFAULT',
    'buildIpv4Udp', 'buildIpv4Tcp', 'buildIpv4Icmp', 'buildIpv4',
    'formatIpv4Packet', 'formatEthernetFrame',
  ];
  const mod = wire as Record<string, unknown>;
  for (const n of names) assert.notEqual(mod[n], undefined, n);
});
