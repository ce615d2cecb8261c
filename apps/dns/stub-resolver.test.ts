// The glibc-like stub resolver against the CoreDNS-like server on emulated sockets:
// the search-path walk with ndots, parallel A+AAAA from one socket, single-request(-reopen),
// use-vc, TC → TCP, timeouts and attempts, /etc/hosts, and getaddrinfo's errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { Segment } from '../../netsim/link/segment.ts';
import { attachNic } from '../../netsim/topology.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import type { Namespace, Service, EndpointSlice } from '../../control/api/index.ts';
import { KubernetesRecords } from './kubernetes-records.ts';
import { CoreDnsServer } from './coredns.ts';
import { StaticZone } from './static-zone.ts';
import { parseIpv4 } from '../../netsim/wire/addr.ts';
import { lookup, searchCandidates } from './stub-resolver.ts';
import type { LookupResult } from './stub-resolver.ts';
import { parseResolvConf, podHostsFile, podResolvConf, renderResolvConf, resolvOptions } from './resolv-conf.ts';
import type { ResolvConf } from './resolv-conf.ts';

function world(endpoints = 3, upstream = false) {
  const sim = new Sim({ seed: 3 });
  const seg = new Segment(sim, 'wire', { latencyNs: 10_000, bandwidthBps: 0, loss: 0, queueLimit: 1000 });
  const client = new NetNamespace(sim, 'client');
  attachNic(client, seg, 'eth0', '10.0.0.1/24');
  const server = new NetNamespace(sim, 'coredns');
  attachNic(server, seg, 'eth0', '10.0.0.53/24');
  const records = new KubernetesRecords({ zone: 'cluster.local', now: () => 1 });
  for (const n of ['default', 'kube-system']) records.setNamespace({ metadata: { name: n } } as Namespace);
  records.setService({ metadata: { name: 'backend', namespace: 'default' }, spec: { clusterIP: '10.96.0.20', ports: [{ name: 'http', protocol: 'TCP', port: 80 }] } } as Service);
  records.setService({ metadata: { name: 'big', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ name: 'http', protocol: 'TCP', port: 80 }] } } as Service);
  records.setEndpointSlice({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'big-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'big' } }, addressType: 'IPv4', endpoints: Array.from({ length: endpoints }, (_, i) => ({ addresses: [`10.244.1.${i + 1}`], conditions: { ready: true } })), ports: [{ name: 'http', protocol: 'TCP', port: 80 }] } as EndpointSlice);
  records.synced = true;
  const dns = new CoreDnsServer(server, { records, upstreams: upstream ? [parseIpv4('10.0.0.99')] : [], cacheSeconds: 0 });
  if (upstream) {
    const outside = new NetNamespace(sim, 'resolver');
    attachNic(outside, seg, 'eth0', '10.0.0.99/24');
    new CoreDnsServer(outside, { records: new StaticZone('.', {}), upstreams: [], app: 'resolver' });
  }
  return { sim, client, server, dns };
}

const clusterFirst = (options: string[] = []): ResolvConf => podResolvConf({
  namespace: 'default', clusterDNS: ['10.0.0.53'], clusterDomain: 'cluster.local', node: { nameservers: [], search: [], options: [] },
  ...(options.length > 0 ? { dnsConfig: { options: options.map((o) => ({ name: o.split(':')[0] as string, ...(o.includes(':') ? { value: o.split(':')[1] as string } : {}) })) } } : {}),
});

function resolve(w: ReturnType<typeof world>, name: string, conf: ResolvConf, hosts = ''): LookupResult {
  let out: LookupResult | undefined;
  lookup(w.client, name, { resolvConf: conf, hosts }, (r) => { out = r; });
  w.sim.clock.runFor(30 * SECOND);
  assert.ok(out !== undefined, 'lookup finished');
  return out;
}

test('resolv.conf by dnsPolicy: ClusterFirst, Default, hostNetwork, ClusterFirstWithHostNet, None with dnsConfig', () => {
  const node = parseResolvConf('nameserver 203.0.113.53\nsearch corp.example\noptions timeout:2\n');
  const base = { namespace: 'shop', clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', node };
  assert.equal(renderResolvConf(podResolvConf(base)), 'search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.96.0.10\noptions ndots:5\n');
  assert.equal(renderResolvConf(podResolvConf({ ...base, dnsPolicy: 'Default' })), 'search corp.example\nnameserver 203.0.113.53\noptions timeout:2\n');
  assert.equal(renderResolvConf(podResolvConf({ ...base, hostNetwork: true })), 'search corp.example\nnameserver 203.0.113.53\noptions timeout:2\n', 'ClusterFirst with hostNetwork falls back to Default');
  assert.equal(renderResolvConf(podResolvConf({ ...base, hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' })).split('\n')[1], 'nameserver 10.96.0.10');
  assert.equal(renderResolvConf(podResolvConf({ ...base, dnsPolicy: 'None', dnsConfig: { nameservers: ['1.2.3.4'], searches: ['ns1.svc.cluster-domain.example', 'my.dns.search.suffix'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } })),
    'search ns1.svc.cluster-domain.example my.dns.search.suffix\nnameserver 1.2.3.4\noptions ndots:2 edns0\n', 'the Kubernetes docs example');
  assert.equal(renderResolvConf(podResolvConf({ ...base, dnsConfig: { options: [{ name: 'ndots', value: '1' }, { name: 'single-request-reopen' }] } })).split('\n')[2], 'options ndots:1 single-request-reopen');
});

test('/etc/hosts: kubelet\'s managed file with the pod FQDN under its subdomain and hostAliases', () => {
  const h = podHostsFile({ podName: 'web-0', namespace: 'default', podIP: '10.244.1.5', hostname: 'web-0', subdomain: 'web', clusterDomain: 'cluster.local', hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo.local', 'bar.local'] }] });
  assert.match(h, /^# Kubernetes-managed hosts file\.\n127\.0\.0\.1\tlocalhost\n/);
  assert.match(h, /\n10\.244\.1\.5\tweb-0\.web\.default\.svc\.cluster\.local\tweb-0\n/);
  assert.match(h, /\n# Entries added by HostAliases\.\n10\.1\.2\.3\tfoo\.local\tbar\.local\n$/);
  const w = world();
  const r = resolve(w, 'bar.local', clusterFirst(), h);
  assert.deepEqual([r.ok, r.source, r.addresses, r.queries.length], [true, 'hosts', ['10.1.2.3'], 0]);
});

test('search path with ndots:5: `backend` is asked as backend.default.svc.cluster.local first, A and AAAA in parallel from one socket', () => {
  const w = world();
  const r = resolve(w, 'backend', clusterFirst());
  assert.ok(r.ok);
  assert.deepEqual(r.addresses, ['10.96.0.20']);
  assert.equal(r.canonical, 'backend.default.svc.cluster.local');
  assert.deepEqual(r.queries.map((q) => `${q.qname} ${q.qtype} ${q.transport} ${q.outcome}`), ['backend.default.svc.cluster.local A udp answer', 'backend.default.svc.cluster.local AAAA udp answer']);
  assert.equal(r.queries[0]!.sentAt, r.queries[1]!.sentAt, 'both leave at once');
  // The walk: `backend.default` is tried with every search domain before as-is.
  assert.deepEqual(searchCandidates('backend.default', clusterFirst()), ['backend.default.default.svc.cluster.local', 'backend.default.svc.cluster.local', 'backend.default.cluster.local', 'backend.default']);
  const r2 = resolve(w, 'backend.default', clusterFirst());
  assert.deepEqual(r2.queries.filter((q) => q.qtype === 'A').map((q) => `${q.qname} ${q.reply?.rcode}`), ['backend.default.default.svc.cluster.local 3', 'backend.default.svc.cluster.local 0']);
  assert.deepEqual(searchCandidates('a.b.c.d.e.f', clusterFirst())[0], 'a.b.c.d.e.f', 'five dots: as is first');
  assert.deepEqual(searchCandidates('backend.default.svc.cluster.local.', clusterFirst()), ['backend.default.svc.cluster.local'], 'a trailing dot: only as is');
});

test('an unknown name walks the whole path and fails with getaddrinfo\'s error, not an exception', () => {
  const w = world(3, true);
  const r = resolve(w, 'nosuch', clusterFirst());
  assert.equal(r.ok, false);
  assert.deepEqual(r.error, { code: 'EAI_NONAME', message: 'Name or service not known' });
  assert.deepEqual([...new Set(r.queries.map((q) => q.qname))], ['nosuch.default.svc.cluster.local', 'nosuch.svc.cluster.local', 'nosuch.cluster.local', 'nosuch']);
  assert.deepEqual(r.queries.map((q) => q.reply?.rcode), [3, 3, 3, 3, 3, 3, 3, 3], 'NXDOMAIN for every A and AAAA (the last from the upstream)');
  // Without an upstream CoreDNS answers the out-of-zone `nosuch.` SERVFAIL: glibc says try again.
  const alone = resolve(world(), 'nosuch', clusterFirst());
  assert.equal(alone.queries.at(-1)?.reply?.rcode, 2);
  assert.deepEqual(alone.error, { code: 'EAI_AGAIN', message: 'Temporary failure in name resolution' });
});

test('single-request: AAAA only after A\'s reply, same socket; single-request-reopen: from a new socket; use-vc: over TCP', () => {
  const w = world();
  const single = resolve(w, 'backend', clusterFirst(['single-request']));
  assert.ok(single.ok);
  assert.ok(single.queries[1]!.sentAt >= single.queries[0]!.doneAt, 'sequential');
  const reopen = resolve(w, 'backend', clusterFirst(['single-request-reopen']));
  assert.ok(reopen.ok);
  assert.ok(reopen.queries[1]!.sentAt >= reopen.queries[0]!.doneAt);
  const vc = resolve(w, 'backend', clusterFirst(['use-vc']));
  assert.ok(vc.ok);
  assert.deepEqual(vc.queries.map((q) => q.transport), ['tcp', 'tcp']);
  assert.deepEqual(vc.addresses, ['10.96.0.20']);
});

test('a truncated UDP reply is asked again over TCP at the same server', () => {
  const w = world(40);
  const r = resolve(w, 'big', clusterFirst());
  assert.ok(r.ok);
  assert.equal(r.addresses.length, 40);
  assert.deepEqual(r.queries.map((q) => `${q.qtype} ${q.transport} ${q.outcome}`), ['A udp truncated', 'AAAA udp answer', 'A tcp answer']);
});

test('no server answering: timeout 5 s × attempts 2, then EAI_AGAIN; timeout and attempts options apply', () => {
  const w = world();
  // A server that takes queries and never answers (an unreachable address would fail fast:
  // ARP gives up and the connected socket gets EHOSTUNREACH, so glibc moves on at once).
  w.dns.close();
  w.server.udp.bind(53).onMessage = () => {};
  const dead: ResolvConf = { nameservers: ['10.0.0.53'], search: [], options: [] };
  const r = resolve(w, 'backend.default.svc.cluster.local.', dead);
  assert.deepEqual(r.error?.code, 'EAI_AGAIN');
  assert.equal(r.doneAt - r.startedAt, 10 * SECOND + 0, 'two rounds of 5 s');
  const quick = resolve(w, 'x.', { ...dead, options: ['timeout:1', 'attempts:3'] });
  assert.equal(quick.doneAt - quick.startedAt, 3 * SECOND);
  assert.equal(quick.queries.length, 6, 'A and AAAA per round');
});

test('resolv.conf parser (property): any text parses without throwing, within glibc\'s limits', () => {
  fc.assert(fc.property(fc.array(fc.oneof(fc.string(), fc.constantFrom('nameserver 10.0.0.1', 'nameserver ::1', 'search a b c', 'domain x', 'options ndots:99 timeout:0 attempts:9 rotate', '# c', 'nameserver 1.2.3.4 # x')), { maxLength: 20 }), (lines) => {
    const c = parseResolvConf(lines.join('\n'));
    assert.ok(c.nameservers.length <= 3);
    assert.ok(c.search.length <= 32);
    const o = resolvOptions(c.options);
    assert.ok(o.ndots >= 0 && o.ndots <= 15 && o.timeout >= 1 && o.timeout <= 30 && o.attempts >= 1 && o.attempts <= 5);
  }), { numRuns: 300, seed: 5 });
});
