/**
 * nft_do_chain: one base chain for one packet. Rules run in order; a statement that
 * does not match ends the rule (NFT_BREAK); `jump` pushes a return point (at most 16,
 * NFT_JUMP_STACK_SIZE), `goto` does not, `return` and the end of a regular chain pop
 * one, and the base chain's end applies its policy. accept and drop end the chain;
 * NAT statements end it with accept once they have set the mapping (nft_nat_eval);
 * reject ends it with drop. A verdict map lookup is one expression of its rule, so
 * the cost reported (`rulesEvaluated`) counts rules, whatever the size of the maps.
 *
 * Set lookups hash the packet's key (`keyText`); interval sets are scanned. Elements
 * of sets with timeouts are absent once expired; `update @set { … }` adds or
 * refreshes one from the packet path, as nft_dynset does.
 */
import type { Packet } from '../../packet/packet.ts';
import { Ipv4, L4 } from '../../wire/ipv4.ts';
import type { AddrType, NatRequest } from '../eval-types.ts';
import type { Rng } from '../../time/rng.ts';
import type { Ipv4Addr } from '../../wire/addr.ts';
import type { Atom, Chain, NftSet, Rhs, Rule, Scalar, Selector, SetElem, Stmt, Table, Verdict } from './model.ts';
import { keyText } from './values.ts';

/** What an evaluation may read besides the packet (filled by the hook operation). */
export interface NftEnv {
  inDev: string | undefined;
  outDev: string | undefined;
  /** `ct state` bits in nft's encoding (invalid 1, established 2, related 4, new 8, untracked 64). */
  ctState: number;
  /** `ct status` bits (snat 16, dnat 32, …). */
  ctStatus: number;
  ctMark: number;
  /** Sets the connection's mark (`ct mark set`); absent without a connection. */
  setCtMark: ((m: number) => void) | undefined;
  /** `notrack`: marks the packet untracked (nft_notrack_eval); absent where nothing tracks. */
  untrack?: ((pkt: Packet) => void) | undefined;
  now: number;
  rng: Rng;
  addrType(a: Ipv4Addr): AddrType;
  /** Called for each rule whose statements all ran, and for the policy (handle 0): what `nft monitor trace` shows. */
  onRule: ((chain: Chain, rule: Rule | undefined, verdict: string) => void) | undefined;
  onLog: ((chain: Chain, rule: Rule, prefix: string, level: string) => void) | undefined;
}

export interface NftResult {
  readonly verdict: 'ACCEPT' | 'DROP';
  /** Set when `reject` fired: iptables' --reject-with names (`icmp-port-unreachable`, `tcp-reset`, …). */
  readonly rejectWith?: string;
  readonly nat?: NatRequest;
  /** The chain and rule handle that decided (handle 0: the base chain's policy). */
  readonly chain: string;
  readonly handle: number;
  readonly rulesEvaluated: number;
}

const FIB_TYPE: Record<AddrType, number> = {
  UNSPEC: 0, UNICAST: 1, LOCAL: 2, BROADCAST: 3, ANYCAST: 4, MULTICAST: 5, BLACKHOLE: 6, UNREACHABLE: 7, PROHIBIT: 8,
};

const REJECT_ICMP: Record<string, string> = {
  'net-unreachable': 'icmp-net-unreachable', 'host-unreachable': 'icmp-host-unreachable', 'prot-unreachable': 'icmp-proto-unreachable',
  'port-unreachable': 'icmp-port-unreachable', 'net-prohibited': 'icmp-net-prohibited', 'host-prohibited': 'icmp-host-prohibited',
  'admin-prohibited': 'icmp-admin-prohibited', 'no-route': 'icmp-net-unreachable',
};

const JUMP_STACK = 16;
const ACCEPT: Verdict = { kind: 'accept' };
const DROP: Verdict = { kind: 'drop' };

