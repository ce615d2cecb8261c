// NetworkPolicy: upstream's validation cases (pkg/apis/networking/validation/validation_test.go,
// TestValidateNetworkPolicy) translated as data with the field paths each error names, the
// v1 defaults (defaults_test.go), the CIDR parser, the Pod-Selector column, and the kind
// through the HTTP API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import type { NetworkPolicy, NetworkPolicyPort } from '../api/index.ts';
import { formatFieldError, parseCIDRSloppy, ipNetContains } from '../api/index.ts';
import { defaultNetworkPolicy, podSelectorCell, validateNetworkPolicy } from './networkpolicy.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { buildApp } from '../server/app.ts';

type Tweak = (np: NetworkPolicy) => void;

/** makeValidNetworkPolicy with the tweaks applied in order (makeNetworkPolicyCustom). */
function policy(...tweaks: Tweak[]): NetworkPolicy {
  const np: NetworkPolicy = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'foo', namespace: 'bar' }, spec: { podSelector: { matchLabels: { a: 'b' } } } };
  for (const t of tweaks) t(np);
  return np;
}

const in0 = (np: NetworkPolicy) => np.spec.ingress![0]!;
const eg0 = (np: NetworkPolicy) => np.spec.egress![0]!;
const from0 = (np: NetworkPolicy) => in0(np).from![0]!;
const to0 = (np: NetworkPolicy) => eg0(np).to![0]!;
const PORTS: NetworkPolicyPort[] = [{ port: 80 }, { protocol: 'TCP' }, { protocol: 'TCP', port: 443 }, { protocol: 'UDP', port: 'dns' }, { protocol: 'SCTP', port: 7777 }];
const BAD_LABELS = { 'NoUppercaseOrSpecialCharsLike=Equals': 'b' };

// The tweaks of TestValidateNetworkPolicy.
const ingressEmpty: Tweak = (np) => { np.spec.ingress = [{}]; };
const ingressEmptyFromAndPorts: Tweak = (np) => { in0(np).from = []; in0(np).ports = []; };
const ingressPorts: Tweak = (np) => { in0(np).ports = structuredClone(PORTS); };
const ingressPortsHigher: Tweak = (np) => { in0(np).ports = [{ protocol: 'TCP', port: 32768, endPort: 32768 }]; };
const fromEmpty: Tweak = (np) => { in0(np).from = [{}]; };
const fromPods: Tweak = (np) => { from0(np).podSelector = { matchLabels: { c: 'd' } }; };
const fromOtherPods: Tweak = (np) => { from0(np).podSelector = { matchLabels: { e: 'f' } }; };
const fromNamespaces: Tweak = (np) => { from0(np).namespaceSelector = { matchLabels: { c: 'd' } }; };
const fromIPBlock: Tweak = (np) => { from0(np).ipBlock = { cidr: '192.168.0.0/16', except: ['192.168.3.0/24', '192.168.4.0/24'] }; };
const fromIPBlock6: Tweak = (np) => { from0(np).ipBlock = { cidr: 'fd00:192:168::/48', except: ['fd00:192:168:3::/64', 'fd00:192:168:4::/64'] }; };
const egressEmpty: Tweak = (np) => { np.spec.egress = [{}]; };
const toEmpty: Tweak = (np) => { eg0(np).to = [{}]; };
const toNamespaces: Tweak = (np) => { to0(np).namespaceSelector = { matchLabels: { c: 'd' } }; };
const toPods: Tweak = (np) => { to0(np).podSelector = { matchLabels: { c: 'd' } }; };
const toIPBlock: Tweak = (np) => { to0(np).ipBlock = { cidr: '192.168.0.0/16', except: ['192.168.3.0/24', '192.168.4.0/24'] }; };
const toIPBlock6: Tweak = (np) => { to0(np).ipBlock = { cidr: 'fd00:192:168::/48', except: ['fd00:192:168:3::/64', 'fd00:192:168:4::/64'] }; };
const egressPorts: Tweak = (np) => { eg0(np).ports = structuredClone(PORTS); };
const egressUdpAndHigh: Tweak = (np) => { eg0(np).ports = [{ port: 32000, endPort: 32768 }, { protocol: 'UDP', port: 'dns' }]; };
const egressBothHigh: Tweak = (np) => { eg0(np).ports = [{ port: 30000, endPort: 32768 }, { port: 32000, endPort: 32768 }]; };
const typesEgress: Tweak = (np) => { np.spec.policyTypes = ['Egress']; };
const typesBoth: Tweak = (np) => { np.spec.policyTypes = ['Ingress', 'Egress']; };
const egPorts = (ports: NetworkPolicyPort[]): Tweak => (np) => { eg0(np).ports = ports; };

