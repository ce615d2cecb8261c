/**
 * `netsim trace` and `netsim node` as scripts drive them: JSON schema of the
 * report, exit codes, errors with close matches, determinism per seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

function netsim(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['bin/netsim.mjs', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

interface Hop { node: string; netns: string; component: string; action: string; device?: string; packet?: { src: string; dst: string; proto: string; sport?: number; dport?: number; ttl: number }; rule?: string; detail: string }

test('trace -o json: verdict, hops with node/component/action/device/packet, and the reply', () => {
  const r = netsim(['trace', '--from', 'pod:default/webapp01', '--to', 'pod:default/backend', '--proto', 'tcp', '--port', '80', '-o', 'json', '--seed', '2']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { verdict: string; from: string; to: string; hops: Hop[]; reply: { verdict: string; hops: Hop[] } };
  assert.equal(j.verdict, 'delivered');
  assert.equal(j.from, 'pod:default/webapp01');
  assert.equal(j.reply.verdict, 'delivered');
  for (const h of [...j.hops, ...j.reply.hops]) {
    assert.equal(typeof h.node, 'string');
    assert.equal(typeof h.component, 'string');
    assert.equal(typeof h.action, 'string');
  }
  const arrival = j.hops.filter((h) => h.component === 'device' && h.action === 'rx' && h.netns === 'default/backend' && h.packet?.proto === 'tcp').at(-1);
  assert.deepEqual(arrival?.packet?.dport, 80);
  assert.equal(arrival?.packet?.ttl, 60, 'node01 forwards (63), flanneld out (62), flanneld in (61), node02 forwards (60)');
  assert.ok(j.hops.some((h) => h.component === 'route' && h.node === 'node01'));
  assert.ok(j.hops.some((h) => h.component === 'flannel0' && h.action === 'encap' && h.node === 'node01'), 'flanneld encapsulation on node01');
  assert.ok(j.hops.some((h) => h.component === 'flannel0' && h.action === 'decap' && h.node === 'node02'), 'and decapsulation on node02');
  assert.ok(j.hops.some((h) => h.component === 'netfilter' && h.rule === 'filter FLANNEL-FWD:1'), 'FORWARD accepted by flanneld\'s rule, named with its rule number');
  const again = netsim(['trace', '--from', 'pod:default/webapp01', '--to', 'pod:default/backend', '--proto', 'tcp', '--port', '80', '-o', 'json', '--seed', '2']);
  assert.equal(again.out, r.out, 'same seed, identical trace JSON');
  const other = netsim(['trace', '--from', 'pod:default/webapp01', '--to', 'pod:default/backend', '--proto', 'tcp', '--port', '80', '-o', 'json', '--seed', '3']);
  assert.notEqual(other.out, r.out, 'another seed: other ephemeral port and sequence numbers');
});

test('trace to a closed port is rejected with exit code 1; the text output names the drop', () => {
  const r = netsim(['trace', '--from', 'webapp01', '--to', 'pod:default/backend', '--proto', 'udp', '--port', '9999']);
  assert.equal(r.code, 1);
  assert.match(r.out, /^request: REJECTED — no-socket at default\/backend: no UDP socket on 10\.244\.\d+\.\d+:9999/m);
});

test('unknown pod: a stable code and the closest names', () => {
  const r = netsim(['trace', '--from', 'webap01', '--to', 'pod:default/backend']);
  assert.equal(r.code, 2);
  assert.match(r.err, /netsim: NETSIM_ERR_UNKNOWN_POD: unknown pod "default\/webap01"; did you mean "default\/webapp01"/);
});

test('node views print like iproute2 after the demo traffic settled', () => {
  const r = netsim(['node', 'node01', 'route']);
  assert.equal(r.code, 0, r.err);
  // flannel's UDP backend: the whole network via flannel0, the node's lease on docker0 (REFERENCE.md).
  assert.match(r.out, /^default via 192\.168\.50\.1 dev eth0 \n10\.244\.0\.0\/16 dev flannel0 proto kernel scope link src 10\.244\.(\d+)\.0 \n10\.244\.\1\.0\/24 dev docker0 proto kernel scope link src 10\.244\.\1\.1 \n192\.168\.50\.0\/24 dev eth0 proto kernel scope link src 192\.168\.50\.11 \n$/);
  const n = netsim(['node', 'node01', 'neigh']);
  assert.match(n.out, /^192\.168\.50\.12 dev eth0 lladdr 52:54:c0:a8:32:0c (REACHABLE|STALE|DELAY)$/m);
  const bad = netsim(['node', 'node1', 'route']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /did you mean "node01"/);
});

test('netsim capture writes a pcapng of the exchange; node views show iptables-save, conntrack and subnet.env', () => {
  const file = `/tmp/netsim-capture-${process.pid}.pcapng`;
  const r = netsim(['capture', '--from', 'external:client', '--to', 'node:node02', '--proto', 'tcp', '--port', '30000', '-w', file]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^\d+ packets on \d+ interfaces written to .*\(delivered\)$/m);
  assert.match(r.out, /interfaces: client\/eth0, router\/eth1, router\/eth0, /);
  const head = spawnSync('head', ['-c', '4', file]).stdout as unknown as Buffer;
  assert.equal(Buffer.from(head).toString('hex'), '0a0d0d0a', 'a pcapng section header');
  spawnSync('rm', ['-f', file]);
  const env = netsim(['node', 'node01', 'subnet-env']);
  assert.match(env.out, /^FLANNEL_NETWORK=10\.244\.0\.0\/16\nFLANNEL_SUBNET=10\.244\.\d+\.1\/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n$/);
  const save = netsim(['node', 'node01', 'iptables-save']);
  assert.match(save.out, /^-A KUBE-SERVICES -d 10\.96\.63\.155\/32 -p tcp -m comment --comment "default\/nginx-service cluster IP" -m tcp --dport 80 -j KUBE-SVC-V2OKYYMBY3REGZOG$/m);
  assert.match(save.out, /^-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully$/m);
  const ct = netsim(['node', 'node02', 'conntrack']);
  assert.match(ct.out, /^tcp {6}6 \d+ TIME_WAIT src=10\.244\.\d+\.\d+ dst=203\.0\.113\.10 .* dst=192\.168\.50\.12 sport=80 dport=\d+ \[ASSURED\] mark=0 use=1$/m, 'the masqueraded flow to the outside');
});
