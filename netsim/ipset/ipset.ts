/**
 * IP sets (net/netfilter/ipset): named sets that `-m set --match-set NAME dirs`
 * tests in one lookup — what lets kube-proxy's IPVS mode keep its iptables rules
 * constant in number. Types: hash:ip, hash:net, hash:ip,port, hash:ip,port,ip,
 * hash:ip,port,net and bitmap:port. Commands in the `ipset restore` syntax
 * (create/add/del/flush/destroy/swap, `-exist`), listings like `ipset list` and
 * `ipset save`. Sets created with `timeout` keep each element's timeout and print it;
 * `nomatch` elements of hash:net sets make the most specific matching prefix a miss
 * (kube-router's ipBlock `except`).
 *
 * Not modelled: element expiry (a non-zero timeout is kept and printed, never counted
 * down; kube-router and kube-proxy only use timeout 0, "never expires"), counters, hash sizing (reported as the
 * defaults; "Size in memory" from a per-type formula, see MEMORY), the order of hash
 * members (the kernel's depends on a random initval; here insertion order), IPv6
 * (family inet6), skbinfo.
 */
import type { Packet } from '../packet/packet.ts';
import { readU16, readU32 } from '../wire/field.ts';
import { Ipv4Cidr, formatIpv4, maskOf, tryParseIpv4 } from '../wire/addr.ts';
import { Ipv4 } from '../wire/ipv4.ts';
import type { IpsetLookup } from '../netfilter/eval-types.ts';
import { CodedError } from '../errors.ts';
import type { IpsetShare } from './share.ts';

export type SetType = 'hash:ip' | 'hash:net' | 'hash:ip,port' | 'hash:ip,port,ip' | 'hash:ip,port,net' | 'bitmap:port';
const TYPES: readonly SetType[] = ['hash:ip', 'hash:net', 'hash:ip,port', 'hash:ip,port,ip', 'hash:ip,port,net', 'bitmap:port'];
/** Type revisions as ipset 7.17 lists them on a kernel with bucketsize support (≥ 5.11; checked on 6.18). */
const REVISION: Record<SetType, number> = { 'hash:ip': 6, 'hash:net': 7, 'hash:ip,port': 7, 'hash:ip,port,ip': 6, 'hash:ip,port,net': 8, 'bitmap:port': 3 };

export type IpsetErrorCode = 'IPSET_PARSE' | 'IPSET_NO_SET' | 'IPSET_EXISTS' | 'IPSET_BAD_TYPE' | 'IPSET_BAD_ELEMENT' | 'IPSET_IN_USE' | 'IPSET_ELEMENT_EXISTS' | 'IPSET_NO_ELEMENT';

export class IpsetError extends CodedError {
  constructor(readonly code: IpsetErrorCode, readonly detail: string, readonly line?: number) {
    super(line !== undefined ? `ipset v7.17: Error in line ${line}: ${detail}` : `ipset v7.17: ${detail}`);
    this.name = 'IpsetError';
  }
}

interface IpSet {
  readonly name: string;
  readonly type: SetType;
  /** bitmap:port range. */
  readonly range?: [number, number];
  readonly comment: boolean;
  /** `timeout` given at create (seconds; 0 = elements never expire); undefined: no timeout support. */
  readonly timeout?: number;
  /** Canonical element text → comment (or ''); insertion ordered. */
  members: Map<string, string>;
  /** Per element with a timeout extension: its timeout in seconds. */
  timeouts: Map<string, number>;
  /** Elements added with `nomatch` (net types only). */
  nomatch: Set<string>;
  /** Net parts of hash:net / hash:ip,port,net for lookups: prefix lengths present. */
  prefixes: Set<number>;
  /** Numeric lookup index, rebuilt lazily after any change (undefined = stale). */
  idx: NumIndex | undefined;
}

/**
 * What packet lookups use, so a test costs a few integer hash probes and no strings:
 * single keys (hash:ip, bitmap:port, hash:ip,port, hash:net as `net * 64 + prefix`)
 * or keyed sets (hash:ip,port,ip and hash:ip,port,net: ip,port → second part).
 */
interface NumIndex {
  readonly keys: Set<number>;
  readonly pairs: Map<number, Set<number>>;
  /** hash:net keys of `nomatch` elements. */
  readonly nomatch: Set<number>;
  /** Prefix lengths present, longest first (the kernel tries the most specific first). */
  readonly prefixes: readonly number[];
}

