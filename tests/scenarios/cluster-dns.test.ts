// The DNS add-on on a spec-built cluster: kubeadm's objects, CoreDNS pods answering
// through the kube-dns ClusterIP (DNAT by kube-proxy to a CoreDNS pod, possibly on the
// other node over flannel, un-NATed by conntrack), and the spec's switch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../../cluster/cluster.ts';
import { parseClusterSpec } from '../../cluster/spec.ts';
import type { Pod, Service } from '../../control/api/index.ts';
import { encodeMessage, decodeMessage } from '../../apps/dns/message.ts';
import { udpExchange } from '../../apps/dns/transport.ts';
import type { ExchangeResult } from '../../apps/dns/transport.ts';
import { rrText } from '../../apps/dns/rr-text.ts';
import { formatIpv4, parseIpv4 } from '../../netsim/wire/addr.ts';
import { resolveEndpoint } from '../../cluster/endpoint.ts';
import { runTrace } from '../../cluster/trace-runner.ts';
import { renderDnsTraceText } from '../../cli/render/dns-trace-text.ts';
import { traceCommand } from '../../cli/commands/trace.ts';
import { lookup } from '../../apps/dns/stub-resolver.ts';
import type { LookupResult } from '../../apps/dns/stub-resolver.ts';
import { dig, nslookup } from '../../apps/dns/tools.ts';
import { podEnvironment } from '../../cluster/remote-command.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import { seedSpecText } from '../support/spec-cluster.ts';

async function ask(c: Cluster, from: string, name: string, type = 'A'): Promise<{ res: ExchangeResult; events: number }> {
  const src = c.pods.get(from);
  assert.ok(src !== undefined, `no pod ${from}`);
  let res: ExchangeResult | undefined;
  const q = encodeMessage({ id: 77, rd: true, questions: [{ name, type: type as 'A', class: 'IN' }] });
  udpExchange(src.ns, parseIpv4('10.96.0.10'), 53, q, 5 * SECOND, (r) => { res = r; });
  await c.runFor(5 * SECOND);
  assert.ok(res !== undefined);
  return { res, events: 0 };
}

test('DNS add-on: kubeadm objects — coredns Deployment (2 replicas, k8s-app=kube-dns), kube-dns at the 10th service address with dns/dns-tcp/metrics', async () => {
  const c = await Cluster.build(parseClusterSpec(seedSpecText(), 'seed.yaml'));
  try {
    const svc = (await c.control.api.list<Service>('services')).find((s) => s.metadata.name === 'kube-dns');
    assert.equal(svc?.metadata.namespace, 'kube-system');
    assert.equal(svc?.spec.clusterIP, '10.96.0.10');
    assert.deepEqual(svc?.spec.ports?.map((p) => `${p.name} ${p.port}/${p.protocol}`), ['dns 53/UDP', 'dns-tcp 53/TCP', 'metrics 9153/TCP']);
    const pods = (await c.control.api.list<Pod>('pods')).filter((p) => p.metadata.labels?.['k8s-app'] === 'kube-dns');
    assert.equal(pods.length, 2);
    assert.ok(pods.every((p) => p.metadata.namespace === 'kube-system' && p.metadata.name?.startsWith('coredns-') && p.status?.phase === 'Running'));
    // Lazy pods (cluster/lazy-pods.ts) start a CoreDNS server when its node is first touched.
    c.materialise();
    assert.equal(c.dns?.servers.size, 2);
  } finally {
    await c.close();
  }
});

