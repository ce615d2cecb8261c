import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { probability } from './rules.ts';
import { servicePortChain, endpointChain } from './chain-names.ts';
import { endpointSliceInfoFromApi, serviceInfoFromApi } from '../service-port.ts';
import { services, slices, slice, NODE, NODE_IP, CLUSTER_CIDR } from '../fixtures.ts';
import { IptablesProxier } from './proxier.ts';
import type { IptablesProxierOptions } from './proxier.ts';
import { netsimIptablesBackend, RecordingIptablesBackend } from './netsim-backend.ts';
import { Iptables } from '../../netsim/netfilter/iptables/iptables.ts';
import { tracePacket } from './trace.ts';
import type { Service } from '../../control/api/service.ts';

const GOLDEN = new URL('../../tests/golden/kube-proxy/', import.meta.url);
/** UPDATE_GOLDEN=1 rewrites the goldens (review the diff by eye against upstream's TestOverallIPTablesRules). */
function golden(name: string, actual: string): void {
  const url = new URL(name, GOLDEN);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(url, actual);
  assert.equal(actual, readFileSync(url, 'utf8'), `golden ${name}`);
}

const OPTS: IptablesProxierOptions = { nodeName: NODE, nodeIP: NODE_IP, clusterCIDR: CLUSTER_CIDR };

function load(p: IptablesProxier, svcs: readonly Service[] = services): void {
  for (const s of svcs) p.onServiceUpdate(undefined, serviceInfoFromApi(s));
  for (const s of slices) {
    const i = endpointSliceInfoFromApi(s);
    if (i !== undefined) p.onEndpointSliceUpdate(i, false);
  }
}

test('chain names: the REFERENCE.md test vectors', () => {
  assert.equal(servicePortChain('KUBE-SVC', 'ns1/svc1:p80', 'TCP'), 'KUBE-SVC-XPGD46QRK7WJZT7O');
  assert.equal(endpointChain('ns1/svc1:p80', 'tcp', '10.180.0.1:80'), 'KUBE-SEP-SXIVWICOYRO3J4NJ');
  assert.equal(servicePortChain('KUBE-SVC', 'ns4/svc4:p80', 'tcp'), 'KUBE-SVC-4SW47YFZTEDKD3PK');
  assert.equal(servicePortChain('KUBE-SVC', 'ns5/svc5:p80', 'tcp'), 'KUBE-SVC-NUKIZ6OKUXPJNT4C');
  assert.equal(servicePortChain('KUBE-FW', 'ns5/svc5:p80', 'tcp'), 'KUBE-FW-NUKIZ6OKUXPJNT4C');
  assert.equal(endpointChain('ns4/svc4:p80', 'tcp', '10.180.0.4:80'), 'KUBE-SEP-UKSFD7AGPMPPLUHC');
  assert.deepEqual([probability(3), probability(2), probability(1000)], ['0.3333333333', '0.5000000000', '0.0010000000']);
});

test('full sync: hook jumps first, then one --noflush restore of every feature, line for line', () => {
  const rec = new RecordingIptablesBackend();
  const p = new IptablesProxier(rec, OPTS);
  load(p);
  const r = p.sync();
  assert.equal(r.full, true);
  assert.equal(rec.calls.length, 2);
  assert.deepEqual(rec.calls.map((c) => [c.noflush, c.counters]), [[true, false], [true, true]]);
  golden('jumps.iptables', rec.calls[0]?.text ?? '');
  golden('overall.iptables', rec.calls[1]?.text ?? '');
  const text = rec.calls[1]?.text ?? '';
  assert.ok(!text.includes('shop/headless') && !text.includes('shop/ext'), 'headless and ExternalName services produce no rules');
});

test('masqueradeAll marks every ClusterIP packet; without a cluster CIDR no masquerade rule; localhostNodePorts=false', () => {
  const rec = new RecordingIptablesBackend();
  const p = new IptablesProxier(rec, { nodeName: NODE, masqueradeAll: true, localhostNodePorts: false, randomFully: false });
  load(p);
  const t = p.sync().iptablesText;
  assert.match(t, /\n-A KUBE-SVC-\S+ -m comment --comment "shop\/web:http cluster IP" -m tcp -p tcp -d 10\.96\.10\.1 --dport 80 -j KUBE-MARK-MASQ\n/);
  assert.match(t, /-m addrtype --dst-type LOCAL ! -d 127\.0\.0\.0\/8 -j KUBE-NODEPORTS\n/);
  assert.ok(!t.includes('KUBE-FIREWALL') && !t.includes('pod traffic for') && t.includes('-j MASQUERADE\n'));
  const q = new IptablesProxier(new RecordingIptablesBackend(), { nodeName: NODE });
  load(q);
  assert.ok(!/ ! -s \S+ -j KUBE-MARK-MASQ/.test(q.sync().iptablesText));
});