const VALID: Array<[string, NetworkPolicy]> = [
  ['one empty ingress rule', policy(ingressEmpty)],
  ['empty from and ports', policy(ingressEmpty, ingressEmptyFromAndPorts)],
  ['ingress ports: numeric, any port, named, SCTP', policy(ingressEmpty, ingressPorts)],
  ['from podSelector', policy(ingressEmpty, fromEmpty, fromPods)],
  ['from namespaceSelector', policy(ingressEmpty, fromEmpty, fromNamespaces)],
  ['from namespaceSelector AND podSelector in one peer', policy(ingressEmpty, fromEmpty, fromNamespaces, fromOtherPods)],
  ['egress to namespaces, ingress from ipBlock', policy(egressEmpty, toEmpty, toNamespaces, ingressEmpty, fromEmpty, fromIPBlock)],
  ['from ipBlock with except', policy(ingressEmpty, fromEmpty, fromIPBlock)],
  ['egress ipBlock, policyTypes Egress', policy(egressEmpty, toEmpty, toIPBlock, typesEgress)],
  ['egress ipBlock, policyTypes Ingress and Egress', policy(egressEmpty, toEmpty, toIPBlock, typesBoth)],
  ['egress ports', policy(egressEmpty, egressPorts)],
  ['IPv6 ipBlock from, namespaces to', policy(egressEmpty, toEmpty, toNamespaces, ingressEmpty, fromEmpty, fromIPBlock6)],
  ['IPv6 ipBlock from', policy(ingressEmpty, fromEmpty, fromIPBlock6)],
  ['IPv6 ipBlock to, Egress', policy(egressEmpty, toEmpty, toIPBlock6, typesEgress)],
  ['IPv6 ipBlock to, both types', policy(egressEmpty, toEmpty, toIPBlock6, typesBoth)],
  ['endPort range and a named UDP port', policy(egressEmpty, egressUdpAndHigh)],
  ['endPort ranges both ways, port == endPort', policy(egressEmpty, toEmpty, toNamespaces, egressBothHigh, ingressEmpty, fromEmpty, fromOtherPods, ingressPortsHigher)],
  // Beyond upstream's list: selector operators used correctly, an empty pod selector.
  ['matchExpressions with every operator', policy((np) => { np.spec.podSelector = { matchExpressions: [{ key: 'a', operator: 'In', values: ['x'] }, { key: 'b', operator: 'NotIn', values: ['y'] }, { key: 'c', operator: 'Exists' }, { key: 'd', operator: 'DoesNotExist' }] }; })],
  ['empty podSelector selects every pod', policy((np) => { np.spec.podSelector = {}; }, ingressEmpty)],
];

const IN_PEER = 'spec.ingress[0].from[0]';
const EG_PORT = (i: number) => `spec.egress[0].ports[${i}]`;

