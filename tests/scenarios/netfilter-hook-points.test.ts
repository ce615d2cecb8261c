/**
 * The stack calls the five netfilter hooks at the kernel's places (and the bridge
 * calls PREROUTING/FORWARD/POSTROUTING for bridged IPv4 frames when
 * bridge-nf-call-iptables is on); a DROP verdict ends the packet's walk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../../netsim/sim.ts';
import { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import { createBridge, attachPod } from '../../netsim/topology.ts';
import { ping } from '../../netsim/apps/ping.ts';
import { NF_ACCEPT, NF_DROP } from '../../netsim/stack/netfilter-hooks.ts';
import type { NetfilterHooks, NfHook, NfVerdict } from '../../netsim/stack/netfilter-hooks.ts';
import { readU32 } from '../../netsim/wire/field.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import { ip } from '../support/net.ts';
import { buildIpv4Icmp } from '../../netsim/wire/build.ts';
import { buildEthernetFrame } from '../../netsim/wire/ethernet.ts';
import { packetFromBytes } from '../../netsim/packet/packet.ts';

class RecordingHooks implements NetfilterHooks {
  calls: string[] = [];
  dropAt: NfHook | undefined;
  run(hook: NfHook, pkt: Parameters<NetfilterHooks['run']>[1], ctx: Parameters<NetfilterHooks['run']>[2]): NfVerdict {
    const d = formatIpv4(readU32(pkt.buf, pkt.off + 16));
    const proto = pkt.buf[pkt.off + 9] === 1 ? 'icmp' : String(pkt.buf[pkt.off + 9]);
    this.calls.push(`${hook} in=${ctx.inDev?.name ?? '-'} out=${ctx.outDev?.name ?? '-'}${ctx.physIn !== undefined ? ` physin=${ctx.physIn.name} physout=${ctx.physOut?.name ?? '-'}` : ''} ${proto}>${d}`);
    return hook === this.dropAt ? NF_DROP : NF_ACCEPT;
  }
}

function setup() {
  const sim = new Sim({ seed: 1 });
  const host = new NetNamespace(sim, 'node01', 'node01', { ipForward: true });
  const br0 = createBridge(host, 'docker0', '10.244.1.1/24');
  const br1 = createBridge(host, 'br1', '10.244.2.1/24');
  const a = attachPod(host, br0, { name: 'a', cidr: '10.244.1.2/24', gateway: '10.244.1.1', hostVeth: 'veth-a' });
  const b = attachPod(host, br0, { name: 'b', cidr: '10.244.1.3/24', gateway: '10.244.1.1', hostVeth: 'veth-b' });
  const c = attachPod(host, br1, { name: 'c', cidr: '10.244.2.2/24', gateway: '10.244.2.1', hostVeth: 'veth-c' });
  const hooks = new RecordingHooks();
  host.hooks = hooks;
  return { sim, host, a, b, c, hooks };
}

test('forwarded traffic: PREROUTING → FORWARD → POSTROUTING with in/out devices; local: PREROUTING → INPUT, OUTPUT → POSTROUTING', () => {
  const { sim, host, a, c, hooks } = setup();
  ping(a.ns, c.ip);
  sim.clock.run();
  assert.deepEqual(hooks.calls, [
    'PREROUTING in=docker0 out=- icmp>10.244.2.2',
    'FORWARD in=docker0 out=br1 icmp>10.244.2.2',
    'POSTROUTING in=docker0 out=br1 icmp>10.244.2.2',
    'PREROUTING in=br1 out=- icmp>10.244.1.2',
    'FORWARD in=br1 out=docker0 icmp>10.244.1.2',
    'POSTROUTING in=br1 out=docker0 icmp>10.244.1.2',
  ]);
  hooks.calls = [];
  ping(a.ns, ip('10.244.1.1'));
  sim.clock.run();
  assert.deepEqual(hooks.calls, [
    'PREROUTING in=docker0 out=- icmp>10.244.1.1',
    'INPUT in=docker0 out=- icmp>10.244.1.1',
    'OUTPUT in=- out=docker0 icmp>10.244.1.2',
    'POSTROUTING in=- out=docker0 icmp>10.244.1.2',
  ]);
  void host;
});

test('bridged frames traverse the hooks only with bridge-nf-call-iptables=1, with physdev ports', () => {
  const { sim, host, a, b, hooks } = setup();
  ping(a.ns, b.ip);
  sim.clock.run();
  assert.deepEqual(hooks.calls, [], 'bridge-nf off: the host stack never sees pod-to-pod frames on one bridge');
  host.sysctl.bridgeNfCallIptables = true;
  ping(a.ns, b.ip);
  sim.clock.run();
  // PREROUTING runs in the bridge's pre-routing hook, before the FDB has picked a port.
  assert.deepEqual(hooks.calls.slice(0, 3), [
    'PREROUTING in=docker0 out=- physin=veth-a physout=- icmp>10.244.1.3',
    'FORWARD in=docker0 out=docker0 physin=veth-a physout=veth-b icmp>10.244.1.3',
    'POSTROUTING in=- out=docker0 physin=veth-a physout=veth-b icmp>10.244.1.3',
  ]);
});

test('with bridge-nf-call-iptables, a frame going up the bridge runs PREROUTING once, in the bridge (ip_sabotage_in)', () => {
  const { sim, host, a, c, hooks } = setup();
  host.sysctl.bridgeNfCallIptables = true;
  ping(a.ns, ip('10.244.1.1'));
  sim.clock.run();
  assert.deepEqual(hooks.calls, [
    'PREROUTING in=docker0 out=- physin=veth-a physout=- icmp>10.244.1.1',
    'INPUT in=docker0 out=- icmp>10.244.1.1',
    'OUTPUT in=- out=docker0 icmp>10.244.1.2',
    'POSTROUTING in=- out=docker0 icmp>10.244.1.2',
  ]);
  hooks.calls = [];
  // Routed to another bridge: PREROUTING in docker0's hook, FORWARD/POSTROUTING by the
  // IP stack; the answer enters br1 and runs br1's PREROUTING the same way.
  ping(a.ns, c.ip);
  sim.clock.run();
  assert.deepEqual(hooks.calls, [
    'PREROUTING in=docker0 out=- physin=veth-a physout=- icmp>10.244.2.2',
    'FORWARD in=docker0 out=br1 icmp>10.244.2.2',
    'POSTROUTING in=docker0 out=br1 icmp>10.244.2.2',
    'PREROUTING in=br1 out=- physin=veth-c physout=- icmp>10.244.1.2',
    'FORWARD in=br1 out=docker0 icmp>10.244.1.2',
    'POSTROUTING in=br1 out=docker0 icmp>10.244.1.2',
  ]);
});

test('a DROP verdict at any hook ends the packet there', () => {
  for (const hook of ['PREROUTING', 'FORWARD', 'POSTROUTING'] as const) {
    const { sim, a, c, hooks } = setup();
    hooks.dropAt = hook;
    const p = ping(a.ns, c.ip);
    sim.clock.run();
    assert.equal(p.replies.length, 0, `dropped at ${hook}`);
    assert.equal(hooks.calls.at(-1)?.startsWith(hook), true);
  }
  const { sim, a, hooks } = setup();
  hooks.dropAt = 'INPUT';
  const p = ping(a.ns, ip('10.244.1.1'));
  sim.clock.run();
  assert.equal(p.replies.length, 0);
  assert.deepEqual(hooks.calls.map((x) => x.split(' ')[0]), ['PREROUTING', 'INPUT']);
});

test('route_localnet: 127/8 from the wire is martian unless the sysctl is on', () => {
  for (const on of [false, true]) {
    const { sim, host, a, b } = setup();
    host.hooks = undefined;
    host.sysctl.routeLocalnet = on;
    const drops: string[] = [];
    const delivered: string[] = [];
    sim.tracer.subscribe((e) => {
      if (e.kind === 'drop') drops.push(`${e.netns}:${e.reason}`);
      if (e.kind === 'deliver') delivered.push(`${e.netns}:${e.to}`);
    });
    // A crafted echo request to 127.0.0.1 arriving from pod a at the bridge's own MAC.
    const icmp = buildIpv4Icmp({ src: a.ip, dst: ip('127.0.0.1') }, { type: 'echo-request', ident: 7, seq: 1, data: new Uint8Array(8) });
    const frame = buildEthernetFrame({ dst: host.device('docker0').mac, src: a.eth.mac, etherType: 0x0800 }, icmp);
    a.hostVeth.receive(packetFromBytes(sim.nextPacketId(), frame));
    sim.clock.run();
    if (on) {
      assert.ok(!drops.includes('node01:martian'));
      assert.ok(delivered.includes('node01:icmp echo'), 'route_localnet=1 delivers it to the node');
    } else {
      assert.ok(drops.includes('node01:martian'));
    }
    void b;
  }
});
