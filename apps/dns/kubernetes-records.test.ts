// The record engine against CoreDNS's own expectations: the objects and cases of
// plugin/kubernetes handler_test.go, handler_pod_insecure_test.go and reverse_test.go
// translated into data (IPv4 only: the emulator has no IPv6, so the upstream cases
// with IPv6 endpoints keep their IPv4 part; where that changes a number — the SRV
// weight is 100 / number of records before dedup — the comment says so).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointSlice, Namespace, Service } from '../../control/api/index.ts';
import { KubernetesRecords } from './kubernetes-records.ts';
import type { RecordsResult } from './kubernetes-records.ts';
import { rrText } from './rr-text.ts';

const svc = (namespace: string, name: string, spec: Service['spec']): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec });
const slice = (namespace: string, service: string, endpoints: EndpointSlice['endpoints'], ports: EndpointSlice['ports']): EndpointSlice => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `${service}-slice1`, namespace, labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4', endpoints, ...(ports !== undefined ? { ports } : {}),
});
const ep = (ip: string, hostname?: string, ready = true): EndpointSlice['endpoints'][number] => ({ addresses: [ip], conditions: { ready }, ...(hostname !== undefined ? { hostname } : {}) });
const http = [{ name: 'http', protocol: 'TCP' as const, port: 80 }];

const SERIAL = 1499347823;

function fixture(): KubernetesRecords {
  const k = new KubernetesRecords({ zone: 'cluster.local', now: () => SERIAL });
  for (const ns of ['testns', 'kube-system', 'podns', 'default']) k.setNamespace({ metadata: { name: ns } } as Namespace);
  k.setService(svc('kube-system', 'kubedns', { clusterIP: '10.0.0.10', ports: [{ name: 'dns', protocol: 'UDP', port: 53 }] }));
  k.setService(svc('testns', 'svc1', { clusterIP: '10.0.0.1', ports: http }));
  k.setService(svc('testns', 'svcempty', { clusterIP: '10.0.0.1', ports: http }));
  k.setService(svc('testns', 'hdls1', { clusterIP: 'None', ports: http }));
  k.setService(svc('testns', 'external', { type: 'ExternalName', externalName: 'ext.interwebs.test', ports: http }));
  k.setService(svc('testns', 'external-to-service', { type: 'ExternalName', externalName: 'svc1.testns.svc.cluster.local.', ports: http }));
  k.setService(svc('testns', 'hdlsprtls', { clusterIP: 'None' }));
  k.setService(svc('unexposedns', 'svc1', { clusterIP: '10.0.0.2', ports: http }));
  k.setEndpointSlice(slice('kube-system', 'kubedns', [ep('172.0.0.100')], [{ name: 'dns', protocol: 'UDP', port: 53 }]));
  k.setEndpointSlice(slice('testns', 'svc1', [ep('172.0.0.1', 'ep1a')], http));
  k.setEndpointSlice(slice('testns', 'svcempty', [], http));
  // A not-ready endpoint is left out (EndpointSliceToEndpoints keeps ready == nil or true).
  k.setEndpointSlice(slice('testns', 'hdls1', [ep('172.0.0.2'), ep('172.0.0.3'), ep('172.0.0.4', 'dup-name'), ep('172.0.0.5', 'dup-name'), ep('172.0.0.9', undefined, false)], http));
  k.setEndpointSlice(slice('testns', 'hdlsprtls', [ep('172.0.0.20')], undefined));
  k.synced = true;
  return k;
}

const SOA = `cluster.local.\t5\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local. ${SERIAL} 7200 1800 86400 5`;

interface Case { q: string; t: string; rcode: number; answer?: string[]; ns?: string[]; extra?: string[]; self?: string[] }

