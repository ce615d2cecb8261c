// The CoreDNS-like server over real emulated sockets: UDP and TCP, the 512-byte
// limit and TC, forwarding (and SERVFAIL without an upstream), `cache 30`, and the
// front door's handling of malformed messages (property-based).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { Segment } from '../../netsim/link/segment.ts';
import { attachNic } from '../../netsim/topology.ts';
import { parseIpv4 } from '../../netsim/wire/addr.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import type { Namespace, Service, EndpointSlice } from '../../control/api/index.ts';
import { KubernetesRecords } from './kubernetes-records.ts';
import { CoreDnsServer } from './coredns.ts';
import { StaticZone } from './static-zone.ts';
import { decodeMessage, encodeMessage, screenQuery } from './message.ts';
import type { DnsMessage } from './message.ts';
import { tcpExchange, udpExchange } from './transport.ts';
import type { ExchangeResult } from './transport.ts';
import { rrText } from './rr-text.ts';

function world(opts: { upstream?: boolean; endpoints?: number } = {}) {
  const sim = new Sim({ seed: 7 });
  const seg = new Segment(sim, 'wire', { latencyNs: 10_000, bandwidthBps: 0, loss: 0, queueLimit: 1000 });
  const mk = (name: string, cidr: string): NetNamespace => {
    const ns = new NetNamespace(sim, name);
    attachNic(ns, seg, 'eth0', cidr);
    return ns;
  };
  const client = mk('client', '10.0.0.1/24');
  const server = mk('coredns', '10.0.0.53/24');
  const outside = mk('resolver', '10.0.0.99/24');
  const records = new KubernetesRecords({ zone: 'cluster.local', now: () => 1_767_225_600 });
  for (const n of ['default', 'kube-system']) records.setNamespace({ metadata: { name: n } } as Namespace);
  records.setService({ metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.20', ports: [{ name: 'http', protocol: 'TCP', port: 80 }] } } as Service);
  records.setService({ metadata: { name: 'db', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }] } } as Service);
  const eps = Array.from({ length: opts.endpoints ?? 3 }, (_, i) => ({ addresses: [`10.244.${1 + (i >> 8)}.${i & 0xff}`], conditions: { ready: true } }));
  records.setEndpointSlice({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'db-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'db' } }, addressType: 'IPv4', endpoints: eps, ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }] } as EndpointSlice);
  records.synced = true;
  const upstreams = opts.upstream === true ? [parseIpv4('10.0.0.99')] : [];
  const dns = new CoreDnsServer(server, { records, upstreams });
  new CoreDnsServer(outside, { records: new StaticZone('.', { 'example.com': '93.184.215.14' }), upstreams: [], app: 'resolver' });
  return { sim, client, server, dns, records };
}

function ask(w: ReturnType<typeof world>, name: string, type: string, transport: 'udp' | 'tcp' = 'udp', edns?: number): DnsMessage {
  let res: ExchangeResult | undefined;
  const q = encodeMessage({ id: 0x1234, rd: true, questions: [{ name, type: type as 'A', class: 'IN' }], ...(edns !== undefined ? { edns: { udpSize: edns, do: false } } : {}) });
  (transport === 'udp' ? udpExchange : tcpExchange)(w.client, parseIpv4('10.0.0.53'), 53, q, 10 * SECOND, (r) => { res = r; });
  w.sim.clock.runFor(10 * SECOND);
  assert.ok(res?.ok, `no reply: ${JSON.stringify(res)}`);
  if (!res.ok) throw new Error('unreachable');
  return decodeMessage(res.reply);
}

test('coredns: a Service A record over UDP and over TCP, authoritative, recursion available', () => {
  const w = world();
  for (const t of ['udp', 'tcp'] as const) {
    const m = ask(w, 'web.default.svc.cluster.local', 'A', t);
    assert.equal(m.id, 0x1234);
    assert.ok(m.qr && m.aa && m.ra && m.rd && !m.tc);
    assert.equal(m.rcode, 0);
    assert.deepEqual(m.questions, [{ name: 'web.default.svc.cluster.local', type: 'A', class: 'IN' }]);
    assert.deepEqual(m.answers.map(rrText), ['web.default.svc.cluster.local.\t5\tIN\tA\t10.96.0.20']);
  }
});

// 20 headless endpoints: about 1 KB uncompressed — over 512, within dig's EDNS0 1232 and the
// 1500-byte MTU (the emulator does not fragment, so a UDP reply must fit the path).
test('coredns: a reply over 512 bytes is truncated over UDP (TC, answers dropped), whole over TCP and with EDNS0 room', () => {
  const w = world({ endpoints: 20 });
  const udp = ask(w, 'db.default.svc.cluster.local', 'A');
  assert.ok(udp.tc, 'TC set');
  assert.ok(udp.answers.length > 0 && udp.answers.length < 20, `${udp.answers.length} answers fit`);
  assert.ok(encodeMessage({ ...udp }).length <= 512);
  const tcp = ask(w, 'db.default.svc.cluster.local', 'A', 'tcp');
  assert.ok(!tcp.tc);
  assert.equal(tcp.answers.length, 20);
  const edns = ask(w, 'db.default.svc.cluster.local', 'A', 'udp', 1232);
  assert.ok(!edns.tc);
  assert.equal(edns.answers.length, 20);
  assert.equal(edns.edns?.udpSize, 1232);
  assert.equal(w.dns.stats.truncated, 1);
});

test('coredns: out-of-zone names are forwarded upstream; without an upstream they are SERVFAIL', () => {
  const up = world({ upstream: true });
  const m = ask(up, 'example.com', 'A');
  assert.equal(m.rcode, 0);
  assert.deepEqual(m.answers.map(rrText), ['example.com.\t30\tIN\tA\t93.184.215.14'], 'TTL capped by cache 30');
  assert.equal(ask(up, 'nope.example.com', 'A').rcode, 3);
  const none = world();
  const s = ask(none, 'example.com', 'A');
  assert.equal(s.rcode, 2);
  assert.equal(s.answers.length, 0);
});

test('coredns: cache 30 serves a hit with the TTL counted down, and forgets it when the TTL runs out', () => {
  const w2 = world();
  let first: ExchangeResult | undefined;
  let second: ExchangeResult | undefined;
  const q = encodeMessage({ id: 1, rd: true, questions: [{ name: 'web.default.svc.cluster.local', type: 'A', class: 'IN' }] });
  udpExchange(w2.client, parseIpv4('10.0.0.53'), 53, q, SECOND, (r) => { first = r; });
  w2.sim.clock.runFor(3 * SECOND);
  udpExchange(w2.client, parseIpv4('10.0.0.53'), 53, q, SECOND, (r) => { second = r; });
  w2.sim.clock.runFor(SECOND);
  assert.ok(first?.ok && second?.ok);
  if (!first?.ok || !second?.ok) return;
  assert.equal((decodeMessage(first.reply).answers[0] as { ttl: number }).ttl, 5);
  // Stored at ~20 µs, asked again at 3 s: 2.99998 s in the cache is 2 whole seconds (int(Seconds())).
  assert.equal((decodeMessage(second.reply).answers[0] as { ttl: number }).ttl, 3);
  assert.equal(w2.dns.stats.cacheHits, 1);
  let third: ExchangeResult | undefined;
  w2.sim.clock.runFor(3 * SECOND);
  udpExchange(w2.client, parseIpv4('10.0.0.53'), 53, q, SECOND, (r) => { third = r; });
  w2.sim.clock.runFor(SECOND);
  assert.ok(third?.ok);
  if (third?.ok) assert.equal((decodeMessage(third.reply).answers[0] as { ttl: number }).ttl, 5, 'expired: asked afresh');
  assert.equal(w2.dns.stats.cacheHits, 1);
});

test('coredns front door: miekg/dns acceptance (drop, FORMERR, NOTIMP) on hand-made headers', () => {
  const q = encodeMessage({ id: 0xabcd, rd: true, questions: [{ name: 'a.b', type: 'A', class: 'IN' }] });
  assert.equal(screenQuery(q.subarray(0, 11)).action, 'drop');
  const resp = q.slice();
  resp[2]! |= 0x80;
  assert.equal(screenQuery(resp).action, 'drop', 'a response is ignored');
  const update = q.slice();
  update[2] = (update[2]! & 0x87) | (5 << 3);
  const u = screenQuery(update);
  assert.equal(u.action, 'reply');
  if (u.action === 'reply') assert.deepEqual([...u.reply], [0xab, 0xcd, 0x80 | (5 << 3) | 0x01, 0x04, 0, 0, 0, 0, 0, 0, 0, 0], 'NOTIMP keeps the opcode and RD');
  const two = q.slice();
  two[5] = 2;
  const t = screenQuery(two);
  assert.equal(t.action, 'reply');
  if (t.action === 'reply') assert.deepEqual([...t.reply.subarray(0, 4)], [0xab, 0xcd, 0x81, 0x01], 'FORMERR, header only');
  const cut = screenQuery(q.subarray(0, q.length - 3));
  assert.equal(cut.action, 'reply', 'a question cut short does not unpack: FORMERR');
});

test('coredns front door (property): any bytes get a drop or a reply with the same id and QR set, never an exception; the server keeps answering', () => {
  const w = world();
  const valid = encodeMessage({ id: 9, rd: true, questions: [{ name: 'web.default.svc.cluster.local', type: 'A', class: 'IN' }] });
  fc.assert(fc.property(
    fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      // mutations of a valid query: flipped bytes and cuts
      fc.tuple(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(valid.length)).map(([flips, cut]) => {
        const b = valid.slice(0, Math.max(cut, 1));
        for (const [i, v] of flips) if (i < b.length) b[i] = v;
        return b;
      }),
    ),
    (bytes) => {
      const replies: Uint8Array[] = [];
      w.dns.handle(bytes, 'udp', 0, parseIpv4('10.0.0.1'), (r) => replies.push(r));
      w.sim.clock.runFor(3 * SECOND);
      assert.ok(replies.length <= 1);
      const r = replies[0];
      if (r === undefined) return;
      assert.equal(r[0], bytes[0]);
      assert.equal(r[1], bytes[1]);
      assert.ok((r[2]! & 0x80) !== 0, 'QR set');
    },
  ), { numRuns: 400, seed: 19 });
  assert.deepEqual(ask(w, 'web.default.svc.cluster.local', 'A').answers.map(rrText), ['web.default.svc.cluster.local.\t5\tIN\tA\t10.96.0.20']);
});