const PROTO_INDEX: Record<string, number> = { tcp: 0, udp: 1, sctp: 2, icmp: 3 };
const PROTO_INDEX_BY_NUMBER: Record<number, number> = { 6: 0, 17: 1, 132: 2, 1: 3 };

/** ip (32 bits) · protocol (2 bits) · port (16 bits) in one exact integer. */
function ipPortKey(ip: number, protoIdx: number, port: number): number {
  return (ip >>> 0) * 262144 + protoIdx * 65536 + port;
}

function netKey(net: number, len: number): number {
  return (net >>> 0) * 64 + len;
}

function parsePortPart(text: string): { proto: number; port: number } {
  const [p, n] = text.split(':');
  return { proto: PROTO_INDEX[p ?? 'tcp'] ?? 0, port: Number(n) };
}

function parseNetPart(text: string): number {
  const [a, l] = text.split('/');
  return netKey(tryParseIpv4(a ?? '') ?? 0, l === undefined ? 32 : Number(l));
}

function buildIndex(s: IpSet): NumIndex {
  const keys = new Set<number>();
  const pairs = new Map<number, Set<number>>();
  const nomatch = new Set<number>();
  const pair = (k: number, v: number): void => {
    let set = pairs.get(k);
    if (set === undefined) pairs.set(k, (set = new Set()));
    set.add(v);
  };
  for (const m of s.members.keys()) {
    const parts = m.split(',');
    const ip0 = tryParseIpv4(parts[0] ?? '') ?? 0;
    switch (s.type) {
      case 'hash:ip': keys.add(ip0); break;
      case 'bitmap:port': keys.add(Number(m)); break;
      case 'hash:net':
        keys.add(parseNetPart(m));
        if (s.nomatch.has(m)) nomatch.add(parseNetPart(m));
        break;
      case 'hash:ip,port': {
        const pp = parsePortPart(parts[1] ?? '');
        keys.add(ipPortKey(ip0, pp.proto, pp.port));
        break;
      }
      case 'hash:ip,port,ip': {
        const pp = parsePortPart(parts[1] ?? '');
        pair(ipPortKey(ip0, pp.proto, pp.port), tryParseIpv4(parts[2] ?? '') ?? 0);
        break;
      }
      case 'hash:ip,port,net': {
        const pp = parsePortPart(parts[1] ?? '');
        pair(ipPortKey(ip0, pp.proto, pp.port), parseNetPart(parts[2] ?? ''));
        break;
      }
    }
  }
  return { keys, pairs, nomatch, prefixes: [...s.prefixes].sort((a, b) => b - a) };
}

const PROTO: Record<string, number> = { tcp: 6, udp: 17, sctp: 132, icmp: 1 };

export class Ipsets implements IpsetLookup {
  private readonly sets = new Map<string, IpSet>();
  /** References from iptables rules (set by the owner so `destroy` can refuse). */
  references: (name: string) => number = () => 0;
  /** Bumped by every change to any set (replayed netfilter walks that tested a set are invalidated by it). */
  generation = 0;

  /**
   * `share`: sets restored alike in several namespaces are held once (share.ts); what
   * the namespace shows is the same.
   */
  constructor(private readonly share?: IpsetShare) {}

  has(name: string): boolean {
    return this.sets.has(name);
  }

  names(): string[] {
    return [...this.sets.keys()];
  }