/** [upstream case name, policy, the field of each expected error, in order]. */
const INVALID: Array<[string, NetworkPolicy, string[]]> = [
  ['namespaceSelector and ipBlock', policy(ingressEmpty, fromEmpty, fromNamespaces, fromIPBlock), [IN_PEER]],
  ['podSelector and ipBlock', policy(egressEmpty, toEmpty, toPods, toIPBlock), ['spec.egress[0].to[0]']],
  ['missing from and to type', policy(ingressEmpty, egressEmpty, (np) => { np.spec.ingress = [{ from: [{}] }]; np.spec.egress = [{ to: [{}] }]; }), [IN_PEER, 'spec.egress[0].to[0]']],
  ['invalid spec.podSelector', policy((np) => { np.spec = { podSelector: { matchLabels: BAD_LABELS } }; }, ingressEmpty, fromEmpty, fromNamespaces), ['spec.podSelector.matchLabels']],
  ['invalid ingress.ports.protocol', policy(ingressEmpty, (np) => { in0(np).ports = [{ protocol: 'ICMP' as 'TCP', port: 80 }]; }), ['spec.ingress[0].ports[0].protocol']],
  ['invalid ingress.ports.port (int)', policy(ingressEmpty, (np) => { in0(np).ports = [{ protocol: 'TCP', port: 123456789 }]; }), ['spec.ingress[0].ports[0].port']],
  ['invalid ingress.ports.port (str)', policy(ingressEmpty, (np) => { in0(np).ports = [{ protocol: 'TCP', port: '!@#$' }]; }), ['spec.ingress[0].ports[0].port', 'spec.ingress[0].ports[0].port']],
  ['invalid ingress.from.podSelector', policy(ingressEmpty, fromEmpty, (np) => { from0(np).podSelector = { matchLabels: BAD_LABELS }; }), [`${IN_PEER}.podSelector.matchLabels`]],
  ['invalid egress.to.podSelector', policy(egressEmpty, toEmpty, (np) => { to0(np).podSelector = { matchLabels: BAD_LABELS }; }), ['spec.egress[0].to[0].podSelector.matchLabels']],
  ['invalid egress.ports.protocol', policy(egressEmpty, egPorts([{ protocol: 'ICMP' as 'TCP', port: 80 }])), [`${EG_PORT(0)}.protocol`]],
  ['invalid egress.ports.port (int)', policy(egressEmpty, egPorts([{ protocol: 'TCP', port: 123456789 }])), [`${EG_PORT(0)}.port`]],
  ['invalid egress.ports.port (str)', policy(egressEmpty, egPorts([{ protocol: 'TCP', port: '!@#$' }])), [`${EG_PORT(0)}.port`, `${EG_PORT(0)}.port`]],
  ['invalid ingress.from.namespaceSelector', policy(ingressEmpty, fromEmpty, (np) => { from0(np).namespaceSelector = { matchLabels: BAD_LABELS }; }), [`${IN_PEER}.namespaceSelector.matchLabels`]],
  ['missing cidr field', policy(ingressEmpty, fromEmpty, fromIPBlock, (np) => { from0(np).ipBlock!.cidr = ''; }), [`${IN_PEER}.ipBlock.cidr`]],
  ['invalid cidr format', policy(ingressEmpty, fromEmpty, fromIPBlock, (np) => { from0(np).ipBlock!.cidr = '192.168.5.6'; }), [`${IN_PEER}.ipBlock.cidr`]],
  ['invalid ipv6 cidr format', policy(ingressEmpty, fromEmpty, fromIPBlock6, (np) => { from0(np).ipBlock!.cidr = 'fd00:192:168::'; }), [`${IN_PEER}.ipBlock.cidr`]],
  ['except field is an empty string', policy(ingressEmpty, fromEmpty, fromIPBlock, (np) => { from0(np).ipBlock!.except = ['', ' ']; }), [`${IN_PEER}.ipBlock.except[0]`, `${IN_PEER}.ipBlock.except[1]`]],
  ['except IP is outside of CIDR range', policy(ingressEmpty, fromEmpty, (np) => { from0(np).ipBlock = { cidr: '192.168.8.0/24', except: ['192.168.9.1/24'] }; }), [`${IN_PEER}.ipBlock.except[0]`]],
  ['except IP is not strictly within CIDR range', policy(ingressEmpty, fromEmpty, (np) => { from0(np).ipBlock = { cidr: '192.168.0.0/24', except: ['192.168.0.0/24'] }; }), [`${IN_PEER}.ipBlock.except[0]`]],
  ['except IPv6 is outside of CIDR range', policy(ingressEmpty, fromEmpty, (np) => { from0(np).ipBlock = { cidr: 'fd00:192:168:1::/64', except: ['fd00:192:168:2::/64'] }; }), [`${IN_PEER}.ipBlock.except[0]`]],
  ['invalid policyTypes', policy(egressEmpty, toEmpty, toIPBlock, (np) => { np.spec.policyTypes = ['foo', 'bar'] as never; }), ['spec.policyTypes[0]', 'spec.policyTypes[1]']],
  ['too many policyTypes', policy(egressEmpty, toEmpty, toIPBlock, (np) => { np.spec.policyTypes = ['foo', 'bar', 'baz'] as never; }), ['spec.policyTypes']],
  ['multiple ports defined, one port range is invalid', policy(egressEmpty, toEmpty, toNamespaces, egPorts([{ protocol: 'UDP', port: 35000, endPort: 32768 }, { port: 32000, endPort: 32768 }])), [`${EG_PORT(0)}.endPort`]],
  ['endPort defined with named/string port', policy(egressEmpty, toEmpty, toNamespaces, egPorts([{ protocol: 'UDP', port: 'dns', endPort: 32768 }, { port: 32000, endPort: 32768 }])), [`${EG_PORT(0)}.endPort`]],
  ['endPort defined without port defined', policy(egressEmpty, toEmpty, toNamespaces, egPorts([{ protocol: 'TCP', endPort: 32768 }])), [`${EG_PORT(0)}.endPort`]],
  ['port is greater than endPort', policy(egressEmpty, toEmpty, toNamespaces, egPorts([{ protocol: 'SCTP', port: 33000, endPort: 32768 }])), [`${EG_PORT(0)}.endPort`]],
  ['multiple invalid port ranges defined', policy(egressEmpty, toEmpty, toNamespaces, egPorts([{ protocol: 'UDP', port: 35000, endPort: 32768 }, { protocol: 'TCP', endPort: 32768 }, { protocol: 'TCP', port: 'https', endPort: 32768 }])),
    [`${EG_PORT(0)}.endPort`, `${EG_PORT(1)}.endPort`, `${EG_PORT(2)}.endPort`]],
  ['invalid endport range defined', policy(egressEmpty, toEmpty, toNamespaces, egPorts([{ port: 30000, endPort: 65537 }])), [`${EG_PORT(0)}.endPort`]],
  // Label selector requirements (apimachinery's ValidateLabelSelectorRequirement cases).
  ['unknown selector operator', policy((np) => { np.spec.podSelector = { matchExpressions: [{ key: 'a', operator: 'Equals' as 'In', values: ['x'] }] }; }), ['spec.podSelector.matchExpressions[0].operator']],
  ['In without values', policy(ingressEmpty, fromEmpty, (np) => { from0(np).namespaceSelector = { matchExpressions: [{ key: 'a', operator: 'In' }] }; }), [`${IN_PEER}.namespaceSelector.matchExpressions[0].values`]],
  ['Exists with values', policy((np) => { np.spec.podSelector = { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }; }), ['spec.podSelector.matchExpressions[0].values']],
  ['a bad key and a bad value', policy((np) => { np.spec.podSelector = { matchExpressions: [{ key: '-a', operator: 'In', values: ['-x-'] }] }; }), ['spec.podSelector.matchExpressions[0].key', 'spec.podSelector.matchExpressions[0].values[0]']],
  ['port 0', policy(ingressEmpty, (np) => { in0(np).ports = [{ port: 0 }]; }), ['spec.ingress[0].ports[0].port']],
  ['a name that is not a DNS subdomain', policy((np) => { np.metadata.name = 'Deny_All'; }), ['metadata.name']],
];

