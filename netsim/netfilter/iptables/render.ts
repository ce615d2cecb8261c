/**
 * Render rules and tables exactly as `iptables-save` (v1.8, nf_tables) prints them
 * after an `iptables-restore`: core fields first (`-s`, `-d`, `-i`, `-o`, `-p`),
 * then the matches in the order they were given, then the target; addresses with
 * their prefix length (or a dotted mask when it is not contiguous); strings bare or
 * quoted as xtables_save_string decides; MARK variants as `--set-xmark
 * value/mask`; statistic probabilities re-printed from the kernel's fixed-point
 * value with 11 decimals; implicit defaults made explicit (REJECT's
 * `--reject-with`, recent's `--mask` and `--rsource`).
 */
import type { AddrMatch, Chain, Match, Rule, Table, Target, TableName } from './model.ts';
import { LOG_FLAGS, TABLE_CHAINS, XT_LIMIT_SCALE, ruleCounts } from './model.ts';
import { formatIpv4 } from '../../wire/addr.ts';

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/**
 * A string argument as iptables-save prints it (xtables_save_string): bare when it
 * is only letters, digits, `_` and `-`; otherwise in double quotes with `"`, `\`
 * and `'` escaped by a backslash.
 */
export function quote(s: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(s)) return s;
  return `"${s.replace(/["\\']/g, (ch) => `\\${ch}`)}"`;
}

const neg = (inv: boolean): string => (inv ? '! ' : '');

function range(min: number, max: number): string {
  return min === max ? String(min) : `${min}:${max}`;
}

function renderMatch(m: Match): string {
  switch (m.kind) {
    case 'comment': return `-m comment --comment ${quote(m.comment)}`;
    case 'nfacct': return `-m nfacct --nfacct-name ${m.name}`;
    case 'tcp':
    case 'udp':
    case 'sctp': {
      const p = [`-m ${m.kind}`];
      if (m.sport !== undefined) p.push(`${neg(m.sport.invert)}--sport ${range(m.sport.min, m.sport.max)}`);
      if (m.dport !== undefined) p.push(`${neg(m.dport.invert)}--dport ${range(m.dport.min, m.dport.max)}`);
      if (m.kind === 'tcp' && m.tcpFlags !== undefined) {
        const names = (bits: number): string => bits === 0 ? 'NONE' : ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'].filter((_, i) => bits & (1 << i)).join(',');
        p.push(`${neg(m.tcpFlags.invert)}--tcp-flags ${names(m.tcpFlags.mask)} ${names(m.tcpFlags.cmp)}`);
      }
      return p.join(' ');
    }
    case 'icmp': return `-m icmp ${neg(m.invert)}--icmp-type ${m.type === 255 ? 'any' : m.code !== undefined ? `${m.type}/${m.code}` : m.type}`;
    case 'multiport': return `-m multiport ${neg(m.invert)}--${m.dir} ${m.ports.map(([a, b]) => range(a, b)).join(',')}`;
    case 'mark': return `-m mark ${neg(m.invert)}--mark ${hex(m.value)}${m.mask === 0xffffffff ? '' : `/${hex(m.mask)}`}`;
    case 'addrtype': {
      const p = ['-m addrtype'];
      if (m.src !== undefined) p.push(`${neg(m.src.invert)}--src-type ${m.src.types.join(',')}`);
      if (m.dst !== undefined) p.push(`${neg(m.dst.invert)}--dst-type ${m.dst.types.join(',')}`);
      if (m.limitIfaceIn === true) p.push('--limit-iface-in');
      if (m.limitIfaceOut === true) p.push('--limit-iface-out');
      return p.join(' ');
    }
    case 'conntrack': return `-m conntrack ${neg(m.invert)}--ctstate ${m.names.join(',')}`;
    case 'state': return `-m state ${neg(m.invert)}--state ${m.names.join(',')}`;
    case 'statistic':
      if (m.mode === 'random') return `-m statistic --mode random ${neg(m.invert)}--probability ${formatProbability(m.probability)}`;
      return `-m statistic --mode nth ${neg(m.invert)}--every ${m.every} --packet ${m.packet}`;
    case 'recent': {
      const p = ['-m recent', `${neg(m.invert)}--${m.action}`];
      if (m.seconds !== undefined) p.push(`--seconds ${m.seconds}`);
      if (m.reap) p.push('--reap');
      if (m.hitcount !== undefined) p.push(`--hitcount ${m.hitcount}`);
      if (m.rttl) p.push('--rttl');
      p.push(`--name ${m.name}`, `--mask ${formatIpv4(m.mask)}`, `--${m.side}`);
      return p.join(' ');
    }
    case 'set': return `-m set ${neg(m.invert)}--match-set ${m.name} ${m.dirs.join(',')}`;
    // libxt_limit limit_save: the burst only when it is not the default 5.
    case 'limit': return `-m limit --limit ${limitRate(m.avg)}${m.burst !== 5 ? ` --limit-burst ${m.burst}` : ''}`;
    case 'physdev': {
      // libxt_physdev's save order: is-in, in, is-out, out, is-bridged.
      const p = ['-m physdev'];
      if (m.isIn !== undefined) p.push(`${neg(m.isIn.invert)}--physdev-is-in`);
      if (m.in !== undefined) p.push(`${neg(m.in.invert)}--physdev-in ${m.in.name}`);
      if (m.isOut !== undefined) p.push(`${neg(m.isOut.invert)}--physdev-is-out`);
      if (m.out !== undefined) p.push(`${neg(m.out.invert)}--physdev-out ${m.out.name}`);
      if (m.isBridged !== undefined) p.push(`${neg(m.isBridged.invert)}--physdev-is-bridged`);
      return p.join(' ');
    }
  }
}

