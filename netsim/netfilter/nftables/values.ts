/**
 * Typed values: what each selector's values are (nft's datatypes), turning raw words
 * into atoms (values, prefixes, ranges), set keys, the order nft lists elements in,
 * and anonymous sets as nft builds them (sorted; intervals merged; an anonymous set
 * of one plain element becomes a plain comparison).
 */
import { NftError } from './errors.ts';
import type { RawElem, RawValue } from './commands.ts';
import { DATATYPES, datatype, regSize } from './datatypes.ts';
import type { DataType } from './datatypes.ts';
import type { Atom, NftSet, Scalar, Selector, SelectorKind, SetElem, Verdict } from './model.ts';

const SELECTOR_TYPES: Record<SelectorKind, string> = {
  'ip saddr': 'ipv4_addr', 'ip daddr': 'ipv4_addr', 'ip protocol': 'inet_proto', 'ip ttl': 'integer',
  'tcp sport': 'inet_service', 'tcp dport': 'inet_service', 'udp sport': 'inet_service', 'udp dport': 'inet_service', 'th sport': 'inet_service', 'th dport': 'inet_service',
  'meta l4proto': 'inet_proto', 'meta iifname': 'ifname', 'meta oifname': 'ifname', 'meta mark': 'mark', 'meta nfproto': 'nf_proto',
  'ct state': 'ct_state', 'ct status': 'ct_status', 'ct mark': 'mark',
  'fib saddr type': 'fib_addrtype', 'fib daddr type': 'fib_addrtype', numgen: 'integer',
};

export function selectorTypeName(s: Selector): string {
  return SELECTOR_TYPES[s.kind];
}

export function selectorType(s: Selector): DataType {
  return DATATYPES[SELECTOR_TYPES[s.kind]] as DataType;
}

/** A raw word as a value, `a/len` prefix or `a-b` range of type `t`. */
export function parseAtom(t: DataType, v: RawValue): Atom {
  const whole = t.parse(v.text, v.quoted);
  if (whole !== undefined) return { lo: whole, hi: whole };
  if (!v.quoted && t.name === 'ipv4_addr') {
    const slash = v.text.indexOf('/');
    if (slash > 0) {
      const a = t.parse(v.text.slice(0, slash), false);
      const len = /^\d+$/.test(v.text.slice(slash + 1)) ? Number(v.text.slice(slash + 1)) : NaN;
      if (a !== undefined && len >= 0 && len <= 32) {
        const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
        const lo = ((a as number) & mask) >>> 0;
        return { lo, hi: (lo | (~mask >>> 0)) >>> 0 };
      }
    }
  }
  if (!v.quoted && typeof whole !== 'string') {
    const dash = v.text.indexOf('-', 1);
    if (dash > 0) {
      const lo = t.parse(v.text.slice(0, dash), false);
      const hi = t.parse(v.text.slice(dash + 1), false);
      if (lo !== undefined && hi !== undefined && typeof lo === 'number' && typeof hi === 'number') {
        if (hi < lo) throw new NftError('NFT_EVAL', `Range has zero or negative size`, v.loc);
        return { lo, hi };
      }
    }
  }
  throw new NftError('NFT_EVAL', t.badValue(v.text), v.loc);
}

export function isPoint(a: Atom): boolean {
  return a.lo === a.hi;
}

/** An atom as nft prints it: value, prefix (addresses aligned to one) or range. */
export function formatAtom(t: DataType, a: Atom): string {
  if (a.lo === a.hi) return t.format(a.lo);
  if (t.name === 'ipv4_addr') {
    const lo = a.lo as number;
    const size = (a.hi as number) - lo + 1;
    if ((size & (size - 1)) === 0 && lo % size === 0) return `${t.format(lo)}/${32 - Math.log2(size)}`;
  }
  return `${t.format(a.lo)}-${t.format(a.hi)}`;
}

/** The text an element is indexed by in its set: points joined by ` . ` (the packet's key has the same form). */
export function keyText(atoms: readonly Atom[]): string {
  let s = '';
  for (let i = 0; i < atoms.length; i++) {
    const a = atoms[i] as Atom;
    if (i > 0) s += ' . ';
    s += a.lo === a.hi ? String(a.lo) : `${String(a.lo)}-${String(a.hi)}`;
  }
  return s;
}

