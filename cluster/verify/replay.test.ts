/**
 * `netsim replay`: the IPv4 packets of a pcapng (Ethernet frames stripped, ARP skipped,
 * one interface selected) arrive in a real namespace through a raw socket. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { PcapngWriter } from '../../pcaps/pcapng-writer.ts';
import { buildIpv4Udp } from '../../netsim/wire/build.ts';
import { parseIpv4 } from '../../netsim/wire/addr.ts';
import { NetnsSession, netnsUnavailableReason } from './raw/netns.ts';
import { RawAgent } from './raw/raw-agent.ts';
import { replayCapture, ReplayError } from './replay.ts';

const why = netnsUnavailableReason();
if (why !== undefined) console.log(`# replay tests skipped: ${why}`);

function capture(): Uint8Array {
  const w = new PcapngWriter();
  const eth = w.addInterface({ name: 'node01/eth0', linkType: 1 });
  const other = w.addInterface({ name: 'node01/docker0', linkType: 1 });
  const ip = buildIpv4Udp({ src: parseIpv4('127.0.0.1'), dst: parseIpv4('127.0.0.1'), ttl: 9, ident: 0x4242 }, { srcPort: 4000, dstPort: 5000 }, new TextEncoder().encode('replayed'));
  const frame = new Uint8Array(14 + ip.length);
  frame.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
  frame.set(ip, 14);
  const arp = new Uint8Array(42);
  arp.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 2, 0x08, 0x06]);
  w.writePacket({ interfaceId: eth, timestampNs: 1n, data: frame });
  w.writePacket({ interfaceId: eth, timestampNs: 2n, data: arp });
  w.writePacket({ interfaceId: other, timestampNs: 3n, data: frame });
  return w.toBytes();
}

test('replay sends the IPv4 packets of one interface into a real namespace', { skip: why ?? false }, async () => {
  const session = new NetnsSession('rp');
  try {
    const ns = session.create('a');
    const rx = new RawAgent(ns);
    session.onDispose(() => rx.close());
    await rx.ready;
    const r = await replayCapture(capture(), { netns: ns, interface: 'node01/eth0' });
    assert.deepEqual({ sent: r.sent, skipped: r.skipped, errors: r.errors }, { sent: 1, skipped: 1, errors: [] });
    await sleep(100);
    // The UDP datagram, and the port-unreachable the namespace answered it with.
    const got = rx.take().filter((x) => x.bytes[9] === 17);
    assert.equal(got.length, 1);
    const p = got[0]?.bytes as Uint8Array;
    assert.equal(p[8], 9, 'TTL as captured');
    assert.equal(new TextDecoder().decode(p.subarray(28)), 'replayed');
    await assert.rejects(replayCapture(capture(), { netns: ns, interface: 'node09/eth0' }), ReplayError);
    await assert.rejects(replayCapture(capture(), { netns: `${ns}-missing` }), ReplayError);
  } finally {
    session.dispose();
  }
});
