/**
 * The command line's contract for bad input, as a table: every user mistake exits 2
 * with one line `netsim: NETSIM_…: …` naming what was wrong (the option, the file
 * and line, the path), never a stack trace and never commander's whole help. Also:
 * a reader that goes away (EPIPE) ends the run quietly, and output paths are checked
 * before the run and written whole, never through a symlink.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { netnsUnavailableReason } from '../../cluster/verify/raw/netns.ts';

interface Run { code: number | null; out: string; err: string }

function netsim(args: readonly string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['bin/netsim.mjs', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.stdin.end(input ?? '');
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'netsim-cli-errors-'));
const seed = readFileSync('examples/seed-cluster.yaml', 'utf8');
const spec = (name: string, text: string | Uint8Array): string => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
const hostBits = spec('host-bits.yaml', seed.replace('underlayCIDR: 192.168.50.0/24', 'underlayCIDR: 192.168.50.7/24'));
const overlap = spec('overlap.yaml', seed.replace('serviceCIDR: 10.96.0.0/12', 'serviceCIDR: 10.244.0.0/16'));
const tooBig = spec('too-big.yaml', 'nodePools:\n  - { name: "n{n}", count: 5001, addresses: 10.1.0.1 }\nnetwork: { underlayCIDR: 10.1.0.0/16, clusterCIDR: 100.64.0.0/10 }\n');
const badKind = spec('bad-kind.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata: { name: extra }\n---\n# the second document\napiVersion: v1\nkind: Gadget\nmetadata: { name: nope }\n');
const notCapture = spec('not-a-capture.pcap', 'hello, this is not a capture\n');
const truncated = spec('truncated.pcap', Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1, 0x02, 0x00));
const aFile = spec('a-file', 'x');
const lineOf = (text: string, needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

const podManifest = spec('pod.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec: { containers: [{ name: c, image: nginx }] }\n');

/**
 * A server that is not a working `netsim up`, answering by the bearer token it gets:
 * `401` refuses the token, `html` is some other web server, `500` fails, `422` rejects
 * the object as kube-apiserver does.
 */
const fake = createServer((req, res) => {
  const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
  const status = (code: number, reason: string, message: string): void => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, message, code }));
  };
  req.resume();
  if (token === 'html') { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html>hello</html>'); return; }
  if (token === '500') { res.writeHead(500); res.end('boom'); return; }
  if (token === '422') { status(422, 'Invalid', 'Pod "p" is invalid: spec.containers[0].image: Required value'); return; }
  status(401, 'Unauthorized', 'Unauthorized');
});
await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
const FAKE = `http://127.0.0.1:${(fake.address() as { port: number }).port}`;
/** Port 1 on loopback: nothing listens there, the connection is refused at once. */
const DEAD = 'http://127.0.0.1:1';

const T = ['trace', '--from', 'webapp01', '--to', 'pod:default/backend'];
const C = ['capture', '--from', 'webapp01', '--to', 'pod:default/backend'];

