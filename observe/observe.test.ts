// Flows from a real cluster's trace bus: one verdict record per packet, named by
// pod, Service and the rule that decided; the ring's bound; the filter language;
// and the stream over HTTP NDJSON and WebSocket on the API server's listener.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import WebSocket from 'ws';
import { Cluster } from '../cluster/cluster.ts';
import { seedSpec, fetchFrom } from '../tests/support/spec-cluster.ts';
import { httpGet } from '../netsim/apps/http.ts';
import { formatIpv4 } from '../netsim/wire/addr.ts';
import { SECOND } from '../netsim/time/scheduler.ts';
import { LiveFlows, FlowRing, FlowHub, parseFlowQuery, FlowQueryError, flowMatches, registerFlowRoutes, FLOWS_PATH, renderCompact } from './index.ts';
import type { Flow } from './index.ts';
import { observeCommand } from '../cli/commands/observe.ts';
import { CliError } from '../cli/cli-error.ts';

const EPOCH = Date.UTC(2026, 11, 7);

async function liveSeed(backend: 'udp' | 'vxlan' = 'udp'): Promise<{ cluster: Cluster; live: LiveFlows }> {
  const cluster = await Cluster.build(seedSpec({ backend }));
  await cluster.runFor(2 * SECOND);
  const live = new LiveFlows(cluster, (t) => EPOCH + t / 1e6);
  await live.refresh();
  return { cluster, live };
}

function podOn(cluster: Cluster, prefix: string, node?: string): { key: string; ip: string; ns: NonNullable<ReturnType<Cluster['pods']['get']>>['ns'] } {
  for (const p of cluster.pods.values()) if (p.key.startsWith(prefix) && (node === undefined || p.node === node)) return { key: p.key, ip: formatIpv4(p.ip), ns: p.ns };
  throw new Error(`no pod ${prefix} on ${node ?? 'any node'}`);
}

for (const backend of ['udp', 'vxlan'] as const) {
  test(`flows (${backend}): a curl to a ClusterIP is one FORWARDED SYN from the client pod to the serving pod, via the Service, decided by the DNAT rule`, async () => {
    const { cluster, live } = await liveSeed(backend);
    const client = podOn(cluster, 'default/webapp01');
    const svc = cluster.services.get('default/nginx-service');
    assert.ok(svc !== undefined);
    const served = await fetchFrom(cluster, client.ns, svc.clusterIP, 80);
    assert.match(served, /^nginx-deployment-/);
    const flows = live.hub.ring.last(1000);
    const syn = flows.find((f) => f.protocol === 'TCP' && f.tcpFlags?.join() === 'SYN' && f.source.name === 'webapp01');
    assert.ok(syn !== undefined, 'the SYN has a flow');
    assert.equal(syn.verdict, 'FORWARDED');
    assert.equal(syn.source.kind, 'pod');
    assert.equal(syn.source.namespace, 'default');
    assert.deepEqual(syn.source.labels?.app, 'webapp');
    assert.equal(syn.destination.kind, 'pod');
    assert.equal(syn.destination.name, served, 'the destination is the pod that served the page');
    assert.equal(syn.destination.port, 80);
    assert.equal(syn.service, 'default/nginx-service');
    assert.deepEqual(syn.originalDestination, { ip: formatIpv4(svc.clusterIP), port: 80 });
    assert.match(syn.decidedBy ?? '', /^nat KUBE-SEP-[A-Z0-9]{16}:\d+ DNAT$/);
    assert.ok(syn.nat?.some((n) => n.startsWith('DNAT')), 'the NAT is listed');
    const servingNode = [...cluster.pods.values()].find((p) => p.key === `default/${served}`)?.node;
    assert.equal(syn.node, servingNode, 'the verdict is where the packet was delivered, not at flanneld');
    assert.equal(syn.time, new Date(EPOCH + syn.t / 1e6).toISOString());
    // The SYN-ACK comes back un-NATed: from the pod's view it is the Service answering, and it is one flow too.
    const synAck = flows.find((f) => f.tcpFlags?.join() === 'SYN,ACK' && f.destination.name === 'webapp01');
    assert.ok(synAck !== undefined, 'the SYN-ACK has a flow');
    assert.equal(synAck.verdict, 'FORWARDED');
    live.close();
  });
}

