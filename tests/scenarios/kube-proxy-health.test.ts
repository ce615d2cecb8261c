/**
 * kube-proxy's health servers reached through the emulated datapath, in both proxy
 * modes: an outside host GETs node:10256/healthz (and /livez) and the
 * healthCheckNodePort of an externalTrafficPolicy Local LoadBalancer on each node —
 * the node with the Service's endpoint answers 200 with localEndpoints 1, the other
 * 503 with 0 — as a cloud load balancer's health checker sees them. A stopped
 * kube-proxy's ports refuse connections; a to-be-deleted node fails /healthz.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Cluster } from '../../cluster/cluster.ts';
import { parseClusterSpec } from '../../cluster/spec.ts';
import { SOLO_LOCAL_LB } from '../support/solo-local-lb.ts';
import { httpGet } from '../../netsim/apps/http.ts';
import type { HttpClientSession } from '../../netsim/apps/http.ts';
import { parseIpv4 } from '../../netsim/wire/addr.ts';
import type { Service } from '../../control/api/service.ts';
import type { Node } from '../../control/api/types.ts';

const EXAMPLE = new URL('../../examples/load-balancer-cluster.yaml', import.meta.url);


const NODES = { node01: '192.168.50.11', node02: '192.168.50.12' } as const;

for (const mode of ['iptables', 'ipvs'] as const) {
  test(`kube-proxy /healthz on :10256 and the health-check node port, from outside (${mode})`, async () => {
    const text = readFileSync(EXAMPLE, 'utf8').replace('  mode: ipvs\n', `  mode: ${mode}\n`);
    const cluster = await Cluster.build(parseClusterSpec(text, 'load-balancer-cluster.yaml'));
    try {
      await cluster.apply(SOLO_LOCAL_LB);
      await cluster.runFor(2e9);
      const client = cluster.external.get('client')!;
      const get = async (ip: string, port: number, path: string): Promise<HttpClientSession> => {
        const s = httpGet(client, parseIpv4(ip), port, { path });
        await cluster.runFor(1e9);
        return s;
      };
      for (const ip of Object.values(NODES)) {
        const s = await get(ip, 10256, '/healthz');
        const r = s.results[0];
        assert.equal(r?.status, 200, `${ip}:10256/healthz ${s.error ?? ''} ${s.errorDetail}`);
        assert.equal(r?.headers.get('content-type'), 'application/json');
        assert.equal(r?.headers.get('x-content-type-options'), 'nosniff');
        assert.match(r?.headers.get('date') ?? '', /^\w{3}, \d{2} \w{3} 2026 \d{2}:\d{2}:\d{2} GMT$/, 'dated by the cluster\'s wall clock');
        const body = JSON.parse(r?.body ?? '{}') as { lastUpdated: string; currentTime: string; nodeEligible: boolean; healthy: boolean; status: { IPv4: { healthy: boolean } } };
        assert.equal(body.healthy, true);
        assert.equal(body.nodeEligible, true);
        assert.equal(body.status.IPv4.healthy, true);
        assert.equal(body.lastUpdated, body.currentTime, 'healthy: lastUpdated is reported as now');
        assert.match(body.currentTime, /^2026-01-01T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
        assert.equal((await get(ip, 10256, '/livez')).results[0]?.status, 200);
        assert.equal((await get(ip, 10256, '/metrics')).results[0]?.status, 404, 'the healthz mux serves /healthz and /livez only');
      }

      const svc = (await cluster.control.api.list<Service>('services')).find((s) => s.metadata.name === 'solo-local');
      const hc = svc?.spec.healthCheckNodePort;
      assert.ok(hc !== undefined && hc >= 30000 && hc <= 32767, `allocated healthCheckNodePort ${hc}`);
      const check = async (ip: string) => {
        const r = (await get(ip, hc, '/')).results[0];
        return { status: r?.status, weight: r?.headers.get('x-load-balancing-endpoint-weight'), body: JSON.parse(r?.body ?? '{}') as unknown };
      };
      assert.deepEqual(await check(NODES.node02), { status: 200, weight: '1', body: { service: { namespace: 'default', name: 'solo-local' }, localEndpoints: 1, serviceProxyHealthy: true } });
      assert.deepEqual(await check(NODES.node01), { status: 503, weight: '0', body: { service: { namespace: 'default', name: 'solo-local' }, localEndpoints: 0, serviceProxyHealthy: true } });

      // The endpoint goes: node02 reports none.
      await cluster.control.api.delete('pods', 'default', 'solo');
      await cluster.runFor(3e9);
      assert.deepEqual(await check(NODES.node02), { status: 503, weight: '0', body: { service: { namespace: 'default', name: 'solo-local' }, localEndpoints: 0, serviceProxyHealthy: true } });

      // A node marked for deletion by the autoscaler fails /healthz (its /livez stays 200).
      const n1 = (await cluster.control.api.list<Node>('nodes')).find((n) => n.metadata.name === 'node01')!;
      await cluster.control.api.update('nodes', undefined, 'node01', { ...n1, spec: { ...n1.spec, taints: [{ key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' }] } });
      await cluster.reconcile();
      const tainted = (await get(NODES.node01, 10256, '/healthz')).results[0];
      assert.equal(tainted?.status, 503);
      assert.equal((JSON.parse(tainted?.body ?? '{}') as { nodeEligible: boolean }).nodeEligible, false);
      assert.equal((await get(NODES.node01, 10256, '/livez')).results[0]?.status, 200);

      // kube-proxy stopped: nothing listens on 10256 any more.
      cluster.clusterNodes.get('node02')!.kubeProxy.stop();
      const refused = await get(NODES.node02, 10256, '/healthz');
      assert.equal(refused.results.length, 0);
      assert.equal(refused.error, 'refused', `connection refused: ${refused.errorDetail}`);
    } finally {
      await cluster.close();
    }
  });
}
