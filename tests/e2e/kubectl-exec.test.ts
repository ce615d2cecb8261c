// The real kubectl's exec (WebSocket, v5.channel.k8s.io) into pods of a running
// emulated cluster: the programs' traffic crosses the datapath, their output is the
// real tools', kubectl's exit status is the program's, and the flows of the exec'd
// curl show up in the flow stream with the DNAT to the pod that answered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Cluster } from '../../cluster/cluster.ts';
import { serveExec } from '../../cluster/remote-command.ts';
import { serveLogs } from '../../cluster/pod-log-server.ts';
import { servePortForward } from '../../cluster/port-forward.ts';
import { portForwardCommand } from '../../cli/commands/port-forward.ts';
import { httpGet } from '../../netsim/apps/http.ts';
import { seedSpec } from '../support/spec-cluster.ts';
import { LiveFlows, registerFlowRoutes } from '../../observe/index.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import { MS, SECOND } from '../../netsim/time/scheduler.ts';

const KUBECTL = '/usr/bin/kubectl';
const skipWhy = existsSync(KUBECTL) ? false : `kubectl not found at ${KUBECTL} (.ci/run installs it from .ci/apt-packages.txt)`;
if (skipWhy !== false) console.log(`# kubectl-exec.test: skipped, ${skipWhy}`);

let cluster: Cluster;
let live: LiveFlows;
let server = '';
let timer: NodeJS.Timeout | undefined;
const closers: Array<() => void> = [];

before(async () => {
  if (skipWhy !== false) return;
  cluster = await Cluster.build(seedSpec());
  await cluster.runFor(2 * SECOND);
  live = new LiveFlows(cluster, (t) => Date.UTC(2026, 11, 7) + t / 1e6);
  await live.refresh();
  closers.push(registerFlowRoutes(cluster.control.app, live.hub), serveExec(cluster));
  serveLogs(cluster);
  closers.push(servePortForward(cluster));
  server = await cluster.control.app.listen({ host: '127.0.0.1', port: 0 });
  // Virtual time follows the wall clock, as `netsim up` drives it.
  let busy = false;
  timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void cluster.runFor(20 * MS).finally(() => { busy = false; });
  }, 10);
});

after(async () => {
  if (timer !== undefined) clearInterval(timer);
  for (const c of closers) c();
  live?.close();
  await cluster?.close();
});

function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(KUBECTL, [`--server=${server}`, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      done({ code, stdout, stderr });
    });
  });
}

const podIp = (key: string): string => formatIpv4(cluster.pods.get(key)!.ip);
const nodeOf = (key: string): string => cluster.pods.get(key)!.node;

test('kubectl exec curl -s to a ClusterIP prints the page of the pod that served it, and its flows show the DNAT to that pod', { skip: skipWhy }, async () => {
  const vip = formatIpv4(cluster.services.get('default/nginx-service')!.clusterIP);
  const r = await kubectl('exec', 'webapp01', '--', 'curl', '-s', `http://${vip}/`);
  assert.equal(r.code, 0, r.stderr);
  const served = /from (nginx-deployment-\S+)$/.exec(r.stdout.trim())?.[1];
  assert.ok(served !== undefined, r.stdout);
  const res = await fetch(`${server}/netsim/v1/flows?last=100&from-pod=default/webapp01&to-service=default/nginx-service&protocol=TCP`);
  const flows = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { destination: { name?: string }; tcpFlags?: string[]; decidedBy?: string; originalDestination?: { ip: string } });
  const syn = flows.find((f) => f.tcpFlags?.join() === 'SYN');
  assert.ok(syn !== undefined, 'the SYN of the exec\'d curl is in the flows');
  assert.equal(syn.destination.name, served);
  assert.equal(syn.originalDestination?.ip, vip);
  assert.match(syn.decidedBy ?? '', /KUBE-SEP-.* DNAT/);
});

test('kubectl exec ping -c 2 to a pod on the other node prints two replies with the TTL the datapath leaves', { skip: skipWhy }, async () => {
  assert.notEqual(nodeOf('default/webapp01'), nodeOf('default/backend'), 'the seed puts backend on the other node');
  const ip = podIp('default/backend');
  const r = await kubectl('exec', 'webapp01', '--', 'ping', '-c', '2', ip);
  assert.equal(r.code, 0, r.stderr);
  const replies = r.stdout.split('\n').filter((l) => l.startsWith('64 bytes from'));
  // flannel udp: each node's kernel forwards once and each flanneld decrements the inner TTL (proxy.c decrement_ttl): 64 - 4.
  assert.deepEqual(replies.map((l) => /icmp_seq=(\d) ttl=(\d+)/.exec(l)?.slice(1)), [['1', '60'], ['2', '60']]);
  assert.match(r.stdout, new RegExp(`^PING ${ip.replace(/\./g, '\\.')} \\(${ip.replace(/\./g, '\\.')}\\) 56\\(84\\) bytes of data\\.`));
  assert.match(r.stdout, /2 packets transmitted, 2 received, 0% packet loss, time \d+ms\nrtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms\n$/);
});