test('DNS add-on: a pod asks kube-dns by ClusterIP; the query is DNATed to a CoreDNS pod and the reply un-NATed', async () => {
  const c = await Cluster.build(parseClusterSpec(seedSpecText(), 'seed.yaml'));
  try {
    const events: string[] = [];
    const stop = c.sim.tracer.subscribe((e) => {
      if (e.kind === 'nat' || e.kind === 'app') events.push(`${e.netns} ${e.kind} ${e.detail}`);
    });
    const { res } = await ask(c, 'default/webapp01', 'nginx-service.default.svc.cluster.local');
    stop();
    assert.ok(res.ok, JSON.stringify(res));
    if (!res.ok) return;
    assert.equal(res.from, parseIpv4('10.96.0.10'), 'the reply comes from the ClusterIP (conntrack un-NAT)');
    const m = decodeMessage(res.reply);
    assert.deepEqual(m.answers.map(rrText), ['nginx-service.default.svc.cluster.local.\t5\tIN\tA\t10.96.63.155']);
    assert.ok(events.some((e) => / nat .*10\.96\.0\.10/.test(e) || / nat .*DNAT/.test(e)), events.join('\n'));
    assert.ok(events.some((e) => /^kube-system\/coredns-\S+ app nginx-service\.default\.svc\.cluster\.local\. A .*NOERROR, 1 answer/.test(e)), events.join('\n'));
  } finally {
    await c.close();
  }
});

test('DNS add-on: switched off in the spec, nothing of it exists; the cluster domain is the spec\'s', async () => {
  const off = await Cluster.build(parseClusterSpec(seedSpecText().replace('\nmanifests: |', '\ndns: { enabled: false }\nmanifests: |'), 'seed.yaml'));
  try {
    assert.equal(off.dns, undefined);
    assert.ok(!(await off.control.api.list<Service>('services')).some((s) => s.metadata.name === 'kube-dns'));
    assert.ok(![...off.pods.keys()].some((k) => k.startsWith('kube-system/')));
  } finally {
    await off.close();
  }
  const other = await Cluster.build(parseClusterSpec(seedSpecText().replace('\nmanifests: |', '\ndns: { clusterDomain: k8s.example }\nmanifests: |'), 'seed.yaml'));
  try {
    const { res } = await ask(other, 'default/webapp01', 'nginx-service.default.svc.k8s.example');
    assert.ok(res.ok);
    if (res.ok) assert.deepEqual(decodeMessage(res.reply).answers.map(rrText), ['nginx-service.default.svc.k8s.example.\t5\tIN\tA\t10.96.63.155']);
    const { res: old } = await ask(other, 'default/webapp01', 'nginx-service.default.svc.cluster.local');
    assert.ok(old.ok);
    if (old.ok) assert.equal(decodeMessage(old.reply).rcode, 2, 'cluster.local is outside the zone now: forwarded, no upstream, SERVFAIL');
  } finally {
    await other.close();
  }
});

test('trace by name: the search-path walk, the DNAT to a CoreDNS pod, the answer, then the TCP connection to the ClusterIP', async () => {
  const c = await Cluster.build(parseClusterSpec(seedSpecText(), 'seed.yaml'));
  try {
    const from = resolveEndpoint('pod:default/webapp01', c);
    const to = resolveEndpoint('name:nginx-service:80', c);
    const run = runTrace(c, from, to, { proto: 'tcp' });
    assert.ok(run.dns !== undefined);
    const d = run.dns;
    assert.deepEqual(d.result.addresses, ['10.96.63.155']);
    // ndots:5 — `nginx-service` is tried as nginx-service.default.svc.cluster.local first, A and AAAA at once.
    assert.deepEqual(d.queries.slice(0, 2).map((q) => `${q.qname} ${q.qtype} ${q.server} ${q.sentAt}`), ['A', 'AAAA'].map((t) => `nginx-service.default.svc.cluster.local ${t} 10.96.0.10 ${d.queries[0]!.sentAt}`));
    const coredns = [...c.pods.values()].filter((p) => p.key.startsWith('kube-system/coredns-'));
    const answered = d.queries.find((q) => q.qtype === 'A' && q.outcome === 'answer');
    assert.ok(answered !== undefined);
    assert.ok(answered.report.hops.some((h) => h.component === 'nat' && coredns.some((p) => h.detail.includes(`destination ${formatIpv4(p.ip)}:53`))), 'DNAT of 10.96.0.10 to a CoreDNS pod');
    assert.ok(answered.report.hops.some((h) => h.component === 'coredns' && /NOERROR, 1 answer/.test(h.detail)));
    assert.equal(answered.report.reply?.verdict, 'delivered');
    assert.ok(answered.report.reply?.hops.some((h) => h.packet?.src === '10.96.0.10' && h.netns === 'default/webapp01'), 'the answer reaches the pod from the ClusterIP');
    const q = answered;
    assert.equal(run.report.verdict, 'delivered');
    assert.equal(run.report.hops.find((h) => h.packet !== undefined)?.packet?.dst, '10.96.63.155');
    assert.ok(run.report.hops[0]!.t > q.doneAt, 'the connection starts after the lookup');
    const text = renderDnsTraceText(d);
    assert.match(text, /^lookup nginx-service: 10\.96\.63\.155 \(nginx-service\.default\.svc\.cluster\.local\) from dns in /);
    assert.ok(q.doneAt > 0);
    assert.match(text, /resolv\.conf: search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local; nameserver 10\.96\.0\.10; options ndots:5/);
    assert.match(text, /nginx-service\.default\.svc\.cluster\.local\.\t5\tIN\tA\t10\.96\.63\.155/);
  } finally {
    await c.close();
  }
});

