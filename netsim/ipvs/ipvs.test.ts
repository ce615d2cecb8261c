import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipvs, IpvsError } from './ipvs.ts';
import { parseIpv4 } from '../wire/addr.ts';

const ip = parseIpv4;

test('ipvsadm -Ln prints as in the reference (persistent service, one established connection)', () => {
  let now = 0;
  const ipvs = new Ipvs(() => now);
  const vs = ipvs.addService('TCP', ip('10.96.0.1'), 443, 'rr', 10800);
  ipvs.addReal(vs, ip('192.168.0.1'), 6443);
  ipvs.inbound('TCP', ip('10.244.1.2'), 40000, ip('10.96.0.1'), 443, 0x02);
  ipvs.inbound('TCP', ip('10.244.1.2'), 40000, ip('10.96.0.1'), 443, 0x10);
  now = 1e9;
  assert.equal(ipvs.list(), [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
    'TCP  10.96.0.1:443 rr persistent 10800',
    '  -> 192.168.0.1:6443             Masq    1      1          0         ',
    '',
  ].join('\n'));
});

test('lc sends new connections to the server with the fewest; errors carry codes', () => {
  const ipvs = new Ipvs(() => 0);
  const vs = ipvs.addService('TCP', ip('10.96.0.2'), 80, 'lc');
  ipvs.addReal(vs, ip('10.0.0.1'), 80);
  ipvs.addReal(vs, ip('10.0.0.2'), 80);
  // Three established connections on the first server (chosen by lc while both are empty, then tied).
  for (let i = 0; i < 3; i++) {
    const r = ipvs.inbound('TCP', ip('10.1.0.1'), 1000 + i, ip('10.96.0.2'), 80, 0x02);
    ipvs.inbound('TCP', ip('10.1.0.1'), 1000 + i, ip('10.96.0.2'), 80, 0x10);
    void r;
  }
  const loads = vs.reals.map((r) => r.activeConns);
  const next = ipvs.schedule(vs, ip('10.1.0.9'));
  assert.equal(next?.activeConns, Math.min(...loads), 'the least-loaded server is picked');
  assert.throws(() => ipvs.addService('TCP', ip('10.96.0.2'), 80), (e: unknown) => e instanceof IpvsError && e.code === 'IPVS_EXISTS');
  assert.throws(() => ipvs.addService('UDP', ip('10.96.0.3'), 53, 'bogus' as 'rr'), (e: unknown) => e instanceof IpvsError && e.code === 'IPVS_BAD_ARG');
  assert.throws(() => ipvs.setWeight(vs, ip('10.9.9.9'), 80, 0), (e: unknown) => e instanceof IpvsError && e.code === 'IPVS_NO_DEST');
});

test('--stats, -Lnc, -Sn and --timeout print as ipvsadm does', () => {
  let now = 0;
  const ipvs = new Ipvs(() => now);
  const vs = ipvs.addService('UDP', ip('10.96.0.10'), 53, 'rr');
  ipvs.addReal(vs, ip('10.244.2.5'), 53, 2);
  ipvs.addReal(vs, ip('10.244.1.5'), 53);
  // rr starts at the head of the list, where the last destination added went (list_add_rcu).
  ipvs.inbound('UDP', ip('10.244.1.2'), 40000, ip('10.96.0.10'), 53, 0, 60);
  ipvs.outbound('UDP', ip('10.244.1.5'), 53, ip('10.244.1.2'), 40000, 0, 120);
  now = 10e9;
  assert.equal(ipvs.listStats(), [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes',
    '  -> RemoteAddress:Port',
    'UDP  10.96.0.10:53                       1        1        1       60      120',
    '  -> 10.244.1.5:53                       1        1        1       60      120',
    '  -> 10.244.2.5:53                       0        0        0        0        0',
    '',
  ].join('\n'));
  assert.equal(ipvs.listConnections(), [
    'IPVS connection entries',
    'pro expire state       source             virtual            destination',
    'UDP 04:50  UDP         10.244.1.2:40000   10.96.0.10:53      10.244.1.5:53',
    '',
  ].join('\n'));
  assert.equal(ipvs.save(), '-A -u 10.96.0.10:53 -s rr\n-a -u 10.96.0.10:53 -r 10.244.1.5:53 -m -w 1\n-a -u 10.96.0.10:53 -r 10.244.2.5:53 -m -w 2\n');
  ipvs.setTimeouts(0, 0, 30);
  assert.equal(ipvs.listTimeouts(), 'Timeout (tcp tcpfin udp): 900 120 30\n');
});

