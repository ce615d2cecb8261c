/**
 * kube-router's own unit tests (pkg/controllers/netpol at v2.6.3) translated as data:
 * TestNetworkPolicyBuilder (the policy chain text for given policies, version "1"),
 * TestNetworkPolicyFixtureIPSets with testdata/ipset_test_1 (the IPv4 sets the
 * controller restores for two pods and two policies), and the utils_test.go tables
 * of isNetPolActionable and isPodUpdateNetPolRelevant.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Namespace, NetworkPolicy, Pod } from '../control/api/index.ts';
import { buildNetworkPoliciesInfo, isNetPolActionable } from './policy-info.ts';
import { ChainWriter, processEgressRules, processIngressRules, syncNetworkPolicyChains } from './policy-chains.ts';
import { IpsetHandler } from './ipset-handler.ts';
import { isPodUpdateNetPolRelevant } from './controller.ts';
import { networkPolicyChainName } from './names.ts';

const appA = { matchExpressions: [{ key: 'app', operator: 'In' as const, values: ['a'] }] };
const np = (name: string, spec: Partial<NetworkPolicy['spec']>): NetworkPolicy => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'nsA' }, spec: { podSelector: appA, ...spec } });

/** upstream's policy type from its spec (the test builds the object without API defaulting: types as given or inferred by the test's helper). */
const withTypes = (p: NetworkPolicy): NetworkPolicy => ({ ...p, spec: { ...p.spec, policyTypes: [...(p.spec.ingress !== undefined ? ['Ingress' as const] : []), ...(p.spec.egress !== undefined ? ['Egress' as const] : [])] } });

const MARK = (chain: string, comment: string, rest: string): string =>
  `-A ${chain} -m comment --comment "${comment}" ${rest} -j MARK --set-xmark 0x10000/0x10000 \n-A ${chain} -m comment --comment "${comment}" ${rest} -m mark --mark 0x10000/0x10000 -j RETURN \n`;
const toAll = (name: string): string => `rule to ACCEPT traffic from source pods to all destinations selected by policy name: ${name} namespace nsA`;
const fromAll = (name: string): string => `rule to ACCEPT traffic from all sources to dest pods selected by policy name: ${name} namespace nsA`;

/** TestNetworkPolicyBuilder's cases: name, policy, the exact text upstream expects. */
const BUILDER_CASES: Array<[string, NetworkPolicy, string]> = [
  ['Simple Egress Destination Port', np('simple-egress', { egress: [{ ports: [{ port: 30000 }] }] }),
    MARK('KUBE-NWPLCY-C23KD7UE4TAT3Y5M', toAll('simple-egress'), '--dport 30000')],
  ['Simple Ingress/Egress Destination Port', np('simple-ingress-egress', { egress: [{ ports: [{ port: 30000 }] }], ingress: [{ ports: [{ port: 37000 }] }] }),
    MARK('KUBE-NWPLCY-IDIX352DRLNY3D23', toAll('simple-ingress-egress'), '--dport 30000') + MARK('KUBE-NWPLCY-IDIX352DRLNY3D23', fromAll('simple-ingress-egress'), '--dport 37000')],
  ['Simple Egress Destination Port Range', np('simple-egress-pr', { egress: [{ ports: [{ port: 30000, endPort: 31000 }, { port: 34000, endPort: 35000 }] }] }),
    MARK('KUBE-NWPLCY-2UTXQIFBI5TAPUCL', toAll('simple-egress-pr'), '--dport 30000:31000') + MARK('KUBE-NWPLCY-2UTXQIFBI5TAPUCL', toAll('simple-egress-pr'), '--dport 34000:35000')],
  ['Port > EndPort (invalid condition, should drop endport)', np('invalid-endport', { egress: [{ ports: [{ port: 34000, endPort: 31000 }] }] }),
    MARK('KUBE-NWPLCY-N5DQE4SCQ56JEMH7', toAll('invalid-endport'), '--dport 34000')],
];

const noSets = (): IpsetHandler => new IpsetHandler({ save: () => '', restore: () => {}, destroy: () => {} });

