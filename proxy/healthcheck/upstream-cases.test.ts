/**
 * Upstream kube-proxy's health server tests (pkg/proxy/healthcheck/healthcheck_test.go)
 * as data (tests/upstream/kube-proxy/healthcheck.yaml): the per-Service health check
 * servers' answers and listening addresses through SyncServices/SyncEndpoints, the
 * proxy's /healthz and /livez through Updated/QueuedUpdate on a stepped clock and node
 * syncs, and the local ready endpoint counts the proxier hands SyncEndpoints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyHealthServer } from './proxy-health.ts';
import { ServiceHealthServer } from './service-health.ts';
import { nodePortDestinations } from '../iptables/rules.ts';
import { EndpointsChangeTracker, EndpointsMap } from '../change-tracker.ts';
import { endpointSliceInfoFromApi } from '../service-port.ts';
import type { Node } from '../../control/api/types.ts';
import { loadUpstreamDoc, toSlice } from '../../tests/support/upstream-objects.ts';
import type { SliceSpec } from '../../tests/support/upstream-objects.ts';

interface HandlerExpectation { readonly service: string; readonly status: number; readonly localEndpoints: number; readonly serviceProxyHealthy?: boolean }
interface ServiceStep {
  readonly syncServices?: Readonly<Record<string, number>> | null;
  readonly syncEndpoints?: Readonly<Record<string, number>> | null;
  readonly proxyHealthy?: boolean;
  readonly expectServices?: number;
  readonly expectListening?: readonly string[];
  readonly expectHandlers?: readonly HandlerExpectation[];
}
interface ServiceCase { readonly name: string; readonly nodePortAddresses: readonly string[]; readonly steps: readonly ServiceStep[] }
interface ProxyStep { readonly name: string; readonly updated?: boolean; readonly queued?: boolean; readonly step?: number; readonly node?: { taints?: string[]; deleted?: boolean }; readonly expect: number }
interface ProxyCase { readonly name: string; readonly url: string; readonly steps: readonly ProxyStep[] }
interface LocalReadyCase { readonly name: string; readonly endpointSlices: readonly SliceSpec[]; readonly expect?: Readonly<Record<string, number>>; readonly expectServices?: number }

const file = loadUpstreamDoc<{ serviceCases: ServiceCase[]; proxyCases: ProxyCase[]; localReadyCases: LocalReadyCase[] }>('healthcheck.yaml');

/** The test machine's addresses upstream's RealNetwork would list for --nodeport-addresses (loopback included). */
const HOST_IPS = ['127.0.0.1', '192.168.0.2'];

for (const c of file.serviceCases) {
  test(`healthcheck.yaml: ${c.name}`, () => {
    const listening = new Set<string>();
    let proxyHealthy = true;
    const np = nodePortDestinations({ nodePortAddresses: c.nodePortAddresses, nodeIPs: HOST_IPS });
    const hcs = new ServiceHealthServer((address, port) => {
      const a = `${address}:${port}`;
      listening.add(a);
      return { close: () => listening.delete(a) };
    }, np.matchAll ? ['0.0.0.0'] : np.ips, () => proxyHealthy);
    c.steps.forEach((s, i) => {
      const where = `${c.name} step ${i + 1}`;
      if (s.syncServices !== undefined) hcs.syncServices(new Map(Object.entries(s.syncServices ?? {})));
      if (s.syncEndpoints !== undefined) hcs.syncEndpoints(new Map(Object.entries(s.syncEndpoints ?? {})));
      if (s.proxyHealthy !== undefined) proxyHealthy = s.proxyHealthy;
      if (s.expectServices !== undefined) assert.equal(hcs.list().length, s.expectServices, `${where}: services`);
      if (s.expectListening !== undefined) assert.deepEqual([...listening].sort(), [...s.expectListening].sort(), `${where}: listening`);
      for (const h of s.expectHandlers ?? []) {
        const r = hcs.reply(h.service);
        assert.equal(r.status, h.status, `${where}: ${h.service} status`);
        const body = JSON.parse(r.body) as { service: { namespace: string; name: string }; localEndpoints: number; serviceProxyHealthy: boolean };
        const [namespace, name] = h.service.split('/');
        assert.deepEqual(body, { service: { namespace, name }, localEndpoints: h.localEndpoints, serviceProxyHealthy: h.serviceProxyHealthy ?? true }, `${where}: ${h.service} payload`);
        assert.deepEqual(r.headers, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff', 'X-Load-Balancing-Endpoint-Weight': String(h.localEndpoints) }, `${where}: ${h.service} headers`);
      }
    });
  });
}

for (const c of file.proxyCases) {
  test(`healthcheck.yaml: ${c.name}`, () => {
    let now = 0;
    const hs = new ProxyHealthServer(10e9, (v) => 1_767_225_600_000_000_000n + BigInt(v));
    for (const s of c.steps) {
      if (s.updated === true) hs.updated(now);
      if (s.queued === true) hs.queuedUpdate(now);
      now += (s.step ?? 0) * 1e9;
      if (s.node !== undefined) {
        const node: Node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n', ...(s.node.deleted === true ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) }, spec: { taints: (s.node.taints ?? []).map((key) => ({ key, effect: 'NoSchedule' })) } };
        hs.syncNode(node);
      }
      const r = hs.route(now, c.url);
      assert.equal(r.status, s.expect, `${c.name}: ${s.name}`);
      assert.deepEqual(r.headers, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' });
      const body = JSON.parse(r.body) as Record<string, unknown>;
      assert.equal(typeof body.lastUpdated, 'string');
      assert.equal(typeof body.currentTime, 'string');
    }
  });
}

for (const c of file.localReadyCases) {
  test(`healthcheck.yaml: ${c.name}`, () => {
    const tracker = new EndpointsChangeTracker('test-node');
    for (const s of c.endpointSlices) {
      const info = endpointSliceInfoFromApi(toSlice(s));
      assert.ok(info !== undefined);
      tracker.endpointSliceUpdate(info, false);
    }
    const m = new EndpointsMap();
    m.update(tracker);
    const got = m.localReadyEndpoints();
    if (c.expect !== undefined) assert.deepEqual(Object.fromEntries(got), c.expect);
    if (c.expectServices !== undefined) assert.equal(got.size, c.expectServices);
  });
}
