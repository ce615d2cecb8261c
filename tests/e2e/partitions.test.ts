// Issue 24: the seed cluster split over two `netsim up` processes on one real etcd, the
// underlay between them over real loopback UDP. A curl from webapp01 (node01, partition 0)
// to the backend Service (its pod on node02, partition 1) crosses processes and each
// partition's flows show its half; peers' garbage is dropped and counted while the cluster
// keeps working and etcd stays readable; killing partition 1 makes node02 NotReady and
// node01's kube-proxy drops its endpoints, and starting it again brings them back. Bad
// partition options and an unreachable etcd exit 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findEtcd, ETCD_SKIP_REASON, LocalEtcd } from '../../control/store/etcd-harness.ts';
import { EtcdStore } from '../../control/store/etcd-store.ts';
import { readKubeconfig } from '../../cli/up/kubeconfig.ts';
import { remoteRequest } from '../../cli/remote.ts';
import type { KubeconfigEntry } from '../../cli/up/kubeconfig.ts';
import { BIN, ROOT, runWith, startUp, stopUp, until } from '../support/netsim-up.ts';
import type { Up } from '../support/netsim-up.ts';
import type { Flow } from '../../observe/flow.ts';
import type { TraceReport } from '../../netsim/trace/report.ts';
import type { Node, Pod, Service } from '../../control/api/index.ts';
import { emitUnderlayDatagram } from '../../netsim/wire/underlay-datagram.ts';

const KUBECTL = '/usr/bin/kubectl';
const etcdBin = findEtcd();
const skip = etcdBin === undefined ? ETCD_SKIP_REASON : !existsSync(KUBECTL) ? 'kubectl not installed (.ci/run installs it)' : false;
if (skip !== false) console.log(`# partitions.test: skipped, ${skip}`);
const SPEC = join(ROOT, 'examples/seed-cluster.yaml');

/** Two UDP ports free right now on loopback. */
async function udpPorts(): Promise<[number, number]> {
  const socks = [createSocket('udp4'), createSocket('udp4')];
  const ports = await Promise.all(socks.map((s) => new Promise<number>((r) => s.bind(0, '127.0.0.1', () => r(s.address().port)))));
  for (const s of socks) s.close();
  return ports as [number, number];
}

async function getJson<T>(kc: KubeconfigEntry, path: string): Promise<T> {
  const r = await remoteRequest(kc, 'GET', path, { accept: 'application/json' });
  assert.equal(r.status, 200, `${path}: ${r.body}`);
  return JSON.parse(r.body) as T;
}

const flowsOf = async (kc: KubeconfigEntry): Promise<Flow[]> => {
  const r = await remoteRequest(kc, 'GET', '/netsim/v1/flows?last=500&port=80', {});
  return r.body.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Flow);
};

