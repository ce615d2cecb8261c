// The real `dig` (BIND 9.18, Debian bind9-dnsutils) against the emulated cluster DNS
// through `--dns-listen`'s bridge: A, SRV, PTR, headless, ExternalName and NXDOMAIN
// answers as CoreDNS gives them for the same objects (written from CoreDNS's
// kubernetes plugin documentation and handler tests), over UDP and TCP; and our dig
// formatter prints the record lines exactly as the real dig does.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Cluster } from '../../cluster/cluster.ts';
import { parseClusterSpec } from '../../cluster/spec.ts';
import type { Service } from '../../control/api/index.ts';
import { startDnsBridge } from '../../cli/dns-bridge.ts';
import type { DnsBridge } from '../../cli/dns-bridge.ts';
import { MS } from '../../netsim/time/scheduler.ts';
import { decodeMessage, encodeMessage } from '../../apps/dns/message.ts';
import { digRecord, formatDig } from '../../apps/dns/dig-format.ts';
import { seedSpecText } from '../support/spec-cluster.ts';

let digMissing: string | undefined;
try {
  execFileSync('dig', ['-v'], { stdio: 'pipe' });
} catch {
  digMissing = 'dig is not installed (Debian bind9-dnsutils)';
}
if (digMissing !== undefined) console.log(`# skipping real-dig tests: ${digMissing}`);

const EXTRA = `
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: nginx }
  ports: [ { name: http, protocol: TCP, port: 80 } ]
---
apiVersion: v1
kind: Service
metadata: { name: db }
spec:
  clusterIP: None
  selector: { app: db }
  ports: [ { name: pg, protocol: TCP, port: 5432 } ]
---
apiVersion: v1
kind: Pod
metadata: { name: db-0, labels: { app: db } }
spec:
  hostname: db-0
  subdomain: db
  nodeName: node02
  containers: [ { name: db, image: netsim/echo, ports: [ { containerPort: 5432 } ] } ]
---
apiVersion: v1
kind: Service
metadata: { name: ext }
spec:
  type: ExternalName
  externalName: client.example.com
`;

let cluster: Cluster | undefined;
let bridge: DnsBridge | undefined;
let timer: NodeJS.Timeout | undefined;

before(async () => {
  if (digMissing !== undefined) return;
  let text = seedSpecText().replace('    - name: client\n      address: 203.0.113.10\n', '    - name: client\n      address: 203.0.113.10\n    - name: resolver\n      address: 203.0.113.53\n');
  text = text.replace('\nmanifests: |', '\ndns: { upstream: resolver }\nmanifests: |');
  text = `${text.replace(/\n$/, '')}\n${EXTRA.split('\n').map((l) => (l === '' ? '' : `  ${l}`)).join('\n')}\n`;
  cluster = await Cluster.build(parseClusterSpec(text, 'dig.yaml'));
  bridge = await startDnsBridge(cluster, '127.0.0.1', 0);
  // The wall clock drives virtual time, as in `netsim up`.
  const c = cluster;
  const started = Date.now();
  const base = c.sim.clock.now();
  let busy = false;
  timer = setInterval(() => {
    if (busy) return;
    busy = true;
    const target = base + (Date.now() - started) * MS;
    void c.runFor(Math.max(0, target - c.sim.clock.now())).finally(() => { busy = false; });
  }, 10);
});

after(async () => {
  if (timer !== undefined) clearInterval(timer);
  await bridge?.close();
  await cluster?.close();
});

interface Dig { status: string; flags: string[]; answer: string[]; authority: string[]; additional: string[]; raw: string }