test('upstream TestValidateNetworkPolicy success cases validate with no errors', () => {
  for (const [name, np] of VALID) assert.deepEqual(validateNetworkPolicy(np).map(formatFieldError), [], name);
});

test('upstream TestValidateNetworkPolicy error cases fail on the expected fields', () => {
  for (const [name, np, fields] of INVALID) assert.deepEqual(validateNetworkPolicy(np).map((e) => e.field), fields, `${name}: ${validateNetworkPolicy(np).map(formatFieldError).join('; ')}`);
});

test('validation messages read as kube-apiserver\'s', () => {
  const f = (np: NetworkPolicy) => validateNetworkPolicy(np).map(formatFieldError);
  assert.deepEqual(f(INVALID.find(([n]) => n === 'except IP is outside of CIDR range')![1]), ['spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "192.168.9.1/24": must be a strict subset of `cidr`']);
  assert.deepEqual(f(INVALID.find(([n]) => n === 'invalid cidr format')![1]), ['spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "192.168.5.6": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)']);
  assert.deepEqual(f(INVALID.find(([n]) => n === 'missing cidr field')![1]), ['spec.ingress[0].from[0].ipBlock.cidr: Required value']);
  assert.deepEqual(f(INVALID.find(([n]) => n === 'namespaceSelector and ipBlock')![1]), ['spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer']);
  assert.deepEqual(f(INVALID.find(([n]) => n === 'missing from and to type')![1]), ['spec.ingress[0].from[0]: Required value: must specify a peer', 'spec.egress[0].to[0]: Required value: must specify a peer']);
  assert.deepEqual(f(INVALID.find(([n]) => n === 'invalid ingress.ports.protocol')![1]), ['spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"']);
  assert.deepEqual(f(INVALID.find(([n]) => n === 'port is greater than endPort')![1]), ['spec.egress[0].ports[0].endPort: Invalid value: 32768: must be greater than or equal to `port`']);
  assert.deepEqual(f(INVALID.find(([n]) => n === 'endPort defined with named/string port')![1]), ['spec.egress[0].ports[0].endPort: Invalid value: 32768: may not be specified when `port` is non-numeric']);
  assert.deepEqual(f(INVALID.find(([n]) => n === 'endPort defined without port defined')![1]), ['spec.egress[0].ports[0].endPort: Invalid value: 32768: may not be specified when `port` is not specified']);
  assert.deepEqual(f(INVALID.find(([n]) => n === 'invalid endport range defined')![1]), ['spec.egress[0].ports[0].endPort: Invalid value: 65537: must be between 1 and 65535, inclusive']);
  assert.deepEqual(f(INVALID.find(([n]) => n === 'invalid policyTypes')![1]), ['spec.policyTypes[0]: Unsupported value: "foo": supported values: "Ingress", "Egress"', 'spec.policyTypes[1]: Unsupported value: "bar": supported values: "Ingress", "Egress"']);
  assert.deepEqual(f(INVALID.find(([n]) => n === 'unknown selector operator')![1]), ['spec.podSelector.matchExpressions[0].operator: Invalid value: "Equals": not a valid selector operator']);
  assert.deepEqual(f(INVALID.find(([n]) => n === 'In without values')![1]), ["spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"]);
  assert.deepEqual(f(INVALID.find(([n]) => n === 'Exists with values')![1]), ["spec.podSelector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"]);
});

