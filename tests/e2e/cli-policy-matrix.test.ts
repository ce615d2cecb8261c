/**
 * `netsim policy matrix` as a user runs it: the upstream model on a fresh cluster (exit 0
 * with no policy, the truth-table layout, `-o json`), against a running cluster with
 * --server (the same answer through `POST /netsim/v1/policy-matrix`), and every kind of
 * bad input exiting 2 with a stable code and one line, never a stack trace. The option
 * and request parsers are fuzzed: they answer a value or a message, never throw
 * anything else.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { InvalidArgumentError } from 'commander';
import { Cluster } from '../../cluster/cluster.ts';
import { loadClusterSpec } from '../../cluster/spec.ts';
import { modelManifests } from '../../cluster/policy-matrix/index.ts';
import { parsePolicyMatrixRequest } from '../../cli/up/live-routes.ts';
import { serveLive } from '../support/live-cluster.ts';
import type { LiveCluster } from '../support/live-cluster.ts';
import { parseNamespaces, parsePorts, parseProtocols } from '../../cli/commands/policy.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';

interface Run { code: number | null; out: string; err: string }

function netsim(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['bin/netsim.mjs', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'netsim-policy-matrix-'));
const file = (name: string, text: string): string => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
const EMPTY = 'examples/empty-cluster.yaml';

test('no policy: every cell of the upstream model is reachable, printed as upstream truth tables; exit 0', async () => {
  const r = await netsim(['policy', 'matrix', '--spec', EMPTY, '--ports', '81', '--protocols', 'udp']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  assert.match(r.out, /^UDP\/81: reachability: correct:72, incorrect:0, result=true \(9 pod->itself cases ignored, as upstream does\)$/m);
  assert.ok(r.out.includes('-\tx/a\tx/b\tx/c\ty/a\ty/b\ty/c\tz/a\tz/b\tz/c\nx/a\t.\t.\t.\t.\t.\t.\t.\t.\t.\n'), r.out);
  assert.match(r.out, /every measured cell agrees with the policies\n$/);
});

test('-o json: one cell per pair, port and protocol, SCTP unmeasured (null)', async () => {
  const r = await netsim(['policy', 'matrix', '--spec', EMPTY, '--namespaces', 'x', '--ports', '80', '--protocols', 'tcp,sctp', '-o', 'json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { cells: Array<Record<string, unknown>>; disagreements: number };
  assert.equal(j.disagreements, 0);
  assert.equal(j.cells.length, 3 * 3 * 2);
  assert.deepEqual(j.cells[1], { from: 'x/a', to: 'x/b', port: 80, protocol: 'TCP', reachable: true, expected: true });
  assert.deepEqual(j.cells[0], { from: 'x/a', to: 'x/a', port: 80, protocol: 'TCP', reachable: true, expected: true, loopback: true });
  assert.ok(j.cells.filter((c) => c['protocol'] === 'SCTP').every((c) => c['reachable'] === null && c['expected'] === true));
});

test('a deny through kube-router: exit 0 and the X cells; without an enforcer: a note, the disagreements, exit 1', async () => {
  const deny = ['policy', 'matrix', '--spec', EMPTY, '-f', 'examples/policies/deny-ingress-x.yaml', '--ports', '80', '--protocols', 'tcp'];
  const on = await netsim([...deny, '--enforcer', 'kube-router']);
  assert.equal(on.code, 0, on.out + on.err);
  assert.match(on.out, /^TCP\/80: reachability: correct:72, incorrect:0, result=true/m);
  assert.ok(on.out.includes('\ny/a\tX\tX\tX\t.\t.\t.\t.\t.\t.\n'), on.out);
  assert.doesNotMatch(on.out, /note:/);
  const off = await netsim(deny);
  assert.equal(off.code, 1, off.out + off.err);
  assert.match(off.out, /^note: this cluster runs no NetworkPolicy enforcer/);
  assert.match(off.out, /^TCP\/80: reachability: correct:48, incorrect:24, result=false/m);
  assert.match(off.out, /^comparison \(X: the datapath disagrees with the policies\):$/m);
  assert.match(off.out, /24 cells disagree with the policies\n$/);
});

const badPolicy = file('bad-policy.yaml', 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: bad, namespace: x }\nspec:\n  podSelector: {}\n  ingress:\n    - from:\n        - ipBlock: { cidr: 10.0.0.0/33 }\n');

/** [what, argv, code, message]. */
const bad: Array<[string, string[], string, RegExp]> = [
  ['a port out of range', ['--ports', '80,70000'], 'NETSIM_ERR_ARGUMENT', /--ports: "70000" is not a port between 1 and 65535/],
  ['a port that is no number', ['--ports', 'http'], 'NETSIM_ERR_ARGUMENT', /--ports: "http" is not a port/],
  ['a repeated port', ['--ports', '80,80'], 'NETSIM_ERR_ARGUMENT', /--ports names a port twice/],
  ['an unknown protocol', ['--protocols', 'tcp,icmp'], 'NETSIM_ERR_ARGUMENT', /--protocols: "icmp" is not tcp, udp or sctp/],
  ['a bad namespace name', ['--namespaces', 'x,Y_1'], 'NETSIM_ERR_ARGUMENT', /--namespaces: "Y_1" is not a namespace name/],
  ['namespaces without pods', ['--spec', EMPTY, '--namespaces', 'kube-public'], 'NETSIM_ERR_NAMESPACE', /no running pods in namespace kube-public/],
  ['an unknown output', ['-o', 'yaml'], 'NETSIM_ERR_ARGUMENT', /-o, --output <format>.*yaml/],
  ['a missing spec', ['--spec', join(dir, 'nope.yaml')], 'NETSIM_SPEC_FILE', /nope\.yaml: cannot read: ENOENT/],
  ['an invalid policy', ['--spec', EMPTY, '-f', badPolicy], 'NETSIM_ERR_MANIFEST', /spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr: Invalid value: "10\.0\.0\.0\/33"/],
  ['--spec with --server', ['--spec', EMPTY, '--server', 'http://127.0.0.1:9'], 'NETSIM_ERR_USAGE', /--spec, -f and --enforcer build a fresh cluster/],
  ['--enforcer with --server', ['--enforcer', 'kube-router', '--server', 'http://127.0.0.1:9'], 'NETSIM_ERR_USAGE', /--spec, -f and --enforcer build a fresh cluster/],
  ['an unknown enforcer', ['--enforcer', 'calico'], 'NETSIM_ERR_ARGUMENT', /--enforcer <name>.*calico/],
  ['an unreachable server', ['--server', 'http://127.0.0.1:9'], 'NETSIM_ERR_SERVER', /cannot reach http:\/\/127\.0\.0\.1:9/],
];

