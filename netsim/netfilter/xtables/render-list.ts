/**
 * `iptables -t TABLE -L [CHAIN] -n [-v] [--line-numbers]` as iptables 1.8.9
 * (nf_tables) prints it: a header per chain, fixed-width columns, the protocol as a
 * number (a 1.8.9 quirk, fixed in 1.8.10), then each match's and the target's
 * summary in libxtables' own words (`tcp dpt:80`, `/* comment *\/`, `MARK or 0x4000`).
 * Only numeric output (-n) is modelled.
 */
import { ADDRTYPE_NAMES, CT_STATE_ORDER } from './matches.ts';
import type { AddrMatch, Chain, Match, PortRange, Rule, Table, TableName, Target } from './model.ts';
import { targetChain } from './model.ts';
import { formatNatRange, formatProbability } from './render-rule.ts';
import { chainsInSaveOrder } from './render.ts';
import { formatAddr, formatPortRange, hex } from './values.ts';

export interface ListOptions {
  /** `-v`: counters and interfaces. */
  readonly verbose?: boolean;
  /** `--line-numbers`. */
  readonly lineNumbers?: boolean;
  /** List only this chain. */
  readonly chain?: string;
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

/** xtables_print_num with K/M/G/T suffixes (FMT_KILOMEGAGIGA). */
export function formatCount(n: number): string {
  if (n <= 99999) return lpad(String(n), 5);
  const units = ['K', 'M', 'G', 'T'];
  let v = n;
  for (const u of units) {
    v = Math.floor((v + 500) / 1000);
    if (v <= 9999 || u === 'T') return lpad(String(v), 4) + u;
  }
  return String(n);
}

function addr(a: AddrMatch | undefined): string {
  if (!a) return ' ' + pad('0.0.0.0/0', 19);
  const host = a.mask === 0xffffffff;
  const p = maskLen(a.mask);
  const s = host ? formatAddr(a.addr) : `${formatAddr(a.addr)}/${p >= 0 ? p : formatAddr(a.mask)}`;
  return (a.invert ? '!' : ' ') + pad(s, 19);
}

function maskLen(m: number): number {
  const inv = ~m >>> 0;
  if ((inv & (inv + 1)) !== 0) return -1;
  let n = 0;
  for (let b = m >>> 0; b !== 0; b = (b << 1) >>> 0) n++;
  return n;
}

function ports(name: string, r: PortRange | undefined, inv: boolean): string {
  if (!r) return '';
  const one = r.min === r.max;
  return ` ${name}${one ? 't' : 'ts'}:${inv ? '!' : ''}${one ? r.min : `${r.min}:${r.max}`}`;
}

const hex2 = (v: number): string => `0x${v.toString(16).toUpperCase().padStart(2, '0')}`;

function matchText(m: Match): string {
  switch (m.kind) {
    case 'tcp': case 'udp': {
      let s = ` ${m.kind}${ports('sp', m.sport, m.sportInvert)}${ports('dp', m.dport, m.dportInvert)}`;
      if (m.flags) s += ` flags:${m.flags.invert ? '!' : ''}${hex2(m.flags.mask)}/${hex2(m.flags.comp)}`;
      return s;
    }
    case 'icmp': {
      let s = m.invert ? ` icmp !type ${m.type}` : ` icmptype ${m.type}`;
      if (m.codeMin === m.codeMax) s += ` code ${m.codeMin}`;
      else if (m.codeMin !== 0 || m.codeMax !== 0xff) s += ` codes ${m.codeMin}-${m.codeMax}`;
      return s;
    }
    case 'multiport': {
      const opt = m.dir === 'src' ? 'sports' : m.dir === 'dst' ? 'dports' : 'ports';
      return ` multiport ${opt} ${m.invert ? ' !' : ''}${m.ports.map((p) => formatPortRange(p)).join(',')}`;
    }
    case 'comment':
      return ` /* ${m.text} */`;
    case 'mark':
      return ` mark match ${m.invert ? '! ' : ''}${hex(m.value)}${m.mask === 0xffffffff ? '' : `/${hex(m.mask)}`}`;
    case 'addrtype': {
      const types = (b: number) => ADDRTYPE_NAMES.filter((_, i) => (b & (1 << i)) !== 0).join(',');
      let s = ' ADDRTYPE match';
      if (m.srcTypes) s += ` src-type ${m.srcInvert ? '!' : ''}${types(m.srcTypes)}`;
      if (m.dstTypes) s += ` dst-type ${m.dstInvert ? '!' : ''}${types(m.dstTypes)}`;
      if (m.limitIfaceIn) s += ' limit-in';
      if (m.limitIfaceOut) s += ' limit-out';
      return s;
    }
    case 'conntrack': case 'state': {
      const names = CT_STATE_ORDER.filter(([, b]) => (m.states & b) !== 0).map(([n]) => n).join(',');
      return ` ${m.invert ? '! ' : ''}${m.kind === 'conntrack' ? 'ctstate' : 'state'} ${names}`;
    }
    case 'statistic':
      if (m.mode === 'random') return ` statistic mode random ${m.invert ? '! ' : ''}probability ${formatProbability(m.probability)}`;
      return ` statistic mode nth ${m.invert ? '! ' : ''}every ${m.every}${m.packet ? ` packet ${m.packet}` : ''}`;
    case 'recent': {
      const cmd = { set: 'SET', rcheck: 'CHECK', update: 'UPDATE', remove: 'REMOVE' }[m.command];
      let s = `${m.invert ? ' !' : ''} recent: ${cmd}`;
      if (m.seconds) s += ` seconds: ${m.seconds}`;
      if (m.reap) s += ' reap';
      if (m.hitcount) s += ` hit_count: ${m.hitcount}`;
      if (m.rttl) s += ' TTL-Match';
      s += ` name: ${m.name} side: ${m.side === 'src' ? 'source' : 'dest'} mask: ${formatAddr(m.mask)}`;
      return s;
    }
    case 'set':
      return ` ${m.invert ? '! ' : ''}match-set ${m.name} ${m.dirs.join(',')}`;
    case 'physdev': {
      let s = ' PHYSDEV match';
      if (m.isIn) s += `${m.isInInvert ? ' !' : ''} --physdev-is-in`;
      if (m.physIn) s += `${m.physIn.invert ? ' !' : ''} --physdev-in ${m.physIn.name}`;
      if (m.isOut) s += `${m.isOutInvert ? ' !' : ''} --physdev-is-out`;
      if (m.physOut) s += `${m.physOut.invert ? ' !' : ''} --physdev-out ${m.physOut.name}`;
      if (m.isBridged) s += `${m.isBridgedInvert ? ' !' : ''} --physdev-is-bridged`;
      return s;
    }
  }
}

function xmarkText(prefix: string, value: number, mask: number): string {
  if (value === 0) return ` ${prefix} and ${hex(~mask >>> 0)}`;
  if (value === mask) return ` ${prefix} or ${hex(value)}`;
  if (mask === 0) return ` ${prefix} xor ${hex(value)}`;
  if (mask === 0xffffffff) return ` ${prefix} set ${hex(value)}`;
  return ` ${prefix} xset ${hex(value)}/${hex(mask)}`;
}

function targetName(t: Target): string {
  switch (t.kind) {
    case 'none': return '';
    case 'jump': case 'goto': return t.chain;
    case 'NOTRACK': return 'CT';
    default: return t.kind;
  }
}

function targetText(t: Target): string {
  switch (t.kind) {
    case 'REJECT': return ` reject-with ${t.with}`;
    case 'DNAT': case 'SNAT':
      return ` to:${formatNatRange(t.range)}${t.random ? ' random' : ''}${t.randomFully ? ' random-fully' : ''}${t.persistent ? ' persistent' : ''}`;
    case 'MASQUERADE': {
      let s = t.portMin !== undefined ? ` masq ports: ${formatPortRange({ min: t.portMin, max: t.portMax ?? t.portMin }, '-')}` : '';
      if (t.random) s += ' random';
      if (t.randomFully) s += ' random-fully';
      return s;
    }
    case 'REDIRECT': {
      let s = t.portMin !== undefined ? ` redir ports ${formatPortRange({ min: t.portMin, max: t.portMax ?? t.portMin }, '-')}` : '';
      if (t.random) s += ' random';
      return s;
    }
    case 'MARK': return xmarkText('MARK', t.value, t.mask);
    case 'CONNMARK': return t.mode === 'set' ? xmarkText('CONNMARK', t.value, t.mask) : ` CONNMARK ${t.mode}`;
    case 'LOG': return ` LOG flags ${t.flags} level ${t.level}${t.prefix !== '' ? ` prefix "${t.prefix}"` : ''}`;
    case 'NOTRACK': return ' NOTRACK';
    case 'CT': return ' CT notrack';
    default: return '';
  }
}

function row(r: Rule, num: number, opts: ListOptions): string {
  let s = opts.lineNumbers ? pad(String(num), 4) + ' ' : '';
  if (opts.verbose) s += `${formatCount(r.packets)} ${formatCount(r.bytes)} `;
  s += pad(targetName(r.target), 9) + ' ';
  s += (r.protoInvert ? '!' : ' ') + pad(String(r.proto), 5);
  s += '-- ';
  if (opts.verbose) {
    const i = r.inIface ? (r.inIface.invert ? '!' : '') + r.inIface.name : '*';
    const o = r.outIface ? (r.outIface.invert ? '!' : '') + r.outIface.name : '*';
    s += ` ${pad(i, 6)} ${pad(o, 6)} `;
  }
  s += addr(r.src) + ' ' + addr(r.dst) + ' ';
  if (r.target.kind === 'goto') s += '[goto] ';
  for (const m of r.matches) s += matchText(m);
  s += targetText(r.target);
  return s;
}

function header(opts: ListOptions): string {
  let s = opts.lineNumbers ? 'num  ' : '';
  if (opts.verbose) s += ' pkts bytes ';
  s += 'target     prot opt ';
  if (opts.verbose) s += 'in     out     ';
  return s + 'source               destination         ';
}

function references(t: Table, name: string): number {
  let n = 0;
  for (const c of t.chains.values()) for (const r of c.rules) if (targetChain(r.target) === name) n++;
  return n;
}

function chainTitle(t: Table, c: Chain, opts: ListOptions): string {
  if (!c.builtin) return `Chain ${c.name} (${references(t, c.name)} references)`;
  return opts.verbose
    ? `Chain ${c.name} (policy ${c.policy} ${c.packets} packets, ${c.bytes} bytes)`
    : `Chain ${c.name} (policy ${c.policy})`;
}

export function renderList(t: Table | undefined, table: TableName, opts: ListOptions = {}): string {
  const tbl: Table = t ?? { name: table, chains: new Map() };
  const chains = chainsInSaveOrder(tbl).filter((c) => opts.chain === undefined || c.name === opts.chain);
  const blocks = chains.map((c) => [chainTitle(tbl, c, opts), header(opts), ...c.rules.map((r, i) => row(r, i + 1, opts))].join('\n'));
  return blocks.join('\n\n') + (blocks.length ? '\n' : '');
}
