/**
 * The views of a running IPVS-mode node: `ipvsadm -Ln` and `ipset list` after
 * kube-proxy synced ClusterIP, NodePort and LoadBalancer services and one UDP flow
 * went through. Compared with golden files (tests/golden/kube-proxy/ipvsadm-Ln.txt,
 * ipset-list.txt; regenerate with UPDATE_GOLDEN=1 and read the diff), with the
 * format facts of REFERENCE.md, and — where this machine has root and the ipset tool —
 * with what the real kernel lists for the same sets and iptables rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Service } from '../../control/api/service.ts';
import { slice } from '../../proxy/fixtures.ts';
import { buildFlowCluster } from '../support/service-flows.ts';
import type { EndpointPod } from '../support/service-flows.ts';

const WEB_L: EndpointPod = { name: 'web-l', ip: '10.244.1.10', node: 'node01', port: 8080 };
const WEB_R1: EndpointPod = { name: 'web-r1', ip: '10.244.2.10', node: 'node02', port: 8080 };
const WEB_R2: EndpointPod = { name: 'web-r2', ip: '10.244.2.11', node: 'node02', port: 8080 };
const DNS_L: EndpointPod = { name: 'dns-l', ip: '10.244.1.53', node: 'node01', port: 53 };

const services: Service[] = [
  { metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
  { metadata: { name: 'np', namespace: 'default' }, spec: { type: 'NodePort', clusterIP: '10.96.0.21', ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30080 }] } },
  {
    metadata: { name: 'lb', namespace: 'default' },
    spec: {
      type: 'LoadBalancer', clusterIP: '10.96.0.22', externalTrafficPolicy: 'Local', healthCheckNodePort: 32081, loadBalancerSourceRanges: ['203.0.113.0/25'],
      sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } }, ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30081 }],
    },
    status: { loadBalancer: { ingress: [{ ip: '198.51.100.10' }] } },
  },
  { metadata: { name: 'kube-dns', namespace: 'kube-system' }, spec: { clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] } },
];

const tcp = (svc: string, eps: EndpointPod[]) => slice('default', svc, [{ name: 'http', port: 8080 }], eps.map((e) => ({ ip: e.ip, node: e.node })));
const slices = [tcp('web', [WEB_L, WEB_R1, WEB_R2]), tcp('np', [WEB_L, WEB_R1]), tcp('lb', [WEB_L, WEB_R1]), slice('kube-system', 'kube-dns', [{ name: 'dns', port: 53, protocol: 'UDP' }], [{ ip: DNS_L.ip, node: DNS_L.node }])];

function node() {
  const c = buildFlowCluster('ipvs', { services, slices, endpoints: [WEB_L, WEB_R1, WEB_R2, DNS_L], clientPods: [{ name: 'client', ip: '10.244.1.2' }] });
  // One UDP flow to the DNS service: an inactive connection on its real server.
  const r = c.probe(c.client('client'), '10.96.0.10', 53, 1);
  assert.deepEqual(r.outcome, { 'dns-l': 'src' });
  return c;
}

function golden(name: string, text: string): void {
  const url = new URL(`../golden/kube-proxy/${name}`, import.meta.url);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(url, text);
  assert.equal(text, readFileSync(url, 'utf8'), `${name} differs from the golden file`);
}

test('IPVS node: ipvsadm -Ln lists every virtual server in ipvsadm\'s layout', () => {
  const c = node();
  const out = c.kp.ipvsadm();
  const lines = out.split('\n');
  // REFERENCE.md: the three header lines, then "PROT  ADDR:PORT SCHED [persistent N]" and padded real-server rows.
  assert.deepEqual(lines.slice(0, 3), ['IP Virtual Server version 1.2.1 (size=4096)', 'Prot LocalAddress:Port Scheduler Flags', '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn']);
  for (const l of lines.slice(3, -1)) assert.match(l, /^(?:(?:TCP|UDP) {2}\d+\.\d+\.\d+\.\d+:\d+ rr(?: persistent 10800)?| {2}-> \d+\.\d+\.\d+\.\d+:\d+ +Masq {4}1 {6}\d+ +\d+ *)$/, l);
  // NodePorts on every node address (eth0's two and cni0's), the LB IP, the ClusterIPs.
  const vs = lines.filter((l) => /^(TCP|UDP) /.test(l)).map((l) => l.split(' ').filter(Boolean).slice(0, 2).join(' '));
  assert.deepEqual(vs, [
    'TCP 10.96.0.20:80', 'TCP 10.96.0.21:80', 'TCP 10.96.0.22:80', 'TCP 10.244.1.1:30080', 'TCP 10.244.1.1:30081',
    'TCP 192.168.50.11:30080', 'TCP 192.168.50.11:30081', 'TCP 192.168.50.21:30080', 'TCP 192.168.50.21:30081', 'TCP 198.51.100.10:80', 'UDP 10.96.0.10:53',
  ]);
  assert.match(out, /\nUDP {2}10\.96\.0\.10:53 rr\n {2}-> 10\.244\.1\.53:53 {15}Masq {4}1 {6}0 {10}1 {9}\n/, 'the UDP flow is an inactive connection');
  // externalTrafficPolicy Local: the LB IP and NodePorts have the local endpoint only; the ClusterIP has both.
  assert.match(out, /\nTCP {2}198\.51\.100\.10:80 rr persistent 10800\n {2}-> 10\.244\.1\.10:8080 [^\n]*\n(?! {2}->)/);
  assert.match(out, /\nTCP {2}10\.96\.0\.22:80 rr persistent 10800\n {2}-> 10\.244\.1\.10:8080 [^\n]*\n {2}-> 10\.244\.2\.10:8080 /);
  golden('ipvsadm-Ln.txt', out);
  c.kp.stop();
});

test('IPVS node: ipset list shows kube-proxy\'s sets, their members and the iptables references', () => {
  const c = node();
  const out = c.kp.ipsetList();
  const blocks = new Map(out.split('\n\n').map((b) => [/^Name: (\S+)/.exec(b)?.[1] ?? '', b]));
  assert.equal(blocks.get('KUBE-CLUSTER-IP')?.replace(/initval 0x[0-9a-f]{8}/, 'initval X'), [
    'Name: KUBE-CLUSTER-IP', 'Type: hash:ip,port', 'Revision: 7', 'Header: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval X',
    'Size in memory: 408', 'References: 3', 'Number of entries: 4', 'Members:', '10.96.0.10,udp:53', '10.96.0.20,tcp:80', '10.96.0.21,tcp:80', '10.96.0.22,tcp:80',
  ].join('\n'), 'three rules match KUBE-CLUSTER-IP: the masquerade rule, the ACCEPT and KUBE-IPVS-FILTER\'s RETURN');
  assert.match(blocks.get('KUBE-NODE-PORT-TCP') ?? '', /^Name: KUBE-NODE-PORT-TCP\nType: bitmap:port\nRevision: 3\nHeader: range 0-65535\nSize in memory: 8264\nReferences: 1\nNumber of entries: 2\nMembers:\n30080\n30081\n?$/);
  assert.match(blocks.get('KUBE-NODE-PORT-LOCAL-TCP') ?? '', /\nNumber of entries: 1\nMembers:\n30081\n?$/);
  assert.match(blocks.get('KUBE-LOAD-BALANCER-SOURCE-CIDR') ?? '', /\nMembers:\n198\.51\.100\.10,tcp:80,203\.0\.113\.0\/25\n?$/);
  assert.match(blocks.get('KUBE-LOOP-BACK') ?? '', /\nReferences: 1\nNumber of entries: 2\nMembers:\n10\.244\.1\.10,tcp:8080,10\.244\.1\.10\n10\.244\.1\.53,udp:53,10\.244\.1\.53\n?$/);
  assert.match(blocks.get('KUBE-NODE-PORT-UDP') ?? '', /\nReferences: 0\nNumber of entries: 0\nMembers:\n?$/, 'an empty set: no rule names it');
  golden('ipset-list.txt', out);
  c.kp.stop();
});

/** Real `ipset list` for the node's sets and rules, in a fresh user+network namespace; undefined when impossible here. */
function realIpsetList(ipsetSave: string, iptablesSave: string): string | undefined {
  const probe = spawnSync('unshare', ['-rn', 'ipset', 'list'], { encoding: 'utf8' });
  if (probe.status !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'netsim-ipset-'));
  try {
    writeFileSync(join(dir, 'sets'), ipsetSave);
    writeFileSync(join(dir, 'rules'), iptablesSave);
    const r = spawnSync('unshare', ['-rn', 'sh', '-c', `ipset restore < ${dir}/sets && iptables-restore < ${dir}/rules && ipset list`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Hash-set members come out in the kernel's hash order: compare them sorted. */
function sortMembers(list: string): string {
  return list.split('\n\n').map((b) => {
    const [head = '', members = ''] = b.split('Members:\n');
    return `${head}Members:\n${members.split('\n').filter(Boolean).sort().join('\n')}`;
  }).join('\n\n');
}

test('IPVS node: ipset list matches the real kernel\'s for the same sets and rules (where root and ipset exist)', (t) => {
  const c = node();
  const real = realIpsetList(c.ipsets!.save(), c.nf.iptables.save());
  if (real === undefined) {
    t.skip('no unshare/ipset with kernel ip_set here');
    return;
  }
  assert.equal(sortMembers(c.kp.ipsetList()), sortMembers(real));
  c.kp.stop();
});
