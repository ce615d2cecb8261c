// NodeLocal DNSCache (spec dns.nodeLocalCache) on the seed cluster: the addon's objects,
// node-cache's interface and its exact iptables rules (k8s.io/dns cmd/node-cache
// cache_app.go initIptables) in `iptables-save` and through the real
// iptables-restore --test, pods' resolv.conf pointing at 169.254.20.10, dig against it
// from a pod, and a traced lookup: the query NOTRACKed (no conntrack entry on the node),
// the cluster zone forwarded to kube-dns-upstream over TCP (force_tcp), DNATed there.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../../cluster/cluster.ts';
import { parseClusterSpec } from '../../cluster/spec.ts';
import type { ProxyMode } from '../../cluster/spec.ts';
import { lookup } from '../../apps/dns/stub-resolver.ts';
import type { LookupResult } from '../../apps/dns/stub-resolver.ts';
import type { DaemonSet, Pod, Service } from '../../control/api/index.ts';
import { resolveEndpoint } from '../../cluster/endpoint.ts';
import { runTrace } from '../../cluster/trace-runner.ts';
import { dig } from '../../apps/dns/tools.ts';
import { podEnvironment } from '../../cluster/remote-command.ts';
import { nodeCacheIptablesRules } from '../../apps/dns/node-cache.ts';
import { IPPROTO_UDP } from '../../netsim/netfilter/conntrack/tuple.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import { parseIpv4 } from '../../netsim/wire/addr.ts';
import { Netns, realToolSkipReason } from '../../netsim/netfilter/iptables/test-support.ts';
import { seedSpecText } from '../support/spec-cluster.ts';

const withCache = (extra = '', mode?: ProxyMode): string => seedSpecText(mode !== undefined ? { mode } : {}).replace('\nmanifests: |', `\ndns: { nodeLocalCache: { enabled: true${extra} } }\nmanifests: |`);

const realSkip = realToolSkipReason();
if (realSkip !== undefined) console.log(`# skipping the real iptables-restore round trip: ${realSkip}`);
const netns = new Netns('nsnodelocaldns');
after(() => netns.cleanup());

/** upstream's rules for 169.254.20.10 as iptables-save prints them (cache_app.go, each prepended in turn, so the last of a chain comes first). */
const SAVED_RULES = {
  raw: [
    '-A PREROUTING -d 169.254.20.10/32 -p udp -m udp --dport 53 -j NOTRACK',
    '-A PREROUTING -d 169.254.20.10/32 -p tcp -m tcp --dport 53 -j NOTRACK',
    '-A OUTPUT -s 169.254.20.10/32 -p tcp -m tcp --sport 8080 -j NOTRACK',
    '-A OUTPUT -d 169.254.20.10/32 -p tcp -m tcp --dport 8080 -j NOTRACK',
    '-A OUTPUT -d 169.254.20.10/32 -p udp -m udp --dport 53 -j NOTRACK',
    '-A OUTPUT -d 169.254.20.10/32 -p tcp -m tcp --dport 53 -j NOTRACK',
    '-A OUTPUT -s 169.254.20.10/32 -p udp -m udp --sport 53 -j NOTRACK',
    '-A OUTPUT -s 169.254.20.10/32 -p tcp -m tcp --sport 53 -j NOTRACK',
  ],
  filter: [
    '-A INPUT -d 169.254.20.10/32 -p udp -m udp --dport 53 -j ACCEPT',
    '-A INPUT -d 169.254.20.10/32 -p tcp -m tcp --dport 53 -j ACCEPT',
    '-A OUTPUT -s 169.254.20.10/32 -p udp -m udp --sport 53 -j ACCEPT',
    '-A OUTPUT -s 169.254.20.10/32 -p tcp -m tcp --sport 53 -j ACCEPT',
  ],
};

function table(save: string, name: string): string[] {
  const m = new RegExp(`\\*${name}\\n([\\s\\S]*?)COMMIT`).exec(save);
  return m === null ? [] : (m[1] as string).split('\n').filter((l) => l.startsWith('-A '));
}