const cases: Case[] = [
  // A Service
  { q: 'svc1.testns.svc.cluster.local.', t: 'A', rcode: 0, answer: ['svc1.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.1'] },
  // A Service without endpoints still answers its ClusterIP (no `ignore empty_service`)
  { q: 'svcempty.testns.svc.cluster.local.', t: 'A', rcode: 0, answer: ['svcempty.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.1'] },
  { q: 'svc1.testns.svc.cluster.local.', t: 'SRV', rcode: 0, answer: ['svc1.testns.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 svc1.testns.svc.cluster.local.'], extra: ['svc1.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.1'] },
  { q: 'svcempty.testns.svc.cluster.local.', t: 'SRV', rcode: 0, answer: ['svcempty.testns.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 svcempty.testns.svc.cluster.local.'], extra: ['svcempty.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.1'] },
  // SRV Service by named port
  { q: '_http._tcp.svc1.testns.svc.cluster.local.', t: 'SRV', rcode: 0, answer: ['_http._tcp.svc1.testns.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 svc1.testns.svc.cluster.local.'], extra: ['svc1.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.1'] },
  { q: '_http._tcp.svcempty.testns.svc.cluster.local.', t: 'SRV', rcode: 0, answer: ['_http._tcp.svcempty.testns.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 svcempty.testns.svc.cluster.local.'], extra: ['svcempty.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.1'] },
  // A Service (Headless): every ready endpoint
  { q: 'hdls1.testns.svc.cluster.local.', t: 'A', rcode: 0, answer: ['172.0.0.2', '172.0.0.3', '172.0.0.4', '172.0.0.5'].map((ip) => `hdls1.testns.svc.cluster.local.\t5\tIN\tA\t${ip}`) },
  // A Service (Headless and Portless)
  { q: 'hdlsprtls.testns.svc.cluster.local.', t: 'A', rcode: 0, answer: ['hdlsprtls.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.20'] },
  // An Endpoint with no port; an endpoint by dashed IP; by hostname (two addresses)
  { q: '172-0-0-20.hdlsprtls.testns.svc.cluster.local.', t: 'A', rcode: 0, answer: ['172-0-0-20.hdlsprtls.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.20'] },
  { q: '172-0-0-2.hdls1.testns.svc.cluster.local.', t: 'A', rcode: 0, answer: ['172-0-0-2.hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.2'] },
  { q: '172-0-0-3.hdls1.testns.svc.cluster.local.', t: 'A', rcode: 0, answer: ['172-0-0-3.hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.3'] },
  { q: 'dup-name.hdls1.testns.svc.cluster.local.', t: 'A', rcode: 0, answer: ['dup-name.hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.4', 'dup-name.hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.5'] },
  // An endpoint of a ClusterIP Service resolves by its hostname too
  { q: 'ep1a.svc1.testns.svc.cluster.local.', t: 'A', rcode: 0, answer: ['ep1a.svc1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.1'] },
  // SRV Service (Headless): upstream has 6 endpoints (2 IPv6) and weight 100/6 = 16; here 4, so 25.
  {
    q: '_http._tcp.hdls1.testns.svc.cluster.local.', t: 'SRV', rcode: 0,
    answer: ['172-0-0-2', '172-0-0-3', 'dup-name'].map((h) => `_http._tcp.hdls1.testns.svc.cluster.local.\t5\tIN\tSRV\t0 25 80 ${h}.hdls1.testns.svc.cluster.local.`),
    extra: ['172-0-0-2.hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.2', '172-0-0-3.hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.3', 'dup-name.hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.4', 'dup-name.hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.5'],
  },
  // CNAME External
  { q: 'external.testns.svc.cluster.local.', t: 'CNAME', rcode: 0, answer: ['external.testns.svc.cluster.local.\t5\tIN\tCNAME\text.interwebs.test.'] },
  // CNAME External To Internal Service: the target is looked up in the zone
  { q: 'external-to-service.testns.svc.cluster.local', t: 'A', rcode: 0, answer: ['external-to-service.testns.svc.cluster.local.\t5\tIN\tCNAME\tsvc1.testns.svc.cluster.local.', 'svc1.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.1'] },
  // AAAA Service (with an existing A record, but no AAAA record): NODATA
  { q: 'svc1.testns.svc.cluster.local.', t: 'AAAA', rcode: 0, ns: [SOA] },
  // AAAA / A Service (non-existing service), non-existing namespace: NXDOMAIN
  { q: 'svc0.testns.svc.cluster.local.', t: 'AAAA', rcode: 3, ns: [SOA] },
  { q: 'svc0.testns.svc.cluster.local.', t: 'A', rcode: 3, ns: [SOA] },
  { q: 'svc0.svc-nons.svc.cluster.local.', t: 'A', rcode: 3, ns: [SOA] },
  // TXT Schema
  { q: 'dns-version.cluster.local.', t: 'TXT', rcode: 0, answer: ['dns-version.cluster.local.\t28800\tIN\tTXT\t"1.1.0"'] },
  // A Service (Headless) endpoint does not exist; a Service does not exist
  { q: 'bogusendpoint.hdls1.testns.svc.cluster.local.', t: 'A', rcode: 3, ns: [SOA] },
  { q: 'bogusendpoint.svc0.testns.svc.cluster.local.', t: 'A', rcode: 3, ns: [SOA] },
  // Names that exist without records: NODATA
  { q: 'svc.cluster.local.', t: 'A', rcode: 0, ns: [SOA] },
  { q: 'pod.cluster.local.', t: 'A', rcode: 0, ns: [SOA] },
  { q: 'testns.svc.cluster.local.', t: 'A', rcode: 0, ns: [SOA] },
  // NS query for qname != zone: existing NODATA, non-existing NXDOMAIN
  { q: 'svc.cluster.local.', t: 'NS', rcode: 0, ns: [SOA] },
  { q: 'testns.svc.cluster.local.', t: 'NS', rcode: 0, ns: [SOA] },
  { q: 'foo.cluster.local.', t: 'NS', rcode: 3, ns: [SOA] },
  { q: 'foo.svc.cluster.local.', t: 'NS', rcode: 3, ns: [SOA] },
  // SOA below the apex: NODATA
  { q: 'svc1.testns.svc.cluster.local.', t: 'SOA', rcode: 0, ns: [SOA] },
  // A subdomain of an external service does not resolve to it
  { q: 'endpoint.external.testns.svc.cluster.local.', t: 'CNAME', rcode: 3, ns: [SOA] },
  // The apex: SOA, NS with the DNS Service's ClusterIP as glue (nsAddrs), ns.dns A
  { q: 'cluster.local.', t: 'SOA', rcode: 0, answer: [SOA] },
  { q: 'cluster.local.', t: 'NS', rcode: 0, self: ['172.0.0.100'], answer: ['cluster.local.\t5\tIN\tNS\tns.dns.cluster.local.'], extra: ['ns.dns.cluster.local.\t5\tIN\tA\t10.0.0.10'] },
  { q: 'ns.dns.cluster.local.', t: 'A', rcode: 0, self: ['172.0.0.100'], answer: ['ns.dns.cluster.local.\t5\tIN\tA\t10.0.0.10'] },
  // Case is kept in the owner name, ignored in matching
  { q: 'SVC1.TestNS.svc.cluster.local.', t: 'A', rcode: 0, answer: ['SVC1.TestNS.svc.cluster.local.\t5\tIN\tA\t10.0.0.1'] },
  // Pods insecure (handler_pod_insecure_test.go)
  { q: '10-240-0-1.podns.pod.cluster.local.', t: 'A', rcode: 0, answer: ['10-240-0-1.podns.pod.cluster.local.\t5\tIN\tA\t10.240.0.1'] },
  { q: '172-0-0-2.podns.pod.cluster.local.', t: 'A', rcode: 0, answer: ['172-0-0-2.podns.pod.cluster.local.\t5\tIN\tA\t172.0.0.2'] },
  { q: 'blah.podns.pod.cluster.local.', t: 'A', rcode: 3, ns: [SOA] },
  { q: 'blah.podns.pod.cluster.local.', t: 'AAAA', rcode: 3, ns: [SOA] },
  { q: 'blah.podns.pod.cluster.local.', t: 'HINFO', rcode: 3, ns: [SOA] },
  { q: 'blah.pod-nons.pod.cluster.local.', t: 'A', rcode: 3, ns: [SOA] },
  // An empty pod name in an existing namespace: NODATA (findPods)
  { q: 'podns.pod.cluster.local.', t: 'A', rcode: 0, ns: [SOA] },
  // Reverse (reverse_test.go): an endpoint address by its hostname, a ClusterIP by its Service
  { q: '1.0.0.172.in-addr.arpa.', t: 'PTR', rcode: 0, answer: ['1.0.0.172.in-addr.arpa.\t5\tIN\tPTR\tep1a.svc1.testns.svc.cluster.local.'] },
  { q: '10.0.0.10.in-addr.arpa.', t: 'PTR', rcode: 0, answer: ['10.0.0.10.in-addr.arpa.\t5\tIN\tPTR\tkubedns.kube-system.svc.cluster.local.'] },
  // an endpoint without hostname: the dashed address under its Service
  { q: '20.0.0.172.in-addr.arpa.', t: 'PTR', rcode: 0, answer: ['20.0.0.172.in-addr.arpa.\t5\tIN\tPTR\t172-0-0-20.hdlsprtls.testns.svc.cluster.local.'] },
];

