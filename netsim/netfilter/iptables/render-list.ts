/**
 * `iptables -t TABLE -L -n [-v] [--line-numbers]` as iptables 1.8 (nf_tables) prints
 * it: a header per chain (policy, and with -v its counters, for built-ins; reference
 * counts for user chains), the fixed column header, and per rule the line number,
 * the counters (with K/M/G units), target, protocol number, in/out devices (-v),
 * source and destination, `[goto] ` for -g, then each match's and the target's own
 * summary in libxtables' wording.
 */
import type { Chain, Match, Rule, Table, Target } from './model.ts';
import { chainOrder, formatProbability, limitRate, quote } from './render.ts';
import { formatIpv4 } from '../../wire/addr.ts';
import type { AddrMatch } from './model.ts';
import { ruleCounts } from './model.ts';

const HEADER_VERBOSE = ' pkts bytes target     prot opt in     out     source               destination         ';
const HEADER = 'target     prot opt source               destination         ';

export interface ListOptions {
  /** `-v`: counters and interfaces (default true: the listing the emulator always printed). */
  readonly verbose?: boolean;
  /** `--line-numbers`. */
  readonly lineNumbers?: boolean;
}

/** xtables_print_num with FMT_KILOMEGAGIGA. */
function num(n: number): string {
  if (n <= 99999) return `${String(n).padStart(5)} `;
  let v = n;
  for (const unit of ['K', 'M', 'G', 'T']) {
    v = Math.floor((v + 500) / 1000);
    if (v <= 9999) return `${String(v).padStart(4)}${unit} `;
  }
  return `${String(v).padStart(4)}P `;
}

function addr(a: AddrMatch | undefined): string {
  if (a === undefined) return ' 0.0.0.0/0'.padEnd(20) + ' ';
  const text = a.prefixLen === 32 ? formatIpv4(a.addr) : `${formatIpv4(a.addr)}/${a.prefixLen >= 0 ? a.prefixLen : formatIpv4(a.mask)}`;
  return `${a.invert ? '!' : ' '}${text.padEnd(19)} `;
}

function ports(label: string, r: { min: number; max: number; invert: boolean } | undefined): string {
  if (r === undefined) return '';
  const inv = r.invert ? '!' : '';
  return r.min === r.max ? ` ${label}:${inv}${r.min}` : ` ${label}s:${inv}${r.min}:${r.max}`;
}

