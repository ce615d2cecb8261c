/**
 * Label and field selectors in the syntax of k8s.io/apimachinery `labels.Parse` and
 * `fields.ParseSelector`: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`,
 * `a>1`, `a<1`, comma-separated and ANDed. Parse errors are `SelectorError`s (the server
 * answers 400 BadRequest); nothing else is ever thrown.
 */
import type { LabelSelector } from './types.ts';

export class SelectorError extends Error {
  readonly code = 'INVALID_SELECTOR';
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

export type LabelOperator = '=' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  readonly key: string;
  readonly op: LabelOperator;
  /** Sorted, de-duplicated; one value for = and !=, an integer string for gt/lt. */
  readonly values: readonly string[];
}

export type ParsedLabelSelector = readonly LabelRequirement[];

const NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Label key: optional DNS-subdomain prefix and `/`, then a name of at most 63 characters. */
export function validateLabelKey(key: string): string | undefined {
  const slash = key.indexOf('/');
  let name = key;
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    name = key.slice(slash + 1);
    if (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN_RE.test(prefix)) return 'prefix part must be a valid DNS subdomain';
  }
  if (name.length === 0) return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!NAME_RE.test(name)) return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  return undefined;
}

export function validateLabelValue(v: string): string | undefined {
  if (v === '') return undefined;
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!NAME_RE.test(v)) return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  return undefined;
}

type Tok =
  | { t: 'id'; v: string }
  | { t: 'op'; v: '=' | '==' | '!=' | '!' | '>' | '<' }
  | { t: '('; v: '(' } | { t: ')'; v: ')' } | { t: ','; v: ',' };

function lex(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    if (c === '(' || c === ')' || c === ',') { out.push({ t: c, v: c } as Tok); i++; continue; }
    if (c === '=' ) { if (s[i + 1] === '=') { out.push({ t: 'op', v: '==' }); i += 2; } else { out.push({ t: 'op', v: '=' }); i++; } continue; }
    if (c === '!') { if (s[i + 1] === '=') { out.push({ t: 'op', v: '!=' }); i += 2; } else { out.push({ t: 'op', v: '!' }); i++; } continue; }
    if (c === '>' || c === '<') { out.push({ t: 'op', v: c }); i++; continue; }
    let j = i;
    while (j < s.length && !' \t\n\r(),=!<>'.includes(s[j]!)) j++;
    out.push({ t: 'id', v: s.slice(i, j) });
    i = j;
  }
  return out;
}

function checkKey(key: string): void {
  const err = validateLabelKey(key);
  if (err) throw new SelectorError(`unable to parse requirement: invalid label key "${key}": ${err}`);
}
function checkValue(v: string): void {
  const err = validateLabelValue(v);
  if (err) throw new SelectorError(`unable to parse requirement: invalid label value: "${v}": ${err}`);
}

/** Parse a label selector string; the empty string selects everything. */
export function parseLabelSelector(input: string): ParsedLabelSelector {
  const toks = lex(input);
  const reqs: LabelRequirement[] = [];
  let p = 0;
  const peek = (): Tok | undefined => toks[p];
  const next = (): Tok | undefined => toks[p++];
  const describe = (t: Tok | undefined): string => (t ? `'${t.v}'` : 'end of string');
  if (toks.length === 0) return reqs;
  while (true) {
    let t = next();
    if (t && t.t === 'op' && t.v === '!') {
      const k = next();
      if (!k || k.t !== 'id') throw new SelectorError(`found ${describe(k)}, expected: identifier after '!'`);
      checkKey(k.v);
      reqs.push({ key: k.v, op: '!', values: [] });
    } else {
      if (!t || t.t !== 'id') throw new SelectorError(`found ${describe(t)}, expected: !, identifier, or 'end of string'`);
      const key = t.v;
      checkKey(key);
      const o = peek();
      if (!o || o.t === ',') {
        reqs.push({ key, op: 'exists', values: [] });
      } else if (o.t === 'op' && (o.v === '=' || o.v === '==' || o.v === '!=')) {
        p++;
        let v = '';
        const vt = peek();
        if (vt && vt.t === 'id') { v = vt.v; p++; } else if (vt && vt.t !== ',') throw new SelectorError(`found ${describe(vt)}, expected: identifier`);
        checkValue(v);
        reqs.push({ key, op: o.v === '!=' ? '!=' : '=', values: [v] });
      } else if (o.t === 'op' && (o.v === '>' || o.v === '<')) {
        p++;
        const vt = next();
        if (!vt || vt.t !== 'id' || !/^-?\d+$/.test(vt.v)) throw new SelectorError(`found ${describe(vt)}, expected: integer value`);
        reqs.push({ key, op: o.v === '>' ? 'gt' : 'lt', values: [String(Number.parseInt(vt.v, 10))] });
      } else if (o.t === 'id' && (o.v === 'in' || o.v === 'notin')) {
        p++;
        const open = next();
        if (!open || open.t !== '(') throw new SelectorError(`found ${describe(open)}, expected: '('`);
        const vals: string[] = [];
        while (true) {
          const vt = peek();
          if (vt && vt.t === 'id') { checkValue(vt.v); vals.push(vt.v); p++; } else vals.push('');
          const sep = next();
          if (sep && sep.t === ',') continue;
          if (sep && sep.t === ')') break;
          throw new SelectorError(`found ${describe(sep)}, expected: ',' or ')'`);
        }
        if (vals.length === 1 && vals[0] === '' && toks[p - 2]?.t === '(') throw new SelectorError(`for 'in', 'notin' operators, values set can't be empty`);
        reqs.push({ key, op: o.v, values: [...new Set(vals)].sort() });
      } else {
        throw new SelectorError(`found ${describe(o)}, expected: in, notin, =, ==, !=, gt, lt`);
      }
    }
    t = next();
    if (!t) break;
    if (t.t !== ',') throw new SelectorError(`found ${describe(t)}, expected: ','`);
    if (!peek()) throw new SelectorError(`found 'end of string', expected: !, identifier`);
  }
  return reqs;
}

