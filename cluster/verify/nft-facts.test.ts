/**
 * The probes' facts from kube-proxy's nftables ruleset: endpoints from the endpoint
 * chains, ClientIP affinity from the affinity sets, external and LoadBalancer IPs
 * (with their source ranges) from the service-ips and firewall-ips maps, Services
 * without endpoints from the no-endpoint maps; what the ruleset cannot show (health-check
 * node ports, a LoadBalancer IP without source ranges) from the node's kube-proxy. The
 * text is laid out as `nft list ruleset` prints kube-proxy's table (multi-line element
 * lists, tabs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nftRulesFacts } from './nft-facts.ts';
import type { KubeProxyView } from '../emulated-cluster.ts';

const RULESET = [
  'table ip kube-proxy {',
  '\tset cluster-ips {',
  '\t\ttype ipv4_addr',
  '\t\telements = { 10.96.1.0, 10.96.1.2,',
  '\t\t\t     10.96.1.9 }',
  '\t}',
  '',
  '\tmap no-endpoint-services {',
  '\t\ttype ipv4_addr . inet_proto . inet_service : verdict',
  '\t\telements = { 10.96.1.9 . tcp . 80 comment "default/nothing-behind" : goto reject-chain,',
  '\t\t\t     192.168.99.9 . udp . 53 comment "default/ext-empty" : goto reject-chain }',
  '\t}',
  '',
  '\tmap no-endpoint-nodeports {',
  '\t\ttype inet_proto . inet_service : verdict',
  '\t\telements = { tcp . 30082 comment "default/nothing-behind" : goto reject-chain }',
  '\t}',
  '',
  '\tmap firewall-ips {',
  '\t\ttype ipv4_addr . inet_proto . inet_service : verdict',
  '\t\telements = { 198.51.100.1 . tcp . 80 : goto firewall-YROSY2ZR-default/lb-partners/tcp/,',
  '\t\t\t     198.51.100.2 . tcp . 80 : goto firewall-AAAAAAAA-default/lb-two/tcp/ }',
  '\t}',
  '',
  '\tmap service-ips {',
  '\t\ttype ipv4_addr . inet_proto . inet_service : verdict',
  '\t\telements = { 10.96.1.0 . tcp . 80 : goto service-PFISGYVC-default/web/tcp/,',
  '\t\t\t     10.96.1.2 . tcp . 81 : goto service-MSXTVR3X-default/web-sticky/tcp/,',
  '\t\t\t     198.51.100.1 . tcp . 80 : goto external-YROSY2ZR-default/lb-partners/tcp/,',
  '\t\t\t     198.51.100.2 . tcp . 80 : goto external-AAAAAAAA-default/lb-two/tcp/,',
  '\t\t\t     192.168.99.4 . tcp . 8080 : goto external-QXUVFTSA-default/web-external/tcp/,',
  '\t\t\t     198.51.100.3 . tcp . 80 : goto external-BBBBBBBB-default/lb-open/tcp/ }',
  '\t}',
  '',
  '\tmap service-nodeports {',
  '\t\ttype inet_proto . inet_service : verdict',
  '\t\telements = { tcp . 30080 : goto external-SXIFFM75-default/web-nodeport/tcp/ }',
  '\t}',
  '',
  '\tset affinity-2QHKH4DZ-default/web-sticky/tcp/__10.244.51.3/80 {',
  '\t\ttype ipv4_addr',
  '\t\tflags dynamic,timeout',
  '\t\ttimeout 3h',
  '\t}',
  '',
  '\tchain firewall-YROSY2ZR-default/lb-partners/tcp/ {',
  '\t\tip saddr != 203.0.113.128/25 drop',
  '\t}',
  '',
  '\tchain firewall-AAAAAAAA-default/lb-two/tcp/ {',
  '\t\tip saddr != { 192.168.50.0/24, 198.51.100.2 } drop',
  '\t}',
  '',
  '\tchain endpoint-FJLFSHLF-default/web/tcp/__10.244.51.3/80 {',
  '\t\tip saddr 10.244.51.3 jump mark-for-masquerade',
  '\t\tmeta l4proto tcp dnat to 10.244.51.3:80',
  '\t}',
  '',
  '\tchain endpoint-6TGM4QVY-default/web/tcp/__10.244.58.3/80 {',
  '\t}',
  '',
  '\tchain endpoint-2QHKH4DZ-default/web-sticky/tcp/__10.244.51.3/8080 {',
  '\t\tupdate @affinity-2QHKH4DZ-default/web-sticky/tcp/__10.244.51.3/80 { ip saddr }',
  '\t}',
  '',
  '\tchain endpoint-QDRPMT6O-default/legacy/tcp/http__192.168.50.12/8080 {',
  '\t}',
  '}',
].join('\n');

test('nft facts: endpoints from the endpoint chains, affinity from the affinity sets, ports the ruleset names', () => {
  const f = nftRulesFacts(RULESET);
  assert.deepEqual([...f.endpoints].map(([k, v]) => [k, [...v]]), [
    ['default/web', ['10.244.51.3', '10.244.58.3']], ['default/web-sticky', ['10.244.51.3']], ['default/legacy', ['192.168.50.12']],
  ]);
  assert.deepEqual([...f.sticky], ['default/web-sticky']);
  for (const p of [80, 81, 8080, 30080]) assert.ok(f.ports.has(p), `port ${p}`);
  assert.deepEqual(f.hostPorts, []);
  assert.deepEqual(f.healthChecks, []);
});

test('nft facts: external IPs and LoadBalancer IPs (source ranges from the firewall chain, one or a set, the LB IP itself left out); ClusterIPs are neither', () => {
  const f = nftRulesFacts(RULESET);
  // Without kube-proxy's view a LoadBalancer IP without source ranges reads as an external IP.
  assert.deepEqual(f.externalIPs, [
    { service: 'default/web-external', ip: '192.168.99.4', proto: 'tcp', port: 8080 },
    { service: 'default/lb-open', ip: '198.51.100.3', proto: 'tcp', port: 80 },
  ]);
  assert.deepEqual(f.loadBalancers, [
    { service: 'default/lb-partners', ip: '198.51.100.1', proto: 'tcp', port: 80, ranges: ['203.0.113.128/25'] },
    { service: 'default/lb-two', ip: '198.51.100.2', proto: 'tcp', port: 80, ranges: ['192.168.50.0/24'] },
  ]);
});

const PROXY: KubeProxyView = {
  healthChecks: [{ service: 'default/lb-local', port: 31555, localEndpoints: 1 }, { service: 'default/lb-elsewhere', port: 31556, localEndpoints: 0 }],
  loadBalancerIPs: [
    { service: 'default/lb-partners', ip: '198.51.100.1', proto: 'tcp', port: 80 },
    { service: 'default/lb-open', ip: '198.51.100.3', proto: 'tcp', port: 80 },
    // Another port or protocol of the same IP is not the ruleset's element.
    { service: 'default/web-external', ip: '192.168.99.4', proto: 'udp', port: 8080 },
  ],
};

test('nft facts with the node\'s kube-proxy: its LoadBalancer IPs without source ranges are LoadBalancer IPs, and its health-check servers are the health checks (with or without a local endpoint)', () => {
  const f = nftRulesFacts(RULESET, PROXY);
  assert.deepEqual(f.externalIPs, [{ service: 'default/web-external', ip: '192.168.99.4', proto: 'tcp', port: 8080 }]);
  assert.deepEqual(f.loadBalancers, [
    { service: 'default/lb-partners', ip: '198.51.100.1', proto: 'tcp', port: 80, ranges: ['203.0.113.128/25'] },
    { service: 'default/lb-two', ip: '198.51.100.2', proto: 'tcp', port: 80, ranges: ['192.168.50.0/24'] },
    { service: 'default/lb-open', ip: '198.51.100.3', proto: 'tcp', port: 80, ranges: [] },
  ]);
  assert.deepEqual(f.healthChecks, [{ service: 'default/lb-local', port: 31555 }, { service: 'default/lb-elsewhere', port: 31556 }]);
  assert.ok(f.ports.has(31555) && f.ports.has(31556) && !nftRulesFacts(RULESET).ports.has(31555));
  // kube-proxy's view never adds an address the ruleset does not program.
  const none = nftRulesFacts(undefined, PROXY);
  assert.deepEqual([none.externalIPs.length, none.loadBalancers.length], [0, 0]);
});

test('nft facts: Services without endpoints — a ClusterIP is rejected for pods, an external IP and a NodePort for the outside', () => {
  assert.deepEqual(nftRulesFacts(RULESET).rejects, [
    { service: 'default/nothing-behind', from: 'pod', dst: '10.96.1.9', proto: 'tcp', dport: 80 },
    { service: 'default/ext-empty', from: 'outside', dst: '192.168.99.9', proto: 'udp', dport: 53 },
    { service: 'default/nothing-behind', from: 'outside', proto: 'tcp', dport: 30082 },
  ]);
});

test('nft facts: an empty set or map does not lend its neighbour\'s elements; no ruleset, no facts', () => {
  const empty = RULESET.replace(/\t\telements = \{ 10\.96\.1\.0, 10\.96\.1\.2,\n\t\t\t {5}10\.96\.1\.9 \}\n/, '').replace(/\t\telements = \{ tcp \. 30082 [^\n]*\n/, '');
  const f = nftRulesFacts(empty);
  // Without the cluster-ips set every service-ips address is outside the cluster's ClusterIPs: nothing from the next map's elements.
  assert.equal(f.externalIPs.length, 4);
  assert.deepEqual(f.rejects.map((r) => `${r.from} ${r.dport}`), ['outside 80', 'outside 53']);
  const none = nftRulesFacts(undefined);
  assert.deepEqual([none.endpoints.size, none.sticky.size, none.externalIPs.length, none.loadBalancers.length, none.rejects.length], [0, 0, 0, 0, 0]);
});

test('nft facts: any text reads without throwing, and lines of the ruleset in any order give the same endpoints and affinity', () => {
  fc.assert(fc.property(fc.string({ maxLength: 400 }), (s) => {
    nftRulesFacts(s);
    nftRulesFacts(RULESET.slice(0, s.length % RULESET.length) + s);
  }));
  const lines = RULESET.split('\n');
  const chains = lines.filter((l) => /^\t(chain endpoint-|set affinity-)/.test(l));
  fc.assert(fc.property(fc.shuffledSubarray(chains, { minLength: chains.length, maxLength: chains.length }), (order) => {
    const f = nftRulesFacts(order.join('\n'));
    assert.deepEqual(new Set(f.sticky), new Set(['default/web-sticky']));
    assert.deepEqual(new Set([...f.endpoints.get('default/web') ?? []]), new Set(['10.244.51.3', '10.244.58.3']));
  }));
});