const LIMIT_RATES: ReadonlyArray<readonly [string, number]> = [['day', XT_LIMIT_SCALE * 86400], ['hour', XT_LIMIT_SCALE * 3600], ['min', XT_LIMIT_SCALE * 60], ['sec', XT_LIMIT_SCALE]];

/** libxt_limit print_rate: the largest unit that states the interval without losing more than it keeps. */
export function limitRate(period: number): string {
  let i = 1;
  for (; i < LIMIT_RATES.length; i++) {
    const mult = (LIMIT_RATES[i] as readonly [string, number])[1];
    if (period > mult || Math.floor(mult / period) < mult % period) break;
  }
  const [name, mult] = LIMIT_RATES[i - 1] as readonly [string, number];
  return `${Math.floor(mult / period)}/${name}`;
}

function renderPorts(min: number | undefined, max: number | undefined): string {
  if (min === undefined) return '';
  return max !== undefined && max !== min ? `${min}-${max}` : String(min);
}

function renderTarget(t: Target): string {
  switch (t.kind) {
    case 'ACCEPT': case 'DROP': case 'RETURN': case 'TRACE': return `-j ${t.kind}`;
    case 'NOTRACK': return t.ct ? '-j CT --notrack' : '-j NOTRACK';
    case 'jump': return `-j ${t.chain}`;
    case 'goto': return `-g ${t.chain}`;
    case 'REJECT': return `-j REJECT --reject-with ${t.with}`;
    case 'DNAT':
    case 'SNAT': {
      const a = t.addrMin === t.addrMax ? formatIpv4(t.addrMin) : `${formatIpv4(t.addrMin)}-${formatIpv4(t.addrMax)}`;
      const p = t.portMin !== undefined ? `:${renderPorts(t.portMin, t.portMax)}` : '';
      const flags = `${t.random ? ' --random' : ''}${t.randomFully ? ' --random-fully' : ''}${t.persistent ? ' --persistent' : ''}`;
      return `-j ${t.kind} --to-${t.kind === 'DNAT' ? 'destination' : 'source'} ${a}${p}${flags}`;
    }
    case 'MASQUERADE': return `-j MASQUERADE${t.portMin !== undefined ? ` --to-ports ${renderPorts(t.portMin, t.portMax)}` : ''}${t.random ? ' --random' : ''}${t.randomFully ? ' --random-fully' : ''}`;
    case 'REDIRECT': return `-j REDIRECT${t.portMin !== undefined ? ` --to-ports ${renderPorts(t.portMin, t.portMax)}` : ''}${t.random ? ' --random' : ''}`;
    case 'MARK': return `-j MARK --set-xmark ${hex(t.value)}/${hex(t.mask)}`;
    case 'LOG': {
      const p = ['-j LOG'];
      if (t.prefix !== undefined && t.prefix !== '') p.push(`--log-prefix ${quote(t.prefix)}`);
      if (t.level !== 4) p.push(`--log-level ${t.level}`);
      for (const [opt, bit] of LOG_FLAGS) if ((t.flags & bit) !== 0) p.push(opt);
      return p.join(' ');
    }
    // libxt_NFLOG nflog_print: the prefix, then the group when it is not 0.
    case 'NFLOG': return `-j NFLOG${t.prefix !== undefined ? ` --nflog-prefix ${quote(t.prefix)}` : ''}${t.group !== 0 ? ` --nflog-group ${t.group}` : ''}`;
    case 'CONNMARK':
      return t.mode === 'set' ? `-j CONNMARK --set-xmark ${hex(t.value)}/${hex(t.mask)}` : `-j CONNMARK --${t.mode}-mark --nfmask ${hex(t.nfmask)} --ctmask ${hex(t.ctmask)}`;
    case 'none': return '';
  }
}

