/**
 * Echo servers (UDP and TCP) and a UDP request/response client, for tests and
 * experiments that need an answer from the far side without HTTP framing.
 */
import type { NetNamespace } from '../stack/net-namespace.ts';
import type { UdpSocket } from '../stack/udp.ts';
import type { TcpConnection, TcpListener } from '../stack/tcp.ts';
import type { IcmpErrorInfo } from '../stack/icmp.ts';
import type { Ipv4Addr } from '../wire/addr.ts';

/** UDP echo (port 7 by default): sends every datagram back to where it came from. */
export function startUdpEcho(ns: NetNamespace, port = 7): UdpSocket {
  const s = ns.udp.bind(port);
  s.onMessage = (m) => {
    s.send(m.src, m.sport, m.data);
  };
  return s;
}

/** TCP echo: writes back what it reads (after `onRead`, an observation tap); closes when the peer closes. `onAccept` sees each connection. */
export function startTcpEcho(ns: NetNamespace, port = 7, onRead?: (d: Uint8Array) => void, onAccept?: (c: TcpConnection) => void): TcpListener {
  return ns.tcp.listen(port, (c) => {
    onAccept?.(c);
    c.onData = (d) => {
      onRead?.(d);
      c.send(d);
    };
    c.onEnd = () => c.end();
  });
}

export interface UdpExchange {
  readonly sentPkt: number;
  reply: { data: Uint8Array; from: Ipv4Addr; sport: number; ttl: number; pkt: number } | undefined;
  error: IcmpErrorInfo | undefined;
}

/** Send one datagram from an ephemeral port and record the first reply or ICMP error. */
export function udpRequest(ns: NetNamespace, dst: Ipv4Addr, port: number, data: Uint8Array, opts: { ttl?: number; sport?: number } = {}): UdpExchange {
  const s = ns.udp.bind(opts.sport ?? 0);
  const ex: { sentPkt: number; reply: UdpExchange['reply']; error: IcmpErrorInfo | undefined } = { sentPkt: 0, reply: undefined, error: undefined };
  s.onMessage = (m) => {
    ex.reply ??= { data: m.data, from: m.src, sport: m.sport, ttl: m.ttl, pkt: m.pkt };
  };
  s.onError = (e) => {
    ex.error ??= e;
  };
  ex.sentPkt = s.send(dst, port, data, opts.ttl !== undefined ? { ttl: opts.ttl } : {}).pkt;
  return ex;
}