test('kubectl exec nc -zv to a port nobody serves fails with netcat\'s message and kubectl exits 1', { skip: skipWhy }, async () => {
  const ip = podIp('default/backend');
  const r = await kubectl('exec', 'webapp01', '--', 'nc', '-zv', ip, '81');
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^nc: connect to ${ip.replace(/\./g, '\\.')} port 81 \\(tcp\\) failed: Connection refused\\n`));
  const nginx = [...cluster.pods.keys()].find((k) => k.startsWith('default/nginx-deployment-'))!;
  const ok = await kubectl('exec', 'webapp01', '--', 'nc', '-zv', podIp(nginx), '80');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /Connection to [\d.]+ 80 port \[tcp\/http\] succeeded!/);
});

test('kubectl exec sh -c runs a list with && and ||; an unknown program is "not found" with status 127', { skip: skipWhy }, async () => {
  // A construct the shell does not model (a pipe) refuses the whole list, as a syntax error does (status 2).
  const r = await kubectl('exec', 'webapp01', '--', 'sh', '-c', 'cat /etc/hosts | head -1');
  assert.equal(r.code, 2, r.stderr);
  const r2 = await kubectl('exec', 'webapp01', '--', 'sh', '-c', 'cat /etc/hosts && nosuchtool || echo fallback');
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stdout, new RegExp(`^# Kubernetes-managed hosts file\\.\\n[\\s\\S]*\\n${podIp('default/webapp01').replace(/\./g, '\\.')}\\twebapp01\\nfallback\\n$`));
  assert.match(r2.stderr, /sh: 1: nosuchtool: not found/);
  const r3 = await kubectl('exec', 'webapp01', '--', 'nosuchtool');
  assert.equal(r3.code, 127);
});

test('kubectl exec into an unknown pod or container is a clear error, and the server keeps serving', { skip: skipWhy }, async () => {
  const r = await kubectl('exec', 'nosuchpod', '--', 'true');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /pods "nosuchpod" not found/);
  const c = await kubectl('exec', 'webapp01', '-c', 'nosuch', '--', 'true');
  assert.notEqual(c.code, 0);
  assert.match(c.stderr, /container nosuch is not valid for pod webapp01/);
  const ok = await kubectl('exec', 'webapp01', '--', 'ip', 'route');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^default via 10\.244\.\d+\.1 dev eth0/);
});

