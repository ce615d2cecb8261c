/**
 * `nft list ruleset` as nft 1.0.6 prints it (src/rule.c table_print, set_print,
 * chain_print; src/statement.c, src/expression.c): tables in creation order, in each
 * the named sets and maps, then the chains, separated by blank lines, tabs for
 * indentation, elements sorted and wrapped as calculate_delim wraps them.
 */
import { DATATYPES } from './datatypes.ts';
import type { DataType } from './datatypes.ts';
import type { Chain, NftSet, Rhs, Rule, Ruleset, Selector, SetElem, Stmt, Table, Verdict } from './model.ts';
import { formatPriority } from './model.ts';
import { compareElems, formatAtom, selectorType } from './values.ts';

export interface ListOptions {
  /** Virtual now in ns (element expiry). */
  readonly now?: number;
  /** `nft -a`: `# handle N` after tables, sets, chains and rules. */
  readonly handles?: boolean;
}

export function renderRuleset(rs: Ruleset, o: ListOptions = {}): string {
  let out = '';
  for (const t of rs.tables.values()) out += renderTable(t, o);
  return out;
}

export function renderTable(t: Table, o: ListOptions = {}): string {
  const items: string[] = [];
  const h = (n: number): string => (o.handles === true ? ` # handle ${n}` : '');
  for (const s of t.sets.values()) items.push(renderSet(s, o.now ?? 0, h(s.handle)));
  for (const c of t.chains.values()) items.push(renderChain(c, h));
  return `table ${t.family} ${t.name} {${h(t.handle)}\n${t.comment !== undefined ? `\tcomment ${quote(t.comment)}\n` : ''}${items.join('\n')}}\n`;
}

function quote(s: string): string {
  return `"${s}"`;
}

/** nft's time format: `1d2h3m4s5ms`, zero units left out. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  let s = '';
  const units: Array<[string, number]> = [['d', 86400000], ['h', 3600000], ['m', 60000], ['s', 1000], ['ms', 1]];
  let rest = Math.floor(ms);
  for (const [u, n] of units) {
    const q = Math.floor(rest / n);
    if (q > 0) s += `${q}${u}`;
    rest -= q * n;
  }
  return s;
}

function types(s: NftSet): DataType[] {
  return s.keyTypes.map((n) => DATATYPES[n] as DataType);
}

function renderSet(s: NftSet, now: number, handle: string): string {
  const kind = s.map ? 'map' : 'set';
  let out = `\t${kind} ${s.name} {${handle}\n\t\ttype ${s.keyTypes.join(' . ')}${s.map ? ` : ${s.dataType ?? ''}` : ''}\n`;
  if (s.policy !== undefined && s.policy !== 'performance') out += `\t\tpolicy ${s.policy}\n`;
  const size = s.size ?? (s.flags.includes('dynamic') ? 65535 : undefined);
  if (size !== undefined) out += `\t\tsize ${size}\n`;
  const flags = ['constant', 'interval', 'dynamic', 'timeout'].filter((f) => s.flags.includes(f));
  if (flags.length > 0) out += `\t\tflags ${flags.join(',')}\n`;
  if (s.timeout !== undefined) out += `\t\ttimeout ${formatDuration(s.timeout)}\n`;
  if (s.comment !== undefined) out += `\t\tcomment ${quote(s.comment)}\n`;
  if (s.elems.size > 0) out += `\t\telements = ${renderElems(s, false, now)}\n`;
  return `${out}\t}\n`;
}

/** `{ a, b }`; named sets wrap as calculate_delim does (concatenations one per line). */
export function renderElems(s: NftSet, anonymous: boolean, now = 0): string {
  const ts = types(s);
  const elems = [...s.elems.values()].sort(compareElems(ts));
  const perLine = anonymous ? Infinity : ts.length > 1 ? 1 : (ts[0] as DataType).perLine;
  let out = '{ ';
  let count = 0;
  elems.forEach((e, i) => {
    if (i > 0) {
      if (count < perLine) out += ', ';
      else {
        out += ',\n\t\t\t     ';
        count = 0;
      }
    }
    out += renderElem(ts, s, e, now);
    count++;
  });
  return `${out} }`;
}

function renderElem(ts: readonly DataType[], s: NftSet, e: SetElem, now: number): string {
  let out = e.key.map((a, i) => formatAtom(ts[i] as DataType, a)).join(' . ');
  if (e.timeout !== undefined) out += ` timeout ${formatDuration(e.timeout)}`;
  if (e.expires !== undefined) out += ` expires ${formatDuration(Math.max(0, (e.expires - now) / 1e6))}`;
  if (e.comment !== undefined) out += ` comment ${quote(e.comment)}`;
  if (s.map && e.data !== undefined) {
    out += ' : ' + (typeof e.data === 'object' ? renderVerdict(e.data) : (DATATYPES[s.dataType ?? 'integer'] as DataType).format(e.data));
  }
  return out;
}

