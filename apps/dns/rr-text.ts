/**
 * Resource records as master-file text (RFC 1035 §5.1), the way dig and CoreDNS's
 * tests write them: `owner. TTL IN TYPE RDATA`, names absolute (trailing dot).
 */
import type { Answer } from 'dns-packet';

const abs = (n: string): string => (n === '' || n === '.' ? '.' : n.endsWith('.') ? n : `${n}.`);

/** The RDATA of a record as text. */
export function rdataText(rr: Answer): string {
  const d = (rr as { data?: unknown }).data;
  switch (rr.type) {
    case 'A':
    case 'AAAA':
      return String(d);
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return abs(String(d));
    case 'SRV': {
      const s = d as { priority?: number; weight?: number; port: number; target: string };
      return `${s.priority ?? 0} ${s.weight ?? 0} ${s.port} ${abs(s.target)}`;
    }
    case 'SOA': {
      const s = d as { mname: string; rname: string; serial?: number; refresh?: number; retry?: number; expire?: number; minimum?: number };
      return `${abs(s.mname)} ${abs(s.rname)} ${s.serial ?? 0} ${s.refresh ?? 0} ${s.retry ?? 0} ${s.expire ?? 0} ${s.minimum ?? 0}`;
    }
    case 'TXT': {
      const parts = Array.isArray(d) ? d : [d];
      return parts.map((p) => `"${(typeof p === 'string' ? p : new TextDecoder().decode(p as Uint8Array)).replace(/["\\]/g, '\\$&')}"`).join(' ');
    }
    default:
      return JSON.stringify(d);
  }
}

/** One record as `owner.\tTTL\tIN\tTYPE\tRDATA`. */
export function rrText(rr: Answer): string {
  return `${abs(rr.name)}\t${(rr as { ttl?: number }).ttl ?? 0}\tIN\t${rr.type}\t${rdataText(rr)}`;
}
