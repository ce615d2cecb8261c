/**
 * DNS over the emulated sockets: TCP's two-byte length framing (RFC 1035 §4.2.2,
 * RFC 7766), and one query/response exchange over UDP or TCP with a timeout on the
 * virtual clock — what CoreDNS's forward plugin and a stub resolver both need.
 */
import type { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import type { UdpSocket } from '../../netsim/stack/udp.ts';
import type { Ipv4Addr } from '../../netsim/wire/addr.ts';

/** Prefix a message with its length for TCP. */
export function frame(msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(msg.length + 2);
  out[0] = msg.length >> 8;
  out[1] = msg.length & 0xff;
  out.set(msg, 2);
  return out;
}

/** Collects a TCP byte stream and hands out whole messages. */
export class TcpFramer {
  private buf = new Uint8Array(0);

  push(data: Uint8Array): Uint8Array[] {
    const nb = new Uint8Array(this.buf.length + data.length);
    nb.set(this.buf);
    nb.set(data, this.buf.length);
    this.buf = nb;
    const out: Uint8Array[] = [];
    while (this.buf.length >= 2) {
      const len = (this.buf[0]! << 8) | this.buf[1]!;
      if (this.buf.length < len + 2) break;
      out.push(this.buf.slice(2, len + 2));
      this.buf = this.buf.slice(len + 2);
    }
    return out;
  }
}

export type ExchangeResult =
  | { readonly ok: true; readonly reply: Uint8Array; readonly from: Ipv4Addr; readonly pkt: number }
  | { readonly ok: false; readonly error: 'timeout' | 'unreachable' | 'refused' | 'reset' | 'no-route'; readonly detail: string };

/** The 16-bit message id of a DNS message (0 when too short). */
export function messageId(b: Uint8Array): number {
  return b.length >= 2 ? (b[0]! << 8) | b[1]! : 0;
}

/**
 * Send `query` over UDP from `sock` (or a fresh ephemeral socket) and call `done` once
 * with the first reply whose id matches, an ICMP error, or the timeout.
 */
export function udpExchange(ns: NetNamespace, dst: Ipv4Addr, port: number, query: Uint8Array, timeoutNs: number, done: (r: ExchangeResult) => void): { sentPkt: number; cancel(): void } {
  const sock: UdpSocket = ns.udp.bind(0);
  let finished = false;
  const finish = (r: ExchangeResult): void => {
    if (finished) return;
    finished = true;
    ns.sim.clock.cancel(timer);
    sock.close();
    done(r);
  };
  const id = messageId(query);
  sock.onMessage = (m) => {
    if (m.src !== dst || m.sport !== port || messageId(m.data) !== id) return;
    finish({ ok: true, reply: m.data, from: m.src, pkt: m.pkt });
  };
  sock.onError = (e) => finish({ ok: false, error: 'unreachable', detail: `ICMP type ${e.type} code ${e.code}` });
  const timer = ns.sim.clock.after(timeoutNs, () => finish({ ok: false, error: 'timeout', detail: `no reply in ${timeoutNs / 1e9} s` }));
  const sent = sock.send(dst, port, query);
  if (sent.result === 'no-route') finish({ ok: false, error: 'no-route', detail: 'Network is unreachable' });
  return { sentPkt: sent.pkt, cancel: () => finish({ ok: false, error: 'timeout', detail: 'cancelled' }) };
}

/** The same over a fresh TCP connection (closed after the reply). */
export function tcpExchange(ns: NetNamespace, dst: Ipv4Addr, port: number, query: Uint8Array, timeoutNs: number, done: (r: ExchangeResult) => void): { cancel(): void } {
  let finished = false;
  let conn: ReturnType<NetNamespace['tcp']['connect']> | undefined;
  const finish = (r: ExchangeResult): void => {
    if (finished) return;
    finished = true;
    ns.sim.clock.cancel(timer);
    if (conn !== undefined) {
      if (r.ok) conn.end();
      else conn.abort();
    }
    done(r);
  };
  const timer = ns.sim.clock.after(timeoutNs, () => finish({ ok: false, error: 'timeout', detail: `no reply in ${timeoutNs / 1e9} s` }));
  try {
    conn = ns.tcp.connect(dst, port);
  } catch (e) {
    finish({ ok: false, error: 'no-route', detail: (e as Error).message });
    return { cancel: () => {} };
  }
  const framer = new TcpFramer();
  const c = conn;
  c.onConnect = () => c.send(frame(query));
  c.onData = (d, pkt) => {
    for (const m of framer.push(d)) if (messageId(m) === messageId(query)) finish({ ok: true, reply: m, from: dst, pkt });
  };
  c.onClose = (reason, detail) => finish({ ok: false, error: reason === 'refused' ? 'refused' : reason === 'timeout' ? 'timeout' : 'reset', detail });
  return { cancel: () => finish({ ok: false, error: 'timeout', detail: 'cancelled' }) };
}
