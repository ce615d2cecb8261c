/**
 * A trace tells the truth about each hop (issue 15): every hop's `packet` is the
 * packet as that hook has it — the TTL after the forward decrement at FORWARD, the
 * DNATed destination at POSTROUTING, flanneld's outer UDP header for its own packet
 * at OUTPUT/POSTROUTING — checked against the bytes the hook saw. An ICMP error sent
 * back is the reply, labelled as one, also the host unreachable that comes ~3 s
 * after ARP gave up; a Service target without --proto uses its port's protocol.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../../cluster/cluster.ts';
import { demoSpec } from '../../cluster/demo-flows.ts';
import { resolveEndpoint } from '../../cluster/endpoint.ts';
import { runTrace } from '../../cluster/trace-runner.ts';
import { packetFields } from '../../netsim/trace/report.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';

let cluster: Cluster;
before(async () => {
  cluster = await Cluster.build(demoSpec());
});
after(async () => {
  await cluster.close();
});

const ep = (s: string) => resolveEndpoint(s, cluster);

test('each netfilter hop shows the packet as its hook had it: TTL after FORWARD\'s decrement, the DNATed destination, flanneld\'s outer header', () => {
  const backend = formatIpv4(cluster.pods.get('default/backend')!.ip);
  const run = runTrace(cluster, ep('pod:webapp01'), ep('service:default/backend:80'), { proto: 'tcp' });
  const node01 = run.report.hops.filter((h) => h.node === 'node01' && h.netns === 'node01');
  const nf = (hook: string) => node01.filter((h) => h.component === 'netfilter' && h.action === hook);
  // The hook's real state: the nf events carry the bytes the hook saw; the report must agree with them.
  const hookBytes = run.events.filter((e) => e.kind === 'nf' && e.node === 'node01' && e.netns === 'node01');
  assert.ok(hookBytes.length > 0 && hookBytes.every((e) => e.kind === 'nf' && e.data !== undefined));
  const fwd = nf('FORWARD');
  assert.ok(fwd.length > 0);
  for (const h of fwd) assert.equal(h.packet?.ttl, 63, `FORWARD sees the TTL after ip_forward's decrement (64 → 63): ${h.rule}`);
  const post = nf('POSTROUTING').filter((h) => h.packet?.proto === 'tcp');
  assert.ok(post.length > 0);
  for (const h of post) assert.equal(h.packet?.dst, backend, `POSTROUTING sees the DNATed destination, not the ClusterIP: ${h.rule}`);
  const pre = nf('PREROUTING')[0];
  assert.equal(pre?.packet?.dst, formatIpv4(cluster.services.get('default/backend')!.clusterIP), 'PREROUTING before DNAT sees the ClusterIP');
  const outer = [...nf('OUTPUT'), ...nf('POSTROUTING').filter((h) => h.packet?.proto === 'udp')];
  assert.ok(outer.length > 0, 'flanneld\'s own packet passes OUTPUT and POSTROUTING');
  for (const h of outer) assert.deepEqual([h.packet?.src, h.packet?.dst, h.packet?.proto, h.packet?.dport], ['192.168.50.11', '192.168.50.12', 'udp', 8285], `flanneld's packet is shown with its outer header: ${h.rule}`);
  // Every nf hop's packet is exactly what its event's bytes say.
  const events = run.events.filter((e) => e.pkt === run.request && e.kind === 'nf');
  const hops = run.report.hops.filter((h) => h.component === 'netfilter');
  assert.equal(hops.length, events.length);
  hops.forEach((h, i) => {
    const e = events[i]!;
    assert.deepEqual(h.packet, e.kind === 'nf' && e.data !== undefined ? packetFields(e.data, 'raw-ip') : undefined);
  });
});

test('an ICMP error is the reply, labelled: port unreachable from the pod; host unreachable after ARP gave up (~3 s)', () => {
  const backend = formatIpv4(cluster.pods.get('default/backend')!.ip);
  const closed = runTrace(cluster, ep('pod:webapp01'), ep('pod:backend'), { proto: 'udp', port: 53 });
  assert.equal(closed.report.verdict, 'rejected');
  assert.equal(closed.report.reply?.icmpError, `ICMP port unreachable from ${backend}`);
  const nobody = runTrace(cluster, ep('pod:webapp01'), ep(`ip:${backend.replace(/\.\d+$/, '.77')}`), { proto: 'icmp' });
  assert.equal(nobody.report.drop?.reason, 'neigh-failed');
  assert.match(nobody.report.reply?.icmpError ?? '', /^ICMP host unreachable from 10\.244\./);
  const t0 = nobody.report.hops[0]!.t;
  const t1 = nobody.report.reply!.hops.at(-1)!.t;
  assert.ok(t1 - t0 >= 3e9 && t1 - t0 < 4e9, `the error comes after ARP's 3 probes, inside the window (${(t1 - t0) / 1e9} s)`);
});

test('a Service target without --proto uses its port\'s protocol', () => {
  const run = runTrace(cluster, ep('pod:webapp01'), ep('service:default/nginx-service'), {});
  assert.equal(run.proto, 'tcp');
  assert.equal(run.report.verdict, 'delivered');
});
