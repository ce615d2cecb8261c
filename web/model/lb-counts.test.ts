// Load-balancing counts from flows: what counts as a new connection, the per-endpoint
// counts and shares, the expected share (ready endpoints alike), and an address that
// got connections and is no endpoint any more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Flow } from '../../observe/flow.ts';
import type { TopologyService } from '../../observe/topology.ts';
import { LbCounter, opensConnection } from './lb-counts.ts';

let seq = 0;
function flow(o: Partial<Flow> & { dst?: string }): Flow {
  return {
    seq: seq++, t: 0, traceId: seq, node: 'node01', protocol: 'TCP', verdict: 'FORWARDED', tcpFlags: ['SYN'], service: 'default/nginx',
    source: { ip: '10.244.1.2', port: 40000, kind: 'pod', namespace: 'default', name: 'client' },
    destination: { ip: o.dst ?? '10.244.1.5', port: 80, kind: 'pod', namespace: 'default', name: `nginx-${o.dst ?? '10.244.1.5'}` },
    ...o,
  };
}

const SVC: TopologyService = {
  key: 'default/nginx', namespace: 'default', name: 'nginx', type: 'ClusterIP', clusterIP: '10.96.0.20', ports: [{ name: '', port: 80, protocol: 'TCP' }],
  endpoints: [{ ip: '10.244.1.5', pod: 'default/nginx-a', ready: true }, { ip: '10.244.2.5', pod: 'default/nginx-b', ready: true }, { ip: '10.244.3.5', pod: 'default/nginx-c', ready: false }],
};

test('a new connection is a forwarded TCP SYN without ACK sent to a Service, or any UDP/ICMP packet sent to one', () => {
  const cases: Array<[Partial<Flow>, boolean]> = [
    [{}, true],
    [{ tcpFlags: ['SYN', 'ACK'] }, false],
    [{ tcpFlags: ['ACK'] }, false],
    [{ tcpFlags: ['ACK', 'FIN'] }, false],
    [{ verdict: 'DROPPED' }, false],
    [{ verdict: 'REJECTED' }, false],
    [{ protocol: 'UDP', tcpFlags: [] }, true],
    [{ protocol: 'ICMP', tcpFlags: [] }, true],
  ];
  for (const [o, want] of cases) assert.equal(opensConnection(flow(o)), want, JSON.stringify(o));
  const { service: _omit, ...noService } = flow({});
  assert.equal(opensConnection(noService as Flow), false, 'a flow to a pod address, not a Service');
});

test('per endpoint: counts, shares of the total, expected 1/ready for the ready ones; a gone address keeps its count', () => {
  const lb = new LbCounter();
  for (let i = 0; i < 3; i++) lb.add(flow({ dst: '10.244.1.5' }));
  lb.add(flow({ dst: '10.244.2.5' }));
  lb.add(flow({ dst: '10.244.2.5', tcpFlags: ['SYN', 'ACK'] }));
  lb.add(flow({ dst: '10.244.9.9' }));
  lb.add(flow({ dst: '10.244.1.5', service: 'default/other' }));
  const bars = lb.bars(SVC);
  assert.deepEqual(bars.map((b) => [b.ip, b.pod, b.count, b.share, b.expected, b.ready]), [
    ['10.244.1.5', 'default/nginx-a', 3, 3 / 5, 1 / 2, true],
    ['10.244.2.5', 'default/nginx-b', 1, 1 / 5, 1 / 2, true],
    ['10.244.3.5', 'default/nginx-c', 0, 0, 0, false],
    ['10.244.9.9', 'default/nginx-10.244.9.9', 1, 1 / 5, 0, false],
  ]);
  assert.equal(lb.total('default/nginx'), 5);
  assert.equal(lb.total('default/other'), 1);
});

test('property: the bars\' counts add up to the connections counted, and shares to 1', () => {
  const ips = ['10.244.1.5', '10.244.2.5', '10.244.3.5', '10.244.4.4'];
  fc.assert(fc.property(fc.array(fc.record({ dst: fc.constantFrom(...ips), syn: fc.boolean(), ack: fc.boolean() }), { maxLength: 200 }), (xs) => {
    const lb = new LbCounter();
    let want = 0;
    for (const x of xs) {
      const f = flow({ dst: x.dst, tcpFlags: [...(x.syn ? ['SYN'] : []), ...(x.ack ? ['ACK'] : [])] });
      if (opensConnection(f)) want++;
      lb.add(f);
    }
    const bars = lb.bars(SVC);
    assert.equal(bars.reduce((a, b) => a + b.count, 0), want);
    assert.equal(lb.total(SVC.key), want);
    if (want > 0) assert.ok(Math.abs(bars.reduce((a, b) => a + b.share, 0) - 1) < 1e-9);
  }));
});
