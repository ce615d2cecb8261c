import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpv4 as ip, parseMac } from './addr.ts';
import { ArpOp, buildArp } from './arp.ts';
import { buildIpv4, buildIpv4Icmp, buildIpv4Tcp, buildIpv4Udp } from './build.ts';
import { buildEthernetFrame, EtherType } from './ethernet.ts';
import { icmpErrorQuote, IcmpUnreachCode } from './icmpv4.ts';
import { formatEthernetFrame, formatIpv4Packet } from './pretty.ts';
import { TcpFlags } from './tcp.ts';
import { ARP_REQUEST_FRAME, DNS_PACKET, hex, PING_PACKET, SYN_PACKET } from './test-support.ts';

const A = ip('10.244.1.2');
const SVC = ip('10.96.0.10');

test('pretty: TCP', () => {
  const syn = buildIpv4Tcp({ src: A, dst: SVC }, { srcPort: 40000, dstPort: 80, seq: 1000, ack: 0, flags: TcpFlags.SYN, window: 65535 }, new Uint8Array(0));
  assert.equal(formatIpv4Packet(syn), '10.244.1.2.40000 > 10.96.0.10.80: Flags [S], seq 1000, win 65535, length 0, ttl 64');
  assert.equal(
    formatIpv4Packet(SYN_PACKET),
    '10.244.1.2.40000 > 10.96.0.10.80: Flags [S], seq 1000, win 64240, options [mss 1460,sackOK,TS val 1234567 ecr 0,nop,wscale 7], length 0, ttl 64',
  );
  const data = buildIpv4Tcp({ src: SVC, dst: A, ttl: 63 }, { srcPort: 80, dstPort: 40000, seq: 5000, ack: 1001, flags: TcpFlags.PSH | TcpFlags.ACK, window: 502 }, hex('48 54 54 50'));
  assert.equal(formatIpv4Packet(data), '10.96.0.10.80 > 10.244.1.2.40000: Flags [P.], seq 5000:5004, ack 1001, win 502, length 4, ttl 63');
});

test('pretty: ICMP', () => {
  assert.equal(formatIpv4Packet(PING_PACKET), '10.244.1.2 > 10.244.1.3: ICMP echo request, id 1, seq 1, length 64, ttl 64');
  const reply = buildIpv4Icmp({ src: ip('10.244.1.3'), dst: A }, { type: 'echo-reply', ident: 1, seq: 1, data: new Uint8Array(56) });
  assert.equal(formatIpv4Packet(reply), '10.244.1.3 > 10.244.1.2: ICMP echo reply, id 1, seq 1, length 64, ttl 64');
  const quote = icmpErrorQuote(DNS_PACKET);
  const port = buildIpv4Icmp({ src: SVC, dst: A }, { type: 'dest-unreachable', code: IcmpUnreachCode.PORT, original: quote });
  assert.equal(formatIpv4Packet(port), '10.96.0.10 > 10.244.1.2: ICMP 10.96.0.10 udp port 53 unreachable, length 36, ttl 64');
  const net = buildIpv4Icmp({ src: ip('10.244.1.1'), dst: A }, { type: 'dest-unreachable', code: IcmpUnreachCode.NET, original: quote });
  assert.equal(formatIpv4Packet(net), '10.244.1.1 > 10.244.1.2: ICMP net 10.96.0.10 unreachable, length 36, ttl 64');
  const mtu = buildIpv4Icmp({ src: ip('10.244.1.1'), dst: A }, { type: 'dest-unreachable', code: IcmpUnreachCode.FRAG_NEEDED, nextHopMtu: 1450, original: quote });
  assert.equal(formatIpv4Packet(mtu), '10.244.1.1 > 10.244.1.2: ICMP 10.96.0.10 unreachable - need to frag (mtu 1450), length 36, ttl 64');
  const ttl = buildIpv4Icmp({ src: ip('10.244.1.1'), dst: A }, { type: 'time-exceeded', code: 0, original: quote });
  assert.equal(formatIpv4Packet(ttl), '10.244.1.1 > 10.244.1.2: ICMP time exceeded in-transit, length 36, ttl 64');
});