test('trace by name: an unknown name fails with the resolver\'s error (exit 1), not an exception', async () => {
  const c = await Cluster.build(parseClusterSpec(seedSpecText(), 'seed.yaml'));
  try {
    const out: string[] = [];
    const code = traceCommand(c, { from: 'pod:webapp01', to: 'name:nosuch:80', proto: 'tcp', output: 'text' }, (s) => out.push(s));
    assert.equal(code, 1);
    const text = out.join('');
    // Four candidates (three search domains, then as is); the seed has no upstream, so `nosuch.` is SERVFAIL.
    assert.match(text, /^lookup nosuch: EAI_AGAIN: Temporary failure in name resolution/);
    for (const n of ['nosuch.default.svc.cluster.local', 'nosuch.svc.cluster.local', 'nosuch.cluster.local']) assert.match(text, new RegExp(`${n.replace(/\./g, '\\.')} A → 10\\.96\\.0\\.10/udp: NXDOMAIN`));
    assert.match(text, /nosuch A → 10\.96\.0\.10\/udp: SERVFAIL/);
    assert.match(text, /request: DROPPED — dns at default\/webapp01: getaddrinfo\("nosuch"\): Temporary failure in name resolution/);
  } finally {
    await c.close();
  }
});

test('the spec\'s upstream: names outside the cluster domain are forwarded to the outside resolver', async () => {
  const text = seedSpecText().replace('    - name: client\n      address: 203.0.113.10\n', '    - name: client\n      address: 203.0.113.10\n    - name: resolver\n      address: 203.0.113.53\n').replace('\nmanifests: |', '\ndns: { upstream: resolver }\nmanifests: |');
  const c = await Cluster.build(parseClusterSpec(text, 'seed.yaml'));
  try {
    const from = resolveEndpoint('pod:default/webapp01', c);
    const run = runTrace(c, from, resolveEndpoint('name:client.example.com:80', c), { proto: 'tcp' });
    assert.deepEqual(run.dns?.result.addresses, ['203.0.113.10']);
    assert.equal(run.dns?.queries.at(-2)?.qname, 'client.example.com', 'three dots < ndots 5: the search domains first, then as is');
    assert.equal(run.report.verdict, 'delivered');
    const bad = runTrace(c, from, resolveEndpoint('name:nosuch:80', c), { proto: 'tcp' });
    assert.deepEqual(bad.dns?.result.error, { code: 'EAI_NONAME', message: 'Name or service not known' });
    assert.equal(c.nodeResolvConf().nameservers[0], '203.0.113.53');
  } finally {
    await c.close();
  }
});

