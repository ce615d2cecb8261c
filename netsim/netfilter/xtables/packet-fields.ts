/**
 * The header fields rules test, read once per evaluation from the IPv4 header at
 * pkt.off into one reused object (no allocation per packet).
 */
import type { Packet } from '../../packet/packet.ts';
import { readU16, readU32 } from '../../wire/field.ts';

export class PacketFields {
  src = 0;
  dst = 0;
  proto = 0;
  ttl = 0;
  len = 0;
  /** Whether the transport header is present (first fragment, long enough). */
  hasL4 = false;
  sport = 0;
  dport = 0;
  tcpFlags = 0;
  icmpType = 0;
  icmpCode = 0;

  load(pkt: Packet): void {
    const b = pkt.buf;
    const o = pkt.off;
    const ihl = ((b[o] as number) & 0x0f) << 2;
    this.src = readU32(b, o + 12);
    this.dst = readU32(b, o + 16);
    this.proto = b[o + 9] as number;
    this.ttl = b[o + 8] as number;
    this.len = pkt.len;
    const fragOff = readU16(b, o + 6) & 0x1fff;
    const l4 = o + ihl;
    const l4len = pkt.len - ihl;
    this.sport = 0;
    this.dport = 0;
    this.tcpFlags = 0;
    this.icmpType = 0;
    this.icmpCode = 0;
    this.hasL4 = false;
    if (fragOff !== 0) return;
    const p = this.proto;
    if (p === 6 || p === 17 || p === 132 || p === 33 || p === 136) {
      if (l4len < (p === 6 ? 14 : 4)) return;
      this.sport = readU16(b, l4);
      this.dport = readU16(b, l4 + 2);
      if (p === 6) this.tcpFlags = (b[l4 + 13] as number) & 0x3f;
      this.hasL4 = true;
    } else if (p === 1) {
      if (l4len < 2) return;
      this.icmpType = b[l4] as number;
      this.icmpCode = b[l4 + 1] as number;
      this.hasL4 = true;
    }
  }
}
