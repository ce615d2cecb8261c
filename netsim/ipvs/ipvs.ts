/**
 * IPVS (net/netfilter/ipvs), the in-kernel load balancer kube-proxy's IPVS mode
 * programs: virtual services (protocol, VIP, port) with a scheduler, real servers
 * with weights, a connection table, persistence, and `ipvsadm` listings.
 *
 * Packets to a virtual service are caught at LOCAL_IN (the VIP is a local address
 * on kube-ipvs0), the scheduler (or the existing connection, or the persistence
 * template) picks a real server, and the packet is DNATed to it and sent out again
 * (masquerading forwarding, "Masq"); replies coming back through the node are
 * rewritten to the VIP. A real server with weight 0 takes no new connections but
 * keeps its existing ones (graceful removal).
 *
 * Schedulers: rr, wrr, lc, wlc, sed, nq, sh (256-bucket source hash), dh (256-bucket
 * destination hash) and mh (Maglev, 4093-entry table, hashing the source address).
 * Not modelled: DR and tunnel forwarding, one-packet scheduling, lblc/lblcr, sync
 * daemons, the per-CPU connection hash sizing.
 */
import { formatIpv4 } from '../wire/addr.ts';
import type { Ipv4Addr } from '../wire/addr.ts';
import { SECOND } from '../time/scheduler.ts';
import { CodedError } from '../errors.ts';
import type { IpvsShare } from './share.ts';

export type IpvsScheduler = 'rr' | 'wrr' | 'lc' | 'wlc' | 'sed' | 'nq' | 'sh' | 'dh' | 'mh';
export const IPVS_SCHEDULERS: readonly IpvsScheduler[] = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'sh', 'dh', 'mh'];

/** SCTP services are held and listed (kube-proxy programs them); SCTP packets are not emulated. */
export type IpvsProto = 'TCP' | 'UDP' | 'SCTP';
const PROTO_INDEX: Record<IpvsProto, number> = { TCP: 0, UDP: 1, SCTP: 2 };

export interface RealServer {
  readonly addr: Ipv4Addr;
  readonly port: number;
  weight: number;
  /**
   * dest->last_weight: the latest non-zero weight (the weight given when added). The mh
   * table is built from it, so a server quiesced to weight 0 keeps its slots — its
   * clients get "no destination available" — until it is deleted (kube-proxy's
   * graceful termination), as ip_vs_mh does.
   */
  lastWeight: number;
  activeConns: number;
  inactConns: number;
  /** Counters for `--stats`: connections scheduled, packets and bytes in (client → server) and out. */
  conns: number;
  packets: number;
  outPackets: number;
  inBytes: number;
  outBytes: number;
}

export interface VirtualService {
  readonly proto: IpvsProto;
  readonly addr: Ipv4Addr;
  readonly port: number;
  scheduler: IpvsScheduler;
  /** Persistence timeout in seconds (ipvsadm -p), or undefined. */
  persistent: number | undefined;
  readonly reals: RealServer[];
  conns: number;
  packets: number;
  outPackets: number;
  inBytes: number;
  outBytes: number;
  /** Scheduler state (tables are rebuilt after any change to the real servers). */
  rrIndex: number;
  wrrCw: number;
  mhTable: number[] | undefined;
  shTable: RealServer[] | undefined;
  /** Held by several namespaces (share.ts), under this configuration key: never changed in place; a field, so a packet's check costs no lookup. */
  shared?: string;
}

export interface IpvsConn {
  readonly proto: IpvsProto;
  readonly caddr: Ipv4Addr;
  readonly cport: number;
  readonly vaddr: Ipv4Addr;
  readonly vport: number;
  readonly rs: RealServer;
  readonly vs: VirtualService;
  state: 'ESTABLISHED' | 'SYN_RECV' | 'FIN_WAIT' | 'TIME_WAIT' | 'CLOSE' | 'UDP' | 'NONE';
  expires: number;
  /** Persistence template connections have no ports. */
  readonly template: boolean;
  /** Next entry with the same client address, port and protocol (the table's hash chain). */
  hnext: IpvsConn | undefined;
}