test('two partitions on etcd: a curl crosses them over UDP, garbage is counted, killing one makes its node NotReady and its endpoints leave', { skip, timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-part-'));
  const etcd = await LocalEtcd.start(etcdBin as string, dir);
  const [u0, u1] = await udpPorts();
  const common = ['--spec', SPEC, '--listen', '127.0.0.1:0', '--anonymous', '--no-tls', '--store', 'etcd', '--etcd-endpoints', etcd.endpoint, '--etcd-prefix', '/part-test',
    '--node-status-update-frequency', '500ms', '--node-monitor-grace-period', '3s'];
  let p0: Up | undefined;
  let p1: Up | undefined;
  try {
    [p0, p1] = await Promise.all([
      startUp([...common, '--state', join(dir, 's0'), '--partition', '0/2', '--underlay-listen', `127.0.0.1:${u0}`, '--underlay-peer', `1=127.0.0.1:${u1}`], { timeoutMs: 120_000 }),
      startUp([...common, '--state', join(dir, 's1'), '--partition', '1/2', '--underlay-listen', `127.0.0.1:${u1}`, '--underlay-peer', `0=127.0.0.1:${u0}`], { timeoutMs: 120_000 }),
    ]);
    assert.match(p0.err(), /partition 0\/2: nodes node01; .*runs the controllers/);
    assert.match(p1.err(), /partition 1\/2: nodes node02; /);
    const kc0 = readKubeconfig(p0.kubeconfig);
    const kc1 = readKubeconfig(p1.kubeconfig);
    // One cluster in etcd: both API servers see both nodes Ready and the backend running on node02.
    await until('both nodes Ready and backend running', async () => {
      const nodes = (await getJson<{ items: Node[] }>(kc1, '/api/v1/nodes')).items;
      const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
      const backend = await remoteRequest(kc0, 'GET', '/api/v1/namespaces/default/pods/backend', { accept: 'application/json' });
      return ready === 2 && backend.status === 200 && (JSON.parse(backend.body) as Pod).status?.phase === 'Running' ? true : undefined;
    }, 90_000);
    const svc = await getJson<Service>(kc0, '/api/v1/namespaces/default/services/backend');
    const backendIp = (await getJson<Pod>(kc0, '/api/v1/namespaces/default/pods/backend')).status?.podIP as string;

    const curl = await runWith(KUBECTL, ['exec', 'webapp01', '--', 'curl', '-s', '-m', '5', `http://${svc.spec.clusterIP}/`], dir, p0.kubeconfig);
    assert.equal(curl.code, 0, curl.stderr);
    assert.match(curl.stdout, /from backend/);
    // Both halves: node01 (partition 0) balanced the Service to the backend pod and sent the SYN off;
    // node02 (partition 1) delivered it to the pod. Each process names the other's pods from the API.
    const syn = (f: Flow): boolean => f.tcpFlags?.includes('SYN') === true && !f.tcpFlags.includes('ACK');
    const half0 = await until('partition 0 flow', async () => (await flowsOf(kc0)).find((f) => syn(f) && f.node === 'node01' && f.service === 'default/backend'));
    assert.equal(half0.source.name, 'webapp01');
    assert.deepEqual([half0.destination.ip, half0.destination.name, half0.destination.node], [backendIp, 'backend', 'node02']);
    assert.equal(half0.verdict, 'FORWARDED');
    const half1 = await until('partition 1 flow', async () => (await flowsOf(kc1)).find((f) => syn(f) && f.node === 'node02' && f.destination.name === 'backend'));
    assert.deepEqual([half1.source.name, half1.source.node, half1.source.port], ['webapp01', 'node01', half0.source.port]);
    // A live trace from partition 0 crosses too: the probe's ARP and SYN go out over UDP and the
    // SYN-ACK comes back while the driver moves virtual time with the wall clock (before, the window
    // ran at once and the peer's ARP reply never arrived).
    // Not spawnSync: a blocked event loop would leave this process's kept-alive API connections stale.
    const tr = await runWith(process.execPath, [BIN, 'trace', '--from', 'webapp01', '--to', 'service:default/backend', '-o', 'json'], dir, p0.kubeconfig);
    assert.equal(tr.code, 0, tr.stderr + tr.stdout);
    const trace = JSON.parse(tr.stdout) as TraceReport;
    assert.equal(trace.verdict, 'delivered');
    const sentOff = trace.hops.findLastIndex((h) => h.node === 'node01');
    assert.ok(trace.hops.some((h) => h.node === 'node01' && h.component === 'nat'), 'kube-proxy on node01 balanced the Service to the backend');
    // The other half, fetched from partition 1 (its API registered in etcd) under the trace id the
    // SYN's datagram carried: node02 delivers the SYN to the backend pod, its SYN-ACK's hops on node02
    // come first in the reply and node01 delivers it to webapp01 — one report, both nodes.
    const synDelivered = trace.hops.findIndex((h) => h.node === 'node02' && h.action === 'deliver' && h.netns === 'default/backend');
    assert.ok(sentOff >= 0 && synDelivered > sentOff, `node02 delivers the SYN to the backend after node01 sent it off:\n${trace.hops.map((h) => `${h.node}/${h.netns} ${h.component} ${h.action} ${h.detail}`).join('\n')}`);
    const answer = trace.reply?.hops ?? [];
    const replyOut = answer.findLastIndex((h) => h.node === 'node02');
    assert.ok(replyOut >= 0 && answer[0]?.netns === 'default/backend', `the SYN-ACK starts at the backend on node02: ${JSON.stringify(answer)}`);
    assert.ok(answer.slice(replyOut + 1).length > 0 && answer.slice(replyOut + 1).every((h) => h.node === 'node01'), 'then node01 carries it');
    assert.equal(answer.at(-1)?.action, 'deliver', JSON.stringify(answer));
    assert.equal(answer.at(-1)?.node, 'node01');
    assert.equal(answer.at(-1)?.netns, 'default/webapp01');
    // The text report names both nodes.
    const text = await runWith(process.execPath, [BIN, 'trace', '--from', 'webapp01', '--to', 'service:default/backend'], dir, p0.kubeconfig);
    assert.equal(text.code, 0, text.stderr + text.stdout);
    assert.match(text.stdout, /node02/);
    assert.doesNotMatch(text.stdout, /other half is missing/);
    const stats0 = await getJson<{ sent: number; received: number }>(kc0, '/netsim/v1/underlay');
    assert.ok(stats0.sent > 0 && stats0.received > 0, JSON.stringify(stats0));

    // Garbage at partition 1's underlay port: three malformed datagrams, and a well-formed frame from
    // an address that is no peer (a stranger cannot inject frames).
    const garbage = createSocket('udp4');
    await new Promise<void>((r) => garbage.bind(0, '127.0.0.1', () => r()));
    const wellFormed = emitUnderlayDatagram(0, new Uint8Array(60).fill(0xff), false).bytes;
    for (const b of [Buffer.from('not a frame'), Buffer.alloc(0), Buffer.from('4e53554c01000000ffff', 'hex'), wellFormed]) {
      await new Promise<void>((r) => garbage.send(b, u1, '127.0.0.1', () => r()));
    }
    garbage.close();
    const dropped = await until('drops counted', async () => {
      const s = await getJson<{ dropped: Record<string, number> }>(kc1, '/netsim/v1/underlay');
      return s.dropped['malformed'] === 3 && s.dropped['unknown-peer'] === 1 ? s.dropped : undefined;
    });
    assert.equal(dropped['bad-tag'], 0);
    // Logged once per store probe (2 s), not once per datagram.
    await until('drops logged', async () => (/WARN {2}underlay: 4 datagram\(s\) dropped \(malformed 3, unknown-peer 1; last error: underlay: /.test(p1?.err() ?? '') ? true : undefined), 10_000);
    // Still serving, still carrying: the same curl again.
    const again = await runWith(KUBECTL, ['exec', 'webapp01', '--', 'curl', '-s', '-m', '5', `http://${svc.spec.clusterIP}/`], dir, p0.kubeconfig);
    assert.match(again.stdout, /from backend/);
    assert.equal(p1.proc.exitCode, null);

    // Partition 1 dies without a word: node02 stops posting status, the node lifecycle controller
    // (partition 0) marks it NotReady and its pods unready, and node01's kube-proxy drops the endpoint.
    const dnatTo = async (): Promise<boolean> => {
      const r = await remoteRequest(kc0, 'GET', '/netsim/v1/nodeview?node=node01&view=iptables-save', {});
      return r.body.includes(`-j DNAT --to-destination ${backendIp}:80`);
    };
    assert.equal(await dnatTo(), true);
    p1.proc.kill('SIGKILL');
    await p1.exit;
    p1 = undefined;
    await until('node02 NotReady', async () => {
      const n = await getJson<Node>(kc0, '/api/v1/nodes/node02');
      return n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'Unknown' ? true : undefined;
    }, 30_000);
    await until('backend endpoint gone from node01', async () => ((await dnatTo()) ? undefined : true), 30_000);
    const backend = await getJson<Pod>(kc0, '/api/v1/namespaces/default/pods/backend');
    assert.equal(backend.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False');

    // Nothing in etcd is damaged: every object under the prefix is JSON, every flannel lease parses.
    const store = await EtcdStore.connect({ endpoint: etcd.endpoint, namespace: '/part-test' });
    try {
      const all = await store.list('/');
      assert.ok(all.items.length > 50);
      for (const kv of all.items) assert.doesNotThrow(() => JSON.parse(kv.value), kv.key);
      const leases = all.items.filter((kv) => kv.key.startsWith('/coreos.com/network/subnets/'));
      assert.deepEqual(leases.map((kv) => (JSON.parse(kv.value) as { PublicIP: string }).PublicIP).sort(), ['192.168.50.11', '192.168.50.12']);
    } finally {
      await store.close();
    }

    // Partition 1 again, on the same etcd and address: node02 keeps its flannel lease, posts Ready,
    // restarts its pods; their endpoints come back on node01 and the curl crosses again.
    p1 = await startUp([...common, '--state', join(dir, 's1'), '--partition', '1/2', '--underlay-listen', `127.0.0.1:${u1}`, '--underlay-peer', `0=127.0.0.1:${u0}`], { timeoutMs: 120_000 });
    await until('node02 Ready again', async () => {
      const n = await getJson<Node>(kc0, '/api/v1/nodes/node02');
      return n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? true : undefined;
    }, 60_000);
    const newBackendIp = await until('backend endpoint back on node01', async () => {
      const ip = (await getJson<Pod>(kc0, '/api/v1/namespaces/default/pods/backend')).status?.podIP;
      const r = await remoteRequest(kc0, 'GET', '/netsim/v1/nodeview?node=node01&view=iptables-save', {});
      return ip !== undefined && r.body.includes(`-j DNAT --to-destination ${ip}:80`) ? ip : undefined;
    }, 60_000);
    // flanneld reuses the lease its PublicIP holds: the pod's new address is in node02's old subnet.
    assert.equal(newBackendIp.split('.').slice(0, 3).join('.'), backendIp.split('.').slice(0, 3).join('.'));
    const back = await runWith(KUBECTL, ['exec', 'webapp01', '--', 'curl', '-s', '-m', '5', `http://${svc.spec.clusterIP}/`], dir, p0.kubeconfig);
    assert.match(back.stdout, /from backend/);
  } finally {
    await stopUp(p0);
    if (p1 !== undefined) await stopUp(p1);
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('netsim up --partition: bad values and an unreachable etcd exit 2 with a code, before serving', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-part-bad-'));
  try {
    const run = (...args: string[]) => spawnSync(process.execPath, [BIN, 'up', '--spec', SPEC, '--listen', '127.0.0.1:0', '--state', join(dir, 's'), '--anonymous', '--no-tls', ...args], { encoding: 'utf8', timeout: 60_000 });
    const etcdArgs = ['--store', 'etcd', '--etcd-endpoints', 'http://127.0.0.1:9'];
    const peerArgs = ['--underlay-listen', '127.0.0.1:0', '--underlay-peer', '1=127.0.0.1:7000'];
    writeFileSync(join(dir, 'key-open'), '0123456789abcdef0123456789abcdef', { mode: 0o644 });
    writeFileSync(join(dir, 'key-short'), 'short\n', { mode: 0o600 });
    for (const [args, code, what] of [
      [['--partition', '2/2', ...etcdArgs], 'NETSIM_ERR_PARTITION', /0 <= I < N/],
      [['--partition', 'one/2', ...etcdArgs], 'NETSIM_ERR_PARTITION', /I\/N/],
      [['--partition', '0/2', '--underlay-listen', '127.0.0.1:0', '--underlay-peer', '1=127.0.0.1:1'], 'NETSIM_ERR_PARTITION', /--store etcd/],
      [['--partition', '0/2', ...etcdArgs, '--underlay-listen', '127.0.0.1:0'], 'NETSIM_ERR_PARTITION', /no --underlay-peer for partition 1/],
      [['--partition', '0/2', ...etcdArgs, '--underlay-listen', '127.0.0.1:0', '--underlay-peer', '1=localhost:7000'], 'NETSIM_ERR_PARTITION', /not a numeric IP/],
      [['--partition', '0/2', ...etcdArgs, '--underlay-listen', '127.0.0.1:0', '--underlay-peer', '0=127.0.0.1:7000'], 'NETSIM_ERR_PARTITION', /that is this partition/],
      [['--partition', '0/3', ...etcdArgs, '--underlay-listen', '127.0.0.1:0', '--underlay-peer', '1=127.0.0.1:7000', '--underlay-peer', '2=127.0.0.1:7001'], 'NETSIM_ERR_PARTITION', /3 partitions for 2 node/],
      [['--underlay-listen', '127.0.0.1:0'], 'NETSIM_ERR_PARTITION', /need --partition/],
      [['--partition', '0/2', ...etcdArgs, ...peerArgs, '--underlay-key-file', join(dir, 'key-open')], 'NETSIM_ERR_PARTITION', /readable by others; chmod 600/],
      [['--partition', '0/2', ...etcdArgs, ...peerArgs, '--underlay-key-file', join(dir, 'key-short')], 'NETSIM_ERR_PARTITION', /5 bytes, at least 16/],
      [['--partition', '0/2', ...etcdArgs, ...peerArgs, '--underlay-key-file', join(dir, 'no-such-key')], 'NETSIM_ERR_PARTITION', /cannot read \(ENOENT\)/],
      [['--partition', '0/2', '--node-monitor-grace-period', 'soon'], 'NETSIM_ERR_ARGUMENT', /duration/],
      // Port 9 (discard) has no etcd: a clear error naming the endpoint, exit 2.
      [['--partition', '0/2', ...etcdArgs, '--underlay-listen', '127.0.0.1:0', '--underlay-peer', '1=127.0.0.1:7000'], 'NETSIM_ERR_STORE_UNAVAILABLE', /127\.0\.0\.1:9/],
    ] as const) {
      const r = run(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^netsim: ${code}: `, 'm'), args.join(' '));
      assert.match(r.stderr, what, args.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(r.stdout, '', 'never listened');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