  create(name: string, type: string, opts: { range?: string; comment?: boolean; timeout?: number; exist?: boolean } = {}, line?: number): void {
    this.generation++;
    if (!TYPES.includes(type as SetType)) throw new IpsetError('IPSET_BAD_TYPE', `Syntax error: typename '${type}' is unknown`, line);
    if (name.length === 0 || name.length > 31) throw new IpsetError('IPSET_PARSE', `Syntax error: setname '${name}' is longer than 31 characters`, line);
    if (this.sets.has(name)) {
      if (opts.exist === true) return;
      throw new IpsetError('IPSET_EXISTS', `Set cannot be created: set with the same name already exists`, line);
    }
    let range: [number, number] | undefined;
    if (type === 'bitmap:port') {
      const m = /^(\d+)-(\d+)$/.exec(opts.range ?? '');
      if (m === null) throw new IpsetError('IPSET_PARSE', 'Syntax error: Missing mandatory option "range"', line);
      range = [Number(m[1]), Number(m[2])];
    }
    this.sets.set(name, {
      name, type: type as SetType, ...(range !== undefined ? { range } : {}), comment: opts.comment === true, ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}),
      members: new Map(), timeouts: new Map(), nomatch: new Set(), prefixes: new Set(), idx: undefined,
    });
  }

  private set(name: string, line?: number): IpSet {
    const s = this.sets.get(name);
    if (s === undefined) throw new IpsetError('IPSET_NO_SET', `The set with the given name does not exist`, line);
    return s;
  }

  /** The set `name` to change: a shared set is copied into this namespace first (copy on write, share.ts). */
  private own(s: IpSet): IpSet {
    if (this.share === undefined || !this.share.shared(s.members)) return s;
    const c: IpSet = { ...s, members: new Map(s.members), timeouts: new Map(s.timeouts), nomatch: new Set(s.nomatch), prefixes: new Set(s.prefixes), idx: undefined };
    this.sets.set(s.name, c);
    return c;
  }

  /** Canonical text of an element for a set type (e.g. `10.96.0.10,tcp:80`). */
  private canon(s: IpSet, elem: string, line?: number): { key: string; prefix?: number } {
    const bad = (): never => {
      throw new IpsetError('IPSET_BAD_ELEMENT', `Syntax error: '${elem}' is not a valid element of a ${s.type} set`, line);
    };
    const ipOf = (x: string | undefined): string => (x !== undefined && tryParseIpv4(x) !== undefined ? formatIpv4(tryParseIpv4(x) as number) : bad());
    const portOf = (x: string | undefined): string => {
      const m = /^(?:(tcp|udp|sctp):)?(\d+)$/.exec(x ?? '');
      if (m === null || Number(m[2]) > 65535) return bad();
      return `${m[1] ?? 'tcp'}:${Number(m[2])}`;
    };
    const netOf = (x: string | undefined): { text: string; len: number } => {
      try {
        const c = Ipv4Cidr.parse((x ?? '').includes('/') ? (x as string) : `${x ?? ''}/32`);
        return { text: c.prefixLen === 32 ? formatIpv4(c.network) : c.toString(), len: c.prefixLen };
      } catch {
        return bad();
      }
    };
    const parts = elem.split(',');
    switch (s.type) {
      case 'hash:ip': return parts.length === 1 ? { key: ipOf(parts[0]) } : bad();
      case 'hash:net': {
        if (parts.length !== 1) return bad();
        const n = netOf(parts[0]);
        return { key: n.text, prefix: n.len };
      }
      case 'hash:ip,port': return parts.length === 2 ? { key: `${ipOf(parts[0])},${portOf(parts[1])}` } : bad();
      case 'hash:ip,port,ip': return parts.length === 3 ? { key: `${ipOf(parts[0])},${portOf(parts[1])},${ipOf(parts[2])}` } : bad();
      case 'hash:ip,port,net': {
        if (parts.length !== 3) return bad();
        const n = netOf(parts[2]);
        return { key: `${ipOf(parts[0])},${portOf(parts[1])},${n.text}`, prefix: n.len };
      }
      case 'bitmap:port': {
        const m = /^(?:(?:tcp|udp):)?(\d+)$/.exec(elem);
        if (m === null) return bad();
        const p = Number(m[1]);
        const [lo, hi] = s.range as [number, number];
        if (p < lo || p > hi) throw new IpsetError('IPSET_BAD_ELEMENT', 'Element is out of the range of the set', line);
        return { key: String(p) };
      }
    }
  }

  add(name: string, elem: string, opts: { comment?: string; timeout?: number; nomatch?: boolean; exist?: boolean } = {}, line?: number): void {
    this.generation++;
    const s0 = this.set(name, line);
    const c = this.canon(s0, elem, line);
    if (s0.members.has(c.key) && opts.exist !== true) throw new IpsetError('IPSET_ELEMENT_EXISTS', "Element cannot be added to the set: it's already added", line);
    if (opts.nomatch === true && s0.type !== 'hash:net' && s0.type !== 'hash:ip,port,net') throw new IpsetError('IPSET_PARSE', 'Syntax error: Unknown argument: `nomatch\'', line);
    if (opts.timeout !== undefined && s0.timeout === undefined) throw new IpsetError('IPSET_PARSE', 'Kernel error received: ipset protocol error', line);
    const s = this.own(s0);
    s.members.set(c.key, opts.comment ?? '');
    if (s.timeout !== undefined) s.timeouts.set(c.key, opts.timeout ?? s.timeout);
    if (opts.nomatch === true) s.nomatch.add(c.key);
    else s.nomatch.delete(c.key);
    s.idx = undefined;
    if (c.prefix !== undefined) s.prefixes.add(c.prefix);
  }

  del(name: string, elem: string, opts: { exist?: boolean } = {}, line?: number): void {
    this.generation++;
    const s0 = this.set(name, line);
    const c = this.canon(s0, elem, line);
    if (!s0.members.has(c.key) && opts.exist !== true) throw new IpsetError('IPSET_NO_ELEMENT', "Element cannot be deleted from the set: it's not added", line);
    const s = this.own(s0);
    s.idx = undefined;
    s.timeouts.delete(c.key);
    s.nomatch.delete(c.key);
    s.members.delete(c.key);
  }

  flush(name?: string): void {
    this.generation++;
    for (const s0 of name === undefined ? [...this.sets.values()] : [this.set(name)]) {
      const s = this.own(s0);
      s.members.clear();
      s.timeouts.clear();
      s.nomatch.clear();
      s.idx = undefined;
    }
  }

  destroy(name?: string, line?: number): void {
    this.generation++;
    const victims = name === undefined ? [...this.sets.keys()] : [this.set(name, line).name];
    for (const v of victims) if (this.references(v) > 0) throw new IpsetError('IPSET_IN_USE', `Set cannot be destroyed: it is in use by a kernel component`, line);
    for (const v of victims) this.sets.delete(v);
  }

  swap(a: string, b: string, line?: number): void {
    this.generation++;
    const sa = this.set(a, line);
    const sb = this.set(b, line);
    if (sa.type !== sb.type) throw new IpsetError('IPSET_BAD_TYPE', 'The sets cannot be swapped: their type does not match', line);
    this.sets.set(a, { ...sb, name: a });
    this.sets.set(b, { ...sa, name: b });
  }

  /** `ipset restore [-exist]`: atomic; errors name the line. */
  restore(text: string, opts: { exist?: boolean } = {}): void {
    const before = this.share !== undefined ? new Map(this.sets) : undefined;
    this.restoreOwn(text, opts);
    if (before !== undefined) this.shareRestored(text, opts, before);
  }

  /**
   * After a restore, with a share: each set the restore named, if it started shared
   * (or absent), becomes the set another namespace made of the same set with the same
   * lines, or is kept in the share as that for the next namespace (share.ts). Nothing
   * is shared when a line names no set or two (swap, flush or destroy of all).
   */
  private shareRestored(text: string, opts: { exist?: boolean }, before: ReadonlyMap<string, IpSet>): void {
    const share = this.share as IpsetShare;
    const bySet = new Map<string, string[]>();
    for (const raw of text.split('\n')) {
      const t = raw.trim();
      if (t === '' || t.startsWith('#') || t === 'COMMIT') continue;
      const words = t.split(/\s+/);
      const [cmd, name] = words;
      if (name === undefined || cmd === 'swap' || cmd === '-W' || cmd === 'destroy' || cmd === '-X') return;
      let lines = bySet.get(name);
      if (lines === undefined) bySet.set(name, (lines = []));
      lines.push(t);
    }
    for (const [name, lines] of bySet) {
      const was = before.get(name);
      const now = this.sets.get(name);
      if (now === undefined || !share.startable(was)) continue;
      const key = `${opts.exist === true ? '-exist\n' : ''}${lines.join('\n')}`;
      const made = share.after(was, key);
      if (made !== undefined) this.sets.set(name, made as IpSet);
      else share.store(was, key, now);
    }
  }

  private restoreOwn(text: string, opts: { exist?: boolean }): void {
    const backup = new Map([...this.sets].map(([k, v]) => [k, { ...v, members: new Map(v.members), timeouts: new Map(v.timeouts), nomatch: new Set(v.nomatch), prefixes: new Set(v.prefixes), idx: undefined }]));
    try {
      text.split('\n').forEach((raw, i) => {
        const line = i + 1;
        const t = raw.trim();
        if (t === '' || t.startsWith('#') || t === 'COMMIT') return;
        const words: string[] = t.match(/"[^"]*"|\S+/g) ?? [];
        const [cmd, name, arg] = words;
        const exist = opts.exist === true || words.includes('-exist');
        const commentAt = words.indexOf('comment');
        const comment = commentAt >= 0 ? words[commentAt + 1]?.replace(/^"|"$/g, '') : undefined;
        const timeoutAt = words.indexOf('timeout');
        const timeoutWord = timeoutAt >= 0 ? words[timeoutAt + 1] : undefined;
        if (timeoutAt >= 0 && !/^\d+$/.test(timeoutWord ?? '')) throw new IpsetError('IPSET_PARSE', `Syntax error: '${timeoutWord ?? ''}' is invalid as number`, line);
        const timeout = timeoutWord !== undefined ? Number(timeoutWord) : undefined;
        switch (cmd) {
          case 'create':
          case '-N': {
            const rangeAt = words.indexOf('range');
            this.create(name ?? '', arg ?? '', { ...(rangeAt >= 0 && words[rangeAt + 1] !== undefined ? { range: words[rangeAt + 1] as string } : {}), comment: commentAt >= 0, ...(timeout !== undefined ? { timeout } : {}), exist }, line);
            return;
          }
          case 'add':
          case '-A':
            this.add(name ?? '', arg ?? '', { ...(comment !== undefined ? { comment } : {}), ...(timeout !== undefined ? { timeout } : {}), nomatch: words.includes('nomatch'), exist }, line);
            return;
          case 'del':
          case '-D':
            this.del(name ?? '', arg ?? '', { exist }, line);
            return;
          case 'flush':
          case '-F':
            this.flush(name);
            return;
          case 'destroy':
          case '-X':
            this.destroy(name, line);
            return;
          case 'swap':
          case '-W':
            this.swap(name ?? '', arg ?? '', line);
            return;
          default:
            throw new IpsetError('IPSET_PARSE', `Syntax error: unknown command '${cmd ?? ''}'`, line);
        }
      });
    } catch (e) {
      this.sets.clear();
      for (const [k, v] of backup) this.sets.set(k, v);
      this.generation++;
      throw e;
    }
  }

  /** Implements {@link IpsetLookup.test}: integer probes only (no strings on the packet path). */
  test(name: string, pkt: Packet, dirs: readonly ('src' | 'dst')[]): boolean {
    const s = this.sets.get(name);
    if (s === undefined || s.members.size === 0) return false;
    const idx = (s.idx ??= buildIndex(s));
    const b = pkt.buf;
    const o = pkt.off;
    const hl = Ipv4.headerLen(b, o);
    const proto = Ipv4.protocol(b, o);
    switch (s.type) {
      case 'hash:ip': return idx.keys.has(ipAt(b, o, dirs[0]));
      case 'hash:net': return inNetsNomatch(idx, ipAt(b, o, dirs[0]));
      case 'hash:ip,port': {
        const k = ipPort(pkt, hl, proto, dirs);
        return k >= 0 && idx.keys.has(k);
      }
      case 'hash:ip,port,ip': {
        const k = ipPort(pkt, hl, proto, dirs);
        return k >= 0 && (idx.pairs.get(k)?.has(ipAt(b, o, dirs[2])) ?? false);
      }
      case 'hash:ip,port,net': {
        const k = ipPort(pkt, hl, proto, dirs);
        return k >= 0 && inNets(s.prefixes, idx.pairs.get(k), ipAt(b, o, dirs[2]));
      }
      case 'bitmap:port': {
        if (pkt.len < hl + 4 || (proto !== 6 && proto !== 17)) return false;
        return idx.keys.has(readU16(b, o + hl + (dirs[0] === 'src' ? 0 : 2)));
      }
    }
  }

  /** `ipset test NAME ELEMENT`: whether the element (in add syntax) is in the set. */
  testElement(name: string, elem: string): boolean {
    const s = this.set(name);
    const key = this.canon(s, elem).key;
    return s.members.has(key) && !s.nomatch.has(key);
  }

  /** `ipset list [NAME]`. */
  list(name?: string): string {
    const sets = name === undefined ? [...this.sets.values()] : [this.set(name)];
    return sets.map((s) => {
      const members = orderedMembers(s).map(([k, c]) => memberText(s, k, c));
      return [`Name: ${s.name}`, `Type: ${s.type}`, `Revision: ${REVISION[s.type]}`, `Header: ${createOptions(s)}`, `Size in memory: ${memorySize(s)}`, `References: ${this.references(s.name)}`, `Number of entries: ${s.members.size}`, 'Members:', ...members].join('\n') + '\n';
    }).join('\n');
  }

  /** `ipset save`. */
  save(): string {
    const out: string[] = [];
    for (const s of this.sets.values()) {
      out.push(`create ${s.name} ${s.type} ${createOptions(s)}`);
      for (const [k, c] of orderedMembers(s)) out.push(`add ${s.name} ${memberText(s, k, c)}`);
    }
    return out.join('\n') + (out.length > 0 ? '\n' : '');
  }
}