test('node-local DNS: kube-dns-upstream and the node-local-dns DaemonSet; nodelocaldns holds 169.254.20.10 on every node; upstream\'s rules in iptables-save; pods get nameserver 169.254.20.10', async () => {
  const c = await Cluster.build(parseClusterSpec(withCache(), 'seed.yaml'));
  try {
    const svcs = await c.control.api.list<Service>('services');
    const up = svcs.find((s) => s.metadata.name === 'kube-dns-upstream');
    assert.equal(up?.metadata.namespace, 'kube-system');
    assert.deepEqual(up?.spec.selector, { 'k8s-app': 'kube-dns' });
    assert.notEqual(up?.spec.clusterIP, '10.96.0.10', 'a ClusterIP of its own');
    const ds = (await c.control.api.list<DaemonSet>('daemonsets')).find((d) => d.metadata.name === 'node-local-dns');
    assert.deepEqual(ds?.spec.template.spec?.containers[0]?.args?.slice(0, 2), ['-localip', '169.254.20.10']);
    const pods = (await c.control.api.list<Pod>('pods')).filter((p) => p.metadata.labels?.['k8s-app'] === 'node-local-dns');
    assert.deepEqual(pods.map((p) => `${p.spec.nodeName} ${p.status?.phase} ${p.status?.podIP}`).sort(), ['node01 Running 192.168.50.11', 'node02 Running 192.168.50.12'], 'host-network pods on each node');
    for (const node of ['node01', 'node02']) {
      assert.match(c.nodeView(node, 'addr') ?? '', /: nodelocaldns: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN [^\n]*\n[^\n]*\n {4}inet 169\.254\.20\.10\/32 scope global nodelocaldns\n/);
      const save = c.nodeView(node, 'iptables-save') ?? '';
      assert.deepEqual(table(save, 'raw'), SAVED_RULES.raw);
      for (const r of SAVED_RULES.filter) assert.ok(table(save, 'filter').includes(r), `${node}: ${r}`);
    }
    assert.equal(nodeCacheIptablesRules(['169.254.20.10']).length, 12, 'upstream\'s 12 rules per address');
    assert.deepEqual(c.pods.get('default/webapp01')?.resolvConf?.nameservers, ['169.254.20.10'], 'kubelet --cluster-dns=169.254.20.10');
    // The cache's own pods use the node's resolv.conf (dnsPolicy Default), not themselves.
    assert.ok(![...c.pods.keys()].some((k) => k.includes('node-local-dns')), 'host-network pods are their node');

    // node-cache's process ends (its pod stops): TeardownNetworking removes interface and rules; started again, they are back.
    const run = [...c.clusterNodes.get('node01')!.agent.pods.values()].find((r) => r.name.startsWith('node-local-dns-'))!;
    run.component!.stop();
    assert.deepEqual(table(c.nodeView('node01', 'iptables-save') ?? '', 'raw'), [], 'rules torn down');
    assert.doesNotMatch(c.nodeView('node01', 'addr') ?? '', /nodelocaldns/, 'and the interface');
    run.component!.start();
    assert.deepEqual(table(c.nodeView('node01', 'iptables-save') ?? '', 'raw'), SAVED_RULES.raw, 'set up again');
    // The pod deleted: the DaemonSet's new pod runs node-cache on the node.
    const victim = pods.find((p) => p.spec.nodeName === 'node01')!;
    await c.control.api.delete('pods', 'kube-system', victim.metadata.name ?? '');
    await c.runFor(5 * SECOND);
    const again = (await c.control.api.list<Pod>('pods')).filter((p) => p.metadata.labels?.['k8s-app'] === 'node-local-dns' && p.spec.nodeName === 'node01');
    assert.equal(again.length, 1);
    assert.notEqual(again[0]!.metadata.name, victim.metadata.name);
    assert.equal(c.nodeCaches.get('node01')?.owner, again[0]!.metadata.uid, 'the new pod\'s node-cache');
    assert.deepEqual(table(c.nodeView('node01', 'iptables-save') ?? '', 'raw'), SAVED_RULES.raw);
  } finally {
    await c.close();
  }
});