test('flows: a packet to a port nobody serves is DROPPED with the kernel\'s reason', async () => {
  const { cluster, live } = await liveSeed();
  const client = podOn(cluster, 'default/webapp01');
  const target = podOn(cluster, 'default/webapp02');
  httpGet(client.ns, cluster.pods.get(target.key)!.ip, 81);
  await cluster.runFor(SECOND);
  const drop = live.hub.ring.last(1000).find((f) => f.verdict === 'DROPPED' && f.destination.port === 81);
  assert.ok(drop !== undefined);
  assert.equal(drop.dropReason, 'no-socket');
  assert.equal(drop.destination.name, 'webapp02');
  assert.match(renderCompact(drop, false), /default\/webapp01:\d+ -> default\/webapp02:81 DROPPED no-socket \(TCP Flags: SYN\)/);
  live.close();
});

test('flow ring: keeps the newest flows up to its capacity', () => {
  const ring = new FlowRing(3);
  const mk = (seq: number): Flow => ({ seq, t: seq, traceId: seq, node: 'n', source: { ip: '1.1.1.1', kind: 'world' }, destination: { ip: '2.2.2.2', kind: 'world' }, protocol: 'UDP', verdict: 'FORWARDED' });
  for (let i = 1; i <= 5; i++) ring.push(mk(i));
  assert.equal(ring.size, 3);
  assert.deepEqual(ring.last(10).map((f) => f.seq), [3, 4, 5]);
  assert.deepEqual(ring.last(2).map((f) => f.seq), [4, 5]);
  assert.deepEqual(ring.last(10, (f) => f.seq % 2 === 1).map((f) => f.seq), [3, 5]);
  assert.throws(() => new FlowRing(0), RangeError);
});

test('flow hub: a saturated subscriber loses flows without holding the others back', () => {
  const hub = new FlowHub(10);
  const fast: Flow[] = [];
  let slowGot = 0;
  hub.subscribe({ filter: {}, hops: false, send: (f) => { fast.push(f); return true; } });
  hub.subscribe({ filter: {}, hops: false, send: () => { slowGot++; return false; } });
  for (let i = 1; i <= 20; i++) hub.publish({ seq: i, t: i, traceId: i, node: 'n', source: { ip: '1.1.1.1', kind: 'world' }, destination: { ip: '2.2.2.2', kind: 'world' }, protocol: 'UDP', verdict: 'FORWARDED' });
  assert.equal(fast.length, 20);
  assert.equal(slowGot, 20);
  assert.equal(hub.ring.size, 10);
});

test('flow filters: each field narrows as hubble observe does, and a bad one is refused with its field', () => {
  const flow: Flow = {
    seq: 1, t: 1, time: '2026-12-07T06:00:00.000Z', traceId: 1, node: 'node02',
    source: { ip: '10.244.1.2', port: 40000, kind: 'pod', namespace: 'default', name: 'a', labels: { app: 'web' } },
    destination: { ip: '10.244.2.3', port: 80, kind: 'pod', namespace: 'shop', name: 'b' },
    service: 'shop/front', originalDestination: { ip: '10.96.0.20', port: 8080 }, protocol: 'TCP', tcpFlags: ['SYN'], verdict: 'FORWARDED',
  };
  const now = Date.parse('2026-12-07T06:00:10.000Z');
  const ok = (params: Array<[string, string]>): boolean => flowMatches(parseFlowQuery(params, now).filter, flow);
  assert.ok(ok([['from-pod', 'a']]), 'a bare name is in default');
  assert.ok(!ok([['from-pod', 'shop/b']]));
  assert.ok(ok([['to-pod', 'shop/b'], ['pod', 'default/a']]));
  assert.ok(ok([['to-service', 'shop/front'], ['node', 'node02'], ['verdict', 'forwarded'], ['protocol', 'tcp']]));
  assert.ok(!ok([['verdict', 'DROPPED']]));
  assert.ok(ok([['port', '8080']]), 'the port the client used counts');
  assert.ok(ok([['label', 'app=web']]));
  assert.ok(!ok([['label', 'app=web'], ['label', 'tier=x']]));
  assert.ok(ok([['since', '30s']]));
  assert.ok(!ok([['since', '5s']]));
  for (const [k, v] of [['nope', '1'], ['port', '0'], ['port', '70000'], ['verdict', 'LOST'], ['protocol', 'sctp'], ['label', 'novalue'], ['since', 'yesterday'], ['pod', 'A/B'], ['last', '-1'], ['follow', 'maybe']] as const) {
    assert.throws(() => parseFlowQuery([[k, v]], now), (e: unknown) => e instanceof FlowQueryError && e.field === k && e.code === 'NETSIM_ERR_FLOW_FILTER', `${k}=${v}`);
  }
});

