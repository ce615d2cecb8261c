// The real kubectl against `netsim up`: the system pods a kubeadm cluster with flannel
// shows (`get pods -A -o wide`), `rollout status daemonset/kube-proxy`, a Job run to
// completion by the emulated program's exit, and `delete -f` of a file holding a
// namespace and its objects (exit 0; the namespace Terminating, then gone).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runWith, startUp, stopUp, until } from '../support/netsim-up.ts';
import type { Run, Up } from '../support/netsim-up.ts';

const KUBECTL = '/usr/bin/kubectl';
const haveKubectl = existsSync(KUBECTL);
const skip = haveKubectl ? false : 'kubectl not installed (.ci/run installs it)';
if (!haveKubectl) console.log('# kubectl-workloads.test: skipped, /usr/bin/kubectl is missing');

const run = (args: string[], dir: string, kubeconfig: string): Promise<Run> => runWith(KUBECTL, ['--cache-dir', join(dir, 'cache'), ...args], dir, kubeconfig);

const rows = (out: string): string[][] => out.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));

const SHOP = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
      - name: web
        image: nginx
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: { app: web }
  ports:
  - port: 80
`;

const JOB = `apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: pi
        image: perl:5.34.0
        command: ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]
`;

test('kubectl against netsim up: system pods, rollout status of kube-proxy, a Job completing, delete -f of a namespace with content', { skip, timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-workloads-'));
  let up: Up | undefined;
  try {
    up = await startUp(['--listen', '127.0.0.1:0', '--state', join(dir, 'state')]);
    const k = (...args: string[]) => run(args, dir, up!.kubeconfig);
    writeFileSync(join(dir, 'shop.yaml'), SHOP);
    writeFileSync(join(dir, 'shop2.yaml'), SHOP.replaceAll('shop', 'shop2'));
    writeFileSync(join(dir, 'job.yaml'), JOB);

    // get pods -A -o wide: kube-proxy and kube-flannel on every node, host network (the node's IP).
    const nodes = rows((await k('get', 'nodes', '-o', 'wide')).stdout).map((r) => [r[0]!, r[5]!] as const);
    assert.equal(nodes.length, 2);
    const sys = await until('the system pods Running', async () => {
      const r = await k('get', 'pods', '-A', '-o', 'wide');
      const all = rows(r.stdout).filter((x) => x[0] === 'kube-system' || x[0] === 'kube-flannel');
      return all.filter((x) => x[0] !== 'kube-system' || x[1]!.startsWith('kube-proxy-')).length >= 4 && all.every((x) => x[3] === 'Running') ? { out: r.stdout, all } : undefined;
    });
    const header = sys.out.split('\n')[0]!;
    assert.match(header, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/);
    for (const [node, ip] of nodes) {
      for (const [ns, prefix] of [['kube-system', 'kube-proxy-'], ['kube-flannel', 'kube-flannel-ds-']] as const) {
        const row = sys.all.find((x) => x[0] === ns && x[1]!.startsWith(prefix) && x[7] === node);
        assert.ok(row, `${ns}/${prefix}… on ${node}:\n${sys.out}`);
        assert.match(row[1]!, new RegExp(`^${prefix}[a-z0-9]{5}$`));
        assert.deepEqual([row[2], row[3], row[6]], ['1/1', 'Running', ip], `host network on ${node}`);
      }
    }

    // rollout status reads the DaemonSet's status fields.
    const rs = await k('rollout', 'status', 'daemonset/kube-proxy', '-n', 'kube-system', '--timeout=30s');
    assert.equal(rs.code, 0, rs.stderr);
    assert.match(rs.stdout, /daemon set "kube-proxy" successfully rolled out/);
    const ds = rows((await k('get', 'ds', '-A')).stdout);
    assert.deepEqual(ds.map((r) => [r[0], r[1], r[2], r[3], r[4], r[5], r[6]]).sort(), [
      ['kube-flannel', 'kube-flannel-ds', '2', '2', '2', '2', '2'],
      ['kube-system', 'kube-proxy', '2', '2', '2', '2', '2'],
    ]);

    // A Job whose program exits 0: Complete, its pod Completed.
    assert.equal((await k('apply', '-f', 'job.yaml')).code, 0);
    const w = await k('wait', '--for=condition=complete', 'job/pi', '--timeout=45s');
    assert.equal(w.code, 0, w.stderr);
    const job = rows((await k('get', 'jobs')).stdout)[0]!;
    assert.deepEqual([job[0], job[1], job[2]], ['pi', 'Complete', '1/1']);
    const jobPod = rows((await k('get', 'pods', '-l', 'job-name=pi')).stdout)[0]!;
    assert.deepEqual([jobPod[1], jobPod[2]], ['0/1', 'Completed']);

    // delete -f of a namespace and its objects: exit 0; Terminating, creations Forbidden, then gone.
    assert.equal((await k('apply', '-f', 'shop.yaml')).code, 0);
    await until('shop pods Running', async () => (rows((await k('get', 'pods', '-n', 'shop')).stdout).filter((r) => r[2] === 'Running').length === 2 ? true : undefined));
    const del = await k('delete', '-f', 'shop.yaml', '--wait=false');
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, /namespace "shop" deleted/);
    const ns = rows((await k('get', 'ns', 'shop')).stdout)[0]!;
    assert.deepEqual([ns[0], ns[1]], ['shop', 'Terminating']);
    const late = await k('create', 'configmap', 'late', '-n', 'shop', '--from-literal=a=b');
    assert.notEqual(late.code, 0);
    assert.match(late.stderr, /forbidden: unable to create new content in namespace shop because it is being terminated/);
    await until('namespace shop gone', async () => ((await k('get', 'ns', 'shop')).code !== 0 ? true : undefined));
    // The same with kubectl waiting for everything to go (the default --wait).
    assert.equal((await k('apply', '-f', 'shop2.yaml')).code, 0);
    const del2 = await k('delete', '-f', 'shop2.yaml', '--timeout=50s');
    assert.equal(del2.code, 0, del2.stderr);
    const gone = await k('get', 'ns', 'shop2');
    assert.match(gone.stderr, /namespaces "shop2" not found/);
  } finally {
    await stopUp(up);
    rmSync(dir, { recursive: true, force: true });
  }
});
