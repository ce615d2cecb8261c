/**
 * Address parsing as kube-proxy does it for an IPv4 proxier (k8s.io/utils/net
 * ParseIPSloppy / ParseCIDRSloppy, proxyutil.MapIPsByIPFamily): legacy objects may
 * hold IPv4 strings with leading zeros ("172.30.0.041"), which the sloppy parser
 * reads as decimal and kube-proxy writes back in canonical form ("172.30.0.41");
 * addresses of the other family (IPv6) are ignored by this proxier, never an error.
 */

/** Canonical dotted-quad of an IPv4 string (leading zeros read as decimal), or undefined for IPv6 and garbage. */
export function canonicalIPv4(s: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (m === null) return undefined;
  const parts = m.slice(1).map(Number);
  return parts.every((n) => n <= 255) ? parts.join('.') : undefined;
}

/** Canonical "a.b.c.d/n" (address masked, as net.IPNet.String() prints it) of an IPv4 CIDR, or undefined. */
export function canonicalIPv4CIDR(s: string): string | undefined {
  const t = s.trim();
  const slash = t.indexOf('/');
  if (slash < 0) return undefined;
  const ip = canonicalIPv4(t.slice(0, slash));
  const lenText = t.slice(slash + 1);
  if (ip === undefined || !/^\d{1,3}$/.test(lenText) || Number(lenText) > 32) return undefined;
  const n = Number(lenText);
  const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  const v = (ip.split('.').reduce((a, o) => (a << 8) | Number(o), 0) & mask) >>> 0;
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/${n}`;
}

/** The IPv4 members of a list in canonical form, others (IPv6, unparseable) dropped. */
export function ipv4Only(list: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const s of list ?? []) {
    const ip = canonicalIPv4(s);
    if (ip !== undefined) out.push(ip);
  }
  return out;
}
