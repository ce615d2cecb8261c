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

export type IpvsScheduler = 'rr' | 'wrr' | 'lc' | 'wlc' | 'sed' | 'nq' | 'sh' | 'dh' | 'mh';
export const IPVS_SCHEDULERS: readonly IpvsScheduler[] = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'sh', 'dh', 'mh'];

export type IpvsProto = 'TCP' | 'UDP';

export interface RealServer {
  readonly addr: Ipv4Addr;
  readonly port: number;
  weight: number;
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
  /** Scheduler state. */
  rrIndex: number;
  wrrCw: number;
  mhTable: number[] | undefined;
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
}

/** ipvsadm --set defaults: tcp 900 s, tcpfin 120 s, udp 300 s. */
export const IPVS_TIMEOUTS = { ESTABLISHED: 900 * SECOND, SYN_RECV: 60 * SECOND, FIN_WAIT: 120 * SECOND, TIME_WAIT: 120 * SECOND, CLOSE: 10 * SECOND, UDP: 300 * SECOND, NONE: 60 * SECOND } as const;

/** ip_vs_mh default table size (CONFIG_IP_VS_MH_TAB_INDEX 12 → 4093, a prime). */
export const MH_TABLE_SIZE = 4093;
const SH_BUCKETS = 256;

export type IpvsErrorCode = 'IPVS_EXISTS' | 'IPVS_NO_SERVICE' | 'IPVS_NO_DEST' | 'IPVS_BAD_ARG';
export class IpvsError extends Error {
  constructor(readonly code: IpvsErrorCode, message: string) {
    super(message);
    this.name = 'IpvsError';
  }
}

const vsKey = (proto: IpvsProto, addr: Ipv4Addr, port: number): string => `${proto}|${addr}|${port}`;

/** A 32-bit hash (ip_vs_sh_hashkey / ip_vs_dh_hashkey use hash_32 on the address). */
function hash32(v: number): number {
  return Math.imul(v >>> 0, 0x61c88647) >>> 0;
}