/** What a selector reads from the packet, or undefined when the packet has no such field (the rule breaks). */
function read(sel: Selector, pkt: Packet, env: NftEnv): Scalar | undefined {
  const b = pkt.buf;
  switch (sel.kind) {
    case 'ip saddr': return Ipv4.src(b, pkt.nh);
    case 'ip daddr': return Ipv4.dst(b, pkt.nh);
    case 'ip protocol':
    case 'meta l4proto': return pkt.l4proto;
    case 'ip ttl': return Ipv4.ttl(b, pkt.nh);
    case 'tcp sport': return pkt.l4proto === 6 && hasPorts(pkt) ? L4.srcPort(b, pkt.th) : undefined;
    case 'tcp dport': return pkt.l4proto === 6 && hasPorts(pkt) ? L4.dstPort(b, pkt.th) : undefined;
    case 'udp sport': return pkt.l4proto === 17 && hasPorts(pkt) ? L4.srcPort(b, pkt.th) : undefined;
    case 'udp dport': return pkt.l4proto === 17 && hasPorts(pkt) ? L4.dstPort(b, pkt.th) : undefined;
    case 'th sport': return hasPorts(pkt) ? L4.srcPort(b, pkt.th) : undefined;
    case 'th dport': return hasPorts(pkt) ? L4.dstPort(b, pkt.th) : undefined;
    case 'meta iifname': return env.inDev;
    case 'meta oifname': return env.outDev;
    case 'meta mark': return pkt.mark >>> 0;
    case 'meta nfproto': return 2;
    case 'ct state': return env.ctState;
    case 'ct status': return env.ctStatus;
    case 'ct mark': return env.ctMark >>> 0;
    case 'fib saddr type': return FIB_TYPE[env.addrType(Ipv4.src(b, pkt.nh))];
    case 'fib daddr type': return FIB_TYPE[env.addrType(Ipv4.dst(b, pkt.nh))];
    case 'numgen': return env.rng.int(sel.mod ?? 1) + (sel.offset ?? 0);
  }
}

/** A first fragment or an unfragmented packet with room for the ports (the transport header is there). */
function hasPorts(pkt: Packet): boolean {
  return Ipv4.fragOffset(pkt.buf, pkt.nh) === 0 && pkt.th + 4 <= pkt.nh + pkt.len;
}

function inAtom(v: Scalar, a: Atom): boolean {
  return v === a.lo || (typeof v === 'number' && v >= (a.lo as number) && v <= (a.hi as number));
}

/** The packet's key for a hashed (non-interval) set, as keyText writes element keys; undefined if a value is missing. */
function packetKey(sels: readonly Selector[], pkt: Packet, env: NftEnv): string | undefined {
  let k = '';
  for (let i = 0; i < sels.length; i++) {
    const v = read(sels[i] as Selector, pkt, env);
    if (v === undefined) return undefined;
    k = i === 0 ? String(v) : `${k} . ${String(v)}`;
  }
  return k;
}

/** The element of `set` for the packet (not expired), or undefined. */
function lookupPacket(set: NftSet, sels: readonly Selector[], pkt: Packet, env: NftEnv): SetElem | undefined {
  if (isInterval(set)) {
    const key = readKey(sels, pkt, env);
    return key === undefined ? undefined : lookup(set, key, env.now);
  }
  const k = packetKey(sels, pkt, env);
  const e = k === undefined ? undefined : set.elems.get(k);
  return e !== undefined && e.expires !== undefined && e.expires <= env.now ? undefined : e;
}

const intervalSets = new WeakMap<NftSet, boolean>();

function isInterval(set: NftSet): boolean {
  let v = intervalSets.get(set);
  if (v === undefined) {
    v = set.flags.includes('interval');
    intervalSets.set(set, v);
  }
  return v;
}

/** The packet's values for a concatenation, or undefined if one is missing. */
function readKey(sels: readonly Selector[], pkt: Packet, env: NftEnv): Scalar[] | undefined {
  const out: Scalar[] = [];
  for (const s of sels) {
    const v = read(s, pkt, env);
    if (v === undefined) return undefined;
    out.push(v);
  }
  return out;
}

/** The element of `set` holding `key` (not expired), or undefined. */
export function lookup(set: NftSet, key: readonly Scalar[], now: number): SetElem | undefined {
  let e: SetElem | undefined;
  if (!isInterval(set)) {
    e = set.elems.get(key.length === 1 ? String(key[0]) : key.map(String).join(' . '));
  } else {
    for (const x of set.elems.values()) {
      let hit = true;
      for (let i = 0; i < key.length && hit; i++) hit = inAtom(key[i] as Scalar, x.key[i] as Atom);
      if (hit) { e = x; break; }
    }
  }
  if (e !== undefined && e.expires !== undefined && e.expires <= now) return undefined;
  return e;
}

