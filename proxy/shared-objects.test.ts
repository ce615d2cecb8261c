import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SharedProxyObjects } from './shared-objects.ts';
import { endpointSliceInfoFromApi, serviceInfoFromApi } from './service-port.ts';
import { scaleFixture } from './fixtures.ts';

test('kube-proxy\'s view of an API object is converted once for every node, and is what each node would convert', () => {
  const { services, slices } = scaleFixture(40, 2);
  const shared = new SharedProxyObjects();
  for (const s of services) {
    const a = shared.service(s);
    assert.equal(shared.service(s), a, 'one conversion per object');
    assert.deepEqual(a, serviceInfoFromApi(s));
  }
  for (const s of slices) {
    assert.equal(shared.slice(s), shared.slice(s));
    assert.deepEqual(shared.slice(s), endpointSliceInfoFromApi(s));
  }
  // A slice kube-proxy ignores (no service-name label) stays ignored, remembered as such.
  const unlabelled = { ...(slices[0] as (typeof slices)[number]), metadata: { name: 'x', namespace: 'scale' } };
  assert.equal(shared.slice(unlabelled), undefined);
  assert.equal(shared.slice(unlabelled), undefined);
});