/**
 * Connection timeouts (ip_vs_proto_tcp.c / ip_vs_proto_udp.c defaults; `ipvsadm --set`
 * changes tcp = ESTABLISHED, tcpfin = FIN_WAIT, udp = UDP): tcp 900 s, tcpfin 120 s,
 * udp 300 s, SYN_RECV 60 s, TIME_WAIT 120 s, CLOSE 10 s, NONE 2 s.
 */
export const IPVS_TIMEOUTS = { ESTABLISHED: 900 * SECOND, SYN_RECV: 60 * SECOND, FIN_WAIT: 120 * SECOND, TIME_WAIT: 120 * SECOND, CLOSE: 10 * SECOND, UDP: 300 * SECOND, NONE: 2 * SECOND } as const;
export type IpvsTimeouts = { -readonly [K in keyof typeof IPVS_TIMEOUTS]: number };

/** The connection hash size ipvsadm reports (CONFIG_IP_VS_TAB_BITS = 12). */
const CONN_TAB_SIZE = 4096;

/** ip_vs_mh's weight bits (CONFIG_IP_VS_MH_TAB_INDEX / 2): turns above 2^6 are shifted down. */
const MH_TAB_BITS = 6;

/** ip_vs_mh default table size (CONFIG_IP_VS_MH_TAB_INDEX 12 → 4093, a prime). */
export const MH_TABLE_SIZE = 4093;
const SH_BUCKETS = 256;

export type IpvsErrorCode = 'IPVS_EXISTS' | 'IPVS_NO_SERVICE' | 'IPVS_NO_DEST' | 'IPVS_BAD_ARG';
export class IpvsError extends CodedError {
  constructor(readonly code: IpvsErrorCode, message: string) {
    super(message);
    this.name = 'IpvsError';
  }
}

/** A virtual service's key: protocol index, address and port in one exact integer (< 2^50; no string built per packet). */
function vsKey(proto: IpvsProto, addr: Ipv4Addr, port: number): number {
  return PROTO_INDEX[proto] * 281474976710656 + (addr >>> 0) * 65536 + port;
}

/**
 * A virtual service's copy with copies of its real servers; the scheduler tables, which
 * point at real servers, are rebuilt from them when next needed (as after any change).
 */
function copyService(vs: VirtualService): VirtualService {
  const { shared: _shared, ...rest } = vs;
  return { ...rest, reals: vs.reals.map((r) => ({ ...r })), mhTable: undefined, shTable: undefined };
}

/** A 32-bit hash (ip_vs_sh_hashkey / ip_vs_dh_hashkey use hash_32 on the address). */
function hash32(v: number): number {
  return Math.imul(v >>> 0, 0x61c88647) >>> 0;
}

/** `TCP  10.96.0.10:80`, cut at 33 characters as ipvsadm does. */
function serviceName(vs: VirtualService): string {
  return `${vs.proto}  ${formatIpv4(vs.addr)}:${vs.port}`.slice(0, 33);
}

/** ipvsadm print_largenum: 9 columns, K/M/G/T beyond 100 million unless --exact. */
function largeNum(v: number, exact: boolean): string {
  if (exact) return String(v).padStart(String(v).length <= 8 ? 9 : String(v).length + 1);
  if (v < 1e8) return String(v).padStart(9);
  if (v < 1e9) return `${String(Math.floor(v / 1e3)).padStart(8)}K`;
  if (v < 1e11) return `${String(Math.floor(v / 1e6)).padStart(8)}M`;
  if (v < 1e14) return `${String(Math.floor(v / 1e9)).padStart(8)}G`;
  return `${String(Math.floor(v / 1e12)).padStart(8)}T`;
}

/** ipvsadm sorts destinations by address, then port, unless --nosort (ipvs_cmp_dests). */
function sortedReals(vs: VirtualService): RealServer[] {
  return [...vs.reals].sort((a, b) => (a.addr >>> 0) - (b.addr >>> 0) || a.port - b.port);
}

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

function overhead(r: RealServer): number {
  return r.activeConns * 256 + r.inactConns;
}

