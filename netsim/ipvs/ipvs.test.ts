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
    '  -> 192.168.0.1:6443             Masq    1      1          0',
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