function matchText(m: Match): string {
  switch (m.kind) {
    case 'comment': return ` /* ${m.comment} */`;
    // libxt_nfacct nfacct_print_name.
    case 'nfacct': return ` nfacct-name ${m.name}`;
    case 'tcp':
    case 'udp':
    case 'sctp': {
      let s = ` ${m.kind}${ports('spt', m.sport)}${ports('dpt', m.dport)}`;
      if (m.kind === 'tcp' && m.tcpFlags !== undefined) s += ` flags:${m.tcpFlags.invert ? '!' : ''}0x${m.tcpFlags.mask.toString(16).padStart(2, '0')}/0x${m.tcpFlags.cmp.toString(16).padStart(2, '0')}`;
      return s;
    }
    // libxt_icmp: " icmp", then " !" when inverted, then "type N" and " code C" for a single code.
    case 'icmp': return ` icmp${m.invert ? ' !' : ''}type ${m.type}${m.code !== undefined ? ` code ${m.code}` : ''}`;
    case 'multiport': return ` multiport ${m.dir} ${m.invert ? ' !' : ''}${m.ports.map(([a, b]) => (a === b ? String(a) : `${a}:${b}`)).join(',')}`;
    case 'mark': return ` mark match ${m.invert ? '! ' : ''}0x${m.value.toString(16)}${m.mask === 0xffffffff ? '' : `/0x${m.mask.toString(16)}`}`;
    case 'addrtype': {
      let s = ' ADDRTYPE match';
      if (m.src !== undefined) s += ` src-type ${m.src.invert ? '!' : ''}${m.src.types.join(',')}`;
      if (m.dst !== undefined) s += ` dst-type ${m.dst.invert ? '!' : ''}${m.dst.types.join(',')}`;
      if (m.limitIfaceIn === true) s += ' limit-in';
      if (m.limitIfaceOut === true) s += ' limit-out';
      return s;
    }
    case 'conntrack': return ` ${m.invert ? '! ' : ''}ctstate ${m.names.join(',')}`;
    case 'state': return ` ${m.invert ? '! ' : ''}state ${m.names.join(',')}`;
    case 'statistic':
      return m.mode === 'random'
        ? ` statistic mode random ${m.invert ? '! ' : ''}probability ${formatProbability(m.probability)}`
        : ` statistic mode nth ${m.invert ? '! ' : ''}every ${m.every}${m.packet !== 0 ? ` packet ${m.packet}` : ''}`;
    case 'recent': {
      const act = { set: 'SET', rcheck: 'CHECK', update: 'UPDATE', remove: 'REMOVE' }[m.action];
      let s = ` ${m.invert ? '! ' : ''}recent: ${act}`;
      if (m.seconds !== undefined) s += ` seconds: ${m.seconds}`;
      if (m.reap) s += ' reap';
      if (m.hitcount !== undefined) s += ` hit_count: ${m.hitcount}`;
      if (m.rttl) s += ' TTL-Match';
      s += ` name: ${m.name} side: ${m.side === 'rsource' ? 'source' : 'dest'} mask: ${formatIpv4(m.mask)}`;
      return s;
    }
    case 'set': return ` ${m.invert ? '! ' : ''}match-set ${m.name} ${m.dirs.join(',')}`;
    case 'limit': return ` limit: avg ${limitRate(m.avg)} burst ${m.burst}`;
    case 'physdev': {
      let s = ' PHYSDEV match';
      const neg = (f: { invert: boolean }): string => (f.invert ? ' !' : '');
      if (m.isIn !== undefined) s += `${neg(m.isIn)} --physdev-is-in`;
      if (m.in !== undefined) s += `${neg(m.in)} --physdev-in ${m.in.name}`;
      if (m.isOut !== undefined) s += `${neg(m.isOut)} --physdev-is-out`;
      if (m.out !== undefined) s += `${neg(m.out)} --physdev-out ${m.out.name}`;
      if (m.isBridged !== undefined) s += `${neg(m.isBridged)} --physdev-is-bridged`;
      return s;
    }
  }
}

function targetName(t: Target): string {
  // iptables-nft turns NOTRACK into the CT target.
  return t.kind === 'jump' || t.kind === 'goto' ? t.chain : t.kind === 'none' ? '' : t.kind === 'NOTRACK' ? 'CT' : t.kind;
}

function natRange(t: Extract<Target, { kind: 'DNAT' | 'SNAT' }>): string {
  const a = t.addrMin === t.addrMax ? formatIpv4(t.addrMin) : `${formatIpv4(t.addrMin)}-${formatIpv4(t.addrMax)}`;
  const p = t.portMin === undefined ? '' : t.portMax !== undefined && t.portMax !== t.portMin ? `:${t.portMin}-${t.portMax}` : `:${t.portMin}`;
  return `${a}${p}`;
}