function setOf(rhs: Rhs, table: Table): NftSet | undefined {
  return rhs.kind === 'set' ? rhs.set : rhs.kind === 'named' ? table.sets.get(rhs.name) : undefined;
}

function compare(v: Scalar, op: string, a: Atom): boolean {
  switch (op) {
    case '==': return inAtom(v, a);
    case '!=': return !inAtom(v, a);
    case '<': return v < a.lo;
    case '>': return v > a.hi;
    case '<=': return v <= a.hi;
    default: return v >= a.lo;
  }
}

function matches(s: Extract<Stmt, { kind: 'match' }>, pkt: Packet, env: NftEnv, table: Table): boolean {
  const rhs = s.rhs;
  if (s.sels.length === 1) {
    let v = read(s.sels[0] as Selector, pkt, env);
    if (v === undefined) return false;
    if (s.mask !== undefined) v = ((v as number) & s.mask) >>> 0;
    if (rhs.kind === 'flags') return s.op === '!=' ? ((v as number) & rhs.bits) === 0 : ((v as number) & rhs.bits) !== 0;
    if (rhs.kind === 'value') return compare(v, s.op, rhs.atoms[0] as Atom);
    const set = setOf(rhs, table);
    const hit = set !== undefined && (isInterval(set) ? lookup(set, [v], env.now) : lookupPacket(set, s.sels, pkt, env)) !== undefined;
    return s.op === '!=' ? !hit : hit;
  }
  if (rhs.kind !== 'value') {
    const set = setOf(rhs, table);
    const hit = set !== undefined && lookupPacket(set, s.sels, pkt, env) !== undefined;
    return s.op === '!=' ? !hit : hit;
  }
  const key = readKey(s.sels, pkt, env);
  if (key === undefined) return false;
  const eq = key.every((v, i) => inAtom(v, rhs.atoms[i] as Atom));
  return s.op === '!=' ? !eq : eq;
}

const natRequests = new WeakMap<Stmt, NatRequest>();

/** The NAT request of a statement, made once per statement. */
function natRequest(s: Extract<Stmt, { kind: 'nat' }>): NatRequest {
  let r = natRequests.get(s);
  if (r === undefined) {
    r = makeNatRequest(s);
    natRequests.set(s, r);
  }
  return r;
}

function makeNatRequest(s: Extract<Stmt, { kind: 'nat' }>): NatRequest {
  const kind = s.nat === 'dnat' ? 'DNAT' : s.nat === 'snat' ? 'SNAT' : s.nat === 'masquerade' ? 'MASQUERADE' : 'REDIRECT';
  return {
    kind,
    ...(s.addrLo !== undefined ? { addrMin: s.addrLo, addrMax: s.addrHi ?? s.addrLo } : {}),
    ...(s.portLo !== undefined ? { portMin: s.portLo, portMax: s.portHi ?? s.portLo } : {}),
    ...(s.flags.includes('random') ? { random: true } : {}),
    ...(s.flags.includes('fully-random') ? { randomFully: true } : {}),
    ...(s.flags.includes('persistent') ? { persistent: true } : {}),
  };
}

interface Frame {
  chain: Chain;
  next: number;
}