test('pretty: UDP, unknown protocols, fragments', () => {
  assert.equal(formatIpv4Packet(DNS_PACKET), '10.244.1.2.53000 > 10.96.0.10.53: UDP, length 12, ttl 64');
  const udp = buildIpv4Udp({ src: A, dst: SVC, ttl: 1 }, { srcPort: 1, dstPort: 2 }, new Uint8Array(0));
  assert.equal(formatIpv4Packet(udp), '10.244.1.2.1 > 10.96.0.10.2: UDP, length 0, ttl 1');
  assert.equal(formatIpv4Packet(buildIpv4({ src: A, dst: SVC, protocol: 47 }, new Uint8Array(4))), '10.244.1.2 > 10.96.0.10: proto-47, length 4, ttl 64');
  const frag = buildIpv4({ src: A, dst: SVC, protocol: 17, ident: 77, dontFrag: false, moreFrags: true, fragOffset: 1480 }, new Uint8Array(16));
  assert.equal(formatIpv4Packet(frag), '10.244.1.2 > 10.96.0.10: udp (frag 77:16@1480+), ttl 64');
});

test('pretty: malformed input never throws', () => {
  assert.equal(formatIpv4Packet(new Uint8Array(3)), '[malformed ipv4: packet of 3 bytes is shorter than the 20-byte header]');
  const cut = PING_PACKET.slice(0, 60);
  assert.equal(formatIpv4Packet(cut), '[malformed ipv4: total length 84 exceeds buffer (60 bytes)]');
  const badTcp = buildIpv4({ src: A, dst: SVC, protocol: 6 }, new Uint8Array(10));
  assert.equal(formatIpv4Packet(badTcp), '10.244.1.2 > 10.96.0.10: [malformed tcp: segment of 10 bytes is shorter than the 20-byte header], ttl 64');
  assert.equal(formatEthernetFrame(new Uint8Array(5)), '[malformed ethernet: frame of 5 bytes is shorter than the 14-byte header]');
  assert.match(formatEthernetFrame(ARP_REQUEST_FRAME.subarray(0, 30)), /^\[malformed arp: /);
});

test('pretty: Ethernet frames, ARP', () => {
  assert.equal(formatEthernetFrame(ARP_REQUEST_FRAME), 'ARP, Request who-has 10.244.1.3 tell 10.244.1.2');
  const reply = buildEthernetFrame(
    { dst: parseMac('02:42:0a:f4:01:02'), src: parseMac('02:42:0a:f4:01:03'), etherType: EtherType.ARP },
    buildArp({ op: ArpOp.REPLY, senderMac: parseMac('02:42:0a:f4:01:03'), senderIp: ip('10.244.1.3'), targetMac: parseMac('02:42:0a:f4:01:02'), targetIp: A }),
  );
  assert.equal(formatEthernetFrame(reply), 'ARP, Reply 10.244.1.3 is-at 02:42:0a:f4:01:03');
  const ipFrame = buildEthernetFrame({ dst: 2, src: 1, etherType: EtherType.IPV4 }, PING_PACKET);
  assert.equal(formatEthernetFrame(ipFrame), '10.244.1.2 > 10.244.1.3: ICMP echo request, id 1, seq 1, length 64, ttl 64');
  assert.equal(
    formatEthernetFrame(ipFrame, { link: true }),
    '00:00:00:00:00:01 > 00:00:00:00:00:02, ethertype IPv4 (0x0800), length 98: 10.244.1.2 > 10.244.1.3: ICMP echo request, id 1, seq 1, length 64, ttl 64',
  );
  assert.equal(formatEthernetFrame(buildEthernetFrame({ dst: 2, src: 1, etherType: EtherType.IPV6 }, new Uint8Array(40))), 'ethertype IPv6 (0x86dd), length 54');
  assert.equal(formatEthernetFrame(buildEthernetFrame({ dst: 2, src: 1, etherType: 0x88cc }, new Uint8Array(4))), 'ethertype Unknown (0x88cc), length 18');
});