test('kubectl logs of the nginx pod shows the exec\'d request with the client address the server saw; a NodePort request shows the SNAT', { skip: skipWhy }, async () => {
  const vip = formatIpv4(cluster.services.get('default/nginx-service')!.clusterIP);
  const r = await kubectl('exec', 'webapp01', '--', 'curl', '-s', `http://${vip}/`);
  const served = /from (nginx-deployment-\S+)$/.exec(r.stdout.trim())![1]!;
  const logs = await kubectl('logs', served, '--tail', '1', '--timestamps');
  assert.equal(logs.code, 0, logs.stderr);
  const ip = podIp('default/webapp01').replace(/\./g, '\\.');
  assert.match(logs.stdout, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z ${ip} - - \\[\\d\\d/\\w{3}/\\d{4}:\\d\\d:\\d\\d:\\d\\d \\+0000\\] "GET / HTTP/1\\.1" 200 \\d+ "-" "curl/8\\.5\\.0"\\n$`));

  // From outside through the NodePort (externalTrafficPolicy Cluster): kube-proxy masquerades, so nginx sees a node address.
  const [outside] = [...cluster.external.values()];
  const node = [...cluster.nodes.values()][0]!;
  const nodeIp = node.addrs.find((a) => a.dev === 'eth0')!.addr;
  const s = httpGet(outside!, nodeIp, 30000);
  for (let i = 0; i < 200 && s.results.length === 0; i++) await new Promise((d) => setTimeout(d, 10));
  const page = s.results[0]?.body ?? '';
  const pod = /from (\S+)$/.exec(page.trim())?.[1];
  assert.ok(pod !== undefined, `the NodePort answered: ${page}`);
  const line = (await kubectl('logs', pod, '--tail', '1')).stdout;
  const client = line.split(' ')[0]!;
  const outsideIps = outside!.addrs.map((a) => formatIpv4(a.addr));
  const nodeIps = [...cluster.nodes.values()].flatMap((n) => n.addrs.map((a) => formatIpv4(a.addr)));
  assert.ok(!outsideIps.includes(client), `the outside address ${client} was masqueraded`);
  assert.ok(nodeIps.includes(client), `${client} is a node address`);
});

test('kubectl logs errors: an unknown pod or container is a clear error', { skip: skipWhy }, async () => {
  const nginx = [...cluster.pods.keys()].find((k) => k.startsWith('default/nginx-deployment-'))!.split('/')[1]!;
  const c = await kubectl('logs', nginx, '-c', 'nope');
  assert.notEqual(c.code, 0);
  assert.match(c.stderr, new RegExp(`container nope is not valid for pod ${nginx}`));
  const p = await kubectl('logs', 'nosuchpod');
  assert.match(p.stderr, /pods "nosuchpod" not found/);
});

test('kubectl get events after kubectl scale shows ScalingReplicaSet and SuccessfulCreate; describe shows the new pod\'s scheduler and kubelet events', { skip: skipWhy }, async () => {
  const before = (await kubectl('get', 'deployment', 'nginx-deployment', '-o', 'jsonpath={.spec.replicas}')).stdout;
  const scaled = await kubectl('scale', 'deployment', 'nginx-deployment', `--replicas=${Number(before) + 1}`);
  assert.equal(scaled.code, 0, scaled.stderr);
  let events = '';
  for (let i = 0; i < 100 && !/SuccessfulCreate/.test(events); i++) {
    await new Promise((d) => setTimeout(d, 50));
    events = (await kubectl('get', 'events')).stdout;
  }
  assert.match(events, new RegExp(`Normal\\s+ScalingReplicaSet\\s+deployment/nginx-deployment\\s+Scaled up replica set nginx-deployment-[a-z0-9]+ from ${before} to ${Number(before) + 1}`));
  const created = /Normal\s+SuccessfulCreate\s+replicaset\/nginx-deployment-[a-z0-9]+\s+Created pod: (nginx-deployment-[a-z0-9-]+)/.exec(events);
  assert.ok(created !== null, events);
  const pod = created[1]!;
  let described = '';
  for (let i = 0; i < 100 && !/Started/.test(described); i++) {
    await new Promise((d) => setTimeout(d, 50));
    described = (await kubectl('describe', 'pod', pod)).stdout;
  }
  assert.match(described, new RegExp(`Normal\\s+Scheduled\\s+\\S+\\s+default-scheduler\\s+Successfully assigned default/${pod} to node0\\d`));
  assert.match(described, /Normal\s+Pulled\s+\S+\s+kubelet\s+Container image "[^"]+" already present on machine/);
  assert.match(described, /Normal\s+Created\s+\S+\s+kubelet\s+Created container: \S+/);
  assert.match(described, /Normal\s+Started\s+\S+\s+kubelet\s+Started container \S+/);
  const down = await kubectl('scale', 'deployment', 'nginx-deployment', `--replicas=${before}`);
  assert.equal(down.code, 0, down.stderr);
  for (let i = 0; i < 100 && !/SuccessfulDelete/.test(events); i++) {
    await new Promise((d) => setTimeout(d, 50));
    events = (await kubectl('get', 'events', '--field-selector', 'reason=SuccessfulDelete')).stdout;
  }
  assert.match(events, /SuccessfulDelete\s+replicaset\/nginx-deployment-[a-z0-9]+\s+Deleted pod: nginx-deployment-/);
});

const CURL = '/usr/bin/curl';
test('netsim port-forward bridges a real local TCP port into the pod: the real curl gets the emulated nginx\'s page', { skip: skipWhy !== false ? skipWhy : existsSync(CURL) ? false : `curl not found at ${CURL}` }, async () => {
  const nginx = [...cluster.pods.keys()].find((k) => k.startsWith('default/nginx-deployment-'))!;
  const abort = new AbortController();
  let printed = '';
  const ready = new Promise<ReadonlyArray<{ local: number; remote: number }>>((done) => {
    void portForwardCommand({ server, pod: nginx, ports: [':80', ':81'], signal: abort.signal, onReady: done }, (s) => { printed += s; });
  });
  const [p80, p81] = await ready;
  assert.match(printed, new RegExp(`^Forwarding from 127\\.0\\.0\\.1:${p80!.local} -> 80\\nForwarding from 127\\.0\\.0\\.1:${p81!.local} -> 81\\n`));
  const page = await new Promise<{ code: number; out: string }>((done) => {
    execFile(CURL, ['-s', `http://127.0.0.1:${p80!.local}/`], { timeout: 30_000 }, (err, out) => done({ code: err === null ? 0 : 1, out }));
  });
  assert.equal(page.code, 0);
  assert.equal(page.out, `Hello World, Kubernetes! from ${nginx.split('/')[1]}\n`);
  // Nothing listens on 81 in the pod: the real curl sees the connection closed without a reply.
  const refused = await new Promise<number>((done) => {
    execFile(CURL, ['-s', `http://127.0.0.1:${p81!.local}/`], { timeout: 30_000 }, (err) => done(err === null ? 0 : (err as { code?: number }).code ?? 1));
  });
  assert.equal(refused, 52, 'curl: (52) Empty reply from server');
  abort.abort();
});