/** [what, argv, code, the message must match]. */
const allCases: Array<[string, string[], string, RegExp]> = [
  ['an unknown option', [...T, '--bogus'], 'NETSIM_ERR_USAGE', /unknown option '--bogus'/],
  ['a missing required option', ['trace', '--from', 'webapp01'], 'NETSIM_ERR_USAGE', /required option '--to <endpoint>' not specified/],
  ['an unknown command', ['tarce'], 'NETSIM_ERR_USAGE', /unknown command 'tarce'/],
  ['a bad choice', [...T, '--proto', 'sctp'], 'NETSIM_ERR_ARGUMENT', /--proto <proto>.*sctp/],
  ['--port 99999', [...T, '--port', '99999'], 'NETSIM_ERR_ARGUMENT', /--port must be between 1 and 65535, got 99999/],
  ['--port -5', [...T, '--port', '-5'], 'NETSIM_ERR_ARGUMENT', /--port must be between 1 and 65535, got -5/],
  ['--port 0', [...C, '-w', join(dir, 'x.pcapng'), '--port', '0'], 'NETSIM_ERR_ARGUMENT', /--port must be between 1 and 65535, got 0/],
  ['a seed beyond uint32', ['demo', '--seed', '99999999999999999999'], 'NETSIM_ERR_ARGUMENT', /--seed must be between 0 and 4294967295/],
  ['--count 0', [...C, '-w', join(dir, 'x.pcapng'), '--count', '0'], 'NETSIM_ERR_ARGUMENT', /--count must be at least 1/],
  ['trace --type foo', [...T, '--type', 'foo'], 'NETSIM_ERR_FILTER', /--type: unknown kind "foo"/],
  ['trace --node node09', [...T, '--node', 'node09'], 'NETSIM_ERR_FILTER', /--node: unknown node "node09"; did you mean "node01", "node02"/],
  ['trace --pod nosuch', [...T, '--pod', 'nosuch'], 'NETSIM_ERR_FILTER', /--pod: unknown pod "default\/nosuch"/],
  ['capture -i matching nothing', [...C, '-w', join(dir, 'x.pcapng'), '-i', 'nosuch/*'], 'NETSIM_ERR_FILTER', /-i nosuch\/\*: matches no interface/],
  ['a CIDR with host bits', ['get', 'nodes', '--spec', hostBits], 'NETSIM_SPEC_VALUE', new RegExp(`host-bits\\.yaml:${lineOf(seed, 'underlayCIDR')}:\\d+: network\\.underlayCIDR: 192\\.168\\.50\\.7/24 has host bits set; the network is 192\\.168\\.50\\.0/24`)],
  ['serviceCIDR overlapping clusterCIDR', ['get', 'nodes', '--spec', overlap], 'NETSIM_SPEC_VALUE', new RegExp(`overlap\\.yaml:${lineOf(seed, 'serviceCIDR')}:\\d+: network\\.serviceCIDR: 10\\.244\\.0\\.0/16 overlaps clusterCIDR`)],
  ['a cluster beyond the Kubernetes envelope', ['get', 'nodes', '--spec', tooBig], 'NETSIM_SPEC_LIMIT', /too-big\.yaml:2:21: nodePools\.0\.count: 5001 nodes with this pool: Kubernetes supports at most 5000 nodes in a cluster/],
  ['experiment --rate 0/s', ['experiment', '--service', 'default/nginx-service', '--rate', '0/s'], 'NETSIM_EXP_VALUE', /rate: --rate: must be a positive number/],
  ['an unknown node view', ['node', 'node01', 'ip-route'], 'NETSIM_ERR_UNKNOWN_VIEW', /unknown view "ip-route"/],
  ['an unknown node', ['node', 'node09', 'route'], 'NETSIM_ERR_UNKNOWN_NODE', /unknown node "node09"/],
  ['a manifest of an unknown kind', ['get', 'pods', '-f', badKind], 'NETSIM_ERR_MANIFEST', /bad-kind\.yaml:6:1: no matches for kind "Gadget" in version "v1"/],
  ['a manifest that is not YAML', ['get', 'pods', '-f', '-'], 'NETSIM_SPEC_YAML', /<manifest>|-:\d+:\d+/],
  ['capture -w into a missing directory', [...C, '-w', join(dir, 'nosuch', 'x.pcapng')], 'NETSIM_ERR_OUTPUT', /no such directory \(ENOENT\)/],
  ['capture -w onto a directory', [...C, '-w', dir], 'NETSIM_ERR_OUTPUT', /is a directory/],
  ['capture -w under a file', [...C, '-w', join(aFile, 'x.pcapng')], 'NETSIM_ERR_OUTPUT', /not a directory/],
  ['capture -w into a read-only place', [...C, '-w', '/proc/netsim-x.pcapng'], 'NETSIM_ERR_OUTPUT', /cannot write \/proc\/netsim-x\.pcapng/],
  ['capture -w /dev/full', [...C, '-w', '/dev/full'], 'NETSIM_ERR_OUTPUT', /no space left on device \(ENOSPC\)/],
  ['experiment --html into a missing directory', ['experiment', '--service', 'default/nginx-service', '--html', join(dir, 'nosuch', 'r.html')], 'NETSIM_ERR_OUTPUT', /no such directory/],
  ['experiment --csv-windows into a read-only place', ['experiment', '--service', 'default/nginx-service', '--csv-windows', '/proc/w.csv'], 'NETSIM_ERR_OUTPUT', /cannot write \/proc\/w\.csv/],
  ['demo --out onto a file', ['demo', '--out', aFile], 'NETSIM_ERR_OUTPUT', /exists and is not a directory/],
  ['verify --pcap-dir onto a file', ['verify', '--node', 'node01', '--pcap-dir', aFile], 'NETSIM_ERR_OUTPUT', /cannot write .*: exists and is not a directory \(EEXIST\)/],
  ['verify --pcap-dir under a file', ['verify', '--node', 'node01', '--pcap-dir', join(aFile, 'pcaps')], 'NETSIM_ERR_OUTPUT', /not a directory \(ENOTDIR\)/],
  ['verify --pcap-dir in a read-only place', ['verify', '--node', 'node01', '--pcap-dir', '/proc/netsim-pcaps'], 'NETSIM_ERR_OUTPUT', /cannot write \/proc\/netsim-pcaps/],
  ['replay of a non-capture file', ['replay', notCapture, '--netns', 'nosuch'], 'PCAP_BAD_MAGIC', /neither a pcapng/],
  ['replay of a truncated capture', ['replay', truncated, '--netns', 'nosuch'], 'PCAP_TRUNCATED', /PCAP_TRUNCATED at byte/],
  ['get --server with a dead URL', ['get', 'pods', '--server', DEAD], 'NETSIM_ERR_SERVER', /cannot reach http:\/\/127\.0\.0\.1:1: connect ECONNREFUSED/],
  ['get --server that is no http URL', ['get', 'pods', '--server', 'ftp://x'], 'NETSIM_ERR_SERVER', /not a server URL: ftp:\/\/x \(http:\/\/ or https:\/\/\)/],
  ['get --server answering no JSON', ['get', 'pods', '--server', FAKE, '--token', 'html'], 'NETSIM_ERR_SERVER', /answered 200 with no JSON .*is it the API server of a `netsim up`\?/],
  ['get --server with a bad token', ['get', 'pods', '--server', FAKE, '--token', 'nope'], 'NETSIM_ERR_SERVER', /answered 401: Unauthorized/],
  ['trace --server with a bad token', [...T, '--server', FAKE, '--token', 'nope'], 'NETSIM_ERR_SERVER', /answered 401: Unauthorized/],
  ['observe --server with a bad token', ['observe', '--server', FAKE, '--token', 'nope'], 'NETSIM_ERR_SERVER', /401/],
  ['apply --server with a bad token', ['apply', '-f', podManifest, '--server', FAKE, '--token', 'nope'], 'NETSIM_ERR_SERVER', /answered 401: Unauthorized/],
  ['apply --server answering no JSON', ['apply', '-f', podManifest, '--server', FAKE, '--token', 'html'], 'NETSIM_ERR_SERVER', /answered 200 with no JSON/],
  ['apply --server failing', ['apply', '-f', podManifest, '--server', FAKE, '--token', '500'], 'NETSIM_ERR_SERVER', /answered 500: boom/],
  ['apply --server rejecting the manifest', ['apply', '-f', podManifest, '--server', FAKE, '--token', '422'], 'NETSIM_ERR_MANIFEST', /pod\.yaml:1:1: pod\/p: Pod "p" is invalid: spec\.containers\[0\]\.image: Required value/],
  ['apply --server with a dead URL', ['apply', '-f', podManifest, '--server', DEAD], 'NETSIM_ERR_SERVER', /cannot reach/],
  ['port-forward to a dead URL', ['port-forward', 'web', '8080', '--server', DEAD], 'NETSIM_ERR_SERVER', /cannot reach http:\/\/127\.0\.0\.1:1/],
  ['port-forward with a bad token', ['port-forward', 'web', '0:80', '--server', FAKE, '--token', 'nope'], 'NETSIM_ERR_SERVER', /answered 401: Unauthorized/],
  ['up --state where no directory can be made', ['up', '--listen', '127.0.0.1:0', '--state', '/proc/netsim-state'], 'NETSIM_ERR_STATE', /--state \/proc\/netsim-state: cannot create or secure it: ENOENT/],
  // A malformed --etcd-endpoints is refused while parsing (no state dir, no listener), not reported as an etcd that cannot be reached.
  ['up --etcd-endpoints that is no URL', ['up', '--state', join(dir, 'etcd-state'), '--etcd-endpoints', 'notaurl'], 'NETSIM_ERR_ARGUMENT', /option '--etcd-endpoints <urls>' argument 'notaurl' is invalid\. .*"notaurl" is not a URL/],
  ['up --etcd-endpoints host:port without a scheme', ['up', '--etcd-endpoints', 'localhost:2379'], 'NETSIM_ERR_ARGUMENT', /--etcd-endpoints .*"localhost:2379" is not http:\/\/ or https:\/\//],
  ['up --etcd-endpoints with a port beyond 65535', ['up', '--etcd-endpoints', 'https://127.0.0.1:99999'], 'NETSIM_ERR_ARGUMENT', /--etcd-endpoints .*"https:\/\/127\.0\.0\.1:99999" is not a URL/],
  ['up --etcd-endpoints with a bad list entry', ['up', '--etcd-endpoints', 'http://127.0.0.1:2379,garbage'], 'NETSIM_ERR_ARGUMENT', /--etcd-endpoints .*"garbage" is not a URL in "http:\/\/127\.0\.0\.1:2379,garbage"/],
  ['up --etcd-endpoints with an empty list entry', ['up', '--etcd-endpoints', 'http://127.0.0.1:2379,'], 'NETSIM_ERR_ARGUMENT', /--etcd-endpoints .*an empty entry/],
  ['up --etcd-endpoints with --store memory', ['up', '--state', join(dir, 'etcd-state'), '--store', 'memory', '--etcd-endpoints', 'http://127.0.0.1:2379'], 'NETSIM_ERR_ARGUMENT', /--etcd-endpoints needs --store etcd, not --store memory/],
  ['up --store etcd without --etcd-endpoints', ['up', '--state', join(dir, 'etcd-state'), '--store', 'etcd'], 'NETSIM_ERR_ARGUMENT', /--store etcd needs --etcd-endpoints URL/],
  ['verify --node that is no node', ['verify', '--node', 'node09'], 'NETSIM_ERR_UNKNOWN_NODE', /unknown node "node09" \(nodes: node01, node02\)/],
  ['verify --samples 0', ['verify', '--samples', '0'], 'NETSIM_ERR_ARGUMENT', /--samples must be at least 1, got 0/],
  ['replay of a missing file', ['replay', join(dir, 'nosuch.pcap'), '--netns', 'nosuch'], 'NETSIM_ERR_INPUT', /cannot read .*ENOENT/],
];

// verify checks for a real kernel first (exit 77 without one), so its output-path cases need one.
const noKernel = netnsUnavailableReason();
if (noKernel !== undefined) console.log(`# cli-errors.test: the verify --pcap-dir cases are skipped: ${noKernel}`);
const cases = allCases.filter(([, argv]) => noKernel === undefined || argv[0] !== 'verify');

test('every bad input: exit 2, one line with a stable code, no stack trace, no help', async () => {
  const results = new Map<string, Run>();
  // A few at a time: each run builds a cluster.
  for (let i = 0; i < cases.length; i += 4) {
    const batch = cases.slice(i, i + 4);
    const runs = await Promise.all(batch.map(([what, argv]) => netsim(argv, what.includes('not YAML') ? 'kind: [unclosed\n' : undefined)));
    batch.forEach(([what], j) => results.set(what, runs[j]!));
  }
  for (const [what, , code, message] of cases) {
    const r = results.get(what)!;
    assert.equal(r.code, 2, `${what}: exit code (stderr: ${r.err})`);
    const lines = r.err.trimEnd().split('\n');
    assert.equal(lines.length, 1, `${what}: one line on stderr, got:\n${r.err}`);
    assert.match(lines[0]!, new RegExp(`^netsim: ${code}: `), what);
    assert.match(lines[0]!, message, what);
    assert.doesNotMatch(r.err, /^\s+at /m, `${what}: no stack trace`);
    assert.doesNotMatch(r.err, /Usage:/, `${what}: not the whole help`);
  }
  assert.ok(!existsSync(join(dir, 'etcd-state')), 'a malformed or contradicted --etcd-endpoints is refused before --state is made');
});

test('ipvsadm and ipset in iptables mode print what the real tools print there', async () => {
  const [ipvs, ipset] = await Promise.all([netsim(['node', 'node01', 'ipvsadm']), netsim(['node', 'node01', 'ipset'])]);
  assert.equal(ipvs.code, 0, ipvs.err);
  assert.equal(ipvs.out, 'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n');
  assert.equal(ipset.code, 0, ipset.err);
  assert.equal(ipset.out, '', 'ipset list with no sets prints nothing');
});

test('EPIPE: a reader that stops early ends the run quietly', () => {
  for (const cmd of ['node bin/netsim.mjs demo -q --out ' + join(dir, 'epipe') + ' | head -1', 'node bin/netsim.mjs trace --from webapp01 --to pod:default/backend -o json | head -1']) {
    const r = spawnSync('bash', ['-c', `set -o pipefail; ${cmd}`], { encoding: 'utf8' });
    assert.equal(r.stderr, '', `${cmd}: nothing on stderr`);
    assert.equal(r.status, 0, `${cmd}: exit 0`);
    assert.equal(r.stdout.split('\n').length, 2, 'head printed its one line');
  }
});

test('output files: a symlink at the target is replaced, not followed; -w - writes to stdout', async () => {
  const victim = join(dir, 'victim.txt');
  writeFileSync(victim, 'keep me');
  const link = join(dir, 'link.pcapng');
  symlinkSync(victim, link);
  const r = await netsim([...C, '--proto', 'udp', '--port', '7', '-w', link]);
  assert.notEqual(r.code, 2, r.err);
  assert.equal(readFileSync(victim, 'utf8'), 'keep me', 'the symlink\'s target is untouched');
  assert.ok(!lstatSync(link).isSymbolicLink(), 'the link itself was replaced by the capture');
  assert.equal(readFileSync(link).subarray(0, 4).toString('hex'), '0a0d0d0a');
  assert.throws(() => readlinkSync(link));
  assert.deepEqual(spawnSync('ls', ['-a', dir], { encoding: 'utf8' }).stdout.split('\n').filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
  const s = spawnSync(process.execPath, ['bin/netsim.mjs', ...C, '-w', '-'], { maxBuffer: 1 << 24 });
  assert.equal(s.status, 0, s.stderr.toString());
  assert.equal(s.stdout.subarray(0, 4).toString('hex'), '0a0d0d0a', 'the capture on stdout');
  assert.match(s.stderr.toString(), /packets on \d+ interfaces written to -/, 'the summary on stderr');
});

test('demo --out creates its directory with parents', async () => {
  const out = join(dir, 'a', 'b', 'demo');
  const r = await netsim(['demo', '-q', '--out', out]);
  assert.equal(r.code, 0, r.err);
  assert.ok(existsSync(join(out, 'flow-5.pcapng')));
});

after(() => {
  fake.close();
  rmSync(dir, { recursive: true, force: true });
});