/** Key bytes as the kernel stores them: each component big-endian in its own 4-byte-aligned register. */
function keyBytes(types: readonly DataType[], atoms: readonly Atom[]): number[] {
  const out: number[] = [];
  types.forEach((t, i) => {
    const v = (atoms[i] as Atom).lo;
    const bytes: number[] = [];
    if (typeof v === 'string') {
      for (let k = 0; k < t.size; k++) bytes.push(k < v.length ? v.charCodeAt(k) & 0xff : 0);
    } else {
      for (let k = t.size - 1; k >= 0; k--) bytes.push(Math.floor(v / 2 ** (8 * k)) & 0xff);
    }
    while (bytes.length < regSize(t)) bytes.push(0);
    out.push(...bytes);
  });
  return out;
}

/**
 * The order nft lists a set's elements in (list_expr_sort): single values by value;
 * a concatenation by its key compared as one host-endian (little-endian) integer,
 * so the last byte of the key weighs most.
 */
export function compareElems(types: readonly DataType[]): (a: SetElem, b: SetElem) => number {
  if (types.length === 1 && (types[0] as DataType).name !== 'ifname') {
    return (a, b) => ((a.key[0] as Atom).lo as number) - ((b.key[0] as Atom).lo as number);
  }
  // Strings (ifname) compare the same way: as host-endian integers of their bytes.
  return (a, b) => {
    const x = keyBytes(types, a.key);
    const y = keyBytes(types, b.key);
    for (let i = x.length - 1; i >= 0; i--) {
      const d = (x[i] as number) - (y[i] as number);
      if (d !== 0) return d;
    }
    return 0;
  };
}

/** A raw element typed against a set's key (and data) types. */
export function typeElem(keyTypes: readonly DataType[], dataType: string | undefined, e: RawElem): SetElem {
  if (e.key.length !== keyTypes.length) throw new NftError('NFT_EVAL', 'datatype mismatch, expected concatenation of ' + keyTypes.map((t) => t.name).join(', '), e.loc);
  const key = e.key.map((v, i) => parseAtom(keyTypes[i] as DataType, v));
  let data: Verdict | Scalar | undefined;
  if (dataType !== undefined) {
    if (e.data === undefined) throw new NftError('NFT_EVAL', 'map element requires a value', e.loc);
    if (dataType === 'verdict') {
      if (!('verdict' in e.data)) throw new NftError('NFT_EVAL', 'datatype mismatch, expected verdict', e.data.value.loc);
      data = e.data.verdict;
    } else {
      if ('verdict' in e.data) throw new NftError('NFT_EVAL', `datatype mismatch, expected ${dataType}`, e.loc);
      const dt = datatype(dataType) as DataType;
      const a = parseAtom(dt, e.data.value);
      if (a.lo !== a.hi) throw new NftError('NFT_EVAL', 'map data must be a single value', e.data.value.loc);
      data = a.lo;
    }
  } else if (e.data !== undefined) {
    throw new NftError('NFT_EVAL', 'set element can not have a value', e.loc);
  }
  return { key, ...(data !== undefined ? { data } : {}), ...(e.comment !== undefined ? { comment: e.comment } : {}), ...(e.timeout !== undefined ? { timeout: e.timeout } : {}) };
}

/** Merge overlapping and adjacent single-component intervals (nft does this for anonymous sets). */
function mergeIntervals(elems: SetElem[]): SetElem[] {
  const out: SetElem[] = [];
  for (const e of elems) {
    const last = out.at(-1);
    const a = e.key[0] as Atom;
    if (last !== undefined && typeof a.lo === 'number') {
      const l = last.key[0] as Atom;
      if ((a.lo as number) <= (l.hi as number) + 1) {
        out[out.length - 1] = { ...last, key: [{ lo: l.lo, hi: Math.max(l.hi as number, a.hi as number) }] };
        continue;
      }
    }
    out.push(e);
  }
  return out;
}

/** An anonymous set or verdict map over `types` (a rule's `{ … }`). */
export function anonymousSet(types: readonly DataType[], raw: readonly RawElem[], map: boolean): NftSet {
  let elems = raw.map((e) => typeElem(types, map ? 'verdict' : undefined, map ? e : { key: e.key, loc: e.loc }));
  const interval = elems.some((e) => e.key.some((a) => !isPoint(a)));
  elems.sort(compareElems(types));
  if (interval && types.length === 1 && !map) elems = mergeIntervals(elems);
  const m = new Map<string, SetElem>();
  for (const e of elems) m.set(keyText(e.key), e);
  return { name: '', map, keyTypes: types.map((t) => t.name), ...(map ? { dataType: 'verdict' } : {}), flags: interval ? ['interval'] : [], elems: m, handle: 0 };
}