function targetText(t: Target): string {
  switch (t.kind) {
    case 'REJECT': return ` reject-with ${t.with}`;
    case 'DNAT':
    case 'SNAT': return ` to:${natRange(t)}${t.random ? ' random' : ''}${t.randomFully ? ' random-fully' : ''}${t.persistent ? ' persistent' : ''}`;
    case 'MASQUERADE': return `${t.portMin !== undefined ? ` masq ports: ${t.portMin}${t.portMax !== undefined && t.portMax !== t.portMin ? `-${t.portMax}` : ''}` : ''}${t.random ? ' random' : ''}${t.randomFully ? ' random-fully' : ''}`;
    case 'REDIRECT': return `${t.portMin !== undefined ? ` redir ports ${t.portMin}${t.portMax !== undefined && t.portMax !== t.portMin ? `-${t.portMax}` : ''}` : ''}${t.random ? ' random' : ''}`;
    case 'MARK': return ` MARK ${xmark(t.value, t.mask)}`;
    case 'CONNMARK': {
      if (t.mode === 'set') return ` CONNMARK ${xmark(t.value, t.mask)}`;
      const masks = t.nfmask === 0xffffffff && t.ctmask === 0xffffffff ? '' : t.nfmask === t.ctmask ? ` mask ${hex(t.nfmask)}` : ` nfmask ${hex(t.nfmask)} ctmask ~${hex(t.ctmask)}`;
      return ` CONNMARK ${t.mode}${masks}`;
    }
    case 'NOTRACK': return t.ct ? ' CT notrack' : ' NOTRACK';
    case 'NFLOG': return `${t.prefix !== undefined ? ` nflog-prefix ${quote(t.prefix)}` : ''}${t.group !== 0 ? ` nflog-group ${t.group}` : ''}`;
    case 'LOG': return ` LOG flags ${t.flags} level ${t.level}${t.prefix !== undefined && t.prefix !== '' ? ` prefix "${t.prefix}"` : ''}`;
    default: return '';
  }
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/** MARK/CONNMARK value/mask in libxt_MARK's words: and, or, xor, set or xset. */
function xmark(value: number, mask: number): string {
  if (value === 0) return `and ${hex(~mask)}`;
  if (value === mask) return `or ${hex(value)}`;
  if (mask === 0) return `xor ${hex(value)}`;
  if (mask === 0xffffffff) return `set ${hex(value)}`;
  return `xset ${hex(value)}/${hex(mask)}`;
}

function ruleLine(r: Rule, counts: { packets: number; bytes: number }, n: number, opts: ListOptions): string {
  const target = targetName(r.target);
  const proto = `${r.proto?.invert === true ? '!' : ' '}${String(r.proto?.num ?? 0).padEnd(4)} `;
  // print_ifaces: " %-6s " for in and "%-6s " for out, the name prefixed with '!' when inverted.
  const name = (i: { name: string; invert: boolean } | undefined): string => (i === undefined ? '*' : `${i.invert ? '!' : ''}${i.name}`);
  // Fields are padded exactly as print_rule_details does, trailing spaces included.
  const lineNo = opts.lineNumbers === true ? `${String(n).padEnd(4)} ` : '';
  const counters = opts.verbose !== false ? `${num(counts.packets)}${num(counts.bytes)}` : '';
  const ifaces = opts.verbose !== false ? `  ${name(r.inIface).padEnd(6)} ${name(r.outIface).padEnd(6)} ` : ' ';
  const goto = r.target.kind === 'goto' ? '[goto] ' : '';
  return `${lineNo}${counters}${target.padEnd(9)} ${proto}--${ifaces}${addr(r.src)}${addr(r.dst)}${goto}${r.matches.map(matchText).join('')}${targetText(r.target)}`;
}

function references(t: Table, name: string): number {
  let n = 0;
  for (const c of t.chains.values()) for (const r of c.rules) if ((r.target.kind === 'jump' || r.target.kind === 'goto') && r.target.chain === name) n++;
  return n;
}

function chainBlock(t: Table, c: Chain, opts: ListOptions): string[] {
  const verbose = opts.verbose !== false;
  const policy = verbose ? `policy ${c.policy} ${c.packets} packets, ${c.bytes} bytes` : `policy ${c.policy}`;
  const head = c.policy !== undefined ? `Chain ${c.name} (${policy})` : `Chain ${c.name} (${references(t, c.name)} references)`;
  const columns = `${opts.lineNumbers === true ? 'num  ' : ''}${verbose ? HEADER_VERBOSE : HEADER}`;
  return [head, columns, ...c.rules.map((r, i) => ruleLine(r, ruleCounts(c, i), i + 1, opts))];
}

/** `iptables -t TABLE -L -n -v` (the default), or without -v / with --line-numbers. */
export function renderList(t: Table, opts: ListOptions = {}): string {
  return chainOrder(t).map((c) => chainBlock(t, c, opts).join('\n')).join('\n\n') + '\n';
}
