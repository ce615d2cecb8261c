/**
 * A glibc-like stub resolver: getaddrinfo(AF_UNSPEC) over `hosts: files dns`, on the
 * emulated sockets and the virtual clock (glibc resolv/: res_nsearch, res_nquery,
 * res_send's send_dg/send_vc).
 *
 * - /etc/hosts first; an IPv4 literal needs no lookup.
 * - The search path with ndots (res_nsearch): a name with a trailing dot is asked
 *   as is; one with at least `ndots` dots is asked as is first, then with each
 *   search domain; one with fewer is asked with each search domain first and as is
 *   last. NXDOMAIN, NODATA and SERVFAIL go on to the next candidate; a timeout ends
 *   the walk (EAI_AGAIN).
 * - Each candidate is an A and an AAAA query. By default both leave one UDP socket
 *   back to back and the resolver waits for both (send_dg). `single-request` sends
 *   AAAA only after A's reply, on the same socket; `single-request-reopen` does the
 *   same from a new socket; `use-vc` asks over TCP. When one answer came and the
 *   other timed out, glibc switches to single-request and asks again (and to
 *   single-request-reopen if that fails too) — the 5 s stall of the conntrack race.
 * - Per try, each nameserver in order gets `timeout` seconds (`timeout << i /
 *   nscount` for the i-th after the first), for `attempts` rounds. A truncated UDP
 *   reply is asked again over TCP at the same server. SERVFAIL, REFUSED or NOTIMP
 *   moves on to the next server.
 *
 * The result is a value (addresses, or getaddrinfo's error with its message), with
 * every query that went out, so traces and tools can show the walk.
 *
 * Not modelled: rotate's shuffle start, EDNS0 in queries, `inet6`, RES_DEFNAMES
 * with `domain` vs `search` differences, nscd.
 */