/** nft_do_chain over `base` (a base chain of `table`). */
export function evaluateBaseChain(table: Table, base: Chain, pkt: Packet, env: NftEnv): NftResult {
  const stack: Frame[] = [];
  let chain = base;
  let i = 0;
  let evaluated = 0;
  for (;;) {
    if (i >= chain.rules.length) {
      const up = stack.pop();
      if (up === undefined) break;
      chain = up.chain;
      i = up.next;
      continue;
    }
    const rule = chain.rules[i] as Rule;
    i++;
    evaluated++;
    let verdict: Verdict | undefined;
    let broke = false;
    let nat: NatRequest | undefined;
    let rejectWith: string | undefined;
    for (const s of rule.stmts) {
      switch (s.kind) {
        case 'match':
          if (!matches(s, pkt, env, table)) broke = true;
          break;
        case 'vmap': {
          const set = setOf(s.map, table);
          const e = set !== undefined ? lookupPacket(set, s.sels, pkt, env) : undefined;
          if (e === undefined || typeof e.data !== 'object') broke = true;
          else verdict = e.data;
          break;
        }
        case 'verdict':
          verdict = s.verdict;
          break;
        case 'counter':
          s.packets++;
          s.bytes += pkt.len;
          break;
        case 'log':
          env.onLog?.(chain, rule, s.prefix ?? '', s.level ?? 'warn');
          break;
        case 'reject':
          // nft adds the protocol dependency of `reject with tcp reset` (a TCP packet) to the rule.
          if (s.with?.type === 'tcp') {
            if (pkt.l4proto !== 6) { broke = true; break; }
            rejectWith = 'tcp-reset';
          } else {
            rejectWith = REJECT_ICMP[s.with?.code ?? 'port-unreachable'] ?? 'icmp-port-unreachable';
          }
          verdict = DROP;
          break;
        case 'nat':
          nat = natRequest(s);
          verdict = ACCEPT;
          break;
        case 'mark set': {
          const src = s.source === undefined ? s.value : s.source === 'meta mark' ? pkt.mark >>> 0 : env.ctMark >>> 0;
          const v = s.op === undefined ? src : s.op === '|' ? src | s.value : s.op === '^' ? src ^ s.value : src & s.value;
          if (s.target === 'meta mark') pkt.mark = v >>> 0;
          else env.setCtMark?.(v >>> 0);
          break;
        }
        case 'set update': {
          const set = table.sets.get(s.setName);
          const key = readKey(s.sels, pkt, env);
          if (set === undefined || key === undefined) { broke = true; break; }
          const timeout = s.timeout ?? set.timeout;
          const atoms = key.map((v) => ({ lo: v, hi: v }));
          const k = keyText(atoms);
          const old = set.elems.get(k);
          const expires = timeout !== undefined ? env.now + timeout * 1e6 : undefined;
          if (old === undefined || (old.expires !== undefined && old.expires <= env.now)) {
            set.elems.set(k, { key: atoms, ...(timeout !== undefined && timeout !== set.timeout ? { timeout } : {}), ...(expires !== undefined ? { expires } : {}) });
          } else if (s.op === 'update' && expires !== undefined) {
            old.expires = expires;
          }
          break;
        }
        case 'notrack':
          env.untrack?.(pkt);
          break;
      }
      if (broke || verdict !== undefined) break;
    }
    if (broke) continue;
    env.onRule?.(chain, rule, verdict !== undefined ? renderVerdictText(verdict, nat, rejectWith) : 'continue');
    if (verdict === undefined || verdict.kind === 'continue') continue;
    switch (verdict.kind) {
      case 'accept':
        return { verdict: 'ACCEPT', ...(nat !== undefined ? { nat } : {}), chain: chain.name, handle: rule.handle, rulesEvaluated: evaluated };
      case 'drop':
        return { verdict: 'DROP', ...(rejectWith !== undefined ? { rejectWith } : {}), chain: chain.name, handle: rule.handle, rulesEvaluated: evaluated };
      case 'return': {
        const up = stack.pop();
        if (up === undefined) { i = chain.rules.length; stack.length = 0; chain = base; i = base.rules.length; break; }
        chain = up.chain;
        i = up.next;
        break;
      }
      case 'jump':
      case 'goto': {
        const target = table.chains.get(verdict.chain ?? '');
        if (target === undefined) break;
        if (verdict.kind === 'jump') {
          if (stack.length >= JUMP_STACK) return { verdict: 'DROP', chain: chain.name, handle: rule.handle, rulesEvaluated: evaluated };
          stack.push({ chain, next: i });
        }
        chain = target;
        i = 0;
        break;
      }
    }
  }
  const policy = base.base?.policy ?? 'accept';
  env.onRule?.(base, undefined, policy);
  return { verdict: policy === 'drop' ? 'DROP' : 'ACCEPT', chain: base.name, handle: 0, rulesEvaluated: evaluated };
}

function renderVerdictText(v: Verdict, nat: NatRequest | undefined, rejectWith: string | undefined): string {
  if (nat !== undefined) return nat.kind.toLowerCase();
  if (rejectWith !== undefined) return `reject ${rejectWith}`;
  return v.chain !== undefined ? `${v.kind} ${v.chain}` : v.kind;
}