for (const [name, policy, expected] of BUILDER_CASES) {
  test(`kube-router TestNetworkPolicyBuilder: ${name}`, () => {
    const built = buildNetworkPoliciesInfo({ pods: () => [], namespaces: () => [], networkPolicies: () => [withTypes(policy)] });
    assert.deepEqual(built.errors, []);
    const out: string[] = [];
    const w = new ChainWriter(out);
    for (const info of built.policies) {
      const chain = networkPolicyChainName(info.namespace, info.name, '1');
      // The upstream test passes "" as the target set and calls egress before ingress.
      if (info.policyType === 'egress' || info.policyType === 'both') processEgressRules(info, chain, '', new Set(), noSets(), w);
      if (info.policyType === 'ingress' || info.policyType === 'both') processIngressRules(info, chain, '', new Set(), noSets(), w);
    }
    assert.equal(out.join(''), expected);
  });
}

/** testdata/ipset_test_1: pods.yaml and networkpolicy.yaml (IPv4 addresses; the fixture is dual-stack). */
const FIXTURE_PODS: Pod[] = [
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'whoami-nflzk', namespace: 'default', labels: { name: 'whoami' } }, spec: { containers: [{ name: 'whoami', image: 'example/whoami:latest' }], hostNetwork: false, nodeName: 'kube-router-vm2' }, status: { hostIP: '10.241.0.21', phase: 'Running', podIP: '10.242.1.4', podIPs: [{ ip: '10.242.1.4' }, { ip: '2001:db8:42:1001::4' }] } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'whoami-s72mp', namespace: 'default', labels: { name: 'whoami' } }, spec: { containers: [{ name: 'whoami', image: 'example/whoami:latest' }], hostNetwork: false, nodeName: 'kube-router-vm1' }, status: { hostIP: '10.241.0.20', phase: 'Running', podIP: '10.242.0.5', podIPs: [{ ip: '10.242.0.5' }, { ip: '2001:db8:42:1000::5' }] } },
];
const FIXTURE_POLICIES: NetworkPolicy[] = [
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'debug', namespace: 'default' }, spec: { egress: [{ to: [{ podSelector: { matchLabels: { name: 'whoami' } } }] }], podSelector: { matchLabels: { name: 'debug-toolbox' } }, policyTypes: ['Egress'] } },
  {
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'whoami', namespace: 'default' },
    spec: { ingress: [{ from: [{ podSelector: { matchLabels: { name: 'debug-toolbox' } } }, { ipBlock: { cidr: '10.95.0.239/32' } }], ports: [{ port: 5000, protocol: 'TCP' }] }], podSelector: { matchLabels: { name: 'whoami' } }, policyTypes: ['Ingress'] },
  },
];
/** testdata/ipset_test_1/ipset_save.txt, its IPv4 KUBE- sets: name → type and entries (sorted). */
const FIXTURE_SETS: Record<string, { type: string; entries: string[] }> = {
  'KUBE-DST-IZ5JGF4W6BKI7CEV': { type: 'hash:ip', entries: ['10.242.0.5', '10.242.1.4'] },
  'KUBE-DST-P226T6HGLTLDGDLC': { type: 'hash:ip', entries: ['10.242.0.5', '10.242.1.4'] },
  'KUBE-SRC-C2EUPKL23CCP4COF': { type: 'hash:ip', entries: [] },
  'KUBE-SRC-KLLOHJLFVAV654Z2': { type: 'hash:net', entries: ['10.95.0.239'] },
};

test('kube-router TestNetworkPolicyFixtureIPSets (testdata/ipset_test_1): the same IPv4 sets, types and entries', () => {
  const ns: Namespace[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } } }];
  const built = buildNetworkPoliciesInfo({ pods: () => FIXTURE_PODS, namespaces: () => ns, networkPolicies: () => FIXTURE_POLICIES });
  let restored = '';
  const handler = new IpsetHandler({ save: () => '', restore: (t) => { restored = t; }, destroy: () => {} });
  syncNetworkPolicyChains(built.policies, 'fixture', [], handler);
  // Replay the restore script's effect (create + add into TMP-, swap into the real name) to read each set's final content.
  const tmp = new Map<string, { type: string; entries: string[] }>();
  const real = new Map<string, { type: string; entries: string[] }>();
  for (const line of restored.split('\n')) {
    const w = line.split(' ');
    if (w[0] === 'create' && w[1]?.startsWith('TMP-') === true) tmp.set(w[1], { type: w[2] as string, entries: [] });
    else if (w[0] === 'flush') tmp.set(w[1] as string, { type: tmp.get(w[1] as string)?.type ?? '', entries: [] });
    else if (w[0] === 'add') tmp.get(w[1] as string)?.entries.push((w[2] as string).replace(/\/32$/, ''));
    else if (w[0] === 'swap') real.set(w[2] as string, { ...(tmp.get(w[1] as string) as { type: string; entries: string[] }) });
  }
  const actual = Object.fromEntries([...real].map(([k, v]) => [k, { type: v.type, entries: [...v.entries].sort() }]).sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)));
  assert.deepEqual(actual, FIXTURE_SETS);
});