test('kubectl scale down shows in the flows: after kube-proxy\'s sync every new connection to the Service goes to the one pod left', { skip: skipWhy }, async () => {
  const vip = formatIpv4(cluster.services.get('default/nginx-service')!.clusterIP);
  const before = (await kubectl('get', 'deployment', 'nginx-deployment', '-o', 'jsonpath={.spec.replicas}')).stdout;
  assert.equal((await kubectl('scale', 'deployment', 'nginx-deployment', '--replicas=1')).code, 0);
  const pods = async (): Promise<string[]> => (await kubectl('get', 'pods', '-l', 'app=nginx', '-o', 'jsonpath={.items[*].metadata.name}')).stdout.split(' ').filter((s) => s !== '');
  let left: string[] = [];
  for (let i = 0; i < 200 && (left = await pods()).length !== 1; i++) await new Promise((d) => setTimeout(d, 50));
  assert.equal(left.length, 1);
  // Within the sync period the rules catch up; then every fresh connection is DNATed to the survivor.
  let served = new Set<string>();
  for (let round = 0; round < 40; round++) {
    const since = new Date(Date.UTC(2026, 11, 7) + cluster.sim.clock.now() / 1e6).toISOString();
    served = new Set<string>();
    for (let i = 0; i < 4; i++) await kubectl('exec', 'webapp01', '--', 'curl', '-s', `http://${vip}/`);
    const res = await fetch(`${server}/netsim/v1/flows?last=1000&since=${encodeURIComponent(since)}&to-service=default/nginx-service&protocol=TCP`);
    const flows = (await res.text()).trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { tcpFlags?: string[]; destination: { name?: string }; time?: string });
    for (const f of flows) if (f.tcpFlags?.join() === 'SYN' && (f.time ?? '') >= since) served.add(f.destination.name ?? '');
    if (served.size === 1 && served.has(left[0]!)) break;
    await new Promise((d) => setTimeout(d, 100));
  }
  assert.deepEqual([...served], [left[0]], 'the SYNs after the sync all reach the remaining pod');
  assert.equal((await kubectl('scale', 'deployment', 'nginx-deployment', `--replicas=${before}`)).code, 0);
});

test('malformed exec requests are a 400 Status before any upgrade, and the server keeps serving', { skip: skipWhy }, async () => {
  const { default: WebSocket } = await import('ws');
  const refusal = (query: string): Promise<{ code: number; message: string }> => new Promise((done) => {
    const ws = new WebSocket(`${server.replace('http', 'ws')}/api/v1/namespaces/default/pods/webapp01/exec?${query}`, ['v5.channel.k8s.io']);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => done({ code: res.statusCode ?? 0, message: (JSON.parse(body) as { message: string }).message }));
    });
    ws.on('open', () => { ws.close(); done({ code: 101, message: '' }); });
    ws.on('error', () => undefined);
  });
  assert.deepEqual(await refusal('stdout=true'), { code: 400, message: 'you must specify at least 1 command' });
  assert.equal((await refusal('command=true&tty=true')).code, 400);
  assert.equal((await refusal('command=true')).code, 101, 'a well-formed request still upgrades');
  const ok = await kubectl('exec', 'webapp01', '--', 'hostname');
  assert.equal(ok.stdout, 'webapp01\n');
});
