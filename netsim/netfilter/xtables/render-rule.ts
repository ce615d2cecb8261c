/**
 * A rule as iptables-save (1.8.9, nf_tables) prints it after `-A CHAIN`: `-s`, `-d`,
 * `-i`, `-o`, `-p`, then the matches in rule order with each module's options in
 * its own fixed order, then `-j TARGET …` or `-g CHAIN`. Values come back in the
 * kernel's form (see model.ts).
 */
import { CT_STATE_ORDER, ADDRTYPE_NAMES } from './matches.ts';
import type { IfaceMatch, Match, NatRange, Rule, Target } from './model.ts';
import { LOG_IPOPT, LOG_MACDECODE, LOG_TCPOPT, LOG_TCPSEQ, LOG_UID } from './model.ts';
import { formatAddr, formatAddrMask, formatPortRange, hex, protoName, saveString } from './values.ts';

const TCP_FLAG_NAMES: readonly (readonly [string, number])[] = [['FIN', 1], ['SYN', 2], ['RST', 4], ['PSH', 8], ['ACK', 16], ['URG', 32]];

function tcpFlags(v: number): string {
  if (v === 0) return 'NONE';
  return TCP_FLAG_NAMES.filter(([, b]) => (v & b) !== 0).map(([n]) => n).join(',');
}

const neg = (invert: boolean): string => (invert ? '! ' : '');

function iface(flag: string, m: IfaceMatch): string {
  return `${neg(m.invert)}${flag} ${m.name}`;
}

/**
 * xt_statistic's probability as iptables prints it: `%.11f` of value / 2^31,
 * computed exactly (glibc printf rounds the exact binary value half to even).
 */
export function formatProbability(fixed: number): string {
  const scale = 10n ** 11n;
  const num = BigInt(fixed) * scale;
  const den = 1n << 31n;
  let q = num / den;
  const rem2 = (num % den) * 2n;
  if (rem2 > den || (rem2 === den && (q & 1n) === 1n)) q += 1n;
  const int = q / scale;
  const frac = (q % scale).toString().padStart(11, '0');
  return `${int}.${frac}`;
}

function renderMatch(m: Match): string {
  switch (m.kind) {
    case 'tcp': case 'udp': {
      const parts = [`-m ${m.kind}`];
      if (m.sport) parts.push(`${neg(m.sportInvert)}--sport ${formatPortRange(m.sport)}`);
      if (m.dport) parts.push(`${neg(m.dportInvert)}--dport ${formatPortRange(m.dport)}`);
      if (m.flags) parts.push(`${neg(m.flags.invert)}--tcp-flags ${tcpFlags(m.flags.mask)} ${tcpFlags(m.flags.comp)}`);
      return parts.join(' ');
    }
    case 'icmp': {
      const t = m.type === 0xff ? 'any' : m.codeMin === 0 && m.codeMax === 0xff ? String(m.type) : `${m.type}/${m.codeMin}`;
      return `-m icmp ${neg(m.invert)}--icmp-type ${t}`;
    }
    case 'multiport': {
      const opt = m.dir === 'src' ? '--sports' : m.dir === 'dst' ? '--dports' : '--ports';
      return `-m multiport ${neg(m.invert)}${opt} ${m.ports.map((p) => formatPortRange(p)).join(',')}`;
    }
    case 'comment':
      return `-m comment --comment ${saveString(m.text)}`;
    case 'mark':
      return `-m mark ${neg(m.invert)}--mark ${hex(m.value)}${m.mask === 0xffffffff ? '' : `/${hex(m.mask)}`}`;
    case 'addrtype': {
      const types = (bits: number) => ADDRTYPE_NAMES.filter((_, i) => (bits & (1 << i)) !== 0).join(',');
      const parts = ['-m addrtype'];
      if (m.srcTypes) parts.push(`${neg(m.srcInvert)}--src-type ${types(m.srcTypes)}`);
      if (m.dstTypes) parts.push(`${neg(m.dstInvert)}--dst-type ${types(m.dstTypes)}`);
      if (m.limitIfaceIn) parts.push('--limit-iface-in');
      if (m.limitIfaceOut) parts.push('--limit-iface-out');
      return parts.join(' ');
    }
    case 'conntrack': case 'state': {
      const names = CT_STATE_ORDER.filter(([, b]) => (m.states & b) !== 0).map(([n]) => n).join(',');
      return `-m ${m.kind} ${neg(m.invert)}--${m.kind === 'conntrack' ? 'ctstate' : 'state'} ${names}`;
    }
    case 'statistic':
      return m.mode === 'random'
        ? `-m statistic --mode random ${neg(m.invert)}--probability ${formatProbability(m.probability)}`
        : `-m statistic --mode nth ${neg(m.invert)}--every ${m.every} --packet ${m.packet}`;
    case 'recent': {
      const parts = ['-m recent', `${neg(m.invert)}--${m.command}`];
      if (m.seconds) parts.push(`--seconds ${m.seconds}`);
      if (m.reap) parts.push('--reap');
      if (m.hitcount) parts.push(`--hitcount ${m.hitcount}`);
      if (m.rttl) parts.push('--rttl');
      parts.push(`--name ${m.name}`, `--mask ${formatAddr(m.mask)}`, m.side === 'src' ? '--rsource' : '--rdest');
      return parts.join(' ');
    }
    case 'set':
      return `-m set ${neg(m.invert)}--match-set ${m.name} ${m.dirs.join(',')}`;
    case 'physdev': {
      const parts = ['-m physdev'];
      if (m.isIn) parts.push(`${neg(m.isInInvert)}--physdev-is-in`);
      if (m.physIn) parts.push(iface('--physdev-in', m.physIn));
      if (m.isOut) parts.push(`${neg(m.isOutInvert)}--physdev-is-out`);
      if (m.physOut) parts.push(iface('--physdev-out', m.physOut));
      if (m.isBridged) parts.push(`${neg(m.isBridgedInvert)}--physdev-is-bridged`);
      return parts.join(' ');
    }
  }
}

