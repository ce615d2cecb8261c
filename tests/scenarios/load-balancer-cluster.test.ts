/**
 * LoadBalancer Services on a spec-built cluster (examples/load-balancer-cluster.yaml,
 * in both proxy modes): `network.loadBalancerPool` turns on the emulated
 * load-balancer controller; the nodes announce each ingress IP to the outside
 * router as a /32 (next hop: the lowest-addressed announcing node; for
 * `externalTrafficPolicy: Local` only nodes with a ready endpoint announce); an
 * outside client reaches the Service through KUBE-FW-/KUBE-EXT- (iptables) or the
 * IPVS virtual server, and `loadBalancerSourceRanges` drops a client outside them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { Cluster } from '../../cluster/cluster.ts';
import { parseClusterSpec } from '../../cluster/spec.ts';
import { SOLO_LOCAL_LB } from '../support/solo-local-lb.ts';
import type { ProxyMode } from '../../cluster/spec.ts';
import { runTrace } from '../../cluster/trace-runner.ts';
import { resolveEndpoint } from '../../cluster/endpoint.ts';
import { parseIpv4 } from '../../netsim/wire/addr.ts';
import type { Service } from '../../control/api/service.ts';
import { fetchFrom } from '../support/spec-cluster.ts';

const EXAMPLE = new URL('../../examples/load-balancer-cluster.yaml', import.meta.url);

function spec(mode: ProxyMode) {
  const text = readFileSync(EXAMPLE, 'utf8');
  assert.ok(text.includes('  mode: ipvs\n'));
  return parseClusterSpec(text.replace('  mode: ipvs\n', `  mode: ${mode}\n`), 'load-balancer-cluster.yaml');
}


for (const mode of ['iptables', 'ipvs'] as const) {
  test(`LoadBalancer from the spec's pool, announced to the router, served by kube-proxy (${mode})`, async () => {
    const cluster = await Cluster.build(spec(mode));
    try {
      await cluster.apply(SOLO_LOCAL_LB);
      const svcs = new Map((await cluster.control.api.list<Service>('services')).map((s) => [s.metadata.name, s]));
      const lbIp = (name: string): string | undefined => svcs.get(name)?.status?.loadBalancer?.ingress?.[0]?.ip;
      // Lowest free pool addresses, in creation order.
      assert.equal(lbIp('web'), '198.51.100.0');
      assert.equal(lbIp('web-partners'), '198.51.100.1');
      assert.equal(lbIp('solo-local'), '198.51.100.2');
      // Cluster policy: both nodes announce, the router keeps node01 (lowest router ID); Local: only node02 has an endpoint.
      const routes = cluster.loadBalancerRoutes!.routes;
      assert.deepEqual(routes.get('198.51.100.0'), { ip: '198.51.100.0', node: 'node01', via: '192.168.50.11', announcers: ['node01', 'node02'] });
      assert.deepEqual(routes.get('198.51.100.2'), { ip: '198.51.100.2', node: 'node02', via: '192.168.50.12', announcers: ['node02'] });
      const router = cluster.underlay.router!;
      assert.match(router.routeGet(parseIpv4('198.51.100.0')), /^198\.51\.100\.0 via 192\.168\.50\.11 dev eth0 /);
      assert.match(router.routeGet(parseIpv4('198.51.100.2')), /^198\.51\.100\.2 via 192\.168\.50\.12 dev eth0 /);

      const web = [...cluster.pods.keys()].filter((k) => k.startsWith('default/web-')).map((k) => k.slice(8));
      assert.equal(web.length, 2);
      const client = cluster.external.get('client')!;
      const trace = (from: string, to: string) => runTrace(cluster, resolveEndpoint(from, cluster), resolveEndpoint(`ip:${to}`, cluster), { proto: 'tcp', port: 80 }).report;
      const rules = (r: ReturnType<typeof trace>): string[] => r.hops.filter((h) => h.rule !== undefined).map((h) => h.rule as string);
      const ipvs = (r: ReturnType<typeof trace>): string[] => r.hops.filter((h) => h.component === 'nat' && h.detail.startsWith('IPVS ')).map((h) => h.detail);

      // No source ranges: delivered, answered.
      let r = trace('external:client', '198.51.100.0');
      assert.equal(r.verdict, 'delivered');
      assert.equal(r.reply?.verdict, 'delivered');
      assert.ok(web.includes(await fetchFrom(cluster, client, parseIpv4('198.51.100.0'), 80)), 'an outside GET answered by a web pod');
      if (mode === 'iptables') {
        const ext = rules(r).find((x) => /^nat KUBE-SERVICES:\d+$/.test(x) && r.hops.some((h) => h.rule === x && /KUBE-EXT-/.test(h.detail)));
        assert.ok(ext !== undefined, `KUBE-SERVICES jumps to KUBE-EXT- for the LB IP: ${rules(r).join(', ')}`);
        assert.ok(rules(r).some((x) => /^nat KUBE-EXT-\w{16}:\d+$/.test(x)));
        assert.ok(rules(r).some((x) => /^nat KUBE-SEP-\w{16}:\d+$/.test(x)), 'DNAT to an endpoint');
        assert.equal(ipvs(r).length, 0);
      } else {
        // Rule 1 dismisses localhost (-s 127.0.0.0/8 -j RETURN); the LB set's jump is rule 2.
        assert.ok(rules(r).includes('nat KUBE-SERVICES:2') && r.hops.some((h) => h.rule === 'nat KUBE-SERVICES:2' && /KUBE-LOAD-BALANCER/.test(h.detail)));
        assert.match(ipvs(r)[0] ?? '', /^IPVS TCP 198\.51\.100\.0:80 rr \(new connection\) → real server 10\.244\.\d+\.\d+:80/);
        assert.ok(!rules(r).some((x) => /KUBE-(SVC|SEP|EXT)-/.test(x)));
        assert.match(cluster.nodeView('node01', 'ipvsadm') ?? '', /^TCP {2}198\.51\.100\.0:80 rr$/m);
      }

      // Source ranges: partner (203.0.113.130, in 203.0.113.128/25) passes, client is dropped on the node.
      r = trace('external:partner', '198.51.100.1');
      assert.equal(r.verdict, 'delivered');
      if (mode === 'iptables') {
        const fw = rules(r).filter((x) => /^nat KUBE-FW-\w{16}:1$/.test(x));
        assert.equal(fw.length, 1, `through KUBE-FW-: ${rules(r).join(', ')}`);
        assert.ok(rules(r).some((x) => /^nat KUBE-EXT-\w{16}:\d+$/.test(x)));
      } else {
        assert.ok(rules(r).includes('filter KUBE-SOURCE-RANGES-FIREWALL:1'), 'the source-CIDR set lets it RETURN');
        assert.match(ipvs(r)[0] ?? '', /^IPVS TCP 198\.51\.100\.1:80 /);
      }
      r = trace('external:client', '198.51.100.1');
      assert.equal(r.verdict, 'dropped');
      assert.equal(r.drop?.node, 'node01');
      assert.equal(r.drop?.reason, 'nf-drop');
      assert.match(r.drop?.detail ?? '', mode === 'iptables' ? /^filter KUBE-PROXY-FIREWALL:\d+ DROP$/ : /^filter KUBE-SOURCE-RANGES-FIREWALL:\d+ DROP$/);
      assert.match(await fetchFrom(cluster, client, parseIpv4('198.51.100.1'), 80), /^failed/);

      // Local policy: served by node02; the route follows the endpoint and is withdrawn with it.
      assert.equal(await fetchFrom(cluster, client, parseIpv4('198.51.100.2'), 80), 'solo');
      await cluster.control.api.delete('pods', 'default', 'solo');
      await cluster.runFor(2e9);
      assert.equal(cluster.loadBalancerRoutes!.routes.has('198.51.100.2'), false, 'no ready endpoint, no announcement');
      assert.doesNotMatch(router.routeGet(parseIpv4('198.51.100.2')), /via 192\.168\.50\.1[12]/);
      assert.equal(cluster.loadBalancerRoutes!.routes.get('198.51.100.0')?.node, 'node01', 'the other routes stay');
    } finally {
      await cluster.close();
    }
  });
}

test('without loadBalancerPool a LoadBalancer Service stays pending and nothing is announced', async () => {
  const text = readFileSync(EXAMPLE, 'utf8').replace('  loadBalancerPool: 198.51.100.0/28\n', '');
  const cluster = await Cluster.build(parseClusterSpec(text, 'no-pool.yaml'));
  try {
    assert.equal(cluster.loadBalancerRoutes, undefined);
    const web = (await cluster.control.api.list<Service>('services')).find((s) => s.metadata.name === 'web');
    assert.deepEqual(web?.status?.loadBalancer?.ingress ?? [], []);
  } finally {
    await cluster.close();
  }
});

test('netsim trace from an outside host to a LoadBalancer IP (CLI, the example spec)', () => {
  const run = (from: string, ip: string) => spawnSync(process.execPath, ['bin/netsim.mjs', 'trace', '--spec', 'examples/load-balancer-cluster.yaml', '--from', from, '--to', `ip:${ip}`, '--proto', 'tcp', '--port', '80', '-o', 'json'], { encoding: 'utf8', timeout: 60_000 });
  const ok = run('external:client', '198.51.100.0');
  assert.equal(ok.status, 0, ok.stderr);
  const j = JSON.parse(ok.stdout) as { verdict: string; hops: Array<{ node: string; component: string; detail: string }>; reply: { verdict: string } };
  assert.equal(j.verdict, 'delivered');
  assert.equal(j.reply.verdict, 'delivered');
  assert.ok(j.hops.some((h) => h.node === 'node01' && h.component === 'nat' && h.detail.startsWith('IPVS TCP 198.51.100.0:80')));
  const bad = run('external:client', '198.51.100.1');
  assert.equal(bad.status, 1);
  assert.equal((JSON.parse(bad.stdout) as { verdict: string }).verdict, 'dropped');
});
