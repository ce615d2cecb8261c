/**
 * A CoreDNS-like server in a pod's namespace, with kubeadm's Corefile as its plugin
 * chain (`errors`, `health`, `ready`, `kubernetes cluster.local in-addr.arpa ip6.arpa
 * { pods insecure; fallthrough in-addr.arpa ip6.arpa }`, `prometheus :9153`,
 * `forward . /etc/resolv.conf`, `cache 30`):
 *
 * - UDP and TCP on port 53. Each message first passes miekg/dns's front door
 *   (message.ts screenQuery): garbage is dropped or answered FORMERR/NOTIMP, and the
 *   server keeps answering.
 * - cache (cache.ts) in front of everything: answers and denials for at most 30 s,
 *   TTLs counting down.
 * - kubernetes (kubernetes-records.ts), then forward: names outside the zones (and
 *   reverse misses) go to the upstream nameservers of the pod's resolv.conf over the
 *   client's transport, 2 s per upstream; with none or none answering: SERVFAIL.
 * - The reply fits the client's limit (512 bytes over UDP without EDNS0, the EDNS0
 *   buffer size when given, 65535 over TCP) or is truncated with TC, so the client
 *   retries over TCP (RFC 7766).
 *
 * - Server blocks (a Corefile's `ZONE:53 { … }`): more specific zones may have their
 *   own forward (with `force_tcp`: upstreams asked over TCP whatever the client used)
 *   and cache caps; a query goes to the block of the longest zone that holds its name
 *   (NodeLocal DNSCache's Corefile: the cluster zone and the reverse zones to kube-dns
 *   over TCP, the rest to the node's resolv.conf). `bind` listens on one address.
 *
 * Every decision is an `app` trace event (app `coredns`) tagged with the query's
 * packet id, so a traced lookup shows what the server answered and why.
 *
 * Not modelled: loadbalance's shuffling (answers keep endpoint order), loop
 * detection, prefetch and serve_stale, DNSSEC, metrics values (9153 serves HTTP).
 */