function text(r: RecordsResult): { rcode: number; answer: string[]; ns: string[]; extra: string[] } {
  assert.equal(r.kind, 'answer');
  if (r.kind !== 'answer') throw new Error('unreachable');
  const sort = (l: string[]): string[] => [...l].sort();
  return { rcode: r.rcode, answer: sort(r.answers.map(rrText)), ns: sort(r.authorities.map(rrText)), extra: sort(r.additionals.map(rrText)) };
}

test('kubernetes records: CoreDNS handler test cases', () => {
  const k = fixture();
  for (const c of cases) {
    const got = text(k.serve(c.q, c.t, c.self ?? []));
    assert.deepEqual(got, { rcode: c.rcode, answer: [...(c.answer ?? [])].sort(), ns: [...(c.ns ?? [])].sort(), extra: [...(c.extra ?? [])].sort() }, `${c.q} ${c.t}`);
  }
});

test('kubernetes records: ExternalName A asks the server to chase the target outside the zone', () => {
  const r = fixture().serve('external.testns.svc.cluster.local.', 'A');
  assert.equal(r.kind, 'answer');
  if (r.kind !== 'answer') return;
  assert.deepEqual(r.answers.map(rrText), ['external.testns.svc.cluster.local.\t5\tIN\tCNAME\text.interwebs.test.']);
  assert.deepEqual(r.chase, { name: 'ext.interwebs.test.', type: 'A' });
});