test('persistence: a template pins a client for the timeout, then expires; quiesced servers lose the template', () => {
  let now = 0;
  const ipvs = new Ipvs(() => now);
  const vs = ipvs.addService('TCP', ip('10.96.0.1'), 443, 'rr', 10800);
  ipvs.addReal(vs, ip('10.0.0.1'), 6443);
  ipvs.addReal(vs, ip('10.0.0.2'), 6443);
  const first = ipvs.inbound('TCP', ip('10.1.0.1'), 1000, ip('10.96.0.1'), 443, 0x02)?.rs.addr;
  for (let p = 1001; p < 1010; p++) assert.equal(ipvs.inbound('TCP', ip('10.1.0.1'), p, ip('10.96.0.1'), 443, 0x02)?.rs.addr, first);
  assert.match(ipvs.listConnections(), /^TCP 180:00 NONE {8}10\.1\.0\.1:0 /m, 'the template: port 0, the persistence timeout');
  now = 10801e9;
  const other = ipvs.inbound('TCP', ip('10.1.0.1'), 2000, ip('10.96.0.1'), 443, 0x02)?.rs.addr;
  assert.notEqual(other, first, 'after 10800 s the template is gone and rr moves on');
  ipvs.setWeight(vs, other as number, 6443, 0);
  assert.notEqual(ipvs.inbound('TCP', ip('10.1.0.1'), 2001, ip('10.96.0.1'), 443, 0x02)?.rs.addr, other, 'a quiesced server takes no new connections even with a template');
});

test('sh: a client whose bucket belongs to a quiesced server gets no destination; weights take consecutive buckets', () => {
  const ipvs = new Ipvs(() => 0);
  const vs = ipvs.addService('TCP', ip('10.96.0.3'), 80, 'sh');
  ipvs.addReal(vs, ip('10.0.0.1'), 80, 3);
  ipvs.addReal(vs, ip('10.0.0.2'), 80, 1);
  const clients = Array.from({ length: 4000 }, (_, i) => ip(`172.16.${i >> 8}.${i & 255}`));
  const count = (a: string): number => clients.filter((c) => ipvs.schedule(vs, c)?.addr === ip(a)).length;
  const share = count('10.0.0.1') / clients.length;
  assert.ok(share > 0.7 && share < 0.8, `weight 3 of 4 takes about 3/4 of the buckets: ${share}`);
  ipvs.setWeight(vs, ip('10.0.0.2'), 80, 0);
  const none = clients.filter((c) => ipvs.schedule(vs, c) === undefined).length;
  assert.ok(none > 0, 'no fallback: clients hashed to the quiesced server are refused');
});

test('wlc, sed and nq weigh active connections against weights', () => {
  const ipvs = new Ipvs(() => 0);
  for (const sched of ['wlc', 'sed', 'nq'] as const) {
    const vs = ipvs.addService('TCP', ip('10.96.1.1'), sched === 'wlc' ? 1 : sched === 'sed' ? 2 : 3, sched);
    const a = ipvs.addReal(vs, ip('10.0.0.1'), 80, 1);
    const b = ipvs.addReal(vs, ip('10.0.0.2'), 80, 4);
    a.activeConns = 1;
    b.activeConns = 3;
    // wlc: 256/1 vs 768/4 → b; sed: 2/1 vs 4/4 → b; nq: no idle server, then like sed → b.
    assert.equal(ipvs.schedule(vs, ip('10.1.1.1'))?.addr, ip('10.0.0.2'), sched);
    a.activeConns = 0;
    if (sched === 'nq') assert.equal(ipvs.schedule(vs, ip('10.1.1.1'))?.addr, ip('10.0.0.1'), 'nq: an idle server first');
  }
});
