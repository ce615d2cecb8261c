/**
 * What a cross-node pod → ClusterIP trace must show, in order (issue 7): the pod's
 * veth, DNAT in KUBE-SVC-…/KUBE-SEP-…, the route to flannel0, flanneld's
 * encapsulation, the underlay, decapsulation, docker0, delivery — and the reply
 * un-NATed by conntrack. And a VXLAN cluster's capture decoded by tshark with
 * `-d udp.port==8472,vxlan`, inner addresses as the trace says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../../cluster/cluster.ts';
import { demoSpec } from '../../cluster/demo-flows.ts';
import { resolveEndpoint } from '../../cluster/endpoint.ts';
import { runTrace } from '../../cluster/trace-runner.ts';
import { Capture } from '../../pcaps/capture.ts';
import type { Hop } from '../../netsim/trace/report.ts';

const hasTshark = spawnSync('tshark', ['--version']).status === 0;

/** Index of the first hop at or after `from` that satisfies `p`; fails the test when there is none. */
function next(hops: readonly Hop[], from: number, what: string, p: (h: Hop) => boolean): number {
  for (let i = from; i < hops.length; i++) if (p(hops[i] as Hop)) return i;
  assert.fail(`no ${what} after hop ${from}:\n${hops.slice(from).map((h) => `${h.node} ${h.netns} ${h.component} ${h.action} ${h.device ?? ''} ${h.rule ?? ''} ${h.detail}`).join('\n')}`);
}

test('cross-node pod → ClusterIP: veth, KUBE-SVC/KUBE-SEP DNAT, flannel0 route, encap, underlay, decap, docker0, delivery; reply un-NATed', async () => {
  const cluster = await Cluster.build(demoSpec());
  try {
    const from = resolveEndpoint('pod:webapp01', cluster);
    const to = resolveEndpoint('service:default/backend:80', cluster);
    const run = runTrace(cluster, from, to, { proto: 'tcp' });
    const backendIp = cluster.podIp('default/backend');
    const clusterIp = `${to.ip >>> 24}.${(to.ip >>> 16) & 255}.${(to.ip >>> 8) & 255}.${to.ip & 255}`;
    assert.equal(run.report.verdict, 'delivered');
    const h = run.report.hops;
    let i = next(h, 0, 'the pod veth on node01', (x) => x.node === 'node01' && x.netns === 'node01' && x.component === 'device' && x.action === 'rx' && /^veth/.test(x.device ?? '') && x.packet?.proto === 'tcp');
    assert.equal(h[i]?.packet?.dst, clusterIp, 'the packet leaves the pod for the ClusterIP');
    i = next(h, i, 'the jump to KUBE-SVC', (x) => x.component === 'netfilter' && /^nat KUBE-SERVICES:\d+$/.test(x.rule ?? '') && /KUBE-SVC-[A-Z2-7]{16}/.test(x.detail));
    i = next(h, i, 'DNAT in KUBE-SEP', (x) => x.component === 'netfilter' && /^nat KUBE-SEP-[A-Z2-7]{16}:2$/.test(x.rule ?? '') && /DNAT/.test(x.detail));
    i = next(h, i, 'the route to flannel0', (x) => x.node === 'node01' && x.component === 'route' && /dev flannel0/.test(x.detail));
    i = next(h, i, 'flanneld encapsulation', (x) => x.node === 'node01' && x.action === 'encap' && x.device === 'flannel0');
    i = next(h, i, 'the underlay', (x) => x.node === 'node01' && x.device === 'eth0' && x.action === 'tx' && x.packet?.dport === 8285);
    i = next(h, i, 'node02 receiving it', (x) => x.node === 'node02' && x.device === 'eth0' && x.action === 'rx');
    i = next(h, i, 'decapsulation', (x) => x.node === 'node02' && x.action === 'decap');
    i = next(h, i, 'docker0', (x) => x.node === 'node02' && x.device === 'docker0');
    i = next(h, i, 'delivery to the backend', (x) => x.netns === 'default/backend' && x.component === 'socket');
    assert.equal(h[i - 1]?.packet?.dst ?? backendIp, backendIp);
    const reply = run.report.reply;
    assert.ok(reply !== undefined && reply.verdict === 'delivered', 'a SYN-ACK came back');
    const unnat = reply.hops.findIndex((x) => x.node === 'node01' && x.component === 'nat' && /^source un-NAT: /.test(x.detail) && x.detail.includes(clusterIp));
    assert.ok(unnat >= 0, `conntrack un-NATs the reply on node01:\n${reply.hops.map((x) => `${x.node} ${x.component} ${x.action} ${x.detail}`).join('\n')}`);
    const atPod = reply.hops.filter((x) => x.netns === 'default/webapp01' && x.packet !== undefined).pop();
    assert.equal(atPod?.packet?.src, clusterIp, 'webapp01 sees the reply from the ClusterIP, not the pod');
  } finally {
    await cluster.close();
  }
});

test('a VXLAN cluster: tshark decodes flannel.1 traffic with -d udp.port==8472,vxlan; VNI 1, inner addresses as the trace says', { skip: hasTshark ? false : 'tshark not installed (.ci/run installs it)' }, async () => {
  const base = demoSpec();
  const spec = { ...base, network: { ...base.network, flannel: { ...base.network.flannel, backend: 'vxlan' as const, port: 8472 } } };
  const cluster = await Cluster.build(spec);
  const dir = mkdtempSync(join(tmpdir(), 'netsim-vxlan-'));
  try {
    const cap = new Capture(cluster.sim.tracer, { interfaces: (i) => i.netns === 'node01' && i.dev === 'eth0' });
    const run = runTrace(cluster, resolveEndpoint('pod:webapp01', cluster), resolveEndpoint('pod:backend', cluster), { proto: 'tcp', port: 80 });
    cap.stop();
    assert.equal(run.report.verdict, 'delivered');
    const file = join(dir, 'vxlan.pcapng');
    writeFileSync(file, cap.bytes());
    const r = spawnSync('tshark', ['-r', file, '-d', 'udp.port==8472,vxlan', '-Y', 'vxlan', '-T', 'fields', '-E', 'separator=|', '-e', 'udp.dstport', '-e', 'vxlan.vni', '-e', 'ip.src', '-e', 'ip.dst', '-e', '_ws.malformed'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => l.split('|'));
    assert.ok(rows.length >= 2, 'SYN out and SYN-ACK back in VXLAN');
    const w = cluster.podIp('default/webapp01');
    const b = cluster.podIp('default/backend');
    for (const row of rows) {
      assert.equal(row[0], '8472');
      assert.equal(row[1], '1', 'VNI 1');
      assert.ok(row[2] === `192.168.50.11,${w}` || row[2] === `192.168.50.12,${b}`, `outer,inner source ${row[2]}`);
      assert.equal(row[4], '', 'not malformed');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await cluster.close();
  }
});