export function formatLabelSelector(sel: ParsedLabelSelector): string {
  return sel.map((r) => {
    switch (r.op) {
      case '=': return `${r.key}=${r.values[0] ?? ''}`;
      case '!=': return `${r.key}!=${r.values[0] ?? ''}`;
      case 'in': return `${r.key} in (${r.values.join(',')})`;
      case 'notin': return `${r.key} notin (${r.values.join(',')})`;
      case 'exists': return r.key;
      case '!': return `!${r.key}`;
      case 'gt': return `${r.key}>${r.values[0] ?? ''}`;
      case 'lt': return `${r.key}<${r.values[0] ?? ''}`;
    }
    return '';
  }).join(',');
}

export function matchesLabelRequirement(r: LabelRequirement, labels: Readonly<Record<string, string>> | undefined): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels[r.key] : undefined;
  switch (r.op) {
    case '=': return has && v === r.values[0];
    case '!=': return !has || v !== r.values[0];
    case 'in': return has && r.values.includes(v!);
    case 'notin': return !has || !r.values.includes(v!);
    case 'exists': return has;
    case '!': return !has;
    case 'gt': case 'lt': {
      if (!has || !/^-?\d+$/.test(v!)) return false;
      const n = Number.parseInt(v!, 10);
      const lim = Number.parseInt(r.values[0] ?? '0', 10);
      return r.op === 'gt' ? n > lim : n < lim;
    }
  }
  return false;
}

export function matchesLabels(sel: ParsedLabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  return sel.every((r) => matchesLabelRequirement(r, labels));
}

/** metav1.LabelSelector → requirements (as `metav1.LabelSelectorAsSelector`). Absent selector: matches nothing → undefined. */
export function labelSelectorFromStruct(s: LabelSelector | undefined): ParsedLabelSelector | undefined {
  if (!s) return undefined;
  const reqs: LabelRequirement[] = [];
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) reqs.push({ key: k, op: '=', values: [v] });
  for (const e of s.matchExpressions ?? []) {
    const op: LabelOperator = e.operator === 'In' ? 'in' : e.operator === 'NotIn' ? 'notin' : e.operator === 'Exists' ? 'exists' : '!';
    reqs.push({ key: e.key, op, values: [...new Set(e.values ?? [])].sort() });
  }
  return reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** `app=nginx,tier in (a,b)`: the string form kubectl shows in Selector columns. */
export function labelSelectorStructToString(s: LabelSelector | undefined): string {
  const p = labelSelectorFromStruct(s);
  return p ? formatLabelSelector(p) : '';
}

export function mapToSelectorString(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {}).sort().map((k) => `${k}=${m![k]}`).join(',');
}

// ---------------------------------------------------------------- field selectors

export interface FieldRequirement {
  readonly field: string;
  readonly op: '=' | '!=';
  readonly value: string;
}

/** `fields.ParseSelector`: `a=b,c!=d`, `==` as `=`; `\,` `\=` `\\` escape. */
export function parseFieldSelector(input: string): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  if (input.trim() === '') return out;
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c === '\\' && i + 1 < input.length) { cur += c + input[i + 1]!; i++; continue; }
    if (c === ',') { parts.push(cur); cur = ''; continue; }
    cur += c;
  }
  parts.push(cur);
  for (const part of parts) {
    let idx = -1;
    let op: '=' | '!=' = '=';
    let oplen = 1;
    for (let i = 0; i < part.length; i++) {
      const c = part[i]!;
      if (c === '\\') { i++; continue; }
      if (c === '!' && part[i + 1] === '=') { idx = i; op = '!='; oplen = 2; break; }
      if (c === '=') { idx = i; op = '='; oplen = part[i + 1] === '=' ? 2 : 1; break; }
    }
    if (idx < 0) throw new SelectorError(`invalid selector: '${input}'; can't understand '${part}'`);
    const field = part.slice(0, idx).trim();
    const value = part.slice(idx + oplen).replace(/\\(.)/g, '$1');
    if (field === '') throw new SelectorError(`invalid selector: '${input}'; field name is empty`);
    out.push({ field, op, value });
  }
  return out;
}

export function formatFieldSelector(reqs: readonly FieldRequirement[]): string {
  const esc = (s: string): string => s.replace(/[\\,=]/g, (c) => `\\${c}`);
  return reqs.map((r) => `${r.field}${r.op}${esc(r.value)}`).join(',');
}

/** Value of a dotted field path (`spec.nodeName`) as a string ('' when absent). */
export function fieldValue(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const seg of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[seg];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'string' ? cur : String(cur);
}

export function matchesFields(reqs: readonly FieldRequirement[], obj: unknown): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === '='));
}
