import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RoutingTable, formatRoute } from './routing-table.ts';
import type { Route } from './routing-table.ts';
import { Ipv4Cidr, parseIpv4 } from '../wire/addr.ts';

const route = (dst: string, extra: Partial<Route> = {}): Route => ({
  table: 254, type: 'unicast', dst: Ipv4Cidr.parse(dst), scope: 'link', proto: 'kernel', metric: 0, onlink: false, dev: 'eth0', ...extra,
});

test('longest prefix wins, then lowest metric; default catches the rest', () => {
  const t = new RoutingTable(254);
  t.add(route('0.0.0.0/0', { gateway: parseIpv4('192.168.50.1'), scope: 'global', proto: 'boot' }));
  t.add(route('10.244.0.0/16', { dev: 'flannel0' }));
  t.add(route('10.244.1.0/24', { dev: 'docker0' }));
  t.add(route('10.244.1.0/24', { dev: 'eth1', metric: 100 }));
  assert.equal(t.lookup(parseIpv4('10.244.1.7'))?.dev, 'docker0');
  assert.equal(t.lookup(parseIpv4('10.244.2.7'))?.dev, 'flannel0');
  assert.equal(t.lookup(parseIpv4('8.8.8.8'))?.gateway, parseIpv4('192.168.50.1'));
  assert.equal(t.add(route('10.244.1.0/24', { dev: 'x' })), false, 'same prefix and metric: EEXIST');
  assert.equal(t.delete((r) => r.dev === 'docker0'), 1);
  assert.equal(t.lookup(parseIpv4('10.244.1.7'))?.dev, 'eth1');
});

test('list() is in `ip route` order and formatRoute prints like iproute2', () => {
  const t = new RoutingTable(254);
  t.add(route('192.168.50.0/24', { src: parseIpv4('192.168.50.11') }));
  t.add(route('10.244.1.0/24', { dev: 'docker0', src: parseIpv4('10.244.1.1') }));
  t.add(route('0.0.0.0/0', { gateway: parseIpv4('192.168.50.1'), scope: 'global', proto: 'boot' }));
  t.add(route('10.244.2.0/24', { dev: 'flannel.1', gateway: parseIpv4('10.244.2.0'), scope: 'global', proto: 'boot', onlink: true }));
  t.add(route('10.96.0.10/32', { dev: 'kube-ipvs0', scope: 'global', proto: 'static' }));
  assert.deepEqual(t.list().map((r) => formatRoute(r)), [
    'default via 192.168.50.1 dev eth0',
    '10.96.0.10 dev kube-ipvs0 proto static',
    '10.244.1.0/24 dev docker0 proto kernel scope link src 10.244.1.1',
    '10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink',
    '192.168.50.0/24 dev eth0 proto kernel scope link src 192.168.50.11',
  ]);
});

test('property: lookup equals a brute-force longest-prefix scan', () => {
  const arbRoute = fc.record({ net: fc.integer({ min: 0, max: 0xffffffff }), len: fc.integer({ min: 0, max: 32 }), metric: fc.integer({ min: 0, max: 3 }) });
  fc.assert(fc.property(fc.array(arbRoute, { maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 20 }), (rs, probes) => {
    const t = new RoutingTable(254);
    const added: Route[] = [];
    rs.forEach((x, i) => {
      const r = route(`${Ipv4Cidr.of(x.net, x.len).toString()}`, { metric: x.metric, dev: `d${i}` });
      if (t.add(r)) added.push(r);
    });
    for (const p of probes) {
      const best = added.filter((r) => r.dst.contains(p)).sort((a, b) => b.dst.prefixLen - a.dst.prefixLen || a.metric - b.metric)[0];
      assert.equal(t.lookup(p)?.dev, best?.dev);
    }
  }));
});