test('defaults: policyTypes inferred from the spec (Ingress always, Egress with egress rules), protocol TCP', () => {
  const d = (spec: Partial<NetworkPolicy['spec']>) => defaultNetworkPolicy(policy((np) => { Object.assign(np.spec, structuredClone(spec)); })).spec;
  assert.deepEqual(d({}).policyTypes, ['Ingress']);
  assert.deepEqual(d({ ingress: [{}] }).policyTypes, ['Ingress']);
  // len(egress) != 0: an empty list adds nothing, one rule (even empty) adds Egress.
  assert.deepEqual(d({ egress: [] }).policyTypes, ['Ingress']);
  assert.deepEqual(d({ egress: [{}] }).policyTypes, ['Ingress', 'Egress']);
  assert.deepEqual(d({ egress: [{}], policyTypes: ['Egress'] }).policyTypes, ['Egress']);
  assert.deepEqual(d({ policyTypes: [] }).policyTypes, ['Ingress']);
  const ports = d({ ingress: [{ ports: [{ port: 80 }, { protocol: 'UDP', port: 53 }, {}] }], egress: [{ ports: [{ port: 'dns' }] }] });
  assert.deepEqual(ports.ingress![0]!.ports!.map((p) => p.protocol), ['TCP', 'UDP', 'TCP']);
  assert.deepEqual(ports.egress![0]!.ports!.map((p) => p.protocol), ['TCP']);
  // Idempotent.
  const once = d({ egress: [{ ports: [{}] }] });
  assert.deepEqual(defaultNetworkPolicy(policy((np) => { np.spec = structuredClone(once); })).spec, once);
});