function dig(...args: string[]): Promise<Dig> {
  return new Promise((done, fail) => {
    execFile('dig', [`@${bridge!.host}`, '-p', String(bridge!.port), '+tries=1', '+time=5', ...args], { timeout: 20_000 }, (err, stdout) => {
      if (err !== null && stdout === '') { fail(err); return; }
      const sec = (name: string): string[] => {
        const m = new RegExp(`;; ${name} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(stdout);
        return m === null ? [] : (m[1] as string).split('\n').filter((l) => l !== '');
      };
      done({
        status: /status: (\w+)/.exec(stdout)?.[1] ?? '',
        flags: (/;; flags: ([a-z ]*);/.exec(stdout)?.[1] ?? '').split(' ').filter((f) => f !== ''),
        answer: sec('ANSWER'), authority: sec('AUTHORITY'), additional: sec('ADDITIONAL'), raw: stdout,
      });
    });
  });
}

/** Record lines with whitespace runs as single tabs, sorted (dig's own column padding is checked separately). */
const norm = (l: string[]): string[] => l.map((x) => x.split(/\s+/).join('\t')).sort();
const skip = { skip: digMissing };

test('real dig: a ClusterIP Service A record, authoritative, TTL 5 (UDP and TCP)', skip, async () => {
  for (const t of ['+notcp', '+tcp']) {
    const r = await dig('nginx-service.default.svc.cluster.local', 'A', t);
    assert.equal(r.status, 'NOERROR', r.raw);
    assert.deepEqual(r.flags, ['qr', 'aa', 'rd', 'ra']);
    // TTL 5 from the kubernetes plugin (the second ask may be a cache hit counting down).
    assert.match(norm(r.answer).join('\n'), t === '+notcp' ? /^nginx-service\.default\.svc\.cluster\.local\.\t5\tIN\tA\t10\.96\.63\.155$/ : /^nginx-service\.default\.svc\.cluster\.local\.\t[1-5]\tIN\tA\t10\.96\.63\.155$/);
    assert.match(r.raw, new RegExp(`;; SERVER: 127\\.0\\.0\\.1#${bridge!.port}\\(127\\.0\\.0\\.1\\) \\(${t === '+tcp' ? 'TCP' : 'UDP'}\\)`));
  }
});

test('real dig: SRV for a named port, the target\'s address in the additional section', skip, async () => {
  const web = (await cluster!.control.api.list<Service>('services')).find((s) => s.metadata.name === 'web')!;
  const r = await dig('_http._tcp.web.default.svc.cluster.local', 'SRV');
  assert.equal(r.status, 'NOERROR', r.raw);
  assert.deepEqual(norm(r.answer), ['_http._tcp.web.default.svc.cluster.local.\t5\tIN\tSRV\t0\t100\t80\tweb.default.svc.cluster.local.']);
  assert.deepEqual(norm(r.additional), [`web.default.svc.cluster.local.\t5\tIN\tA\t${web.spec.clusterIP}`]);
});

test('real dig: PTR of a ClusterIP names its Service', skip, async () => {
  const r = await dig('-x', '10.96.63.155');
  assert.equal(r.status, 'NOERROR', r.raw);
  assert.deepEqual(norm(r.answer), ['155.63.96.10.in-addr.arpa.\t5\tIN\tPTR\tnginx-service.default.svc.cluster.local.']);
});

test('real dig: a headless Service answers its ready endpoints; a pod with hostname and subdomain has its own name', skip, async () => {
  const ip = cluster!.podIp('default/db-0')!;
  const svc = await dig('db.default.svc.cluster.local', 'A');
  assert.deepEqual(norm(svc.answer), [`db.default.svc.cluster.local.\t5\tIN\tA\t${ip}`]);
  const host = await dig('db-0.db.default.svc.cluster.local', 'A');
  assert.deepEqual(norm(host.answer), [`db-0.db.default.svc.cluster.local.\t5\tIN\tA\t${ip}`]);
  const srv = await dig('_pg._tcp.db.default.svc.cluster.local', 'SRV');
  assert.deepEqual(norm(srv.answer), ['_pg._tcp.db.default.svc.cluster.local.\t5\tIN\tSRV\t0\t100\t5432\tdb-0.db.default.svc.cluster.local.']);
  const ptr = await dig('-x', ip);
  assert.deepEqual(norm(ptr.answer), [`${ip.split('.').reverse().join('.')}.in-addr.arpa.\t5\tIN\tPTR\tdb-0.db.default.svc.cluster.local.`]);
});

test('real dig: ExternalName is a CNAME, chased through the upstream', skip, async () => {
  const r = await dig('ext.default.svc.cluster.local', 'A');
  assert.equal(r.status, 'NOERROR', r.raw);
  assert.deepEqual(norm(r.answer), ['client.example.com.\t5\tIN\tA\t203.0.113.10', 'ext.default.svc.cluster.local.\t5\tIN\tCNAME\tclient.example.com.'].sort());
  assert.match(r.answer[0] ?? '', /CNAME/, 'the CNAME comes first');
});

test('real dig: a name that does not exist is NXDOMAIN with the zone\'s SOA; an existing name without the type is NODATA', skip, async () => {
  const nx = await dig('nosuch.default.svc.cluster.local', 'A');
  assert.equal(nx.status, 'NXDOMAIN', nx.raw);
  assert.equal(nx.answer.length, 0);
  assert.match(norm(nx.authority)[0] ?? '', /^cluster\.local\.\t5\tIN\tSOA\tns\.dns\.cluster\.local\.\thostmaster\.cluster\.local\.\t\d+\t7200\t1800\t86400\t5$/);
  const nodata = await dig('nginx-service.default.svc.cluster.local', 'AAAA');
  assert.equal(nodata.status, 'NOERROR');
  assert.equal(nodata.answer.length, 0);
  assert.equal(nodata.authority.length, 1);
});

test('our dig formatter prints record lines, the header and the question exactly as the real dig', skip, async () => {
  const real = await dig('nginx-service.default.svc.cluster.local', 'A');
  // The same question from our own socket, with dig's flags (RD, EDNS0 1232).
  const reply = await new Promise<Uint8Array>((done, fail) => {
    const s = createSocket('udp4');
    s.once('message', (m) => { s.close(); done(new Uint8Array(m)); });
    s.once('error', fail);
    s.send(encodeMessage({ id: 4242, rd: true, questions: [{ name: 'nginx-service.default.svc.cluster.local', type: 'A', class: 'IN' }], edns: { udpSize: 1232, do: false } }), bridge!.port, bridge!.host);
  });
  const m = decodeMessage(reply);
  const ours = formatDig({ args: 'x', server: '127.0.0.1', port: bridge!.port, transport: 'udp', reply: m, replySize: reply.length, queryTimeMs: 0, when: new Date(0) });
  // The TTL may differ by the cache's count-down between the two asks; the columns may not.
  const ttl = (l: string): string => l.replace(/\. [1-5] IN/, '. T IN');
  assert.deepEqual(m.answers.map(digRecord).map(ttl), real.answer.map(ttl), 'record lines, tabs included');
  const lines = (t: string, from: string, to: string): string => t.slice(t.indexOf(from), t.indexOf(to));
  assert.equal(lines(ours, ';; flags:', '\n;; QUESTION'), lines(real.raw, ';; flags:', '\n;; QUESTION').replace(/; COOKIE: .*\n/, ''));
  assert.equal(lines(ours, ';; QUESTION SECTION:', ';; ANSWER'), lines(real.raw, ';; QUESTION SECTION:', ';; ANSWER'));
});

/** Send raw bytes to the bridge's UDP port; the first reply within `ms`, or undefined. */
function raw(bytes: Uint8Array, ms = 1500): Promise<Uint8Array | undefined> {
  return new Promise((done) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => { s.close(); done(undefined); }, ms);
    s.once('message', (m) => { clearTimeout(t); s.close(); done(new Uint8Array(m)); });
    s.send(bytes, bridge!.port, bridge!.host);
  });
}

test('malformed queries from outside: FORMERR or dropped as CoreDNS does, and the server keeps answering', skip, async () => {
  // Two questions: FORMERR with the header only, the id kept.
  const two = encodeMessage({ id: 0x5151, rd: true, questions: [{ name: 'a.default.svc.cluster.local', type: 'A', class: 'IN' }, { name: 'b.default.svc.cluster.local', type: 'A', class: 'IN' }] });
  const r1 = await raw(two);
  assert.ok(r1 !== undefined);
  assert.deepEqual([...r1.subarray(0, 4)], [0x51, 0x51, 0x81, 0x01]);
  assert.equal(r1.length, 12);
  // Fewer than 12 bytes: no answer at all (a reply could amplify).
  assert.equal(await raw(new Uint8Array([1, 2, 3, 4, 5])), undefined);
  // A question cut short: FORMERR.
  const cut = encodeMessage({ id: 0x5252, rd: true, questions: [{ name: 'nginx-service.default.svc.cluster.local', type: 'A', class: 'IN' }] }).subarray(0, 30);
  const r3 = await raw(cut);
  assert.equal((r3?.[3] ?? 0) & 0xf, 1);
  const after = await dig('nginx-service.default.svc.cluster.local', 'A');
  // (CoreDNS's cache may answer: the TTL counts down from 5.)
  assert.match(norm(after.answer)[0] ?? '', /^nginx-service\.default\.svc\.cluster\.local\.\t[1-5]\tIN\tA\t10\.96\.63\.155$/);
});

test('--dns-listen on a cluster without the DNS add-on is a CLI error with a stable code', skip, async () => {
  const off = await Cluster.build(parseClusterSpec(seedSpecText().replace('\nmanifests: |', '\ndns: { enabled: false }\nmanifests: |'), 'off.yaml'));
  try {
    await assert.rejects(startDnsBridge(off, '127.0.0.1', 0), (e: unknown) => (e as { code?: string }).code === 'NETSIM_ERR_DNS_OFF');
  } finally {
    await off.close();
  }
});
