/**
 * Restore texts served by key (rule-fragments.ts) are the texts the proxier would
 * build: random proxier options, nodes and Service changes, with one set of shared
 * fragments and texts for every node and with none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { services, slices, NODE, NODE_IP, CLUSTER_CIDR } from '../fixtures.ts';
import { endpointSliceInfoFromApi, serviceInfoFromApi } from '../service-port.ts';
import type { EndpointSliceInfo, ServiceInfo } from '../service-port.ts';
import { IptablesProxier } from './proxier.ts';
import type { IptablesProxierOptions } from './proxier.ts';
import { RecordingIptablesBackend } from './netsim-backend.ts';
import { RuleFragments } from './rule-fragments.ts';

// One conversion per API object for every node, as the cluster's shared informer objects are.
const SVCS: readonly ServiceInfo[] = services.map((s) => serviceInfoFromApi(s));
const SLICES: readonly EndpointSliceInfo[] = slices.map((s) => endpointSliceInfoFromApi(s)).filter((s): s is EndpointSliceInfo => s !== undefined);

/** Options a node's kube-proxy may run with (each changes some lines outside the per-Service ones, or inside them). */
const VARIANTS: readonly IptablesProxierOptions[] = [
  { nodeName: NODE, nodeIP: NODE_IP, clusterCIDR: CLUSTER_CIDR },
  { nodeName: 'node02', nodeIP: '192.168.50.12', clusterCIDR: CLUSTER_CIDR },
  { nodeName: 'node07', nodeIP: '192.168.50.17', clusterCIDR: CLUSTER_CIDR },
  { nodeName: 'node08', nodeIP: '203.0.113.200', clusterCIDR: CLUSTER_CIDR },
  { nodeName: 'node07', nodeIP: '192.168.50.17', masqueradeAll: true, localhostNodePorts: false, randomFully: false },
  { nodeName: 'node08', nodeIP: '192.168.50.18', clusterCIDR: CLUSTER_CIDR, nodePortAddresses: ['192.168.50.0/24'], nodeIPs: ['127.0.0.1', '192.168.50.18'] },
  { nodeName: 'node07', nodeIP: '192.168.50.17', clusterCIDR: CLUSTER_CIDR, nodePortAddresses: ['192.168.50.0/24'], nodeIPs: ['127.0.0.1', '192.168.50.17'] },
  { nodeName: 'node08', nodeIP: '192.168.50.18', clusterCIDR: CLUSTER_CIDR, conntrackTCPLiberal: true },
  { nodeName: 'node07', nodeIP: '192.168.50.17', clusterCIDR: CLUSTER_CIDR, nfacctCounters: ['ct_state_invalid_dropped_pkts'] },
  { nodeName: 'node08', nodeIP: '192.168.50.18', clusterCIDR: CLUSTER_CIDR, largeClusterThreshold: 3 },
  { nodeName: 'node07', nodeIP: '192.168.50.17', clusterCIDR: CLUSTER_CIDR, masqueradeBit: 5 },
  { nodeName: 'node08', nodeIP: '192.168.50.18', clusterCIDR: CLUSTER_CIDR, randomFully: false },
];

/** One step of a run: every node syncs after a Service or slice comes or goes (or nothing changes). */
const step = fc.record({ kind: fc.constantFrom('svc', 'slice', 'none'), index: fc.nat(40), remove: fc.boolean() });

test('rule fragments: texts served by key equal the texts built afresh, for random nodes, options and changes', () => {
  fc.assert(fc.property(fc.array(fc.nat(VARIANTS.length - 1), { minLength: 2, maxLength: 6 }), fc.array(step, { maxLength: 8 }), (nodes, steps) => {
    const fragments = new RuleFragments();
    const shared = nodes.map((v) => new IptablesProxier(new RecordingIptablesBackend(), VARIANTS[v] as IptablesProxierOptions, { fragments }));
    const alone = nodes.map((v) => new IptablesProxier(new RecordingIptablesBackend(), VARIANTS[v] as IptablesProxierOptions));
    const all = [...shared, ...alone];
    for (const p of all) {
      for (const s of SVCS) p.onServiceUpdate(undefined, s);
      for (const s of SLICES) p.onEndpointSliceUpdate(s, false);
    }
    const compare = (): void => {
      const texts = all.map((p) => p.sync().iptablesText);
      for (let i = 0; i < nodes.length; i++) assert.equal(texts[i], texts[i + nodes.length], `node ${i} (variant ${nodes[i]})`);
    };
    compare();
    const gone = new Set<number>();
    for (const s of steps) {
      if (s.kind === 'svc') {
        const k = s.index % SVCS.length;
        const info = SVCS[k] as ServiceInfo;
        for (const p of all) p.onServiceUpdate(gone.has(k) ? undefined : info, gone.has(k) ? info : undefined);
        if (gone.has(k)) gone.delete(k);
        else gone.add(k);
      } else if (s.kind === 'slice') {
        const sl = SLICES[s.index % SLICES.length] as EndpointSliceInfo;
        for (const p of all) p.onEndpointSliceUpdate(sl, s.remove);
      }
      compare();
    }
    assert.ok(fragments.textHits + fragments.textsBuilt > 0);
  }), { numRuns: 100 });
});

test('rule fragments: nodes with the same options and no local endpoint get one text object; a node-local part makes its own', () => {
  const fragments = new RuleFragments();
  const mk = (o: IptablesProxierOptions): IptablesProxier => {
    const p = new IptablesProxier(new RecordingIptablesBackend(), o, { fragments });
    for (const s of SVCS) p.onServiceUpdate(undefined, s);
    for (const s of SLICES) p.onEndpointSliceUpdate(s, false);
    return p;
  };
  const a = mk({ nodeName: 'node07', nodeIP: '192.168.50.17', clusterCIDR: CLUSTER_CIDR }).sync().iptablesText;
  const built = fragments.textsBuilt;
  const b = mk({ nodeName: 'node08', nodeIP: '192.168.50.18', clusterCIDR: CLUSTER_CIDR }).sync().iptablesText;
  assert.equal(fragments.textsBuilt, built, 'the second node built no text');
  assert.ok(fragments.textHits > 0);
  assert.equal(a, b);
  // node01 has local endpoints (Local-policy Services): its text is its own, and differs.
  const c = mk({ nodeName: NODE, nodeIP: NODE_IP, clusterCIDR: CLUSTER_CIDR }).sync().iptablesText;
  assert.equal(fragments.textsBuilt, built + 1);
  assert.notEqual(c, a);
});