test('Pod-Selector cell: FormatLabelSelector, <none> for the empty selector', () => {
  const cell = (podSelector: NetworkPolicy['spec']['podSelector']) => podSelectorCell(policy((np) => { np.spec.podSelector = podSelector; }));
  assert.equal(cell({}), '<none>');
  assert.equal(cell({ matchLabels: { app: 'web' } }), 'app=web');
  assert.equal(cell({ matchLabels: { tier: 'fe', app: 'web' }, matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod', 'dev'] }, { key: 'x', operator: 'Exists' }] }), 'app=web,env notin (dev,prod),tier=fe,x');
});

test('parseCIDRSloppy: masks host bits, accepts leading zeros, refuses what Go refuses', () => {
  assert.deepEqual(parseCIDRSloppy('192.168.9.1/24'), { bits: 32, addr: 0xc0a80900n, prefix: 24 });
  assert.deepEqual(parseCIDRSloppy('010.0.0.0/08'), { bits: 32, addr: 0x0a000000n, prefix: 8 });
  assert.deepEqual(parseCIDRSloppy('fd00:192:168:3::/64'), { bits: 128, addr: 0xfd000192016800030000000000000000n, prefix: 64 });
  assert.deepEqual(parseCIDRSloppy('::ffff:10.1.2.3/128'), { bits: 128, addr: 0xffff0a010203n, prefix: 128 });
  assert.deepEqual(parseCIDRSloppy('::/0'), { bits: 128, addr: 0n, prefix: 0 });
  for (const bad of ['', '192.168.5.6', 'fd00:192:168::', '10.0.0.0/33', '::/129', '1.2.3/8', '1.2.3.256/8', '1:2:3:4:5:6:7:8:9/64', '1::2::3/64', ' 10.0.0.0/8', '10.0.0.0/-1', 'g::/8', '10.0.0.0/8/8']) {
    assert.equal(parseCIDRSloppy(bad), undefined, bad);
  }
  assert.ok(ipNetContains(parseCIDRSloppy('10.0.0.0/8')!, parseCIDRSloppy('10.1.0.0/16')!));
  assert.ok(!ipNetContains(parseCIDRSloppy('10.0.0.0/8')!, parseCIDRSloppy('11.0.0.0/16')!));
  assert.ok(!ipNetContains(parseCIDRSloppy('::/0')!, parseCIDRSloppy('10.0.0.0/8')!), 'families never contain each other');
});

test('property: parseCIDRSloppy agrees with the address it was built from, and never throws', () => {
  fc.assert(fc.property(fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)), fc.integer({ min: 0, max: 32 }), (o, len) => {
    const n = parseCIDRSloppy(`${o.join('.')}/${len}`)!;
    const v = BigInt(((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!);
    assert.equal(n.prefix, len);
    assert.equal(n.addr, len === 0 ? 0n : (v >> BigInt(32 - len)) << BigInt(32 - len));
  }));
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 128 }), fc.nat(7), fc.nat(7), (g, len, a, b) => {
    const full = g.map((x) => x.toString(16)).join(':');
    const v = g.reduce((acc, x) => (acc << 16n) | BigInt(x), 0n);
    const masked = len === 0 ? 0n : (v >> BigInt(128 - len)) << BigInt(128 - len);
    assert.equal(parseCIDRSloppy(`${full}/${len}`)!.addr, masked);
    // The same address with a run of zero groups written as `::`.
    const [lo, hi] = [Math.min(a, b), Math.max(a, b)];
    const z = g.map((x, i) => (i >= lo && i <= hi ? 0 : x));
    const zv = z.reduce((acc, x) => (acc << 16n) | BigInt(x), 0n);
    const short = `${z.slice(0, lo).map((x) => x.toString(16)).join(':')}::${z.slice(hi + 1).map((x) => x.toString(16)).join(':')}`;
    assert.equal(parseCIDRSloppy(`${short}/128`)!.addr, zv, short);
  }));
  fc.assert(fc.property(fc.string({ maxLength: 48 }), (s) => { parseCIDRSloppy(s); parseCIDRSloppy(`${s}/24`); }));
});