test('node-local DNS: the node\'s rules round-trip through the real iptables-restore --test, and the real iptables-save prints them as we do', { skip: realSkip ?? false }, async () => {
  const c = await Cluster.build(parseClusterSpec(withCache(), 'seed.yaml'));
  try {
    const save = c.nodeView('node01', 'iptables-save') ?? '';
    // The raw and filter tables as node-cache leaves them (filter without kube-proxy's nfacct match, which needs its counters created first).
    const text = save.split('\n').filter((l) => !l.startsWith('#') && !l.includes('-m nfacct')).join('\n');
    const ns = netns.fresh();
    const t = netns.run(ns, ['iptables-restore', '--test'], text);
    assert.equal(t.status, 0, t.stderr);
    const r = netns.run(ns, ['iptables-restore'], text);
    assert.equal(r.status, 0, r.stderr);
    const real = netns.run(ns, ['iptables-save', '-t', 'raw']).stdout;
    assert.deepEqual(table(real, 'raw'), SAVED_RULES.raw);
    const realFilter = table(netns.run(ns, ['iptables-save', '-t', 'filter']).stdout, 'filter');
    for (const rule of SAVED_RULES.filter) assert.ok(realFilter.includes(rule), rule);
    // And the rules as node-cache issues them (`iptables -t T -I CHAIN …`) give the same lines in the real kernel.
    const ns2 = netns.fresh();
    for (const rule of nodeCacheIptablesRules(['169.254.20.10'])) {
      const x = netns.run(ns2, ['iptables', '-t', rule.table, '-I', rule.chain, ...rule.args]);
      assert.equal(x.status, 0, x.stderr);
    }
    assert.deepEqual(table(netns.run(ns2, ['iptables-save', '-t', 'raw']).stdout, 'raw'), SAVED_RULES.raw);
    assert.deepEqual(table(netns.run(ns2, ['iptables-save', '-t', 'filter']).stdout, 'filter'), SAVED_RULES.filter);
  } finally {
    await c.close();
  }
});