const pod = (over: { phase?: string; podIP?: string; hostNetwork?: boolean; labels?: Record<string, string>; hostIP?: string }): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'n', ...(over.labels !== undefined ? { labels: over.labels } : {}) },
  spec: { containers: [], ...(over.hostNetwork !== undefined ? { hostNetwork: over.hostNetwork } : {}) },
  status: { ...(over.phase !== undefined ? { phase: over.phase as 'Running' } : {}), ...(over.podIP !== undefined ? { podIP: over.podIP, podIPs: [{ ip: over.podIP }] } : {}), ...(over.hostIP !== undefined ? { hostIP: over.hostIP } : {}) },
});

test('kube-router Test_isNetPolActionable / Test_isPodFinished: finished, address-less and host-network pods are not subject', () => {
  const cases: Array<[string, Pod, boolean]> = [
    ['running with an IP', pod({ phase: 'Running', podIP: '10.0.0.1' }), true],
    ['pending with an IP', pod({ phase: 'Pending', podIP: '10.0.0.1' }), true],
    ['no IP yet', pod({ phase: 'Running' }), false],
    ['host network', pod({ phase: 'Running', podIP: '10.0.0.1', hostNetwork: true }), false],
    ['failed', pod({ phase: 'Failed', podIP: '10.0.0.1' }), false],
    ['succeeded', pod({ phase: 'Succeeded', podIP: '10.0.0.1' }), false],
    ['completed', pod({ phase: 'Completed', podIP: '10.0.0.1' }), false],
  ];
  for (const [name, p, want] of cases) assert.equal(isNetPolActionable(p), want, name);
});

test('kube-router Test_isPodUpdateNetPolRelevant: phase, IPs, host IP and labels matter; nothing else does', () => {
  const base = pod({ phase: 'Running', podIP: '10.0.0.1', hostIP: '1.1.1.1', labels: { a: '1' } });
  const cases: Array<[string, Pod, boolean]> = [
    ['nothing changed', pod({ phase: 'Running', podIP: '10.0.0.1', hostIP: '1.1.1.1', labels: { a: '1' } }), false],
    ['phase', pod({ phase: 'Failed', podIP: '10.0.0.1', hostIP: '1.1.1.1', labels: { a: '1' } }), true],
    ['pod IP', pod({ phase: 'Running', podIP: '10.0.0.2', hostIP: '1.1.1.1', labels: { a: '1' } }), true],
    ['host IP', pod({ phase: 'Running', podIP: '10.0.0.1', hostIP: '1.1.1.2', labels: { a: '1' } }), true],
    ['labels', pod({ phase: 'Running', podIP: '10.0.0.1', hostIP: '1.1.1.1', labels: { a: '2' } }), true],
    ['only the name', { ...base, metadata: { ...base.metadata, name: 'q' } }, false],
  ];
  for (const [name, p, want] of cases) assert.equal(isPodUpdateNetPolRelevant(base, p), want, name);
});

test('a malformed policy (it bypassed validation) is skipped and reported; the others are built as usual', () => {
  const bad: NetworkPolicy = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'bad', namespace: 'default' }, spec: { podSelector: { matchExpressions: [{ key: 'a', operator: 'Near' as never }] }, policyTypes: ['Ingress'] } };
  const badPeer: NetworkPolicy = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'bad-peer', namespace: 'default' }, spec: { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] } }] }], policyTypes: ['Ingress'] } };
  const noSpec = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'no-spec', namespace: 'default' } } as unknown as NetworkPolicy;
  const built = buildNetworkPoliciesInfo({ pods: () => FIXTURE_PODS, namespaces: () => [], networkPolicies: () => [bad, badPeer, noSpec, ...FIXTURE_POLICIES] });
  assert.deepEqual(built.policies.map((p) => `${p.namespace}/${p.name}`), ['default/debug', 'default/whoami']);
  assert.deepEqual(built.errors.map((e) => e.policy), ['default/bad', 'default/bad-peer', 'default/no-spec']);
  assert.match(built.errors[0]?.error ?? '', /"Near" is not a valid label selector operator/);
  assert.equal(built.policies[1]?.targetPods.size, 2, 'the good policy still selects its pods');
});