test('property: validation never throws on arbitrary specs', () => {
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (spec) => {
    const np = policy((p) => { (p as { spec: unknown }).spec = spec; });
    defaultNetworkPolicy(np);
    validateNetworkPolicy(np);
  }));
});

// ------------------------------------------------------------------ through the API

let app: FastifyInstance;
before(async () => { app = buildApp({ store: new MemoryStore() }); await app.ready(); });
after(async () => { await app.close(); });

const NPS = '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies';
type Status = { code: number; message: string; details?: { causes?: { field: string }[] } };

test('API: created with defaults, listed as a Table, invalid ones are 422 with upstream\'s message', async () => {
  const post = (body: object) => app.inject({ method: 'POST', url: NPS, payload: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', ...body } });
  const r = await post({ metadata: { name: 'allow-web' }, spec: { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'a' } }, podSelector: {} }], ports: [{ port: 80 }] }], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] }] } });
  assert.equal(r.statusCode, 201, r.body);
  const np = JSON.parse(r.body) as NetworkPolicy;
  assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress']);
  assert.equal(np.spec.ingress![0]!.ports![0]!.protocol, 'TCP');
  assert.equal(np.metadata.generation, 1);
  assert.equal((await post({ metadata: { name: 'deny-all' }, spec: { podSelector: {} } })).statusCode, 201);

  const bad = await post({ metadata: { name: 'bad' }, spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '192.168.8.0/24', except: ['192.168.9.1/24'] } }] }] } });
  assert.equal(bad.statusCode, 422);
  const s = JSON.parse(bad.body) as Status;
  assert.equal(s.message, 'NetworkPolicy.networking.k8s.io "bad" is invalid: spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "192.168.9.1/24": must be a strict subset of `cidr`');
  assert.deepEqual(s.details?.causes?.map((c) => c.field), ['spec.ingress[0].from[0].ipBlock.except[0]']);
  assert.equal((await app.inject(`${NPS}/bad`)).statusCode, 404, 'nothing stored');

  const t = JSON.parse((await app.inject({ url: NPS, headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } })).body) as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
  assert.deepEqual(t.columnDefinitions.map((c) => c.name), ['Name', 'Pod-Selector', 'Age']);
  assert.deepEqual(t.rows.map((row) => row.cells.slice(0, 2)), [['allow-web', 'app=web'], ['deny-all', '<none>']]);

  // A spec change bumps generation; the short name resolves in discovery.
  const p = await app.inject({ method: 'PATCH', url: `${NPS}/deny-all`, headers: { 'content-type': 'application/merge-patch+json' }, payload: { spec: { podSelector: { matchLabels: { app: 'db' } } } } });
  assert.equal((JSON.parse(p.body) as NetworkPolicy).metadata.generation, 2);
  const disc = JSON.parse((await app.inject('/apis/networking.k8s.io/v1')).body) as { resources: { name: string; shortNames?: string[]; namespaced: boolean }[] };
  assert.deepEqual(disc.resources.find((x) => x.name === 'networkpolicies'), { ...disc.resources.find((x) => x.name === 'networkpolicies'), shortNames: ['netpol'], namespaced: true });
});