/**
 * The create options as ipset 7.17 prints them (list "Header:" and save). Hash sets
 * report the defaults plus bucketsize 12 and the hash's initval, which the kernel
 * draws at random per set; here it is derived from the set name (FNV-1a) so runs stay
 * deterministic.
 */
function createOptions(s: IpSet): string {
  const comment = `${s.timeout !== undefined ? ` timeout ${s.timeout}` : ''}${s.comment ? ' comment' : ''}`;
  if (s.type === 'bitmap:port') return `range ${(s.range as [number, number])[0]}-${(s.range as [number, number])[1]}${comment}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.name.length; i++) h = Math.imul(h ^ s.name.charCodeAt(i), 0x01000193) >>> 0;
  return `family inet hashsize 1024 maxelem 65536${comment} bucketsize 12 initval 0x${h.toString(16).padStart(8, '0')}`;
}

/**
 * Per-set overhead and per-element cost of "Size in memory" as the kernel reports
 * them for IPv4 sets without extensions (measured with ipset 7.17 on 6.18: hash:ip,port
 * is 216 bytes empty and grows 48 bytes a member). Exact while every member has a
 * hash bucket of its own (small sets); the kernel's real figure for larger sets
 * depends on its random initval.
 */
const MEMORY: Record<Exclude<SetType, 'bitmap:port'>, [number, number]> = {
  'hash:ip': [216, 40], 'hash:net': [456, 48], 'hash:ip,port': [216, 48], 'hash:ip,port,ip': [208, 56], 'hash:ip,port,net': [464, 56],
};

function memorySize(s: IpSet): number {
  if (s.type === 'bitmap:port') {
    // One bit per port in the range, in whole 64-bit words, plus the set header.
    const [lo, hi] = s.range as [number, number];
    return Math.ceil((hi - lo + 1) / 64) * 8 + 72;
  }
  const [base, per] = MEMORY[s.type];
  // The timeout extension (measured: hash:ip and hash:net members take 64 bytes with it).
  return base + (s.timeout !== undefined ? Math.max(64, per + 16) : per) * s.members.size;
}

/** A member as `ipset list`/`save` print it: element, timeout, nomatch, comment. */
function memberText(s: IpSet, k: string, comment: string): string {
  const t = s.timeouts.get(k);
  return `${k}${t !== undefined ? ` timeout ${t}` : ''}${s.nomatch.has(k) ? ' nomatch' : ''}${comment !== '' ? ` comment "${comment}"` : ''}`;
}

/** Members in the order the kernel lists them: bitmap sets by port, hash sets as stored. */
function orderedMembers(s: IpSet): Array<[string, string]> {
  const m = [...s.members];
  return s.type === 'bitmap:port' ? m.sort((a, b) => Number(a[0]) - Number(b[0])) : m;
}

export { PROTO };

// Packet probes of IpsetTable.test, out of line (closures built per test would allocate on every packet).

function ipAt(b: Uint8Array, o: number, d: 'src' | 'dst' | undefined): number {
  return readU32(b, o + (d === 'src' ? 12 : 16));
}

/** ip,port key for the first two dimensions, or -1 when the packet has no port. */
function ipPort(pkt: Packet, hl: number, proto: number, dirs: readonly ('src' | 'dst')[]): number {
  const pi = PROTO_INDEX_BY_NUMBER[proto];
  if (pi === undefined || pi === 3 || pkt.len < hl + 4) return -1;
  const b = pkt.buf;
  const o = pkt.off;
  return ipPortKey(ipAt(b, o, dirs[0]), pi, readU16(b, o + hl + (dirs[1] === 'src' ? 0 : 2)));
}

/** hash:net lookup: the most specific stored prefix decides; a `nomatch` one is a miss (mtype_test_cidrs). */
function inNetsNomatch(idx: NumIndex, a: number): boolean {
  for (const len of idx.prefixes) {
    const k = netKey((a & maskOf(len)) >>> 0, len);
    if (idx.keys.has(k)) return !idx.nomatch.has(k);
  }
  return false;
}

function inNets(prefixes: Iterable<number>, set: ReadonlySet<number> | undefined, a: number): boolean {
  if (set === undefined) return false;
  for (const len of prefixes) if (set.has(netKey((a & maskOf(len)) >>> 0, len))) return true;
  return false;
}
