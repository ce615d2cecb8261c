/**
 * Hand-built packets for the capture tests (real headers and checksums, so tshark
 * decodes them without complaint), and small byte helpers. Test support only.
 */

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
export const utf8hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

function ip4(a: string): number[] {
  return a.split('.').map(Number);
}

/** RFC 1071 Internet checksum. */
export function checksum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export function ipv4(src: string, dst: string, proto: number, payload: Uint8Array, ttl = 64, id = 1): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  p.set([0x45, 0, (p.length >> 8) & 255, p.length & 255, id >> 8, id & 255, 0x40, 0, ttl, proto, 0, 0, ...ip4(src), ...ip4(dst)]);
  const c = checksum(p.subarray(0, 20));
  p[10] = c >> 8;
  p[11] = c & 255;
  p.set(payload, 20);
  return p;
}

export function icmpEcho(id: number, seq: number, data: Uint8Array = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)): Uint8Array {
  const p = new Uint8Array(8 + data.length);
  p.set([8, 0, 0, 0, id >> 8, id & 255, seq >> 8, seq & 255]);
  p.set(data, 8);
  const c = checksum(p);
  p[2] = c >> 8;
  p[3] = c & 255;
  return p;
}

/** UDP with checksum 0 (allowed over IPv4). */
export function udp(sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(8 + payload.length);
  p.set([sport >> 8, sport & 255, dport >> 8, dport & 255, p.length >> 8, p.length & 255, 0, 0]);
  p.set(payload, 8);
  return p;
}

export function ethernet(dst: string, src: string, type: number, payload: Uint8Array): Uint8Array {
  const mac = (m: string): number[] => m.split(':').map((x) => parseInt(x, 16));
  const p = new Uint8Array(14 + payload.length);
  p.set([...mac(dst), ...mac(src), type >> 8, type & 255]);
  p.set(payload, 14);
  return p;
}

export function arpRequest(senderMac: string, senderIp: string, targetIp: string): Uint8Array {
  const mac = senderMac.split(':').map((x) => parseInt(x, 16));
  const body = Uint8Array.from([0, 1, 8, 0, 6, 4, 0, 1, ...mac, ...ip4(senderIp), 0, 0, 0, 0, 0, 0, ...ip4(targetIp)]);
  return ethernet('ff:ff:ff:ff:ff:ff', senderMac, 0x0806, body);
}