import type { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import type { UdpSocket } from '../../netsim/stack/udp.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import { parseIpv4 } from '../../netsim/wire/addr.ts';
import { Rcode, decodeMessage, encodeMessage } from './message.ts';
import type { DnsMessage } from './message.ts';
import { frame, messageId, TcpFramer } from './transport.ts';
import { hostsFileLookup, resolvOptions } from './resolv-conf.ts';
import type { ResolvConf, ResolvOptions } from './resolv-conf.ts';

export type LookupErrorCode = 'EAI_NONAME' | 'EAI_AGAIN' | 'EAI_NODATA';
/** gai_strerror's messages (glibc). */
export const GAI_MESSAGES: Readonly<Record<LookupErrorCode, string>> = {
  EAI_NONAME: 'Name or service not known',
  EAI_AGAIN: 'Temporary failure in name resolution',
  EAI_NODATA: 'No address associated with hostname',
};

/** One DNS query the resolver sent, and what became of it. */
export interface QueryLog {
  readonly qname: string;
  readonly qtype: 'A' | 'AAAA';
  readonly server: string;
  readonly transport: 'udp' | 'tcp';
  readonly sentAt: number;
  /** Trace id of the query packet (UDP; 0 over TCP). */
  readonly pkt: number;
  /** The query's source port (UDP; 0 over TCP): with the server, its conntrack tuple. */
  readonly sport: number;
  /** Trace id of the reply packet (UDP; 0 when none or over TCP). */
  replyPkt: number;
  /** When and how it ended. */
  doneAt: number;
  outcome: 'answer' | 'timeout' | 'truncated' | 'error';
  reply: DnsMessage | undefined;
  detail: string;
}

export interface LookupResult {
  readonly name: string;
  readonly ok: boolean;
  readonly error?: { readonly code: LookupErrorCode; readonly message: string };
  /** The owner name that answered (after CNAMEs), or the name itself for hosts/literals. */
  readonly canonical: string;
  readonly addresses: readonly string[];
  readonly source: 'literal' | 'hosts' | 'dns';
  readonly queries: readonly QueryLog[];
  readonly startedAt: number;
  readonly doneAt: number;
}

export interface StubResolverConfig {
  readonly resolvConf: ResolvConf;
  /** /etc/hosts text ('' for none). */
  readonly hosts?: string;
}

const isIPv4 = (s: string): boolean => /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(s);

/** The names res_nsearch asks, in order. */
export function searchCandidates(name: string, conf: ResolvConf, opts: ResolvOptions = resolvOptions(conf.options)): string[] {
  if (name.endsWith('.')) return [name.slice(0, -1)];
  const dots = (name.match(/\./g) ?? []).length;
  const searched = conf.search.map((d) => `${name}.${d}`);
  return dots >= opts.ndots ? [name, ...searched] : [...searched, name];
}

type PairOutcome =
  | { kind: 'found'; canonical: string; addresses: string[] }
  | { kind: 'nxdomain' | 'nodata' | 'servfail' | 'timeout' };

/** The addresses an A reply gives for `qname`, following its CNAME chain. */
function addressesOf(m: DnsMessage, qname: string): { canonical: string; addresses: string[] } {
  let owner = qname.toLowerCase().replace(/\.$/, '');
  for (let i = 0; i < 8; i++) {
    const c = m.answers.find((a) => a.type === 'CNAME' && a.name.toLowerCase().replace(/\.$/, '') === owner);
    if (c === undefined) break;
    owner = String((c as { data: string }).data).toLowerCase().replace(/\.$/, '');
  }
  const addresses = m.answers.filter((a) => a.type === 'A' && a.name.toLowerCase().replace(/\.$/, '') === owner).map((a) => String((a as { data: string }).data));
  return { canonical: owner, addresses };
}

/** Resolve `name` from `ns` as getaddrinfo would; `done` is called once, on the virtual clock. */
export function lookup(ns: NetNamespace, name: string, cfg: StubResolverConfig, done: (r: LookupResult) => void): void {
  const clock = ns.sim.clock;
  const startedAt = clock.now();
  const queries: QueryLog[] = [];
  const finish = (r: Omit<LookupResult, 'name' | 'queries' | 'startedAt' | 'doneAt'>): void => done({ ...r, name, queries, startedAt, doneAt: clock.now() });
  if (isIPv4(name)) {
    finish({ ok: true, canonical: name, addresses: [name], source: 'literal' });
    return;
  }
  const fromHosts = hostsFileLookup(cfg.hosts ?? '', name);
  if (fromHosts.length > 0) {
    finish({ ok: true, canonical: name.replace(/\.$/, ''), addresses: fromHosts, source: 'hosts' });
    return;
  }
  const conf = cfg.resolvConf;
  const opts = resolvOptions(conf.options);
  // No nameserver line: glibc asks the local host (INADDR_LOOPBACK).
  const servers = conf.nameservers.length > 0 ? conf.nameservers : ['127.0.0.1'];
  const candidates = searchCandidates(name, conf, opts);
  let gotNodata = false;
  let gotServfail = false;
  const next = (i: number): void => {
    const cand = candidates[i];
    if (cand === undefined) {
      const code: LookupErrorCode = gotServfail ? 'EAI_AGAIN' : gotNodata ? 'EAI_NODATA' : 'EAI_NONAME';
      finish({ ok: false, error: { code, message: GAI_MESSAGES[code] }, canonical: '', addresses: [], source: 'dns' });
      return;
    }
    queryPair(ns, cand, servers, opts, queries, (o) => {
      if (o.kind === 'found') finish({ ok: true, canonical: o.canonical, addresses: o.addresses, source: 'dns' });
      else if (o.kind === 'timeout') finish({ ok: false, error: { code: 'EAI_AGAIN', message: GAI_MESSAGES.EAI_AGAIN }, canonical: '', addresses: [], source: 'dns' });
      else {
        if (o.kind === 'nodata') gotNodata = true;
        if (o.kind === 'servfail') gotServfail = true;
        next(i + 1);
      }
    });
  };
  next(0);
}

/** What one reply says for the pair. */
type OneReply = { rcode: number; msg: DnsMessage } | undefined;

function judge(qname: string, a: OneReply, aaaa: OneReply): PairOutcome {
  if (a !== undefined && a.rcode === Rcode.NOERROR) {
    const got = addressesOf(a.msg, qname);
    if (got.addresses.length > 0) return { kind: 'found', ...got };
  }
  const rcodes = [a?.rcode, aaaa?.rcode].filter((r): r is number => r !== undefined);
  if (rcodes.length > 0 && rcodes.every((r) => r === Rcode.NXDOMAIN)) return { kind: 'nxdomain' };
  if (rcodes.some((r) => r === Rcode.SERVFAIL || r === Rcode.REFUSED || r === Rcode.NOTIMP) && !rcodes.some((r) => r === Rcode.NOERROR)) return { kind: 'servfail' };
  return { kind: 'nodata' };
}

/**
 * The A+AAAA pair for one name (res_send over the nameservers and attempts).
 * `mode` starts from the options and may fall back to single-request as glibc does.
 */
function queryPair(ns: NetNamespace, qname: string, servers: readonly string[], opts: ResolvOptions, log: QueryLog[], done: (o: PairOutcome) => void): void {
  let single = opts.singleRequest || opts.singleRequestReopen;
  let reopen = opts.singleRequestReopen;
  const types: Array<'A' | 'AAAA'> = opts.noAaaa ? ['A'] : ['A', 'AAAA'];
  let servfail = false;
  const tryAt = (attempt: number, si: number): void => {
    if (si >= servers.length) {
      if (attempt + 1 < opts.attempts) tryAt(attempt + 1, 0);
      else done(servfail ? { kind: 'servfail' } : { kind: 'timeout' });
      return;
    }
    const server = servers[si] as string;
    let secs = opts.timeout << si;
    if (si > 0) secs = Math.floor(secs / servers.length);
    const waitNs = Math.max(1, secs) * SECOND;
    const onPair = (r: Map<'A' | 'AAAA', OneReply>, timedOutWithOne: boolean): void => {
      if (timedOutWithOne) {
        // send_dg: one answer and a timeout — switch to single-request (then -reopen) and ask this server again.
        if (!single) { single = true; exchange(server, waitNs, onPair); return; }
        if (!reopen) { reopen = true; exchange(server, waitNs, onPair); return; }
      }
      const a = r.get('A');
      const aaaa = r.get('AAAA');
      if (a === undefined && (aaaa === undefined || types.length === 1)) { tryAt(attempt, si + 1); return; }
      const o = judge(qname, a, types.length === 1 ? a : aaaa);
      if (o.kind === 'servfail') { servfail = true; tryAt(attempt, si + 1); return; }
      done(o);
    };
    exchange(server, waitNs, onPair);
  };

  /** Send the pair to one server as the current mode says; `cb` gets the replies (absent: timed out). */
  const exchange = (server: string, waitNs: number, cb: (r: Map<'A' | 'AAAA', OneReply>, timedOutWithOne: boolean) => void): void => {
    if (opts.useVc) { overTcp(server, types, waitNs, cb); return; }
    const clock = ns.sim.clock;
    const replies = new Map<'A' | 'AAAA', OneReply>();
    let sock: UdpSocket = ns.udp.bind(0);
    let timer = -1;
    let finished = false;
    const pending = new Map<number, { type: 'A' | 'AAAA'; entry: QueryLog; query: Uint8Array }>();
    const end = (timedOut: boolean): void => {
      if (finished) return;
      finished = true;
      clock.cancel(timer);
      sock.close();
      for (const p of pending.values()) {
        p.entry.doneAt = clock.now();
        p.entry.outcome = 'timeout';
        p.entry.detail = `no reply in ${waitNs / SECOND} s`;
      }
      const got = [...replies.values()].filter((x) => x !== undefined).length;
      cb(replies, timedOut && got > 0 && got < types.length);
    };
    const truncatedRetry: Array<'A' | 'AAAA'> = [];
    const send = (type: 'A' | 'AAAA'): void => {
      const id = ns.userRng.nextU32() & 0xffff;
      const query = encodeMessage({ id, rd: true, questions: [{ name: qname, type, class: 'IN' }] });
      const sent = sock.send(parseIpv4(server), 53, query);
      const entry: QueryLog = { qname, qtype: type, server, transport: 'udp', sentAt: clock.now(), pkt: sent.pkt, sport: sock.localPort, replyPkt: 0, doneAt: 0, outcome: 'timeout', reply: undefined, detail: '' };
      log.push(entry);
      pending.set(id, { type, entry, query });
    };
    const afterReply = (): void => {
      if (pending.size > 0) return;
      if (truncatedRetry.length > 0) {
        // TC: ask the truncated ones again over TCP at the same server (res_send's v_circuit).
        finished = true;
        clock.cancel(timer);
        sock.close();
        overTcp(server, truncatedRetry.splice(0), waitNs, (r, partial) => {
          for (const [t, v] of r) replies.set(t, v);
          cb(replies, partial);
        });
        return;
      }
      if (single && replies.size < types.length) {
        const nextType = types[replies.size] as 'A' | 'AAAA';
        if (reopen) {
          sock.close();
          sock = ns.udp.bind(0);
          sock.onMessage = onMessage;
        }
        clock.cancel(timer);
        timer = clock.after(waitNs, () => end(true));
        send(nextType);
        return;
      }
      end(false);
    };
    const onMessage: UdpSocket['onMessage'] = (m) => {
      const p = pending.get(messageId(m.data));
      if (p === undefined || m.src !== parseIpv4(server) || m.sport !== 53) return;
      let msg: DnsMessage;
      try {
        msg = decodeMessage(m.data);
      } catch {
        return;
      }
      if (!msg.qr || msg.questions[0]?.name.toLowerCase() !== qname.toLowerCase() || msg.questions[0]?.type !== p.type) return;
      pending.delete(messageId(m.data));
      p.entry.doneAt = clock.now();
      p.entry.reply = msg;
      p.entry.replyPkt = m.pkt;
      if (msg.tc) {
        p.entry.outcome = 'truncated';
        p.entry.detail = 'truncated (TC): retrying over TCP';
        truncatedRetry.push(p.type);
      } else {
        p.entry.outcome = 'answer';
        replies.set(p.type, { rcode: msg.rcode, msg });
      }
      afterReply();
    };
    sock.onMessage = onMessage;
    sock.onError = () => {
      // ICMP port unreachable: ECONNREFUSED for this server — move on at once.
      for (const p of pending.values()) { p.entry.doneAt = clock.now(); p.entry.outcome = 'error'; p.entry.detail = 'connection refused (ICMP port unreachable)'; }
      pending.clear();
      finished = true;
      clock.cancel(timer);
      sock.close();
      cb(replies, false);
    };
    timer = clock.after(waitNs, () => end(true));
    if (single) send(types[0] as 'A');
    else for (const t of types) send(t);
  };

  /** send_vc: one TCP connection, the queries written back to back, replies read in any order. */
  const overTcp = (server: string, want: ReadonlyArray<'A' | 'AAAA'>, waitNs: number, cb: (r: Map<'A' | 'AAAA', OneReply>, timedOutWithOne: boolean) => void): void => {
    const clock = ns.sim.clock;
    const replies = new Map<'A' | 'AAAA', OneReply>();
    const pending = new Map<number, { type: 'A' | 'AAAA'; entry: QueryLog }>();
    let finished = false;
    let conn: ReturnType<NetNamespace['tcp']['connect']> | undefined;
    const end = (): void => {
      if (finished) return;
      finished = true;
      clock.cancel(timer);
      for (const p of pending.values()) { p.entry.doneAt = clock.now(); p.entry.outcome = 'timeout'; p.entry.detail ||= `no reply in ${waitNs / SECOND} s`; }
      if (conn !== undefined && conn.state !== 'CLOSED') conn.end();
      cb(replies, false);
    };
    const timer = clock.after(waitNs, end);
    const queries: Uint8Array[] = [];
    for (const type of want) {
      const id = ns.userRng.nextU32() & 0xffff;
      queries.push(encodeMessage({ id, rd: true, questions: [{ name: qname, type, class: 'IN' }] }));
      const entry: QueryLog = { qname, qtype: type, server, transport: 'tcp', sentAt: clock.now(), pkt: 0, sport: 0, replyPkt: 0, doneAt: 0, outcome: 'timeout', reply: undefined, detail: '' };
      log.push(entry);
      pending.set(id, { type, entry });
    }
    try {
      conn = ns.tcp.connect(parseIpv4(server), 53);
    } catch (e) {
      for (const p of pending.values()) p.entry.detail = (e as Error).message;
      end();
      return;
    }
    const c = conn;
    const framer = new TcpFramer();
    c.onConnect = () => { for (const q of queries) c.send(frame(q)); };
    c.onData = (d) => {
      for (const raw of framer.push(d)) {
        const p = pending.get(messageId(raw));
        if (p === undefined) continue;
        let msg: DnsMessage;
        try { msg = decodeMessage(raw); } catch { continue; }
        pending.delete(messageId(raw));
        p.entry.doneAt = clock.now();
        p.entry.outcome = 'answer';
        p.entry.reply = msg;
        replies.set(p.type, { rcode: msg.rcode, msg });
      }
      if (pending.size === 0) end();
    };
    c.onClose = (reason, detail) => {
      for (const p of pending.values()) { p.entry.outcome = 'error'; p.entry.detail = `${reason}: ${detail}`; }
      end();
    };
  };

  tryAt(0, 0);
}