function fnv(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export class Ipvs {
  private readonly services = new Map<string, VirtualService>();
  private readonly conns = new Map<string, IpvsConn>();
  /** Reverse lookup for replies: (proto, rs addr, rs port, client addr, client port) → conn. */
  private readonly replies = new Map<string, IpvsConn>();

  constructor(private readonly now: () => number) {}

  /** `ipvsadm -A -t|-u VIP:PORT -s SCHED [-p TIMEOUT]`. */
  addService(proto: IpvsProto, addr: Ipv4Addr, port: number, scheduler: IpvsScheduler = 'rr', persistent?: number): VirtualService {
    const k = vsKey(proto, addr, port);
    if (this.services.has(k)) throw new IpvsError('IPVS_EXISTS', 'Service already exists');
    if (!IPVS_SCHEDULERS.includes(scheduler)) throw new IpvsError('IPVS_BAD_ARG', `Scheduler not found: ${scheduler}`);
    const vs: VirtualService = { proto, addr, port, scheduler, persistent, reals: [], conns: 0, packets: 0, outPackets: 0, inBytes: 0, outBytes: 0, rrIndex: -1, wrrCw: 0, mhTable: undefined };
    this.services.set(k, vs);
    return vs;
  }

  /** `ipvsadm -E`: change scheduler or persistence. */
  editService(proto: IpvsProto, addr: Ipv4Addr, port: number, scheduler: IpvsScheduler, persistent?: number): void {
    const vs = this.service(proto, addr, port);
    vs.scheduler = scheduler;
    vs.persistent = persistent;
    vs.mhTable = undefined;
  }

  deleteService(proto: IpvsProto, addr: Ipv4Addr, port: number): void {
    const vs = this.service(proto, addr, port);
    this.services.delete(vsKey(proto, addr, port));
    for (const [k, c] of this.conns) if (c.vs === vs) this.dropConn(k, c);
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
  addReal(vs: VirtualService, addr: Ipv4Addr, port: number, weight = 1): RealServer {
    if (vs.reals.some((r) => r.addr === addr && r.port === port)) throw new IpvsError('IPVS_EXISTS', 'Destination already exists');
    const rs: RealServer = { addr, port, weight, activeConns: 0, inactConns: 0, conns: 0, packets: 0, outPackets: 0, inBytes: 0, outBytes: 0 };
    vs.reals.push(rs);
    vs.mhTable = undefined;
    return rs;
  }

  /** `ipvsadm -e ... -w WEIGHT` (0 quiesces the server). */
  setWeight(vs: VirtualService, addr: Ipv4Addr, port: number, weight: number): void {
    const rs = vs.reals.find((r) => r.addr === addr && r.port === port);
    if (rs === undefined) throw new IpvsError('IPVS_NO_DEST', 'No such destination');
    rs.weight = weight;
    vs.mhTable = undefined;
  }

  deleteReal(vs: VirtualService, addr: Ipv4Addr, port: number): void {
    const i = vs.reals.findIndex((r) => r.addr === addr && r.port === port);
    if (i < 0) throw new IpvsError('IPVS_NO_DEST', 'No such destination');
    const rs = vs.reals[i] as RealServer;
    vs.reals.splice(i, 1);
    vs.mhTable = undefined;
    for (const [k, c] of this.conns) if (c.rs === rs) this.dropConn(k, c);
  }

  /** Connections still using a real server (kube-proxy deletes weight-0 servers when this is 0). */
  connectionsOf(rs: RealServer): number {
    this.expire();
    return rs.activeConns + rs.inactConns;
  }

  // ----------------------------------------------------------------- scheduling

  private available(vs: VirtualService): RealServer[] {
    return vs.reals.filter((r) => r.weight > 0);
  }

  /** Pick a real server for a new connection from `caddr`. */
  schedule(vs: VirtualService, caddr: Ipv4Addr): RealServer | undefined {
    const rs = this.available(vs);
    if (rs.length === 0) return undefined;
    const load = (r: RealServer): number => r.activeConns * 256 + r.inactConns; // ip_vs_dest_conn_overhead
    switch (vs.scheduler) {
      case 'rr': {
        // Round robin over the list, skipping weight-0 servers.
        for (let i = 1; i <= vs.reals.length; i++) {
          const idx = (vs.rrIndex + i) % vs.reals.length;
          const r = vs.reals[idx] as RealServer;
          if (r.weight > 0) {
            vs.rrIndex = idx;
            return r;
          }
        }
        return undefined;
      }
      case 'wrr': {
        // Interleaved weighted round robin (ip_vs_wrr: cw steps down by gcd of weights).
        const weights = vs.reals.map((r) => r.weight);
        const max = Math.max(...weights);
        const gcd = weights.filter((w) => w > 0).reduce((a, b) => {
          let x = a;
          let y = b;
          while (y !== 0) [x, y] = [y, x % y];
          return x;
        });
        for (let guard = 0; guard < vs.reals.length * (max / gcd + 1) + 1; guard++) {
          vs.rrIndex = (vs.rrIndex + 1) % vs.reals.length;
          if (vs.rrIndex === 0) {
            vs.wrrCw -= gcd;
            if (vs.wrrCw <= 0) vs.wrrCw = max;
          }
          const r = vs.reals[vs.rrIndex] as RealServer;
          if (r.weight >= vs.wrrCw && r.weight > 0) return r;
        }
        return undefined;
      }
      case 'lc':
        return rs.reduce((best, r) => (load(r) < load(best) ? r : best));
      case 'wlc':
        return rs.reduce((best, r) => (load(r) * best.weight < load(best) * r.weight ? r : best));
      case 'sed':
        return rs.reduce((best, r) => ((r.activeConns + 1) * best.weight < (best.activeConns + 1) * r.weight ? r : best));
      case 'nq': {
        const idle = rs.find((r) => r.activeConns === 0);
        if (idle !== undefined) return idle;
        return rs.reduce((best, r) => ((r.activeConns + 1) * best.weight < (best.activeConns + 1) * r.weight ? r : best));
      }
      case 'sh':
      case 'dh': {
        // 256 buckets filled round robin by weight; the hash of the address picks the bucket.
        const buckets: RealServer[] = [];
        let i = 0;
        while (buckets.length < SH_BUCKETS) {
          const r = rs[i % rs.length] as RealServer;
          for (let w = 0; w < r.weight && buckets.length < SH_BUCKETS; w++) buckets.push(r);
          i++;
        }
        const key = vs.scheduler === 'sh' ? caddr : vs.addr;
        return buckets[hash32(key) >>> 24];
      }
      case 'mh': {
        vs.mhTable ??= this.maglev(vs);
        const idx = vs.mhTable[hash32(caddr) % MH_TABLE_SIZE] as number;
        return idx < 0 ? undefined : vs.reals[idx];
      }
    }
  }

  /** Maglev lookup table (NSDI'16 §3.4): each server fills its preference list in turn. */
  private maglev(vs: VirtualService): number[] {
    const m = MH_TABLE_SIZE;
    const table = new Array<number>(m).fill(-1);
    const cand = vs.reals.map((r, i) => ({ i, r })).filter((x) => x.r.weight > 0);
    if (cand.length === 0) return table;
    const perm = cand.map(({ r }) => {
      const name = `${formatIpv4(r.addr)}:${r.port}`;
      return { offset: fnv(name, 1) % m, skip: (fnv(name, 2) % (m - 1)) + 1, next: 0 };
    });
    let filled = 0;
    for (;;) {
      for (let c = 0; c < cand.length; c++) {
        const p = perm[c] as { offset: number; skip: number; next: number };
        // Weighted Maglev: a server takes as many turns as its weight.
        for (let w = 0; w < (cand[c] as { r: RealServer }).r.weight; w++) {
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

  private connKey(proto: IpvsProto, caddr: Ipv4Addr, cport: number, vaddr: Ipv4Addr, vport: number): string {
    return `${proto}|${caddr}|${cport}|${vaddr}|${vport}`;
  }

  private expire(): void {
    const now = this.now();
    for (const [k, c] of this.conns) if (c.expires <= now) this.dropConn(k, c);
  }

  private dropConn(k: string, c: IpvsConn): void {
    this.conns.delete(k);
    if (!c.template) {
      this.replies.delete(this.connKey(c.proto, c.rs.addr, c.rs.port, c.caddr, c.cport));
      if (c.state === 'ESTABLISHED') c.rs.activeConns--;
      else c.rs.inactConns--;
    }
  }

  /**
   * A packet from a client to a virtual service: find its connection or make one.
   * Returns the real server to DNAT to, or undefined (no service, or no available server).
   */
  inbound(proto: IpvsProto, caddr: Ipv4Addr, cport: number, vaddr: Ipv4Addr, vport: number, tcpFlags: number, bytes = 0): { rs: RealServer; conn: IpvsConn; isNew: boolean } | undefined {
    const vs = this.services.get(vsKey(proto, vaddr, vport));
    if (vs === undefined) return undefined;
    const now = this.now();
    const k = this.connKey(proto, caddr, cport, vaddr, vport);
    let c = this.conns.get(k);
    if (c !== undefined && c.expires <= now) {
      this.dropConn(k, c);
      c = undefined;
    }
    let isNew = false;
    if (c === undefined) {
      let rs: RealServer | undefined;
      if (vs.persistent !== undefined) {
        const tk = this.connKey(proto, caddr, 0, vaddr, vport);
        const t = this.conns.get(tk);
        if (t !== undefined && t.expires > now && t.rs.weight > 0) {
          rs = t.rs;
          t.expires = now + vs.persistent * SECOND;
        } else {
          rs = this.schedule(vs, caddr);
          if (rs !== undefined) this.conns.set(tk, { proto, caddr, cport: 0, vaddr, vport, rs, vs, state: 'NONE', expires: now + vs.persistent * SECOND, template: true });
        }
      } else rs = this.schedule(vs, caddr);
      if (rs === undefined) return undefined;
      c = { proto, caddr, cport, vaddr, vport, rs, vs, state: proto === 'UDP' ? 'UDP' : 'SYN_RECV', expires: 0, template: false };
      this.conns.set(k, c);
      this.replies.set(this.connKey(proto, rs.addr, rs.port, caddr, cport), c);
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
    const c = this.replies.get(this.connKey(proto, rsAddr, rsPort, caddr, cport));
    if (c === undefined) return undefined;
    const now = this.now();
    if (c.expires <= now) {
      this.dropConn(this.connKey(c.proto, c.caddr, c.cport, c.vaddr, c.vport), c);
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
    c.expires = now + IPVS_TIMEOUTS[c.state];
  }

  // ----------------------------------------------------------------- views

  /** `ipvsadm -Ln`. */
  list(): string {
    this.expire();
    const out = ['IP Virtual Server version 1.2.1 (size=4096)', 'Prot LocalAddress:Port Scheduler Flags', '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn'];
    for (const vs of this.sortedServices()) {
      out.push(`${vs.proto}  ${`${formatIpv4(vs.addr)}:${vs.port}`} ${vs.scheduler}${vs.persistent !== undefined ? ` persistent ${vs.persistent}` : ''}`);
      for (const r of vs.reals) {
        out.push(`  -> ${`${formatIpv4(r.addr)}:${r.port}`.padEnd(29)}Masq    ${String(r.weight).padEnd(6)} ${String(r.activeConns).padEnd(10)} ${r.inactConns}`);
      }
    }
    return out.join('\n') + '\n';
  }

  /** `ipvsadm -Ln --stats`. */
  listStats(): string {
    const out = ['IP Virtual Server version 1.2.1 (size=4096)', 'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes', '  -> RemoteAddress:Port'];
    for (const vs of this.sortedServices()) {
      out.push(`${vs.proto}  ${`${formatIpv4(vs.addr)}:${vs.port}`.padEnd(26)} ${String(vs.conns).padStart(8)} ${String(vs.packets).padStart(8)}        0        0        0`);
      for (const r of vs.reals) out.push(`  -> ${`${formatIpv4(r.addr)}:${r.port}`.padEnd(26)} ${String(r.conns).padStart(8)} ${String(r.packets).padStart(8)}        0        0        0`);
    }
    return out.join('\n') + '\n';
  }

  /** `ipvsadm -Lnc`: the connection table. */
  listConnections(): string {
    this.expire();
    const now = this.now();
    const out = ['IPVS connection entries', 'pro expire state       source             virtual            destination'];
    for (const c of this.conns.values()) {
      const secs = Math.max(0, Math.floor((c.expires - now) / SECOND));
      const exp = `${String(Math.floor(secs / 60)).padStart(2, '0')}:${String(secs % 60).padStart(2, '0')}`;
      out.push(`${c.proto.padEnd(3)} ${exp}  ${c.state.padEnd(11)} ${`${formatIpv4(c.caddr)}:${c.cport}`.padEnd(18)} ${`${formatIpv4(c.vaddr)}:${c.vport}`.padEnd(18)} ${formatIpv4(c.rs.addr)}:${c.rs.port}`);
    }
    return out.join('\n') + '\n';
  }

  private sortedServices(): VirtualService[] {
    return [...this.services.values()].sort((a, b) => a.proto.localeCompare(b.proto) || a.addr - b.addr || a.port - b.port);
  }
}