test('kubernetes records: reverse misses and names outside the zones go to the next plugin', () => {
  const k = fixture();
  assert.equal(k.serve('101.0.0.10.in-addr.arpa.', 'PTR').kind, 'next');
  assert.equal(k.serve('1.1.1.1.in-addr.arpa.', 'A').kind, 'next');
  assert.equal(k.serve('example.com.', 'A').kind, 'next');
  assert.equal(k.serve('cluster.local.example.com.', 'A').kind, 'next');
});

test('kubernetes records: before the informers synced a miss is SERVFAIL, not NXDOMAIN', () => {
  const k = fixture();
  k.synced = false;
  assert.equal(text(k.serve('svc0.testns.svc.cluster.local.', 'A')).rcode, 2);
});

test('kubernetes records: deletes and updates take effect; the SOA serial is the time of the last change', () => {
  let now = 100;
  const k = new KubernetesRecords({ zone: 'cluster.local', now: () => now });
  k.setNamespace({ metadata: { name: 'default' } } as Namespace);
  k.synced = true;
  const s = svc('default', 'web', { clusterIP: '10.96.0.20', ports: http });
  k.setService(s);
  assert.deepEqual(text(k.serve('web.default.svc.cluster.local', 'A')).answer, ['web.default.svc.cluster.local.\t5\tIN\tA\t10.96.0.20']);
  now = 250;
  k.deleteService(s);
  const r = text(k.serve('web.default.svc.cluster.local', 'A'));
  assert.equal(r.rcode, 3);
  assert.match(r.ns[0] ?? '', / 250 7200 1800 86400 5$/);
});