for (const [what, args, code, message] of bad) {
  test(`bad input: ${what} → exit 2, ${code}`, async () => {
    const r = await netsim(['policy', 'matrix', ...args]);
    assert.equal(r.code, 2, `${r.err}${r.out}`);
    assert.equal(r.out, '');
    const lines = r.err.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.err);
    assert.ok(lines[0]?.startsWith(`netsim: ${code}: `), r.err);
    assert.match(r.err, message);
    assert.doesNotMatch(r.err, /\n\s+at /);
  });
}

test('the option parsers answer a value or an InvalidArgumentError, for any string', () => {
  for (const parse of [parsePorts, parseNamespaces, parseProtocols] as Array<(v: string) => unknown>) {
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (s) => {
      try {
        const v = parse(s) as unknown[];
        assert.ok(Array.isArray(v) && v.length > 0);
      } catch (e) {
        assert.ok(e instanceof InvalidArgumentError, String(e));
      }
    }), { numRuns: 500 });
  }
  assert.deepEqual(parsePorts('80, 81'), [80, 81]);
  assert.deepEqual(parseProtocols('tcp,UDP,Sctp'), ['TCP', 'UDP', 'SCTP']);
});

test('the live request parser answers options or a message for any JSON body, and keeps what it accepts in range', () => {
  fc.assert(fc.property(fc.jsonValue(), (body) => {
    const r = parsePolicyMatrixRequest(body);
    if (typeof r === 'string') return;
    assert.ok(r.namespaces.length > 0 && r.ports.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535));
    assert.ok(r.protocols.every((p) => ['TCP', 'UDP', 'SCTP'].includes(p)));
  }), { numRuns: 1000 });
  assert.equal(parsePolicyMatrixRequest({ namespaces: ['x'], ports: [80], protocols: ['ICMP'] }), 'protocols: Invalid value: "ICMP": not "TCP", "UDP" or "SCTP"');
  assert.equal(parsePolicyMatrixRequest({ namespaces: ['x'], ports: [80], protocols: ['TCP'], extra: 1 }), 'unknown field "extra"');
});

