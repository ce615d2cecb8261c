/**
 * The health servers as kube-proxy drives them: a change queues an update, a
 * successful sync clears it, and a proxier whose syncs keep failing turns /healthz
 * 503 once the oldest queued change is 2 × syncPeriod old; the health-check servers
 * follow the service map (opened, moved, closed) and report local ready endpoints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler, SECOND } from '../../netsim/time/scheduler.ts';
import { KubeProxy } from '../kube-proxy.ts';
import type { KubeProxyNode } from '../kube-proxy.ts';
import type { HttpRoute } from './http-reply.ts';
import type { Service } from '../../control/api/service.ts';
import { slice } from '../fixtures.ts';

test('kube-proxy health: queued changes, failing syncs and the health-check servers', () => {
  const clock = new Scheduler();
  let failing = false;
  const servers = new Map<string, HttpRoute>();
  const node: KubeProxyNode = {
    iptables: { restore: () => { if (failing) throw new Error('iptables-restore: line 1 failed'); }, ensureNfacct: () => true },
    serveHttp: (address, port, route) => {
      const k = `${address}:${port}`;
      assert.ok(!servers.has(k), `${k} opened twice`);
      servers.set(k, route);
      return { close: () => servers.delete(k) };
    },
  };
  const kp = new KubeProxy(clock, node, { mode: 'iptables', nodeName: 'node01', syncPeriodMs: 30_000, epochMs: Date.UTC(2026, 0, 1) });
  kp.start();
  assert.deepEqual([...servers.keys()], ['0.0.0.0:10256']);
  const healthz = () => servers.get('0.0.0.0:10256')!('GET', '/healthz');
  assert.equal(healthz().status, 200, 'healthy while starting up');
  assert.match(healthz().body, /^\{"lastUpdated":"2026-01-01T00:00:00Z","currentTime":"2026-01-01T00:00:00Z","nodeEligible":true,"healthy":true\}$/);
  kp.onServicesSynced();
  kp.onEndpointSlicesSynced();
  assert.match(healthz().body, /"status":\{"IPv4":\{"lastUpdated":"2026-01-01T00:00:00Z","healthy":true\}\}\}$/);

  const lb: Service = { metadata: { name: 'lb', namespace: 'shop' }, spec: { type: 'LoadBalancer', clusterIP: '10.96.0.50', externalTrafficPolicy: 'Local', healthCheckNodePort: 32100, ports: [{ port: 80, nodePort: 30100 }] } };
  clock.runFor(5 * SECOND);
  kp.onServiceAdd(lb);
  kp.onEndpointSliceAdd(slice('shop', 'lb', [{ port: 80 }], [{ ip: '10.244.1.5', node: 'node01' }, { ip: '10.244.1.6', node: 'node01' }, { ip: '10.244.2.5', node: 'node02' }]));
  clock.runFor(2 * SECOND);
  const hc = () => servers.get('0.0.0.0:32100')!('GET', '/');
  assert.equal(hc().status, 200);
  assert.equal(hc().headers['X-Load-Balancing-Endpoint-Weight'], '2', 'two local ready endpoints');

  // The node refuses every restore from now on: the next change stays queued.
  failing = true;
  clock.runFor(10 * SECOND);
  const queuedAt = clock.now();
  kp.onEndpointSliceUpdate(slice('shop', 'lb', [{ port: 80 }], []), slice('shop', 'lb', [{ port: 80 }], [{ ip: '10.244.1.5', node: 'node01' }]));
  clock.runFor(59 * SECOND);
  assert.ok(kp.errors.length > 0, 'syncs failed');
  assert.equal(healthz().status, 200, 'queued for 59 s: not late yet (timeout 2 × 30 s)');
  clock.run(queuedAt + 60 * SECOND);
  assert.equal(healthz().status, 503, 'queued for 60 s: unhealthy');
  assert.match(healthz().body, /"healthy":false,"status":\{"IPv4":\{"lastUpdated":"2026-01-01T00:00:06Z","healthy":false\}\}\}$/);
  assert.equal(hc().status, 503, 'an unhealthy kube-proxy fails its health checks too');
  assert.match(hc().body, /"localEndpoints": 2,\n\t"serviceProxyHealthy": false\n\}$/, 'still the count of the last good sync');

  // Restores work again: the periodic sync catches up.
  failing = false;
  clock.runFor(31 * SECOND);
  assert.equal(healthz().status, 200);
  assert.equal(hc().headers['X-Load-Balancing-Endpoint-Weight'], '1');

  // The port moves, then the Service goes: the servers follow.
  kp.onServiceUpdate(lb, { ...lb, spec: { ...lb.spec, healthCheckNodePort: 32101 } });
  clock.runFor(2 * SECOND);
  assert.deepEqual([...servers.keys()].sort(), ['0.0.0.0:10256', '0.0.0.0:32101']);
  kp.onServiceDelete(lb);
  clock.runFor(2 * SECOND);
  assert.deepEqual([...servers.keys()], ['0.0.0.0:10256']);
  kp.stop();
  assert.equal(servers.size, 0, 'a stopped kube-proxy listens nowhere');
});
