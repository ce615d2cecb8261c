/**
 * `nft -j list ruleset` as nft 1.0.6 writes it (src/json.c): one line, the metainfo
 * object, then per table the table, its sets and maps, its chains, and its rules chain
 * by chain, each statement and expression in libnftables' JSON schema. nft 1.0.6 leaves
 * table and chain comments out of JSON and does not write a set's `dynamic` flag; so
 * does this.
 */
import { DATATYPES } from './datatypes.ts';
import type { DataType } from './datatypes.ts';
import type { Atom, Chain, NftSet, Rhs, Rule, Ruleset, Scalar, Selector, SetElem, Stmt, Table, Verdict } from './model.ts';
import { compareElems, selectorType } from './values.ts';

type Json = null | number | string | boolean | Json[] | { [k: string]: Json };

export function renderRulesetJson(rs: Ruleset, now = 0): string {
  const out: Json[] = [{ metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } }];
  for (const t of rs.tables.values()) {
    out.push({ table: { family: t.family, name: t.name, handle: t.handle } });
    for (const s of t.sets.values()) out.push(setJson(t, s, now));
    for (const c of t.chains.values()) out.push(chainJson(t, c));
    for (const c of t.chains.values()) for (const r of c.rules) out.push(ruleJson(t, c, r));
  }
  return `${stringify({ nftables: out })}\n`;
}

