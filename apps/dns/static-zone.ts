/**
 * A static authoritative zone (what an outside resolver in an experiment knows, in
 * the manner of CoreDNS's `hosts` or `file` plugin): A records by name, NXDOMAIN
 * with the zone's SOA for any other name in it, NODATA for other types of a known
 * name. Names outside the zone go to the next plugin.
 */
import type { Answer } from 'dns-packet';
import type { RecordSource, RecordsResult } from './kubernetes-records.ts';

const fqdn = (n: string): string => (n.endsWith('.') ? n : `${n}.`).toLowerCase();

export class StaticZone implements RecordSource {
  private readonly names = new Map<string, string[]>();
  readonly origin: string;

  /** `origin` '.' makes the zone answer every name. */
  constructor(origin: string, records: Readonly<Record<string, string | readonly string[]>>, readonly ttl = 300) {
    this.origin = origin === '.' || origin === '' ? '.' : fqdn(origin);
    for (const [name, ips] of Object.entries(records)) this.names.set(fqdn(name), typeof ips === 'string' ? [ips] : [...ips]);
  }

  private soa(): Answer {
    const o = this.origin === '.' ? '' : this.origin;
    return { name: this.origin, type: 'SOA', class: 'IN', ttl: this.ttl, data: { mname: `ns.${o}`, rname: `hostmaster.${o}`, serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 } } as Answer;
  }

  serve(qname: string, qtype: string): RecordsResult {
    const name = fqdn(qname);
    if (this.origin !== '.' && name !== this.origin && !name.endsWith(`.${this.origin}`)) return { kind: 'next' };
    const ips = this.names.get(name);
    if (ips === undefined) return { kind: 'answer', rcode: 3, answers: [], authorities: [this.soa()], additionals: [] };
    if (qtype !== 'A') return { kind: 'answer', rcode: 0, answers: [], authorities: [this.soa()], additionals: [] };
    const owner = qname.endsWith('.') ? qname : `${qname}.`;
    return { kind: 'answer', rcode: 0, answers: ips.map((ip) => ({ name: owner, type: 'A', class: 'IN', ttl: this.ttl, data: ip }) as Answer), authorities: [], additionals: [] };
  }
}