import type { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import type { UdpSocket } from '../../netsim/stack/udp.ts';
import type { TcpListener } from '../../netsim/stack/tcp.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import type { Ipv4Addr } from '../../netsim/wire/addr.ts';
import type { Answer } from 'dns-packet';
import { Rcode, decodeMessage, encodeMessage, fitToSize, rcodeName, replyLimit, screenQuery, servfailHeader } from './message.ts';
import type { DnsMessage, MessageInit } from './message.ts';
import type { RecordSource } from './kubernetes-records.ts';
import { DnsCache } from './cache.ts';
import { TcpFramer, frame, tcpExchange, udpExchange } from './transport.ts';
import type { ExchangeResult } from './transport.ts';

export const DNS_PORT = 53;
/** forward's per-upstream read timeout (plugin/forward: 2 s dial+read). */
export const FORWARD_TIMEOUT_NS = 2 * SECOND;

export interface CoreDnsOptions {
  /** The authoritative plugin: the kubernetes plugin's record engine (or a static zone for an outside resolver). */
  readonly records?: RecordSource;
  /** `forward . /etc/resolv.conf`: the upstream nameservers, tried in order. */
  readonly upstreams: readonly Ipv4Addr[];
  /** `cache 30` (0: no cache plugin). */
  readonly cacheSeconds?: number;
  /** App name in trace events (default `coredns`). */
  readonly app?: string;
  /** `bind ADDR`: listen on this address only (default: every address). */
  readonly bind?: Ipv4Addr;
  /** Server blocks for zones inside `.`, each with its own forward and cache (the options above are `.`'s). */
  readonly blocks?: readonly ServerBlock[];
}

/** A Corefile server block `ZONE:53 { cache …; forward . UPSTREAMS { force_tcp } }`. */
export interface ServerBlock {
  /** Its zone, e.g. `cluster.local` or `in-addr.arpa`. */
  readonly zone: string;
  /** forward's upstreams, read at each query (a Service's address may come later). */
  readonly upstreams: () => readonly Ipv4Addr[];
  /** `force_tcp`. */
  readonly forceTcp: boolean;
  /** cache's success cap (`cache 30`) and denial cap (`denial 9984 5`; default the success cap). */
  readonly cacheSeconds: number;
  readonly denialSeconds?: number;
}

/** A block as the server runs it. */
interface Block {
  readonly zone: string;
  readonly records: RecordSource | undefined;
  readonly upstreams: () => readonly Ipv4Addr[];
  readonly forceTcp: boolean;
  readonly cache: DnsCache | undefined;
}

/** The sections of a reply before it is encoded. */
interface Reply {
  rcode: number;
  aa: boolean;
  /** An upstream's truncated UDP reply, passed on as truncated (the client retries over TCP). */
  tc?: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

export class CoreDnsServer {
  readonly udp: UdpSocket;
  readonly tcp: TcpListener;
  /** The `.` block's cache. */
  readonly cache: DnsCache | undefined;
  /** Server blocks, most specific zone first; the last is `.`. */
  private readonly blocks: readonly Block[];
  /** Counters, as CoreDNS's prometheus plugin would name them. */
  readonly stats = { requests: 0, dropped: 0, formerr: 0, forwarded: 0, cacheHits: 0, truncated: 0, servfail: 0 };
  private readonly app: string;

  constructor(readonly ns: NetNamespace, private readonly o: CoreDnsOptions) {
    this.app = o.app ?? 'coredns';
    const now = (): number => ns.sim.clock.now();
    this.cache = (o.cacheSeconds ?? 30) > 0 ? new DnsCache(now, o.cacheSeconds ?? 30) : undefined;
    const root: Block = { zone: '.', records: o.records, upstreams: () => o.upstreams, forceTcp: false, cache: this.cache };
    const zones = (o.blocks ?? []).map((b): Block => ({
      zone: b.zone.toLowerCase().replace(/\.$/, ''), records: undefined, upstreams: b.upstreams, forceTcp: b.forceTcp,
      cache: b.cacheSeconds > 0 ? new DnsCache(now, b.cacheSeconds, b.denialSeconds ?? b.cacheSeconds) : undefined,
    }));
    this.blocks = [...zones.sort((a, b) => b.zone.length - a.zone.length), root];
    this.udp = ns.udp.bind(DNS_PORT, o.bind ?? 0);
    this.udp.onMessage = (m) => this.handle(m.data, 'udp', m.pkt, m.src, (bytes) => this.udp.send(m.src, m.sport, bytes));
    this.tcp = ns.tcp.listen(DNS_PORT, (c) => {
      const framer = new TcpFramer();
      c.onData = (d, pkt) => {
        for (const msg of framer.push(d)) this.handle(msg, 'tcp', pkt, c.remoteAddr, (bytes) => {
          if (c.state === 'ESTABLISHED' || c.state === 'CLOSE_WAIT') c.send(frame(bytes));
        });
      };
      c.onEnd = () => c.end();
    }, o.bind ?? 0);
  }

  /** The block of the longest zone holding `name` (`.` holds every name). */
  private blockFor(name: string): Block {
    const n = name.toLowerCase().replace(/\.$/, '');
    return this.blocks.find((b) => b.zone === '.' || n === b.zone || n.endsWith(`.${b.zone}`)) as Block;
  }

  close(): void {
    this.udp.close();
    this.tcp.close();
  }

  private trace(pkt: number, detail: string): void {
    const ns = this.ns;
    if (ns.sim.tracer.enabled) ns.sim.tracer.emit({ kind: 'app', app: this.app, t: ns.sim.clock.now(), node: ns.node, netns: ns.name, pkt, detail });
  }

  /**
   * One incoming message: screen it, answer it (possibly later, after forwarding), send
   * the reply. An exception inside is a bug, answered SERVFAIL as CoreDNS's recover does.
   */
  handle(bytes: Uint8Array, transport: 'udp' | 'tcp', pkt: number, client: Ipv4Addr, send: (reply: Uint8Array) => void): void {
    try {
      this.serve(bytes, transport, pkt, client, send);
    } catch (e) {
      this.stats.servfail++;
      this.trace(pkt, `SERVFAIL to ${formatIpv4(client)}: internal error (${(e as Error).message})`);
      send(servfailHeader(bytes));
    }
  }

  private serve(bytes: Uint8Array, transport: 'udp' | 'tcp', pkt: number, client: Ipv4Addr, send: (reply: Uint8Array) => void): void {
    const s = screenQuery(bytes);
    if (s.action === 'drop') {
      this.stats.dropped++;
      this.trace(pkt, `dropped from ${formatIpv4(client)}: ${s.reason}`);
      return;
    }
    if (s.action === 'reply') {
      this.stats.formerr++;
      this.trace(pkt, `${rcodeName(s.reply[3]! & 0xf)} to ${formatIpv4(client)}: ${s.reason}`);
      send(s.reply);
      return;
    }
    this.stats.requests++;
    const q = s.query;
    const question = q.questions[0]!;
    const label = `${question.name}. ${question.type} (${transport} from ${formatIpv4(client)}, id ${q.id})`;
    const finish = (r: Reply, how: string): void => {
      const m: MessageInit = {
        id: q.id, qr: true, opcode: q.opcode, aa: r.aa, tc: r.tc === true, rd: q.rd, ra: true, cd: q.cd, rcode: r.rcode,
        questions: q.questions, answers: r.answers, authorities: r.authorities, additionals: r.additionals,
        ...(q.edns !== undefined ? { edns: { udpSize: Math.max(512, q.edns.udpSize), do: q.edns.do } } : {}),
      };
      const out = fitToSize(m, replyLimit(q, transport));
      const tc = (out[2]! & 0x02) !== 0;
      if (tc) this.stats.truncated++;
      if (r.rcode === Rcode.SERVFAIL) this.stats.servfail++;
      this.trace(pkt, `${label}: ${rcodeName(r.rcode)}, ${r.answers.length} answer${r.answers.length === 1 ? '' : 's'}${tc ? `, truncated to ${out.length} bytes (TC)` : ''} — ${how}`);
      send(out);
    };
    const block = this.blockFor(question.name);
    const cache = block.cache;
    const key = cache?.key(question.name, question.type, q.edns?.do === true, q.cd);
    const hit = key !== undefined ? cache?.get(key) : undefined;
    if (hit !== undefined) {
      this.stats.cacheHits++;
      finish({ rcode: hit.rcode, aa: true, answers: hit.answers, authorities: hit.authorities, additionals: hit.additionals }, 'cache hit');
      return;
    }
    this.resolve(block, q, transport, pkt, (r, how) => finish(key !== undefined && cache !== undefined ? cache.put(key, r) : r, how));
  }

  /** The block's plugin chain below the cache: kubernetes (the `.` block's records), then forward. */
  private resolve(block: Block, q: DnsMessage, transport: 'udp' | 'tcp', pkt: number, done: (r: Reply, how: string) => void): void {
    const question = q.questions[0]!;
    const self = this.ns.primaryAddress('eth0');
    const k = block.records?.serve(question.name, question.type, self !== undefined ? [formatIpv4(self)] : []);
    if (k !== undefined && k.kind === 'answer') {
      const r: Reply = { rcode: k.rcode, aa: true, answers: [...k.answers], authorities: k.authorities, additionals: k.additionals };
      if (k.chase === undefined) {
        done(r, 'kubernetes');
        return;
      }
      // An ExternalName's target outside the zone: CoreDNS's upstream lookup through its own chain.
      const chase = k.chase;
      this.forward(this.blockFor(chase.name), { ...q, questions: [{ name: chase.name.replace(/\.$/, ''), type: chase.type, class: 'IN' }] }, transport, pkt, (f) => {
        if (f.rcode === Rcode.NOERROR) r.answers.push(...f.answers);
        done(r, `kubernetes, CNAME target ${chase.name} forwarded`);
      });
      return;
    }
    this.forward(block, q, transport, pkt, (f, how) => done(f, how));
  }

  /** forward: ask each upstream in turn over the client's transport (TCP with force_tcp); SERVFAIL when none answers. */
  private forward(block: Block, q: DnsMessage, clientTransport: 'udp' | 'tcp', pkt: number, done: (r: Reply, how: string) => void): void {
    const ups = block.upstreams();
    const transport = block.forceTcp ? 'tcp' : clientTransport;
    if (ups.length === 0) {
      this.trace(pkt, `forward: no upstream nameserver for ${q.questions[0]?.name ?? ''}.`);
      done({ rcode: Rcode.SERVFAIL, aa: false, answers: [], authorities: [], additionals: [] }, 'forward: no upstream');
      return;
    }
    const query = encodeMessage({ id: this.ns.userRng.nextU32() & 0xffff, rd: true, questions: q.questions, ...(q.edns !== undefined ? { edns: q.edns } : {}) });
    const attempt = (i: number, errors: string[]): void => {
      const up = ups[i];
      if (up === undefined) {
        done({ rcode: Rcode.SERVFAIL, aa: false, answers: [], authorities: [], additionals: [] }, `forward failed: ${errors.join('; ')}`);
        return;
      }
      this.stats.forwarded++;
      const got = (res: ExchangeResult): void => {
        if (!res.ok) {
          attempt(i + 1, [...errors, `${formatIpv4(up)}: ${res.error} (${res.detail})`]);
          return;
        }
        let m: DnsMessage;
        try {
          m = decodeMessage(res.reply);
        } catch (e) {
          attempt(i + 1, [...errors, `${formatIpv4(up)}: bad reply (${(e as Error).message})`]);
          return;
        }
        done({ rcode: m.rcode, aa: m.aa, tc: m.tc, answers: [...m.answers], authorities: [...m.authorities], additionals: [...m.additionals] }, `forwarded to ${formatIpv4(up)}:53 over ${transport}${block.forceTcp ? ' (force_tcp)' : ''}`);
      };
      if (transport === 'udp') udpExchange(this.ns, up, DNS_PORT, query, FORWARD_TIMEOUT_NS, got);
      else tcpExchange(this.ns, up, DNS_PORT, query, FORWARD_TIMEOUT_NS, got);
    };
    attempt(0, []);
  }
}