test('partial syncs rewrite only changed services; stale chains are flushed and deleted', () => {
  const rec = new RecordingIptablesBackend();
  const p = new IptablesProxier(rec, OPTS);
  load(p);
  p.sync();
  // Nothing changed: a partial sync declares no per-service chain.
  const idle = p.sync();
  assert.equal(idle.full, false);
  assert.ok(!/^:KUBE-(SVC|SEP|EXT|FW|SVL)-/m.test(idle.iptablesText));
  assert.ok(idle.iptablesText.includes('"shop/web:http cluster IP"'), 'KUBE-SERVICES is always complete');
  // An endpoint of shop/web moves: only its SVC and SEP chains are written, the old SEP goes.
  const web = slice('shop', 'web', [{ name: 'http', port: 8080 }], [{ ip: '10.244.1.11', node: NODE }, { ip: '10.244.2.12', node: 'node02' }, { ip: '10.244.2.19', node: 'node02' }]);
  p.onEndpointSliceUpdate(endpointSliceInfoFromApi(web)!, false);
  const r = p.sync();
  assert.deepEqual(r.updatedServices, ['shop/web']);
  golden('partial-endpoint-change.iptables', r.iptablesText);
  // The service goes: its chains are deleted, its KUBE-SERVICES rule disappears.
  p.onServiceUpdate(serviceInfoFromApi(services.find((s) => s.metadata.name === 'web')!), undefined);
  const gone = p.sync();
  const svc = servicePortChain('KUBE-SVC', 'shop/web:http', 'tcp');
  assert.ok(gone.iptablesText.includes(`\n:${svc} - [0:0]\n`) && gone.iptablesText.includes(`\n-X ${svc}\n`));
  assert.ok(!gone.iptablesText.includes('"shop/web:http cluster IP"'));
  assert.equal((gone.iptablesText.match(/^-X /gm) ?? []).length, 4, 'SVC + three SEP chains');
  // An update that returns to the applied state is no change at all.
  const svc1 = serviceInfoFromApi(services[0]!);
  p.onServiceUpdate(svc1, { ...svc1, ports: [] });
  assert.equal(p.onServiceUpdate({ ...svc1, ports: [] }, svc1), false);
});

test('large-cluster mode (over the endpoint threshold) drops the per-endpoint comments', () => {
  const p = new IptablesProxier(new RecordingIptablesBackend(), { ...OPTS, largeClusterThreshold: 3 });
  load(p);
  const t = p.sync().iptablesText;
  assert.match(t, /\n-A KUBE-SEP-\S+ -s 10\.244\.1\.11 -j KUBE-MARK-MASQ\n/);
  assert.match(t, /\n-A KUBE-SVC-\S+ -m statistic --mode random --probability 0\.3333333333 -j KUBE-SEP-/);
  assert.ok(t.includes('"shop/web:http cluster IP"'), 'service-level comments stay');
});