export function formatNatRange(r: NatRange): string {
  let s = '';
  if (r.addrMin !== undefined) {
    s = formatAddr(r.addrMin);
    if (r.addrMax !== undefined && r.addrMax !== r.addrMin) s += `-${formatAddr(r.addrMax)}`;
  }
  if (r.portMin !== undefined) s += `:${formatPortRange({ min: r.portMin, max: r.portMax ?? r.portMin }, '-')}`;
  return s;
}

function renderTarget(t: Target): string {
  switch (t.kind) {
    case 'none': return '';
    case 'jump': return `-j ${t.chain}`;
    case 'goto': return `-g ${t.chain}`;
    case 'ACCEPT': case 'DROP': case 'RETURN': case 'TRACE': case 'NOTRACK': return `-j ${t.kind}`;
    case 'REJECT': return `-j REJECT --reject-with ${t.with}`;
    case 'DNAT': case 'SNAT': {
      let s = `-j ${t.kind} --to-${t.kind === 'DNAT' ? 'destination' : 'source'} ${formatNatRange(t.range)}`;
      if (t.random) s += ' --random';
      if (t.randomFully) s += ' --random-fully';
      if (t.persistent) s += ' --persistent';
      return s;
    }
    case 'MASQUERADE': case 'REDIRECT': {
      let s = `-j ${t.kind}`;
      if (t.portMin !== undefined) s += ` --to-ports ${formatPortRange({ min: t.portMin, max: t.portMax ?? t.portMin }, '-')}`;
      if (t.random) s += ' --random';
      if (t.randomFully) s += ' --random-fully';
      return s;
    }
    case 'MARK': return `-j MARK --set-xmark ${hex(t.value)}/${hex(t.mask)}`;
    case 'CONNMARK':
      return t.mode === 'set'
        ? `-j CONNMARK --set-xmark ${hex(t.value)}/${hex(t.mask)}`
        : `-j CONNMARK --${t.mode}-mark --nfmask ${hex(t.nfmask)} --ctmask ${hex(t.ctmask)}`;
    case 'LOG': {
      let s = '-j LOG';
      if (t.prefix !== '') s += ` --log-prefix ${saveString(t.prefix)}`;
      if (t.level !== 4) s += ` --log-level ${t.level}`;
      if (t.flags & LOG_TCPSEQ) s += ' --log-tcp-sequence';
      if (t.flags & LOG_TCPOPT) s += ' --log-tcp-options';
      if (t.flags & LOG_IPOPT) s += ' --log-ip-options';
      if (t.flags & LOG_UID) s += ' --log-uid';
      if (t.flags & LOG_MACDECODE) s += ' --log-macdecode';
      return s;
    }
    case 'CT': return '-j CT --notrack';
  }
}

/** The rule text after `-A CHAIN ` (no leading space; empty for a rule with no options at all). */
export function renderRuleSpec(r: Rule): string {
  const parts: string[] = [];
  if (r.src) parts.push(`${neg(r.src.invert)}-s ${formatAddrMask(r.src.addr, r.src.mask)}`);
  if (r.dst) parts.push(`${neg(r.dst.invert)}-d ${formatAddrMask(r.dst.addr, r.dst.mask)}`);
  if (r.inIface) parts.push(iface('-i', r.inIface));
  if (r.outIface) parts.push(iface('-o', r.outIface));
  if (r.proto !== 0) parts.push(`${neg(r.protoInvert)}-p ${protoName(r.proto)}`);
  for (const m of r.matches) parts.push(renderMatch(m));
  const t = renderTarget(r.target);
  if (t) parts.push(t);
  return parts.join(' ');
}