test('the conntrack race: parallel A and AAAA from one socket, DNATed to different CoreDNS pods; one loses at confirm, glibc stalls 5 s; single-request-reopen and use-vc do not', async () => {
  const c = await Cluster.build(parseClusterSpec(seedSpecText(), 'seed.yaml'));
  try {
    const w = c.pods.get('default/webapp01')!;
    const ask = async (options: string[]): Promise<LookupResult> => {
      let out: LookupResult | undefined;
      lookup(w.ns, 'nginx-service', { resolvConf: { ...w.resolvConf!, options: [...w.resolvConf!.options, ...options] } }, (r) => { out = r; });
      await c.runFor(15 * SECOND);
      assert.ok(out?.ok, JSON.stringify(out?.error));
      return out;
    };
    const drops: Array<{ pkt: number; detail: string }> = [];
    const stop = c.sim.tracer.subscribe((e) => { if (e.kind === 'drop') drops.push({ pkt: e.pkt, detail: e.detail }); });
    const racy = await ask([]);
    stop();
    // The A query waited for ARP of the local CoreDNS pod with its conntrack entry unconfirmed; the
    // AAAA went to the other pod and confirmed first; the A's confirm clashed and it was dropped.
    const lost = racy.queries[0]!;
    assert.equal(lost.outcome, 'timeout');
    assert.match(drops.find((d) => d.pkt === lost.pkt)?.detail ?? '', /clashes with an existing entry/);
    assert.equal(racy.doneAt - racy.startedAt >= 5 * SECOND, true, '5 s stall');
    assert.deepEqual(racy.queries.slice(2).map((q) => `${q.qtype} ${q.outcome}`), ['A answer', 'AAAA answer'], 'then single-request');
    for (const opt of ['single-request-reopen', 'use-vc', 'single-request']) {
      const r = await ask([opt]);
      assert.ok(r.doneAt - r.startedAt < SECOND, `${opt}: no stall`);
      assert.ok(r.queries.every((q) => q.outcome === 'answer'));
    }
  } finally {
    await c.close();
  }
});

test('in a pod: nslookup kubernetes.default and dig print what the real tools print', async () => {
  const c = await Cluster.build(parseClusterSpec(seedSpecText(), 'seed.yaml'));
  try {
    const running = c.pods.get('default/webapp01')!;
    const env = podEnvironment({ metadata: { name: 'webapp01', namespace: 'default' } }, running);
    const run = async (argv: string[]): Promise<{ code: number; out: string }> => {
      let out = '';
      const ctx = { ns: running.ns, argv, files: env.files, resolve: env.resolve, stdout: (t: string) => { out += t; }, stderr: (t: string) => { out += t; } };
      const p = (argv[0] === 'dig' ? dig : nslookup)(ctx);
      let code: number | undefined;
      void p.then((x) => { code = x; });
      while (code === undefined) await c.runFor(SECOND);
      return { code, out };
    };
    assert.equal(env.files.get('/etc/resolv.conf'), 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
    const ok = await run(['nslookup', 'kubernetes.default']);
    assert.equal(ok.code, 0);
    assert.equal(ok.out, 'Server:\t\t10.96.0.10\nAddress:\t10.96.0.10#53\n\nName:\tkubernetes.default.svc.cluster.local\nAddress: 10.96.0.1\n\n');
    const nx = await run(['nslookup', 'nosuch.default.svc.cluster.local.']);
    assert.equal(nx.code, 1);
    assert.match(nx.out, /\*\* server can't find nosuch\.default\.svc\.cluster\.local\.: NXDOMAIN\n/);
    const rev = await run(['nslookup', '10.96.0.1']);
    assert.match(rev.out, /^1\.0\.96\.10\.in-addr\.arpa\tname = kubernetes\.default\.svc\.cluster\.local\.$/m);
    const d = await run(['dig', 'kubernetes.default.svc.cluster.local']);
    assert.equal(d.code, 0);
    assert.match(d.out, /;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: \d+\n;; flags: qr aa rd ra; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1\n/);
    assert.match(d.out, /\n;; ANSWER SECTION:\nkubernetes\.default\.svc\.cluster\.local\. 5 IN A\t10\.96\.0\.1\n/);
    assert.match(d.out, /;; SERVER: 10\.96\.0\.10#53\(10\.96\.0\.10\) \(UDP\)/);
    assert.equal((await run(['dig', '+short', 'kube-dns.kube-system.svc.cluster.local'])).out, '10.96.0.10\n');
  } finally {
    await c.close();
  }
});