test('packet flows through the loaded rules (kube-proxy tracePacket style)', () => {
  const ipt = new Iptables();
  const p = new IptablesProxier(netsimIptablesBackend(ipt), OPTS);
  load(p);
  p.sync();
  const cases: Array<{ name: string; sourceIP: string; protocol?: 'tcp' | 'udp'; destIP: string; destPort: number; output: string; masq: boolean }> = [
    { name: 'pod to cluster IP', sourceIP: '10.244.1.99', destIP: '10.96.10.1', destPort: 80, output: '10.244.1.11:8080, 10.244.2.12:8080, 10.244.2.13:8080', masq: false },
    { name: 'pod to cluster IP with one endpoint', sourceIP: '10.244.1.99', destIP: '10.96.10.11', destPort: 80, output: '10.244.2.14:8080', masq: false },
    { name: 'node to cluster IP is masqueraded (off-cluster source)', sourceIP: NODE_IP, destIP: '10.96.10.12', destPort: 80, output: '10.244.1.15:8080, 10.244.2.16:8080', masq: true },
    { name: 'external to cluster IP is masqueraded', sourceIP: '203.0.113.200', destIP: '10.96.10.1', destPort: 80, output: '10.244.1.11:8080, 10.244.2.12:8080, 10.244.2.13:8080', masq: true },
    { name: 'hairpin: endpoint to its own service', sourceIP: '10.244.1.81', protocol: 'udp', destIP: '10.96.0.10', destPort: 53, output: '10.244.1.81:53', masq: true },
    { name: 'udp and tcp on the same port are separate', sourceIP: '10.244.1.99', protocol: 'udp', destIP: '10.96.0.10', destPort: 53, output: '10.244.1.81:53', masq: false },
    { name: 'external to NodePort (Cluster): every endpoint, masqueraded', sourceIP: '203.0.113.200', destIP: NODE_IP, destPort: 30000, output: '10.244.1.21:80, 10.244.2.22:80', masq: true },
    { name: 'external to NodePort (Local): only the local endpoint, source kept', sourceIP: '203.0.113.200', destIP: NODE_IP, destPort: 30003, output: '10.244.1.31:80', masq: false },
    { name: 'pod to NodePort (Local): pods are not subject to the policy', sourceIP: '10.244.2.99', destIP: NODE_IP, destPort: 30003, output: '10.244.1.31:80, 10.244.2.32:80', masq: false },
    { name: 'node to NodePort (Local): masqueraded, every endpoint', sourceIP: NODE_IP, destIP: NODE_IP, destPort: 30003, output: '10.244.1.31:80, 10.244.2.32:80', masq: true },
    { name: 'no endpoints: REJECT on the cluster IP', sourceIP: '10.244.1.99', destIP: '10.96.10.6', destPort: 80, output: 'REJECT', masq: false },
    { name: 'no endpoints: REJECT on the NodePort', sourceIP: '203.0.113.200', destIP: NODE_IP, destPort: 30006, output: 'REJECT', masq: false },
    { name: 'internalTrafficPolicy Local without local endpoints: DROP', sourceIP: '10.244.1.99', destIP: '10.96.10.7', destPort: 80, output: 'DROP', masq: false },
    { name: 'internalTrafficPolicy Local: only the local endpoint', sourceIP: '10.244.2.99', destIP: '10.96.10.10', destPort: 80, output: '10.244.1.72:80', masq: false },
    { name: 'externalTrafficPolicy Local without local endpoints: external traffic dropped', sourceIP: '203.0.113.200', destIP: '198.51.100.8', destPort: 80, output: 'DROP', masq: false },
    { name: 'externalTrafficPolicy Local without local endpoints: pods still reach the LB IP', sourceIP: '10.244.1.99', destIP: '198.51.100.8', destPort: 80, output: '10.244.2.42:80', masq: false },
    { name: 'LoadBalancer IP from an allowed source range', sourceIP: '203.0.113.7', destIP: '198.51.100.4', destPort: 80, output: '10.244.2.41:80', masq: true },
    { name: 'LoadBalancer IP from another source: dropped by KUBE-PROXY-FIREWALL', sourceIP: '198.18.0.1', destIP: '198.51.100.4', destPort: 80, output: 'DROP', masq: false },
    { name: 'LoadBalancer IP from the LB IP itself (node inside a source range)', sourceIP: '198.51.100.4', destIP: '198.51.100.4', destPort: 80, output: '10.244.2.41:80', masq: true },
    { name: 'external IP', sourceIP: '203.0.113.200', destIP: '192.168.99.4', destPort: 80, output: '10.244.2.41:80', masq: true },
    { name: 'terminating endpoints are used only when nothing is ready', sourceIP: '10.244.1.99', destIP: '10.96.10.9', destPort: 80, output: '10.244.2.91:80', masq: false },
    { name: 'ready endpoints win over terminating ones', sourceIP: '10.244.1.99', destIP: '10.96.10.5', destPort: 80, output: '10.244.1.51:80, 10.244.2.52:80', masq: false },
    { name: 'a port the service does not have', sourceIP: '10.244.1.99', destIP: '10.96.10.1', destPort: 443, output: '', masq: false },
  ];
  for (const c of cases) {
    const got = tracePacket(ipt, { sourceIP: c.sourceIP, protocol: c.protocol ?? 'tcp', destIP: c.destIP, destPort: c.destPort }, [NODE_IP]);
    assert.deepEqual(got, { output: c.output, masq: c.masq }, c.name);
  }
});

const ns = `nskp${process.pid}`;
const root: string | false = process.getuid?.() !== 0 ? 'needs root'
  : spawnSync('iptables-restore', ['--version']).status !== 0 ? 'needs iptables-restore'
  : spawnSync('ip', ['netns', 'add', ns]).status !== 0 ? 'needs ip netns' : false;