test('flow filters (property): any query parses or fails with FlowQueryError, never anything else', () => {
  const key = fc.oneof(fc.constantFrom('from-pod', 'to-pod', 'pod', 'to-service', 'node', 'verdict', 'protocol', 'port', 'label', 'since', 'last', 'follow', 'hops'), fc.string());
  fc.assert(fc.property(fc.array(fc.tuple(key, fc.string())), (params) => {
    try {
      parseFlowQuery(params, 0);
    } catch (e) {
      assert.ok(e instanceof FlowQueryError, String(e));
    }
  }), { numRuns: 2000 });
});

test('flow stream: NDJSON backlog, a followed WebSocket stream of new flows, and a 400 Status for a bad filter', async () => {
  const { cluster, live } = await liveSeed();
  const close = registerFlowRoutes(cluster.control.app, live.hub);
  const base = await cluster.control.app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const client = podOn(cluster, 'default/webapp01');
    const svc = cluster.services.get('default/nginx-service')!;
    await fetchFrom(cluster, client.ns, svc.clusterIP, 80);
    const res = await fetch(`${base}${FLOWS_PATH}?last=500&to-service=default/nginx-service&protocol=TCP`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as Flow);
    assert.ok(lines.length >= 1);
    assert.ok(lines.every((f) => f.service === 'default/nginx-service' && f.protocol === 'TCP'));

    const bad = await fetch(`${base}${FLOWS_PATH}?colour=red`);
    assert.equal(bad.status, 400);
    const status = await bad.json() as { kind: string; code: number; details: { causes: Array<{ field: string }> } };
    assert.equal(status.kind, 'Status');
    assert.equal(status.details.causes[0]?.field, 'colour');

    // `netsim observe` prints the same flows, one compact line each, pod identity first.
    let printed = '';
    assert.equal(await observeCommand({ server: base, last: 500, toService: 'default/nginx-service', output: 'compact', colour: false }, (s) => { printed += s; }), 0);
    assert.equal(printed.trim().split('\n').length, lines.length);
    assert.match(printed, /^\w{3} +\d+ \d\d:\d\d:\d\d\.\d{3} \[node0\d\]: default\/webapp01:\d+ -> default\/nginx-deployment-[a-z0-9-]+:80 via service default\/nginx-service FORWARDED \(TCP Flags: SYN\) \[nat KUBE-SEP-/m);
    await assert.rejects(observeCommand({ server: base, verdict: 'LOST', output: 'compact', colour: false }, () => {}), (e: unknown) => e instanceof CliError && e.code === 'NETSIM_ERR_FILTER');

    const ws = new WebSocket(`${base.replace('http', 'ws')}${FLOWS_PATH}?follow=true&from-pod=default/webapp01`);
    const got: Flow[] = [];
    ws.on('message', (m) => got.push(JSON.parse(String(m)) as Flow));
    await new Promise((r) => ws.once('open', r));
    await fetchFrom(cluster, client.ns, svc.clusterIP, 80);
    for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(got.length > 0, 'the followed stream received the new flows');
    assert.ok(got.every((f) => f.source.name === 'webapp01'));
    ws.close();
  } finally {
    close();
    live.close();
    await cluster.close();
  }
});
