/**
 * The underlay between node partitions over real UDP: each partition binds one socket
 * (`--underlay-listen`) and sends every frame its segment hands the uplink to the
 * peer that owns the destination MAC, or to every peer for broadcast and unknown
 * unicast (a learning bridge across processes, keyed by the source MAC of what each
 * peer sent). One frame per datagram, framed by netsim/wire/underlay-datagram.ts.
 *
 * What comes in is untrusted: a datagram that does not parse, comes from an address
 * that is not a configured peer, claims another peer's index, or (with a key) fails
 * its HMAC-SHA256 tag is dropped and counted by reason — never thrown. With a key every
 * datagram carries a tag over header and frame; the key authenticates, it does not
 * encrypt (frames cross in clear) and there is no replay window.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { emitUnderlayDatagram, parseUnderlayDatagram } from '../netsim/wire/underlay-datagram.ts';
import { WireError } from '../netsim/wire/errors.ts';
import { readU48 } from '../netsim/wire/field.ts';
import type { UnderlayUplink } from './partition.ts';

export interface UdpPeer {
  readonly host: string;
  readonly port: number;
}

export interface UnderlayLinkOptions {
  /** This partition's index (written into every datagram). */
  readonly index: number;
  readonly listen: UdpPeer;
  /** The other partitions by index. */
  readonly peers: ReadonlyMap<number, UdpPeer>;
  /** HMAC-SHA256 key shared by all partitions; undefined: no authentication. */
  readonly key?: Uint8Array;
}

/** Why an incoming datagram was dropped. */
export type UnderlayDropReason = 'malformed' | 'unknown-peer' | 'unauthenticated' | 'bad-tag' | 'send-failed';

export interface UnderlayStats {
  sent: number;
  received: number;
  dropped: Record<UnderlayDropReason, number>;
  /** The last malformed datagram's error, for logs. */
  lastError: string | undefined;
}

export class UdpUnderlayLink implements UnderlayUplink {
  readonly stats: UnderlayStats = { sent: 0, received: 0, dropped: { 'malformed': 0, 'unknown-peer': 0, 'unauthenticated': 0, 'bad-tag': 0, 'send-failed': 0 }, lastError: undefined };
  private receiver: ((frame: Uint8Array, traceId: number | undefined) => void) | undefined;
  /** Source MAC → the peer it was last seen from. */
  private readonly macs = new Map<number, number>();
  private readonly byAddress = new Map<string, number>();

  private constructor(private readonly socket: Socket, private readonly o: UnderlayLinkOptions, readonly address: UdpPeer) {
    for (const [i, p] of o.peers) this.byAddress.set(`${p.host}:${p.port}`, i);
    socket.on('message', (msg, rinfo) => this.arrive(msg, `${rinfo.address}:${rinfo.port}`));
    // A send to a peer that is gone comes back as ICMP port unreachable on some systems: not fatal.
    socket.on('error', () => {});
  }

  /** Bind the socket (rejects with the system error: address in use, not available). */
  static open(o: UnderlayLinkOptions): Promise<UdpUnderlayLink> {
    return new Promise((resolve, reject) => {
      const socket = createSocket({ type: o.listen.host.includes(':') ? 'udp6' : 'udp4' });
      socket.once('error', reject);
      socket.bind(o.listen.port, o.listen.host, () => {
        socket.off('error', reject);
        const a = socket.address();
        resolve(new UdpUnderlayLink(socket, o, { host: a.address, port: a.port }));
      });
    });
  }

  onFrame(receive: (frame: Uint8Array, traceId: number | undefined) => void): void {
    this.receiver = receive;
  }

  send(frame: Uint8Array, traceId?: number): void {
    const { bytes, signed, tag } = emitUnderlayDatagram(this.o.index, frame, this.o.key !== undefined, traceId);
    if (this.o.key !== undefined) tag.set(createHmac('sha256', this.o.key).update(signed).digest());
    const dst = ((frame[0] as number) & 1) === 0 ? this.macs.get(readU48(frame, 0)) : undefined;
    const to = dst !== undefined ? [dst] : [...this.o.peers.keys()];
    for (const i of to) {
      const p = this.o.peers.get(i) as UdpPeer;
      this.stats.sent++;
      this.socket.send(bytes, p.port, p.host, (e) => { if (e) this.stats.dropped['send-failed']++; });
    }
  }

  private arrive(msg: Buffer, from: string): void {
    let d;
    try {
      d = parseUnderlayDatagram(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength));
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      this.stats.lastError = e.message;
      return this.drop('malformed');
    }
    // Bytes first (cheap, and what a sender got wrong is worth telling apart), then who sent them.
    const peer = this.byAddress.get(from);
    if (peer === undefined || d.source !== peer) return this.drop('unknown-peer');
    const key = this.o.key;
    if (key !== undefined || d.auth) {
      if (key === undefined || d.tag === undefined || d.signed === undefined) return this.drop('unauthenticated');
      if (!timingSafeEqual(createHmac('sha256', key).update(d.signed).digest(), d.tag)) return this.drop('bad-tag');
    }
    this.stats.received++;
    const src = readU48(d.frame, 6);
    if ((Math.floor(src / 2 ** 40) & 1) === 0) this.macs.set(src, peer);
    // The frame is a view into the socket's buffer, which Node does not reuse; the port copies it anyway.
    this.receiver?.(d.frame, d.traceId);
  }

  private drop(reason: UnderlayDropReason): void {
    this.stats.dropped[reason]++;
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}