function renderChain(c: Chain, h: (n: number) => string): string {
  let out = `\tchain ${c.name} {${h(c.handle)}\n`;
  if (c.comment !== undefined) out += `\t\tcomment ${quote(c.comment)}\n`;
  const b = c.base;
  if (b !== undefined) {
    out += `\t\ttype ${b.type} hook ${b.hook}${b.device !== undefined ? ` device ${quote(b.device)}` : ''} priority ${formatPriority(b.priority, b.hook)}; policy ${b.policy};\n`;
  }
  for (const r of c.rules) out += `\t\t${renderRule(r)}${h(r.handle)}\n`;
  return `${out}\t}\n`;
}

export function renderRule(r: Rule): string {
  const parts = r.stmts.map(renderStmt);
  if (r.comment !== undefined) parts.push(`comment ${quote(r.comment)}`);
  return parts.join(' ');
}

export function renderVerdict(v: Verdict): string {
  return v.chain !== undefined ? `${v.kind} ${v.chain}` : v.kind;
}

function renderSelector(s: Selector): string {
  switch (s.kind) {
    case 'meta iifname': return 'iifname';
    case 'meta oifname': return 'oifname';
    case 'numgen': return `numgen random mod ${s.mod ?? 1}${s.offset !== undefined ? ` offset ${s.offset}` : ''}`;
    default: return s.kind;
  }
}

function renderRhs(sels: readonly Selector[], rhs: Rhs): string {
  const ts = sels.map(selectorType);
  switch (rhs.kind) {
    case 'value': return rhs.atoms.map((a, i) => formatAtom(ts[i] as DataType, a)).join(' . ');
    case 'flags': return (ts[0] as DataType).format(rhs.bits);
    case 'named': return `@${rhs.name}`;
    case 'set': return renderElems(rhs.set, true);
  }
}

export function renderStmt(s: Stmt): string {
  switch (s.kind) {
    case 'match': {
      const lhs = s.sels.map(renderSelector).join(' . ');
      const mask = s.mask !== undefined ? ` & ${(DATATYPES.mark as DataType).format(s.mask)}` : '';
      // With a mask nft prints the comparison explicitly; otherwise equality is implicit.
      const op = s.op !== '==' || mask !== '' ? ` ${s.op}` : '';
      return `${lhs}${mask}${op} ${renderRhs(s.sels, s.rhs)}`;
    }
    case 'vmap': return `${s.sels.map(renderSelector).join(' . ')} vmap ${renderRhs(s.sels, s.map)}`;
    case 'verdict': return renderVerdict(s.verdict);
    case 'counter': return `counter packets ${s.packets} bytes ${s.bytes}`;
    case 'log': return `log${s.prefix !== undefined ? ` prefix ${quote(s.prefix)}` : ''}${s.level !== undefined ? ` level ${s.level}` : ''}`;
    case 'reject': return s.with === undefined ? 'reject' : s.with.type === 'tcp' ? 'reject with tcp reset' : `reject with ${s.with.type} ${s.with.code}`;
    case 'nat': {
      let out = s.nat;
      if (s.addrLo !== undefined) {
        out += `${s.family !== undefined ? ` ${s.family}` : ''} to ${formatAtom(DATATYPES.ipv4_addr as DataType, { lo: s.addrLo, hi: s.addrHi ?? s.addrLo })}`;
        if (s.portLo !== undefined) out += `:${s.portLo}${s.portHi !== s.portLo ? `-${s.portHi ?? ''}` : ''}`;
      } else if (s.portLo !== undefined) {
        out += ` to :${s.portLo}${s.portHi !== s.portLo ? `-${s.portHi ?? ''}` : ''}`;
      }
      if (s.flags.length > 0) out += ` ${s.flags.join(',')}`;
      return out;
    }
    case 'mark set': {
      const fmt = (DATATYPES.mark as DataType).format;
      if (s.source === undefined) return `${s.target} set ${fmt(s.value)}`;
      return `${s.target} set ${s.source}${s.op !== undefined ? ` ${s.op} ${fmt(s.value)}` : ''}`;
    }
    case 'set update': return `${s.op} @${s.setName} { ${s.sels.map(renderSelector).join(' . ')}${s.timeout !== undefined ? ` timeout ${formatDuration(s.timeout)}` : ''} }`;
    case 'notrack': return 'notrack';
  }
}