test('node-local DNS: dig from a pod answers from 169.254.20.10 (its resolv.conf, and @169.254.20.10); names outside the zones follow the node\'s resolv.conf', async () => {
  const c = await Cluster.build(parseClusterSpec(withCache(), 'seed.yaml'));
  try {
    const running = c.pods.get('default/webapp01')!;
    const env = podEnvironment({ metadata: { name: 'webapp01', namespace: 'default' } }, running);
    assert.equal(env.files.get('/etc/resolv.conf'), 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 169.254.20.10\noptions ndots:5\n');
    const run = async (argv: string[]): Promise<{ code: number; out: string }> => {
      let out = '';
      const ctx = { ns: running.ns, argv, files: env.files, resolve: env.resolve, stdout: (t: string) => { out += t; }, stderr: (t: string) => { out += t; } };
      let code: number | undefined;
      void dig(ctx).then((x) => { code = x; });
      while (code === undefined) await c.runFor(SECOND);
      return { code, out };
    };
    const d = await run(['dig', 'kubernetes.default.svc.cluster.local']);
    assert.equal(d.code, 0, d.out);
    assert.match(d.out, /;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: \d+\n;; flags: qr aa rd ra; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1\n/);
    assert.match(d.out, /\n;; ANSWER SECTION:\nkubernetes\.default\.svc\.cluster\.local\. 5 IN A\t10\.96\.0\.1\n/);
    assert.match(d.out, /;; SERVER: 169\.254\.20\.10#53\(169\.254\.20\.10\) \(UDP\)/);
    // Cached now: the second answer's TTL has counted down (no second trip to kube-dns).
    const hitsBefore = c.nodeCaches.get('node01')!.cache.servers[0]!.stats.cacheHits;
    await c.runFor(2 * SECOND);
    const again = await run(['dig', '@169.254.20.10', 'kubernetes.default.svc.cluster.local', '+tcp']);
    assert.match(again.out, /\nkubernetes\.default\.svc\.cluster\.local\. [1-3] IN A\t10\.96\.0\.1\n/);
    assert.match(again.out, /;; SERVER: 169\.254\.20\.10#53\(169\.254\.20\.10\) \(TCP\)/);
    assert.equal(c.nodeCaches.get('node01')!.cache.servers[0]!.stats.cacheHits, hitsBefore + 1);
    const rev = await run(['dig', '+short', '-x', '10.96.0.10']);
    assert.equal(rev.out, 'kube-dns.kube-system.svc.cluster.local.\n', 'in-addr.arpa goes to kube-dns too');
    // The seed's nodes have no nameserver: `.` has no upstream, SERVFAIL (as node-cache's forward . /etc/resolv.conf would fail).
    const out = await run(['dig', 'example.org']);
    assert.match(out.out, /status: SERVFAIL/);
  } finally {
    await c.close();
  }
});

test('node-local DNS: a traced lookup — the query NOTRACKed (no conntrack entry), answered by the node\'s cache after a TCP hop to kube-dns-upstream', async () => {
  const c = await Cluster.build(parseClusterSpec(withCache(), 'seed.yaml'));
  try {
    const upstreamIp = (await c.control.api.list<Service>('services')).find((s) => s.metadata.name === 'kube-dns-upstream')!.spec.clusterIP!;
    const tcpHops: string[] = [];
    const stop = c.sim.tracer.subscribe((e) => {
      if (e.kind === 'nat' && e.netns === 'node01' && e.detail.startsWith('DNAT: tcp') && e.detail.includes(`→ ${upstreamIp}:53 → destination`)) tcpHops.push(e.detail);
    });
    const from = resolveEndpoint('pod:default/webapp01', c);
    const run = runTrace(c, from, resolveEndpoint('name:nginx-service:80', c), { proto: 'tcp' });
    stop();
    const d = run.dns!;
    assert.deepEqual(d.result.addresses, ['10.96.63.155']);
    assert.deepEqual(d.queries.slice(0, 2).map((q) => `${q.qname} ${q.qtype} ${q.server} ${q.outcome}`), ['A', 'AAAA'].map((t) => `nginx-service.default.svc.cluster.local ${t} 169.254.20.10 answer`));
    for (const q of d.queries.slice(0, 2)) {
      const hops = q.report.hops;
      assert.ok(hops.some((h) => h.component === 'conntrack' && h.netns === 'node01' && /untracked: raw PREROUTING NOTRACK/.test(h.detail)), `${q.qtype}: the query is NOTRACKed on node01: ${hops.map((h) => `${h.netns} ${h.component} ${h.detail}`).join('\n')}`);
      assert.ok(!hops.some((h) => h.component === 'nat'), `${q.qtype}: no NAT on the way to the cache`);
      assert.ok(hops.some((h) => h.component === 'node-cache' && new RegExp(`NOERROR.*forwarded to ${upstreamIp.replace(/\./g, '\\.')}:53 over tcp \\(force_tcp\\)`).test(h.detail)), `${q.qtype}: ${hops.map((h) => `${h.component} ${h.detail}`).join('\n')}`);
      assert.ok(q.report.reply?.hops.some((h) => h.component === 'conntrack' && /untracked: raw OUTPUT NOTRACK/.test(h.detail)), `${q.qtype}: so is the answer`);
      // No entry for the pod's query on the node: nothing to race on.
      const ct = c.clusterNodes.get('node01')!.netfilter.conntrack;
      assert.equal(ct.find(IPPROTO_UDP, c.pods.get('default/webapp01')!.ip, parseIpv4('169.254.20.10'), q.sport, 53), -1);
    }
    assert.equal(tcpHops.length, 2, `one TCP connection per cache miss from node01 to kube-dns-upstream, DNATed to a CoreDNS pod: ${tcpHops.join('\n')}`);
    assert.equal(run.report.verdict, 'delivered');
  } finally {
    await c.close();
  }
});

for (const mode of ['ipvs', 'nftables'] as const) {
  test(`node-local DNS in ${mode} mode: the same NOTRACK rules (iptables-nft's raw table), the cache reaches kube-dns-upstream through ${mode === 'ipvs' ? 'IPVS' : 'nftables DNAT'}, names resolve`, async () => {
    const c = await Cluster.build(parseClusterSpec(withCache(', address: 169.254.25.10', mode), 'seed.yaml'));
    try {
      assert.deepEqual(table(c.nodeView('node02', 'iptables-save') ?? '', 'raw'), SAVED_RULES.raw.map((r) => r.replace(/169\.254\.20\.10/g, '169.254.25.10')));
      const w = c.pods.get('default/webapp01')!;
      assert.deepEqual(w.resolvConf?.nameservers, ['169.254.25.10']);
      let out: LookupResult | undefined;
      lookup(w.ns, 'nginx-service', { resolvConf: w.resolvConf! }, (r) => { out = r; });
      await c.runFor(3 * SECOND);
      assert.ok(out?.ok, JSON.stringify(out?.error));
      assert.deepEqual(out.addresses, ['10.96.63.155']);
      assert.ok(out.doneAt - out.startedAt < SECOND);
    } finally {
      await c.close();
    }
  });
}
