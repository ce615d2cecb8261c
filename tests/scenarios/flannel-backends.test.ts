/**
 * Pod to pod across two nodes with each flannel backend (udp, vxlan, host-gw) and
 * each runtime (docker0 from subnet.env, CNI with kube-flannel's conflist), with
 * the bytes on the underlay checked against what the real data path puts there.
 *
 * TTL a pod sees from a pod on the other node (64 sent):
 * - udp: node01 forwards docker0→flannel0 (−1), flanneld TUN→UDP (−1), flanneld
 *   UDP→TUN on node02 (−1), node02 forwards flannel0→docker0 (−1): 60;
 * - vxlan and host-gw: each node forwards once: 62.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTwoNodeCluster } from '../../cni/testing/two-nodes.ts';
import type { BackendType } from '../../cni/flannel/network-config.ts';
import { ping } from '../../netsim/apps/ping.ts';
import { recordTrace } from '../../netsim/trace/tracer.ts';
import { parseUdp } from '../../netsim/wire/udp.ts';
import { parseVxlan } from '../../netsim/wire/vxlan.ts';
import { parseEthernet } from '../../netsim/wire/ethernet.ts';
import { ipv4DecrementTtl } from '../../netsim/wire/ipv4.ts';
import { ipRoute } from '../../netsim/tools/ip.ts';
import type { VxlanBackend } from '../../cni/flannel/vxlan.ts';
import { ip, rxtx, ipBytes, assertValidChecksums } from '../support/net.ts';

const EXPECTED_TTL: Record<BackendType, number> = { udp: 60, vxlan: 62, 'host-gw': 62 };
const MTU: Record<BackendType, number> = { udp: 1472, vxlan: 1450, 'host-gw': 1500 };

for (const backend of ['udp', 'vxlan', 'host-gw'] as const) {
  for (const runtime of ['docker', 'cni'] as const) {
    test(`${backend} + ${runtime}: pod to pod across nodes, TTL ${EXPECTED_TTL[backend]}, MTU ${MTU[backend]}, bytes on the underlay`, () => {
      const c = buildTwoNodeCluster({ backend, runtime });
      const [n1, n2] = c.nodes;
      const a = n1.runPod('default/webapp01');
      const b = n2.runPod('default/backend');
      const bridge = runtime === 'docker' ? 'docker0' : 'cni0';
      assert.equal(n1.flanneld.subnetEnv?.FLANNEL_MTU, MTU[backend]);
      assert.equal(a.ns.device('eth0').mtu, MTU[backend]);
      assert.equal(n1.ns.device(bridge).mtu, MTU[backend]);
      if (backend === 'udp') assert.equal(n1.ns.device('flannel0').mtu, 1472);
      if (backend === 'vxlan') assert.equal(n1.ns.device('flannel.1').mtu, 1450);
      const rec = recordTrace(c.sim.tracer, { bytes: true });
      const p = ping(a.ns, b.ip);
      c.sim.clock.run(c.sim.clock.now() + 2e9);
      assert.equal(p.replies.length, 1, `no reply; drops: ${JSON.stringify(rec.events.filter((e) => e.kind === 'drop'))}`);
      assert.equal(p.replies[0]?.ttl, EXPECTED_TTL[backend]);
      const atPod = rxtx(rec.events).find((e) => e.kind === 'rx' && e.netns === b.ns.name && e.dev === 'eth0' && e.summary.includes('echo request'));
      assert.ok(atPod !== undefined);
      assert.equal(assertValidChecksums(ipBytes(atPod)).ttl, EXPECTED_TTL[backend]);

      const wire = rxtx(rec.events).filter((e) => e.kind === 'tx' && e.netns === 'node01' && e.dev === 'eth0');
      const request = p.sent[0]?.pkt;
      const outer = wire.find((e) => e.pkt === request && e.data !== undefined && e.data[12] === 0x08 && e.data[13] === 0x00);
      assert.ok(outer !== undefined, 'the request leaves node01 on eth0 with its trace id');
      const o = assertValidChecksums(ipBytes(outer));
      if (backend === 'host-gw') {
        assert.equal(o.src, a.ip);
        assert.equal(o.dst, b.ip);
        assert.equal(o.ttl, 63);
        const eth = parseEthernet(outer.data as Uint8Array);
        assert.equal(eth.dst, n2.ns.device('eth0').mac, 'next hop is node02 itself');
        return;
      }
      assert.equal(o.src, ip('192.168.50.11'));
      assert.equal(o.dst, ip('192.168.50.12'));
      assert.equal(o.protocol, 17);
      const udp = parseUdp(ipBytes(outer).subarray(20), { src: o.src, dst: o.dst });
      const payload = ipBytes(outer).subarray(28);
      if (backend === 'udp') {
        assert.equal(udp.srcPort, 8285);
        assert.equal(udp.dstPort, 8285);
        // The payload is the packet the kernel wrote to flannel0, with flanneld's TTL decrement.
        const intoTun = rxtx(rec.events).find((e) => e.kind === 'tx' && e.netns === 'node01' && e.dev === 'flannel0' && e.pkt === request);
        assert.ok(intoTun?.data !== undefined);
        const expected = intoTun.data.slice();
        assert.equal(expected[8], 63);
        ipv4DecrementTtl(expected, 0);
        assert.deepEqual(payload, expected);
        const inner = assertValidChecksums(payload);
        assert.equal(inner.ttl, 62);
        assert.equal(inner.src, a.ip);
        assert.equal(inner.dst, b.ip);
        const enc = rec.events.find((e) => e.kind === 'encap' && e.pkt === request);
        const dec = rec.events.find((e) => e.kind === 'decap' && e.pkt === request);
        assert.ok(enc !== undefined && dec !== undefined && dec.netns === 'node02');
      } else {
        assert.equal(udp.dstPort, 8472);
        assert.equal(parseVxlan(payload).vni, 1);
        const frame = payload.subarray(8);
        const eth = parseEthernet(frame);
        const vx1 = n1.flanneld.backend as VxlanBackend;
        const vx2 = n2.flanneld.backend as VxlanBackend;
        assert.equal(eth.src, vx1.device.mac);
        assert.equal(eth.dst, vx2.device.mac);
        assert.equal(eth.etherType, 0x0800);
        const inner = assertValidChecksums(frame.subarray(14));
        assert.equal(inner.ttl, 63);
        assert.equal(inner.src, a.ip);
      }
    });
  }
}

test('udp backend: flannel0 carries <lease IP>/<network prefix>, so the whole network is routed into it', () => {
  const c = buildTwoNodeCluster({ backend: 'udp', runtime: 'docker' });
  const [n1] = c.nodes;
  const lease = n1.flanneld.lease;
  assert.ok(lease !== undefined);
  const third = lease.subnet.toString().split('.')[2] as string;
  assert.equal(ipRoute(n1.ns), [
    `10.244.0.0/16 dev flannel0 proto kernel scope link src 10.244.${third}.0 `,
    `10.244.${third}.0/24 dev docker0 proto kernel scope link src 10.244.${third}.1 `,
    '192.168.50.0/24 dev eth0 proto kernel scope link src 192.168.50.11 ',
  ].join('\n') + '\n');
});