/** ip_vs_sh_reassign / ip_vs_dh_reassign: 256 buckets, `weight` consecutive ones per server (at least one). */
function buildShTable(reals: readonly RealServer[]): RealServer[] {
  const t: RealServer[] = [];
  let i = 0;
  let used = 0;
  while (t.length < SH_BUCKETS) {
    const r = reals[i % reals.length] as RealServer;
    t.push(r);
    if (++used >= r.weight) {
      i++;
      used = 0;
    }
  }
  return t;
}

function fnv(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Client address, port and protocol as one exact number (50 bits). */
function connKey(proto: IpvsProto, caddr: Ipv4Addr, cport: number): number {
  return (caddr * 65536 + cport) * 4 + PROTO_INDEX[proto];
}

/** How often (virtual time) new connections trigger a sweep of expired entries. */
const SWEEP_NS = 10 * SECOND;

/** The first lines of `ipvsadm -Ln`: all it prints when there is no virtual service (ip_vs loaded, nothing configured). */
export const IPVSADM_LIST_HEADER: readonly string[] = [`IP Virtual Server version 1.2.1 (size=${CONN_TAB_SIZE})`, 'Prot LocalAddress:Port Scheduler Flags', '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn'];

export class Ipvs {
  private readonly services = new Map<number, VirtualService>();
  /**
   * The connection table: (client address, port, protocol) as one number → a chain of
   * entries (hnext) told apart by virtual service (requests) or real server (replies).
   * No key strings; expired entries are swept every SWEEP_NS of virtual time.
   */
  private readonly conns = new Map<number, IpvsConn>();
  private lastSweep = 0;

  readonly timeouts: IpvsTimeouts = { ...IPVS_TIMEOUTS };
  /** Moves with every configuration change (`ipvsadm -A/-E/-D/-a/-e/-d`), never with traffic: lets kube-proxy tell that only it changed the table. */
  generation = 0;

  /**
   * `share`: virtual services programmed alike in several namespaces are held once until
   * a packet uses them (share.ts); what the namespace shows is the same.
   */
  constructor(private readonly now: () => number, private readonly share?: IpvsShare) {}

  /** This namespace's object for `vs` now (a shared transition may have replaced the one a caller holds). */
  private current(vs: VirtualService): VirtualService {
    return this.share === undefined ? vs : (this.services.get(vsKey(vs.proto, vs.addr, vs.port)) ?? vs);
  }

  /**
   * A change to a shared virtual service: made on a copy, which becomes the equal service
   * another namespace holds, if any (share.ts). Undefined when `vs` is the namespace's
   * own (it is changed in place).
   */
  private sharedChange(vs: VirtualService, change: (copy: VirtualService) => void): VirtualService | undefined {
    const share = this.share;
    if (share === undefined || vs.shared === undefined) return undefined;
    const c = copyService(vs);
    change(c);
    const next = share.intern(c);
    const k = vsKey(vs.proto, vs.addr, vs.port);
    if (this.services.get(k) === vs) this.put(k, next);
    return next;
  }

  /** The service under `k` becomes `vs` (undefined: none); the share counts who holds its services. */
  private put(k: number, vs: VirtualService | undefined): void {
    const old = this.services.get(k);
    if (old === vs) return;
    if (vs === undefined) this.services.delete(k);
    else this.services.set(k, vs);
    if (old?.shared !== undefined) this.share?.release(old);
    if (vs?.shared !== undefined) this.share?.retain(vs);
  }

  /** The namespace's own copy of a shared virtual service, made when a packet first uses it (share.ts). */
  private own(vs: VirtualService): VirtualService {
    if (vs.shared === undefined) return vs;
    const c = copyService(vs);
    const k = vsKey(vs.proto, vs.addr, vs.port);
    if (this.services.get(k) === vs) this.put(k, c);
    return c;
  }

  /** `ipvsadm -A -t|-u VIP:PORT -s SCHED [-p TIMEOUT]`. */
  addService(proto: IpvsProto, addr: Ipv4Addr, port: number, scheduler: IpvsScheduler = 'rr', persistent?: number): VirtualService {
    this.generation++;
    const k = vsKey(proto, addr, port);
    if (this.services.has(k)) throw new IpvsError('IPVS_EXISTS', 'Service already exists');
    if (!IPVS_SCHEDULERS.includes(scheduler)) throw new IpvsError('IPVS_BAD_ARG', `Scheduler not found: ${scheduler}`);
    const make = (): VirtualService => ({ proto, addr, port, scheduler, persistent, reals: [], conns: 0, packets: 0, outPackets: 0, inBytes: 0, outBytes: 0, rrIndex: -1, wrrCw: 0, mhTable: undefined, shTable: undefined });
    const vs = this.share !== undefined ? this.share.intern(make()) : make();
    this.put(k, vs);
    return vs;
  }

  /** `ipvsadm -E`: change scheduler or persistence. */
  editService(proto: IpvsProto, addr: Ipv4Addr, port: number, scheduler: IpvsScheduler, persistent?: number): void {
    this.generation++;
    const vs = this.service(proto, addr, port);
    if (this.sharedChange(vs, (c) => this.applyEdit(c, scheduler, persistent)) !== undefined) return;
    this.applyEdit(vs, scheduler, persistent);
  }

  private applyEdit(vs: VirtualService, scheduler: IpvsScheduler, persistent: number | undefined): void {
    vs.scheduler = scheduler;
    vs.persistent = persistent;
    this.invalidate(vs);
  }

  private invalidate(vs: VirtualService): void {
    vs.mhTable = undefined;
    vs.shTable = undefined;
  }

  deleteService(proto: IpvsProto, addr: Ipv4Addr, port: number): void {
    this.generation++;
    const vs = this.service(proto, addr, port);
    this.put(vsKey(proto, addr, port), undefined);
    for (const c of this.allConns()) if (c.vs === vs) this.dropConn(c);
  }

  service(proto: IpvsProto, addr: Ipv4Addr, port: number): VirtualService {
    const vs = this.services.get(vsKey(proto, addr, port));
    if (vs === undefined) throw new IpvsError('IPVS_NO_SERVICE', 'No such service');
    return vs;
  }

  lookupService(proto: IpvsProto, addr: Ipv4Addr, port: number): VirtualService | undefined {
    return this.services.get(vsKey(proto, addr, port));
  }

  listServices(): VirtualService[] {
    return [...this.services.values()];
  }

  /** `ipvsadm -a ... -r RS:PORT -m -w WEIGHT`. */
  addReal(held: VirtualService, addr: Ipv4Addr, port: number, weight = 1): RealServer {
    this.generation++;
    const vs = this.current(held);
    const shared = this.sharedChange(vs, (c) => this.insertReal(c, addr, port, weight));
    if (shared !== undefined) return shared.reals.find((r) => r.addr === addr && r.port === port) as RealServer;
    return this.insertReal(vs, addr, port, weight);
  }

  private insertReal(vs: VirtualService, addr: Ipv4Addr, port: number, weight: number): RealServer {
    if (vs.reals.some((r) => r.addr === addr && r.port === port)) throw new IpvsError('IPVS_EXISTS', 'Destination already exists');
    const rs: RealServer = { addr, port, weight, lastWeight: weight, activeConns: 0, inactConns: 0, conns: 0, packets: 0, outPackets: 0, inBytes: 0, outBytes: 0 };
    // ip_vs_new_dest: list_add_rcu puts a new destination at the head of the list (the
    // order rr walks and sh/dh/mh fill their tables in).
    vs.reals.unshift(rs);
    this.invalidate(vs);
    return rs;
  }

  /** `ipvsadm -e ... -w WEIGHT` (0 quiesces the server). */
  setWeight(held: VirtualService, addr: Ipv4Addr, port: number, weight: number): void {
    this.generation++;
    const vs = this.current(held);
    if (this.sharedChange(vs, (c) => this.applyWeight(c, addr, port, weight)) !== undefined) return;
    this.applyWeight(vs, addr, port, weight);
  }

  private applyWeight(vs: VirtualService, addr: Ipv4Addr, port: number, weight: number): void {
    const rs = vs.reals.find((r) => r.addr === addr && r.port === port);
    if (rs === undefined) throw new IpvsError('IPVS_NO_DEST', 'No such destination');
    rs.weight = weight;
    if (weight !== 0) rs.lastWeight = weight;
    this.invalidate(vs);
  }

  deleteReal(held: VirtualService, addr: Ipv4Addr, port: number): void {
    this.generation++;
    const vs = this.current(held);
    // A shared service's real servers carry no connection (a packet would have made the service the namespace's own).
    if (this.sharedChange(vs, (c) => this.removeReal(c, addr, port)) !== undefined) return;
    this.removeReal(vs, addr, port);
  }

  private removeReal(vs: VirtualService, addr: Ipv4Addr, port: number): void {
    const i = vs.reals.findIndex((r) => r.addr === addr && r.port === port);
    if (i < 0) throw new IpvsError('IPVS_NO_DEST', 'No such destination');
    const rs = vs.reals[i] as RealServer;
    vs.reals.splice(i, 1);
    this.invalidate(vs);
    for (const c of this.allConns()) if (c.rs === rs) this.dropConn(c);
  }

  /** Connections still using a real server (kube-proxy deletes weight-0 servers when this is 0). */
  connectionsOf(rs: RealServer): number {
    this.expire();
    return rs.activeConns + rs.inactConns;
  }

  // ----------------------------------------------------------------- scheduling

  /** Pick a real server for a new connection from `caddr` (no allocation on this path). */
  schedule(held: VirtualService, caddr: Ipv4Addr): RealServer | undefined {
    const vs = held.shared === undefined ? held : this.own(this.current(held));
    const reals = vs.reals;
    const n = reals.length;
    if (n === 0) return undefined;
    switch (vs.scheduler) {
      case 'rr': {
        // Round robin over the list, skipping weight-0 servers.
        for (let i = 1; i <= n; i++) {
          const idx = (vs.rrIndex + i) % n;
          const r = reals[idx] as RealServer;
          if (r.weight > 0) {
            vs.rrIndex = idx;
            return r;
          }
        }
        return undefined;
      }
      case 'wrr': {
        // Interleaved weighted round robin (ip_vs_wrr: cw steps down by the gcd of the weights).
        let max = 0;
        let g = 0;
        for (const r of reals) {
          if (r.weight > max) max = r.weight;
          if (r.weight > 0) g = gcd(g, r.weight);
        }
        if (max === 0) return undefined;
        for (let guard = 0; guard < n * (max / g + 1) + 1; guard++) {
          vs.rrIndex = (vs.rrIndex + 1) % n;
          if (vs.rrIndex === 0) {
            vs.wrrCw -= g;
            if (vs.wrrCw <= 0) vs.wrrCw = max;
          }
          const r = reals[vs.rrIndex] as RealServer;
          if (r.weight >= vs.wrrCw && r.weight > 0) return r;
        }
        return undefined;
      }
      case 'lc':
      case 'wlc':
      case 'sed':
      case 'nq': {
        // Overhead as the kernel counts it: ip_vs_dest_conn_overhead = active * 256 + inactive (lc, wlc);
        // sed and nq use active + 1. Ties keep the first server in list order.
        let best: RealServer | undefined;
        for (const r of reals) {
          if (r.weight <= 0) continue;
          if (vs.scheduler === 'nq' && r.activeConns === 0) return r;
          if (best === undefined) {
            best = r;
            continue;
          }
          if (vs.scheduler === 'lc') {
            if (overhead(r) < overhead(best)) best = r;
          } else if (vs.scheduler === 'wlc') {
            if (overhead(r) * best.weight < overhead(best) * r.weight) best = r;
          } else if ((r.activeConns + 1) * best.weight < (best.activeConns + 1) * r.weight) best = r;
        }
        return best;
      }
      case 'sh':
      case 'dh': {
        // 256 buckets assigned in list order, `weight` consecutive buckets per server (a
        // weight-0 server still holds one); the hash of the address picks the bucket, and a
        // bucket whose server is quiesced answers "no destination available" (no fallback flag).
        vs.shTable ??= buildShTable(reals);
        const r = vs.shTable[hash32(vs.scheduler === 'sh' ? caddr : vs.addr) >>> 24];
        return r !== undefined && r.weight > 0 ? r : undefined;
      }
      case 'mh': {
        vs.mhTable ??= this.maglev(vs);
        const idx = vs.mhTable[hash32(caddr) % MH_TABLE_SIZE] as number;
        const r = idx < 0 ? undefined : reals[idx];
        // A quiesced (weight 0) server keeps its slots: no destination (no mh-fallback flag).
        return r !== undefined && r.weight > 0 ? r : undefined;
      }
    }
  }

  /**
   * Maglev lookup table (NSDI'16 §3.4) as ip_vs_mh builds it: servers with a non-zero
   * last weight, in list order, each taking `turns` consecutive picks per round —
   * last weight / gcd of all last weights, shifted right so the largest fits 6 bits.
   */
  private maglev(vs: VirtualService): number[] {
    const m = MH_TABLE_SIZE;
    const table = new Array<number>(m).fill(-1);
    const cand = vs.reals.map((r, i) => ({ i, r })).filter((x) => x.r.lastWeight > 0);
    if (cand.length === 0) return table;
    const g = cand.reduce((acc, { r }) => gcd(acc, r.lastWeight), 0);
    const maxTurns = Math.max(...cand.map(({ r }) => Math.floor(r.lastWeight / g)));
    const rshift = Math.max(0, 32 - Math.clz32(maxTurns) - MH_TAB_BITS);
    const perm = cand.map(({ r }) => {
      const name = `${formatIpv4(r.addr)}:${r.port}`;
      return { offset: fnv(name, 1) % m, skip: (fnv(name, 2) % (m - 1)) + 1, next: 0, turns: Math.max(1, Math.floor(r.lastWeight / g) >> rshift) };
    });
    let filled = 0;
    for (;;) {
      for (let c = 0; c < cand.length; c++) {
        const p = perm[c] as { offset: number; skip: number; next: number; turns: number };
        for (let w = 0; w < p.turns; w++) {
          let slot = (p.offset + p.next * p.skip) % m;
          while (table[slot] !== -1) {
            p.next++;
            slot = (p.offset + p.next * p.skip) % m;
          }
          table[slot] = (cand[c] as { i: number }).i;
          p.next++;
          if (++filled === m) return table;
        }
      }
    }
  }

  // ----------------------------------------------------------------- connections

  private allConns(): IpvsConn[] {
    const out: IpvsConn[] = [];
    for (const head of this.conns.values()) for (let c: IpvsConn | undefined = head; c !== undefined; c = c.hnext) out.push(c);
    return out;
  }

  private find(proto: IpvsProto, caddr: Ipv4Addr, cport: number, vaddr: Ipv4Addr, vport: number): IpvsConn | undefined {
    for (let c = this.conns.get(connKey(proto, caddr, cport)); c !== undefined; c = c.hnext) if (c.vaddr === vaddr && c.vport === vport) return c;
    return undefined;
  }

  private findReply(proto: IpvsProto, rsAddr: Ipv4Addr, rsPort: number, caddr: Ipv4Addr, cport: number): IpvsConn | undefined {
    for (let c = this.conns.get(connKey(proto, caddr, cport)); c !== undefined; c = c.hnext) if (!c.template && c.rs.addr === rsAddr && c.rs.port === rsPort) return c;
    return undefined;
  }

  private insert(c: IpvsConn): void {
    const k = connKey(c.proto, c.caddr, c.cport);
    c.hnext = this.conns.get(k);
    this.conns.set(k, c);
  }

  private expire(): void {
    const now = this.now();
    this.lastSweep = now;
    for (const c of this.allConns()) if (c.expires <= now) this.dropConn(c);
  }

  private dropConn(c: IpvsConn): void {
    const k = connKey(c.proto, c.caddr, c.cport);
    const head = this.conns.get(k);
    if (head === c) {
      if (c.hnext === undefined) this.conns.delete(k);
      else this.conns.set(k, c.hnext);
    } else {
      let p = head;
      while (p !== undefined && p.hnext !== c) p = p.hnext;
      if (p === undefined) return;
      p.hnext = c.hnext;
    }
    c.hnext = undefined;
    if (!c.template) {
      if (c.state === 'ESTABLISHED') c.rs.activeConns--;
      else c.rs.inactConns--;
    }
  }

  /**
   * A packet from a client to a virtual service: find its connection or make one.
   * Returns the real server to DNAT to, or undefined (no service, or no available server).
   */
  inbound(proto: IpvsProto, caddr: Ipv4Addr, cport: number, vaddr: Ipv4Addr, vport: number, tcpFlags: number, bytes = 0): { rs: RealServer; conn: IpvsConn; isNew: boolean } | undefined {
    const found = this.services.get(vsKey(proto, vaddr, vport));
    if (found === undefined) return undefined;
    const vs = found.shared === undefined ? found : this.own(found);
    const now = this.now();
    if (now - this.lastSweep >= SWEEP_NS) this.expire();
    let c = this.find(proto, caddr, cport, vaddr, vport);
    if (c !== undefined && c.expires <= now) {
      this.dropConn(c);
      c = undefined;
    }
    let isNew = false;
    if (c === undefined) {
      let rs: RealServer | undefined;
      if (vs.persistent !== undefined) {
        const t = this.find(proto, caddr, 0, vaddr, vport);
        if (t !== undefined && t.expires > now && t.rs.weight > 0) {
          rs = t.rs;
          t.expires = now + vs.persistent * SECOND;
        } else {
          rs = this.schedule(vs, caddr);
          if (rs !== undefined) this.insert({ proto, caddr, cport: 0, vaddr, vport, rs, vs, state: 'NONE', expires: now + vs.persistent * SECOND, template: true, hnext: undefined });
        }
      } else rs = this.schedule(vs, caddr);
      if (rs === undefined) return undefined;
      c = { proto, caddr, cport, vaddr, vport, rs, vs, state: proto === 'UDP' ? 'UDP' : 'SYN_RECV', expires: 0, template: false, hnext: undefined };
      this.insert(c);
      rs.inactConns++;
      rs.conns++;
      vs.conns++;
      isNew = true;
    }
    this.advance(c, tcpFlags, now);
    c.rs.packets++;
    c.vs.packets++;
    c.rs.inBytes += bytes;
    c.vs.inBytes += bytes;
    return { rs: c.rs, conn: c, isNew };
  }

  /** A reply from a real server: the connection it belongs to (for un-DNAT), if any. */
  outbound(proto: IpvsProto, rsAddr: Ipv4Addr, rsPort: number, caddr: Ipv4Addr, cport: number, tcpFlags: number, bytes = 0): IpvsConn | undefined {
    const c = this.findReply(proto, rsAddr, rsPort, caddr, cport);
    if (c === undefined) return undefined;
    const now = this.now();
    if (c.expires <= now) {
      this.dropConn(c);
      return undefined;
    }
    this.advance(c, tcpFlags, now);
    c.rs.outPackets++;
    c.vs.outPackets++;
    c.rs.outBytes += bytes;
    c.vs.outBytes += bytes;
    return c;
  }

  private advance(c: IpvsConn, flags: number, now: number): void {
    const before = c.state;
    if (c.proto === 'UDP') c.state = 'UDP';
    else if ((flags & 0x04) !== 0) c.state = 'CLOSE';
    else if ((flags & 0x01) !== 0) c.state = c.state === 'FIN_WAIT' ? 'TIME_WAIT' : 'FIN_WAIT';
    else if ((flags & 0x10) !== 0 && (c.state === 'SYN_RECV' || c.state === 'NONE')) c.state = 'ESTABLISHED';
    if (before !== c.state && !c.template) {
      if (before === 'ESTABLISHED') {
        c.rs.activeConns--;
        c.rs.inactConns++;
      } else if (c.state === 'ESTABLISHED') {
        c.rs.inactConns--;
        c.rs.activeConns++;
      }
    }
    c.expires = now + this.timeouts[c.state];
  }

  // ----------------------------------------------------------------- views

  /** `ipvsadm -Ln` (rows padded as the real tool pads them, trailing spaces included). */
  list(): string {
    this.expire();
    const out = [...IPVSADM_LIST_HEADER];
    for (const vs of this.sortedServices()) {
      out.push(`${serviceName(vs)} ${vs.scheduler}${vs.persistent !== undefined ? ` persistent ${vs.persistent}` : ''}`);
      for (const r of sortedReals(vs)) {
        out.push(`  -> ${`${formatIpv4(r.addr)}:${r.port}`.padEnd(28)} ${'Masq'.padEnd(7)} ${String(r.weight).padEnd(6)} ${String(r.activeConns).padEnd(10)} ${String(r.inactConns).padEnd(10)}`);
      }
    }
    return out.join('\n') + '\n';
  }

  /** `ipvsadm -Ln --stats [--exact]`. */
  listStats(opts: { exact?: boolean } = {}): string {
    const num = (v: number): string => largeNum(v, opts.exact === true);
    const out = [`IP Virtual Server version 1.2.1 (size=${CONN_TAB_SIZE})`, `${'Prot LocalAddress:Port'.padEnd(33)} ${['Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes'].map((h) => h.padStart(8)).join(' ')}`, '  -> RemoteAddress:Port'];
    for (const vs of this.sortedServices()) {
      out.push(`${serviceName(vs).padEnd(33)}${num(vs.conns)}${num(vs.packets)}${num(vs.outPackets)}${num(vs.inBytes)}${num(vs.outBytes)}`);
      for (const r of sortedReals(vs)) out.push(`  -> ${`${formatIpv4(r.addr)}:${r.port}`.padEnd(28)}${num(r.conns)}${num(r.packets)}${num(r.outPackets)}${num(r.inBytes)}${num(r.outBytes)}`);
    }
    return out.join('\n') + '\n';
  }

  /** `ipvsadm -Lnc`: the connection table (templates of persistent services included). */
  listConnections(): string {
    this.expire();
    const now = this.now();
    const out = ['IPVS connection entries', 'pro expire state       source             virtual            destination'];
    for (const c of this.allConns()) {
      const secs = Math.max(0, Math.floor((c.expires - now) / SECOND));
      const exp = `${String(Math.floor(secs / 60)).padStart(2, '0')}:${String(secs % 60).padStart(2, '0')}`;
      out.push(`${c.proto.padEnd(3)} ${exp.padEnd(6)} ${c.state.padEnd(11)} ${`${formatIpv4(c.caddr)}:${c.cport}`.padEnd(18)} ${`${formatIpv4(c.vaddr)}:${c.vport}`.padEnd(18)} ${formatIpv4(c.rs.addr)}:${c.rs.port}`);
    }
    return out.join('\n') + '\n';
  }

  /** `ipvsadm -Sn`: the rules in restore syntax. */
  save(): string {
    const out: string[] = [];
    for (const vs of this.sortedServices()) {
      const svc = `${vs.proto === 'TCP' ? '-t' : vs.proto === 'UDP' ? '-u' : '--sctp-service'} ${formatIpv4(vs.addr)}:${vs.port}`;
      out.push(`-A ${svc} -s ${vs.scheduler}${vs.persistent !== undefined ? ` -p ${vs.persistent}` : ''}`);
      for (const r of sortedReals(vs)) out.push(`-a ${svc} -r ${formatIpv4(r.addr)}:${r.port} -m -w ${r.weight}`);
    }
    return out.join('\n') + (out.length > 0 ? '\n' : '');
  }

  /** `ipvsadm --set TCP TCPFIN UDP` (seconds; 0 keeps a value). */
  setTimeouts(tcp: number, tcpfin: number, udp: number): void {
    if (tcp > 0) this.timeouts.ESTABLISHED = tcp * SECOND;
    if (tcpfin > 0) this.timeouts.FIN_WAIT = tcpfin * SECOND;
    if (udp > 0) this.timeouts.UDP = udp * SECOND;
  }

  /** `ipvsadm -L --timeout`. */
  listTimeouts(): string {
    return `Timeout (tcp tcpfin udp): ${this.timeouts.ESTABLISHED / SECOND} ${this.timeouts.FIN_WAIT / SECOND} ${this.timeouts.UDP / SECOND}\n`;
  }

  private sortedServices(): VirtualService[] {
    return [...this.services.values()].sort((a, b) => a.proto.localeCompare(b.proto) || a.addr - b.addr || a.port - b.port);
  }
}
