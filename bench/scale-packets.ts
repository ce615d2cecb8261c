/**
 * The first packets the kube-proxy scale benches send: a SYN from a pod to 8 plain TCP
 * ClusterIP Services of proxy/fixtures.ts's scaleFixture (kinds 0, 7, 8, 9), picked by a
 * fixed seed so that every bench and every run probes the same Services.
 */
import { Packet, setIpv4Context } from '../netsim/packet/packet.ts';
import { Rng } from '../netsim/time/rng.ts';
import { buildIpv4Tcp } from '../netsim/wire/build.ts';
import { parseIpv4 } from '../netsim/wire/addr.ts';

export function scaleFirstPackets(services: number): Packet[] {
  const pick = new Rng(2);
  return Array.from({ length: 8 }, () => {
    let i = pick.int(services);
    while (![0, 7, 8, 9].includes(i % 10)) i = (i + 1) % services;
    const bytes = buildIpv4Tcp({ src: parseIpv4('10.244.1.2'), dst: parseIpv4(`10.96.${i >> 8}.${i & 255}`) }, { srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: 2, window: 65535 }, new Uint8Array(0));
    const p = new Packet(0, bytes, 0, bytes.length);
    setIpv4Context(p);
    return p;
  });
}