/** jansson's layout: `, ` and `: ` separators on one line. */
function stringify(v: Json): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stringify).join(', ')}]`;
  return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${stringify(x)}`).join(', ')}}`;
}

function types(s: NftSet): DataType[] {
  return s.keyTypes.map((n) => DATATYPES[n] as DataType);
}

/** A value as JSON: addresses, names and protocols as strings, numbers as numbers. */
function scalar(t: DataType, v: Scalar): Json {
  switch (t.name) {
    case 'ipv4_addr': case 'inet_proto': case 'ifname': case 'fib_addrtype': case 'nf_proto': case 'ct_state': case 'ct_status':
      return typeof v === 'number' && t.name === 'inet_proto' && t.format(v) === String(v) ? v : t.name === 'ifname' ? String(v) : t.format(v);
    default:
      return v;
  }
}

function atomJson(t: DataType, a: Atom): Json {
  if (a.lo === a.hi) return scalar(t, a.lo);
  if (t.name === 'ipv4_addr') {
    const lo = a.lo as number;
    const size = (a.hi as number) - lo + 1;
    if ((size & (size - 1)) === 0 && lo % size === 0) return { prefix: { addr: t.format(lo), len: 32 - Math.log2(size) } };
  }
  return { range: [scalar(t, a.lo), scalar(t, a.hi)] };
}

function keyJson(ts: readonly DataType[], key: readonly Atom[]): Json {
  return ts.length === 1 ? atomJson(ts[0] as DataType, key[0] as Atom) : { concat: key.map((a, i) => atomJson(ts[i] as DataType, a)) };
}

function verdictJson(v: Verdict): Json {
  return v.chain !== undefined ? { [v.kind]: { target: v.chain } } : { [v.kind]: null };
}

function elemJson(ts: readonly DataType[], s: NftSet, e: SetElem, now: number): Json {
  let key = keyJson(ts, e.key);
  if (e.timeout !== undefined || e.expires !== undefined || e.comment !== undefined) {
    const o: { [k: string]: Json } = { val: key };
    if (e.timeout !== undefined) o.timeout = Math.floor(e.timeout / 1000);
    if (e.expires !== undefined) o.expires = Math.floor(Math.max(0, e.expires - now) / 1e9);
    if (e.comment !== undefined) o.comment = e.comment;
    key = { elem: o };
  }
  if (!s.map || e.data === undefined) return key;
  return [key, typeof e.data === 'object' ? verdictJson(e.data) : scalar(DATATYPES[s.dataType ?? 'integer'] as DataType, e.data)];
}

function elemsJson(s: NftSet, now: number): Json[] {
  const ts = types(s);
  return [...s.elems.values()].sort(compareElems(ts)).map((e) => elemJson(ts, s, e, now));
}

function setJson(t: Table, s: NftSet, now: number): Json {
  const o: { [k: string]: Json } = { family: t.family, name: s.name, table: t.name, type: s.keyTypes.length === 1 ? (s.keyTypes[0] as string) : [...s.keyTypes], handle: s.handle };
  if (s.comment !== undefined) o.comment = s.comment;
  if (s.map) o.map = s.dataType ?? 'verdict';
  if (s.policy !== undefined && s.policy !== 'performance') o.policy = s.policy;
  const size = s.size ?? (s.flags.includes('dynamic') ? 65535 : undefined);
  if (size !== undefined) o.size = size;
  const flags = ['constant', 'interval', 'timeout'].filter((f) => s.flags.includes(f));
  if (flags.length > 0) o.flags = flags;
  if (s.timeout !== undefined) o.timeout = Math.floor(s.timeout / 1000);
  if (s.elems.size > 0) o.elem = elemsJson(s, now);
  return { [s.map ? 'map' : 'set']: o };
}

function chainJson(t: Table, c: Chain): Json {
  const o: { [k: string]: Json } = { family: t.family, table: t.name, name: c.name, handle: c.handle };
  if (c.base !== undefined) {
    o.type = c.base.type;
    o.hook = c.base.hook;
    if (c.base.device !== undefined) o.dev = c.base.device;
    o.prio = c.base.priority;
    o.policy = c.base.policy;
  }
  return { chain: o };
}

function ruleJson(t: Table, c: Chain, r: Rule): Json {
  const o: { [k: string]: Json } = { family: t.family, table: t.name, chain: c.name, handle: r.handle };
  if (r.comment !== undefined) o.comment = r.comment;
  o.expr = r.stmts.map((s) => stmtJson(t, s));
  return { rule: o };
}

function selectorJson(s: Selector): Json {
  const [a, b] = s.kind.split(' ') as [string, string];
  switch (a) {
    case 'ip': case 'tcp': case 'udp': case 'th': return { payload: { protocol: a, field: b } };
    case 'meta': return { meta: { key: b } };
    case 'ct': return { ct: { key: b } };
    case 'fib': return { fib: { result: 'type', flags: [b] } };
    default: return { numgen: { mode: 'random', mod: s.mod ?? 1, offset: s.offset ?? 0 } };
  }
}

function lhsJson(sels: readonly Selector[]): Json {
  return sels.length === 1 ? selectorJson(sels[0] as Selector) : { concat: sels.map(selectorJson) };
}

function rhsJson(sels: readonly Selector[], rhs: Rhs): Json {
  const ts = sels.map(selectorType);
  switch (rhs.kind) {
    case 'value': return ts.length === 1 ? atomJson(ts[0] as DataType, rhs.atoms[0] as Atom) : { concat: rhs.atoms.map((a, i) => atomJson(ts[i] as DataType, a)) };
    case 'flags': {
      const names = ((ts[0] as DataType).flags ?? []).filter(([, b]) => (rhs.bits & b) !== 0).map(([n]) => n);
      return names.length === 1 ? (names[0] as string) : names;
    }
    case 'named': return `@${rhs.name}`;
    case 'set': return { set: elemsJson(rhs.set, 0) };
  }
}

function stmtJson(t: Table, s: Stmt): Json {
  switch (s.kind) {
    case 'match': {
      const left = s.mask !== undefined ? { '&': [lhsJson(s.sels), s.mask] } : lhsJson(s.sels);
      const op = s.rhs.kind === 'flags' ? 'in' : s.op;
      return { match: { op, left, right: rhsJson(s.sels, s.rhs) } };
    }
    case 'vmap': return { vmap: { key: lhsJson(s.sels), data: rhsJson(s.sels, s.map) } };
    case 'verdict': return verdictJson(s.verdict);
    case 'counter': return { counter: { packets: s.packets, bytes: s.bytes } };
    case 'log': {
      if (s.prefix === undefined && s.level === undefined) return { log: null };
      return { log: { ...(s.prefix !== undefined ? { prefix: s.prefix } : {}), ...(s.level !== undefined ? { level: s.level } : {}) } };
    }
    case 'reject':
      if (s.with?.type === 'tcp') return { reject: { type: 'tcp reset' } };
      return { reject: { type: s.with?.type ?? (t.family === 'inet' ? 'icmpx' : 'icmp'), expr: s.with?.code ?? 'port-unreachable' } };
    case 'nat': {
      const o: { [k: string]: Json } = {};
      if (s.family !== undefined) o.family = s.family;
      const ip = DATATYPES.ipv4_addr as DataType;
      if (s.addrLo !== undefined) o.addr = s.addrLo === s.addrHi ? ip.format(s.addrLo) : { range: [ip.format(s.addrLo), ip.format(s.addrHi ?? s.addrLo)] };
      if (s.portLo !== undefined) o.port = s.portLo === s.portHi ? s.portLo : { range: [s.portLo, s.portHi ?? s.portLo] };
      if (s.flags.length > 0) o.flags = s.flags.length === 1 ? (s.flags[0] as string) : [...s.flags];
      return { [s.nat]: Object.keys(o).length > 0 ? o : null };
    }
    case 'mark set': {
      const key = s.target === 'meta mark' ? { meta: { key: 'mark' } } : { ct: { key: 'mark' } };
      if (s.source === undefined) return { mangle: { key, value: s.value } };
      const src = s.source === 'meta mark' ? { meta: { key: 'mark' } } : { ct: { key: 'mark' } };
      return { mangle: { key, value: s.op !== undefined ? { [s.op]: [src, s.value] } : src } };
    }
    case 'set update': return { set: { op: s.op, elem: lhsJson(s.sels), set: `@${s.setName}` } };
    case 'notrack': return { notrack: null };
  }
}