// ---------------------------------------------------------------- against a running cluster

let cluster: Cluster;
let served: LiveCluster;
let server = '';
const live = (...args: string[]): ReturnType<LiveCluster['netsim']> => served.netsim(...args);

before(async () => {
  cluster = await Cluster.build({ ...loadClusterSpec(EMPTY), networkPolicy: { enforcer: 'kube-router', syncPeriodNs: 300 * SECOND } }, { manifests: modelManifests(['x', 'y']) });
  served = await serveLive(cluster);
  server = served.server;
});

after(async () => {
  await served?.close();
});

test('--server: the probes cross the running cluster; its answer renders as the batch command\'s', async () => {
  const t0 = cluster.sim.clock.now();
  const r = await live('policy', 'matrix', '--namespaces', 'x,y', '--ports', '80', '--protocols', 'tcp,udp');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^TCP\/80: reachability: correct:30, incorrect:0, result=true/m);
  assert.match(r.out, /^UDP\/80: reachability: correct:30, incorrect:0, result=true/m);
  assert.ok(cluster.sim.clock.now() - t0 >= 2 * SECOND, 'the probes ran on the live clock');
  const missing = await live('policy', 'matrix', '--namespaces', 'nothing-here');
  assert.equal(missing.code, 2);
  assert.match(missing.err, /^netsim: NETSIM_ERR_NAMESPACE: no running pods in namespaces nothing-here\n$/);
  const res = await fetch(`${server}/netsim/v1/policy-matrix`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"namespaces":["x"],"ports":[0],"protocols":["TCP"]}' });
  assert.equal(res.status, 400);
  assert.match(await res.text(), /ports: Invalid value: 0: not ports between 1 and 65535/);
});

test('--server: a policy created through the API shows in the live matrix once kube-router synced', async () => {
  const res = await fetch(`${server}/apis/networking.k8s.io/v1/namespaces/y/networkpolicies`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'b-only-from-x' }, spec: { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'x' } } }] }] } }),
  });
  assert.equal(res.status, 201, await res.text());
  const t0 = cluster.sim.clock.now();
  while (cluster.sim.clock.now() - t0 < SECOND) await new Promise((r) => setTimeout(r, 20));
  const r = await live('policy', 'matrix', '--namespaces', 'x,y', '--ports', '80', '--protocols', 'tcp', '-o', 'json');
  assert.equal(r.code, 0, r.err + r.out);
  const j = JSON.parse(r.out) as { cells: Array<{ from: string; to: string; reachable: boolean; expected: boolean }>; disagreements: number };
  assert.equal(j.disagreements, 0);
  const closed = j.cells.filter((c) => c.from !== c.to && !c.reachable).map((c) => `${c.from}>${c.to}`);
  assert.deepEqual(closed, ['y/a>y/b', 'y/c>y/b']);
});
