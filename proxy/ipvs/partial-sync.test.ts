/**
 * The IPVS proxier's partial sync (proxier.ts partialSync) against the full one, as a
 * property: two nodes fed the same random changes — the fixtures' Services and slices
 * added, deleted and varied (another port, an external IP another Service has, a
 * Service claiming another's ClusterIP, Local policies, affinity timeouts), several per
 * sync — one reconciling only the changed service ports and one every port, hold after
 * every sync the same `ipvsadm -Ln`, `ipset save`, `iptables-save` and kube-ipvs0
 * addresses, in the same order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import type { EndpointSlice, Service } from '../../control/api/service.ts';
import { DUMMY_DEVICE } from './proxier.ts';
import type { IpvsProxier } from './proxier.ts';
import { ipvsFixtureNode } from './fixture-node.ts';
import { endpointSliceInfoFromApi, serviceInfoFromApi } from '../service-port.ts';
import type { ServiceInfo } from '../service-port.ts';
import { services, slices } from '../fixtures.ts';

function node(partial: boolean) {
  const { ns, ipvs, sets, ipt, p } = ipvsFixtureNode();
  p.partialSyncs = partial;
  const state = (): string => [ipvs.list(), sets.save(), ipt.save(), ns.addressesOf(DUMMY_DEVICE).map((a) => formatIpv4(a.addr)).join(' ')].join('\n----\n');
  return { p, state };
}

/** Variants of a Service: as in the fixtures, or changed in one way the partial sync must follow. */
function variant(s: Service, v: number): Service {
  const spec = s.spec;
  switch (v) {
    case 1: return { ...s, spec: { ...spec, ports: [...(spec.ports ?? []), { name: 'alt', port: 8443, targetPort: 8080 }] } };
    case 2: return { ...s, spec: { ...spec, externalIPs: ['192.168.99.4'] } };
    case 3: return { ...s, spec: { ...spec, externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Local' } };
    case 4: return { ...s, spec: { ...spec, sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } } };
    // Another Service's ClusterIP: two ports want one virtual server.
    case 5: return { ...s, spec: { ...spec, clusterIP: '10.96.10.1' } };
    // A NodePort on another Service's port number.
    case 6: return { ...s, spec: { ...spec, type: 'NodePort', ports: (spec.ports ?? []).map((p) => ({ ...p, nodePort: 30003 })) } };
    default: return s;
  }
}

type Step = { kind: 'svc'; i: number; v: number; del: boolean } | { kind: 'slice'; i: number; del: boolean; unready: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('svc' as const), i: fc.nat(services.length - 1), v: fc.nat(6), del: fc.boolean() }),
  fc.record({ kind: fc.constant('slice' as const), i: fc.nat(slices.length - 1), del: fc.boolean(), unready: fc.boolean() }),
);

function sliceVariant(s: EndpointSlice, unready: boolean): EndpointSlice {
  return unready ? { ...s, endpoints: s.endpoints.map((e, k) => (k === 0 ? { ...e, conditions: { ...e.conditions, ready: false } } : e)) } : s;
}

test('IPVS partial syncs leave the node as full syncs do (random Service and slice changes, several per sync)', () => {
  let partials = 0;
  fc.assert(fc.property(fc.array(fc.array(step, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 8 }), (batches) => {
    const a = node(true);
    const b = node(false);
    const held = new Map<string, ServiceInfo>();
    const feed = (f: (p: IpvsProxier) => void): void => {
      f(a.p);
      f(b.p);
    };
    for (const s of services) {
      const info = serviceInfoFromApi(s);
      if (info === undefined) continue;
      held.set(s.metadata.name, info);
      feed((p) => p.onServiceUpdate(undefined, info));
    }
    for (const s of slices) feed((p) => p.onEndpointSliceUpdate(endpointSliceInfoFromApi(s)!, false));
    feed((p) => p.sync());
    assert.equal(a.state(), b.state());
    for (const batch of batches) {
      for (const st of batch) {
        if (st.kind === 'svc') {
          const s = services[st.i] as Service;
          const prev = held.get(s.metadata.name);
          const next = st.del ? undefined : serviceInfoFromApi(variant(s, st.v));
          if (next === undefined) held.delete(s.metadata.name);
          else held.set(s.metadata.name, next);
          feed((p) => p.onServiceUpdate(prev, next));
        } else {
          const info = endpointSliceInfoFromApi(sliceVariant(slices[st.i] as EndpointSlice, st.unready));
          if (info !== undefined) feed((p) => p.onEndpointSliceUpdate(info, st.del));
        }
      }
      const ra = a.p.sync();
      b.p.sync();
      if (!ra.full) partials++;
      assert.equal(a.state(), b.state());
    }
  }), { numRuns: 150, seed: 23 });
  // Not vacuous: the partial path ran (and, with ClusterIPs claimed twice, the full one stood in).
  assert.ok(partials > 100, `partial syncs: ${partials}`);
});
