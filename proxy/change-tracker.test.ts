import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointsChangeTracker, EndpointsMap, ServiceChangeTracker, ServicePortMap, servicePortKey } from './change-tracker.ts';
import { staleConntrackDeletions } from './conntrack-cleanup.ts';
import { endpointSliceInfoFromApi, serviceInfoFromApi, servicePortNameString } from './service-port.ts';
import { slice } from './fixtures.ts';
import type { Service } from '../control/api/service.ts';

const dns: Service = { metadata: { name: 'dns', namespace: 'kube-system' }, spec: { type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }] } };

test('ServicePortName strings, headless/ExternalName skipped, pending changes dropped when back to the start', () => {
  assert.equal(servicePortNameString({ namespace: 'ns', name: 's', port: '' }), 'ns/s');
  assert.equal(servicePortNameString({ namespace: 'ns', name: 's', port: 'p' }), 'ns/s:p');
  assert.deepEqual(serviceInfoFromApi({ metadata: { name: 'h', namespace: 'ns' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } }).ports, []);
  assert.deepEqual(serviceInfoFromApi({ metadata: { name: 'x', namespace: 'ns' }, spec: { type: 'ExternalName', externalName: 'a.b' } }).ports, []);
  const t = new ServiceChangeTracker();
  const a = serviceInfoFromApi(dns);
  assert.equal(t.update(undefined, a), true);
  assert.equal(t.update(a, undefined), false, 'add then delete: nothing pending');
  const m = new ServicePortMap();
  t.update(undefined, a);
  const r = m.update(t);
  assert.deepEqual([...r.updatedServices], ['kube-system/dns']);
  assert.ok(m.has(servicePortKey('kube-system/dns:dns', 'udp')));
  t.update(a, undefined);
  assert.deepEqual([...m.update(t).deletedUDPClusterIPs], ['10.96.0.10']);
});

test('endpoints: first serving UDP endpoint makes the service newly active; a removed one is stale; conntrack deletions follow upstream', () => {
  const svcs = new ServicePortMap();
  const st = new ServiceChangeTracker();
  st.update(undefined, serviceInfoFromApi(dns));
  svcs.update(st);
  const et = new EndpointsChangeTracker('n1');
  const m = new EndpointsMap();
  const s1 = endpointSliceInfoFromApi(slice('kube-system', 'dns', [{ name: 'dns', port: 53, protocol: 'UDP' }], [{ ip: '10.244.1.5', node: 'n1' }, { ip: '10.244.2.5' }]))!;
  assert.equal(et.endpointSliceUpdate(s1, false), true);
  const r1 = m.update(et);
  assert.deepEqual(r1.newlyActiveUDPServices, [servicePortKey('kube-system/dns:dns', 'udp')]);
  assert.equal(m.get(servicePortKey('kube-system/dns:dns', 'udp'))?.[0]?.isLocal, true);
  assert.deepEqual(staleConntrackDeletions(svcs, { updatedServices: new Set(), deletedUDPClusterIPs: new Set(), previousPorts: new Map() }, r1).map((d) => d.filter), [
    { proto: 'udp', origDst: '10.96.0.10' }, { proto: 'udp', origDport: 30053 },
  ]);
  assert.equal(et.endpointSliceUpdate(s1, false), false, 'same slice again: no change');
  const s2 = endpointSliceInfoFromApi(slice('kube-system', 'dns', [{ name: 'dns', port: 53, protocol: 'UDP' }], [{ ip: '10.244.1.5', node: 'n1' }]))!;
  et.endpointSliceUpdate(s2, false);
  const r2 = m.update(et);
  assert.deepEqual(r2.deletedUDPEndpoints.map((e) => e.endpoint.key), ['10.244.2.5:53']);
  assert.deepEqual(staleConntrackDeletions(svcs, { updatedServices: new Set(), deletedUDPClusterIPs: new Set(), previousPorts: new Map() }, r2).map((d) => [d.reason, d.filter]), [
    ['ClearEntriesForPortNAT', { proto: 'udp', origDport: 30053, replySrc: '10.244.2.5' }],
    ['ClearEntriesForNAT', { proto: 'udp', origDst: '10.96.0.10', replySrc: '10.244.2.5' }],
  ]);
});