function addrText(a: AddrMatch): string {
  return `${formatIpv4(a.addr)}/${a.prefixLen >= 0 ? a.prefixLen : formatIpv4(a.mask)}`;
}

/**
 * A statistic probability (xt_statistic's 31-bit fixed point) as printf("%.11f")
 * prints it: correctly rounded, exact ties to even (1/4096 → 0.00024414062).
 */
export function formatProbability(fixed: number): string {
  const scale = 10n ** 11n;
  const den = 1n << 31n;
  const n = BigInt(fixed) * scale;
  let q = n / den;
  const twice = (n % den) * 2n;
  if (twice > den || (twice === den && (q & 1n) === 1n)) q += 1n;
  return `${q / scale}.${(q % scale).toString().padStart(11, '0')}`;
}

/** The rule as it follows `-A CHAIN` in iptables-save output. */
export function renderRuleSpec(r: Rule): string {
  const p: string[] = [];
  if (r.src !== undefined) p.push(`${neg(r.src.invert)}-s ${addrText(r.src)}`);
  if (r.dst !== undefined) p.push(`${neg(r.dst.invert)}-d ${addrText(r.dst)}`);
  if (r.inIface !== undefined) p.push(`${neg(r.inIface.invert)}-i ${r.inIface.name}`);
  if (r.outIface !== undefined) p.push(`${neg(r.outIface.invert)}-o ${r.outIface.name}`);
  if (r.proto !== undefined && !(r.proto.num === 0 && !r.proto.invert)) p.push(`${neg(r.proto.invert)}-p ${r.proto.name}`);
  for (const m of r.matches) p.push(renderMatch(m));
  const t = renderTarget(r.target);
  if (t !== '') p.push(t);
  return p.join(' ');
}

/** Chains in iptables-save order: built-ins in kernel order, then user chains by name. */
export function chainOrder(t: Table): Chain[] {
  const builtin = TABLE_CHAINS[t.name].map((n) => t.chains.get(n)).filter((c): c is Chain => c !== undefined);
  const user = [...t.chains.values()].filter((c) => c.policy === undefined).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [...builtin, ...user];
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A date as iptables-save prints it in its header (ctime(3): `Mon Dec  7 06:26:04 2026`), in UTC. */
export function ctimeDate(d: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

export interface SaveOptions {
  /** Print `[pkts:bytes]` counters before each rule (`iptables-save -c`). */
  readonly counters?: boolean;
  /** Header/footer date; omitted (no comment lines) when undefined. */
  readonly date?: string;
}

export function renderTable(t: Table, opts: SaveOptions = {}): string {
  const out: string[] = [];
  if (opts.date !== undefined) out.push(`# Generated by iptables-save v1.8.9 (nf_tables) on ${opts.date}`);
  out.push(`*${t.name}`);
  const chains = chainOrder(t);
  for (const c of chains) out.push(`:${c.name} ${c.policy ?? '-'} [${opts.counters === true ? c.packets : 0}:${opts.counters === true ? c.bytes : 0}]`);
  for (const c of chains) {
    c.rules.forEach((r, i) => {
      const n = ruleCounts(c, i);
      out.push(`${opts.counters === true ? `[${n.packets}:${n.bytes}] ` : ''}-A ${c.name} ${renderRuleSpec(r)}`.trimEnd());
    });
  }
  out.push('COMMIT');
  if (opts.date !== undefined) out.push(`# Completed on ${opts.date}`);
  return out.join('\n') + '\n';
}

export function renderSave(tables: Iterable<Table>, opts: SaveOptions = {}): string {
  return [...tables].map((t) => renderTable(t, opts)).join('');
}

export type { TableName };
