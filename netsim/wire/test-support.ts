/**
 * Helpers for this folder's tests (not exported from index.ts): hex fixtures
 * and the hand-written captures the protocol tests share.
 */

/** Bytes from hex text; whitespace, newlines and `#` comments are ignored. */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) throw new Error(`bad hex fixture: ${s}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Lower-case hex with single spaces, for readable assertion failures. */
export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * The classic worked example of the IPv4 header checksum (UDP, 192.168.0.1 →
 * 192.168.0.199, total length 115): its published checksum is 0xb861.
 */
export const CLASSIC_IPV4_HEADER = hex('45 00 00 73 00 00 40 00 40 11 b8 61 c0 a8 00 01 c0 a8 00 c7');

/**
 * `ping -c1 10.244.1.3` from 10.244.1.2 (iputils on Linux): 84-byte IPv4
 * packet, DF, TTL 64, ICMP echo request id 1 seq 1 with 56 data bytes
 * (16-byte timeval then 0x10..0x37). Checksums computed independently (Python).
 */
export const PING_IP_HEADER = hex('45 00 00 54 3b 7e 40 00 40 01 e7 3e 0a f4 01 02 0a f4 01 03');
export const PING_ICMP = hex(`
  08 00 f7 2d 00 01 00 01  # type 8 code 0 cksum id 1 seq 1
  a1 b2 c3 66 00 00 00 00 d7 e3 05 00 00 00 00 00  # struct timeval
  10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23 24 25 26 27
  28 29 2a 2b 2c 2d 2e 2f 30 31 32 33 34 35 36 37`);
export const PING_PACKET = concat(PING_IP_HEADER, PING_ICMP);

/**
 * A Linux SYN 10.244.1.2:40000 → 10.96.0.10:80, seq 1000, win 64240, with
 * options mss 1460, sackOK, TS val 1234567 ecr 0, nop, wscale 7 (data offset 10).
 */
export const SYN_IP_HEADER = hex('45 00 00 3c 5c 2a 40 00 40 06 c8 32 0a f4 01 02 0a 60 00 0a');
export const SYN_TCP = hex(`
  9c 40 00 50  00 00 03 e8  00 00 00 00  a0 02 fa f0  bf 9d 00 00
  02 04 05 b4  04 02 08 0a  00 12 d6 87  00 00 00 00  01 03 03 07`);
export const SYN_PACKET = concat(SYN_IP_HEADER, SYN_TCP);

/** A DNS-shaped UDP datagram 10.244.1.2:53000 → 10.96.0.10:53, 12-byte payload, no DF. */
export const DNS_IP_HEADER = hex('45 00 00 28 12 34 00 00 40 11 52 32 0a f4 01 02 0a 60 00 0a');
export const DNS_UDP = hex('cf 08 00 35 00 14 fe fc  1a 2b 01 00 00 01 00 00 00 00 00 00');
export const DNS_PACKET = concat(DNS_IP_HEADER, DNS_UDP);

/** IGMP-shaped header with a Router Alert option (IHL 6), TOS 0xc0, TTL 1, no payload. */
export const IP_WITH_OPTIONS = hex('46 c0 00 18 00 00 40 00 01 02 fa 08 0a 00 00 01 e0 00 00 16 94 04 00 00');

/** Broadcast ARP request "who-has 10.244.1.3 tell 10.244.1.2" as a 42-byte frame (unpadded, as a tap sees it). */
export const ARP_REQUEST_FRAME = hex(`
  ff ff ff ff ff ff  02 42 0a f4 01 02  08 06
  00 01 08 00 06 04 00 01  02 42 0a f4 01 02  0a f4 01 02  00 00 00 00 00 00  0a f4 01 03`);