if (root !== false) console.log(`# real-kernel kube-proxy tests skipped: ${root}`);
after(() => {
  if (root === false) spawnSync('ip', ['netns', 'del', ns]);
});
function inNs(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync('ip', ['netns', 'exec', ns, ...args], { input, encoding: 'utf8' });
}
function realSave(): string {
  return inNs(['iptables-save']).stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n');
}

test('the real kernel: same restores in a fresh netns, iptables-save equals the emulated node\'s', { skip: root }, () => {
  const ipt = new Iptables();
  const emu = netsimIptablesBackend(ipt);
  const p = new IptablesProxier({ restore: (text, o) => {
    emu.restore(text, o);
    const r = inNs(['iptables-restore', ...(o.noflush ? ['--noflush'] : []), ...(o.counters === true ? ['--counters'] : [])], text);
    assert.equal(r.status, 0, r.stderr);
  }, save: () => emu.save?.() ?? '' }, OPTS);
  load(p);
  p.sync();
  assert.equal(ipt.save(), realSave());
  // A partial sync with a deleted service (-X) behaves the same on both.
  p.onServiceUpdate(serviceInfoFromApi(services.find((s) => s.metadata.name === 'web')!), undefined);
  p.sync();
  assert.equal(ipt.save(), realSave());
});

test('the real iptables-restore --test accepts every generated ruleset, including 10 000 services', { skip: root }, () => {
  const texts: string[] = [];
  for (const o of [OPTS, { ...OPTS, masqueradeAll: true, localhostNodePorts: false }, { ...OPTS, largeClusterThreshold: 2 }]) {
    const rec = new RecordingIptablesBackend();
    const p = new IptablesProxier(rec, o);
    load(p);
    p.sync();
    texts.push(...rec.calls.map((c) => c.text));
  }
  const many = new IptablesProxier(new RecordingIptablesBackend(), OPTS);
  for (let i = 0; i < 10000; i++) {
    const svc: Service = { metadata: { name: `svc${i}`, namespace: 'ns' }, spec: { type: i % 10 === 0 ? 'NodePort' : 'ClusterIP', clusterIP: `10.96.${i >> 8}.${i & 255}`, ports: [{ name: 'http', port: 80, ...(i % 10 === 0 ? { nodePort: 30000 + (i / 10) } : {}) }] } };
    many.onServiceUpdate(undefined, serviceInfoFromApi(svc));
    many.onEndpointSliceUpdate(endpointSliceInfoFromApi(slice('ns', `svc${i}`, [{ name: 'http', port: 8080 }], [{ ip: `10.244.${i >> 8}.${(i & 255) + 1 > 254 ? 1 : (i & 255) + 1}` }]))!, false);
  }
  texts.push(many.sync().iptablesText);
  for (const t of texts) {
    const r = inNs(['iptables-restore', '--noflush', '--test'], t);
    assert.equal(r.status, 0, r.stderr);
  }
});

test('crossing the large-cluster threshold is a partial sync: only changed services are rewritten (without comments), the rest keep theirs', () => {
  const rec = new RecordingIptablesBackend();
  const p = new IptablesProxier(rec, { ...OPTS, largeClusterThreshold: 22 });
  load(p);
  const first = p.sync();
  assert.equal(first.full, true);
  assert.match(first.iptablesText, /-A KUBE-SEP-\S+ -m comment --comment shop\/web:http -s 10\.244\.1\.11 -j KUBE-MARK-MASQ/);
  // One more endpoint for shop/web crosses the threshold.
  const web = slice('shop', 'web', [{ name: 'http', port: 8080 }], [{ ip: '10.244.1.11', node: NODE }, { ip: '10.244.2.12', node: 'node02' }, { ip: '10.244.2.13', node: 'node02' }, { ip: '10.244.2.19', node: 'node02' }]);
  p.onEndpointSliceUpdate(endpointSliceInfoFromApi(web)!, false);
  const r = p.sync();
  assert.equal(r.full, false);
  assert.deepEqual(r.updatedServices, ['shop/web']);
  const perService = (r.iptablesText.match(/^:KUBE-(SVC|SEP|EXT|FW|SVL)-\S+/gm) ?? []).length;
  assert.equal(perService, 1 + 4, 'only shop/web\'s SVC and its four SEP chains are written');
  assert.match(r.iptablesText, /\n-A KUBE-SEP-\S+ -s 10\.244\.2\.19 -j KUBE-MARK-MASQ\n/, 'written chains drop their comments');
  assert.ok(!/-A KUBE-SEP-\S+ -m comment --comment shop\/two/.test(r.iptablesText), 'unchanged services are not rewritten');
});
