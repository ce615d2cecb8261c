/**
 * The nft grammar (src/parser_bison.y) for the commands and statements modelled:
 * `add|create|insert|replace|delete|flush` of tables, chains, rules, sets,
 * maps and elements, `flush ruleset`, and the block syntax `nft list ruleset` prints
 * (`table ip t { chain c { … } set s { … } }`, which nft expands into chains, then
 * sets, then rules: nft_cmd_expand). Rule statements are typed here from their
 * selectors and normalised to the form nft prints back (dependency elimination:
 * `meta l4proto tcp th dport 80` prints as `tcp dport 80`).
 *
 * Every failure is an NftError located at the offending token, worded as nft's
 * bison parser words it (`syntax error, unexpected newline`).
 */
import { NftError } from './errors.ts';
import type { NftLocation } from './errors.ts';
import { lex } from './lexer.ts';
import type { Token } from './lexer.ts';
import type { Atom, BaseChainSpec, ChainType, CmpOp, Family, HookName, NftSet, Rhs, Selector, SelectorKind, Stmt, Verdict } from './model.ts';
import { STD_PRIOS, prioNameFits } from './model.ts';
import type { ChainSpec, Cmd, RawElem, RawValue, SetSpec, Verb } from './commands.ts';
import { datatype } from './datatypes.ts';
import type { DataType } from './datatypes.ts';
import { anonymousSet, parseAtom, selectorType } from './values.ts';

const FAMILIES = ['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev'];
const VERBS: readonly Verb[] = ['add', 'create', 'insert', 'replace', 'delete', 'flush'];
const HOOKS: readonly HookName[] = ['prerouting', 'input', 'forward', 'output', 'postrouting'];
const VERDICTS = ['accept', 'drop', 'return', 'continue', 'jump', 'goto'];

type Ref = { kind: 'set' | 'chain'; name: string; loc: NftLocation };

/**
 * Parses `nft -f` text into commands; throws NftError (never anything else) on bad input.
 * `locations: false`: the commands carry no locations (one placeholder), for commands
 * kept to be applied again whose errors are reported from a parse with them (share.ts).
 */
export function parseNft(src: string, opts: { locations?: boolean } = {}): Cmd[] {
  return new Parser(lex(src), opts.locations ?? true).script();
}

/** The location of every command parsed without locations. */
const NOWHERE: NftLocation = Object.freeze({ line: 0, col: 0, endCol: 0 });

/** Parses one duration (`3h`, `10800s`, `1d2h3m`, `500ms`, plain seconds) into milliseconds. */
function parseDuration(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const re = /(\d+)(ms|d|h|m|s)/gy;
  let ms = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(text)) !== null) {
    const n = Number(m[1]);
    ms += n * ({ d: 86400000, h: 3600000, m: 60000, s: 1000, ms: 1 } as const)[m[2] as 'd' | 'h' | 'm' | 's' | 'ms'];
    end = re.lastIndex;
  }
  return end === text.length && end > 0 ? ms : undefined;
}

class Parser {
  private pos = 0;
  constructor(private readonly toks: Token[], private readonly locations: boolean) {}

  private peek(k = 0): Token {
    return this.toks[Math.min(this.pos + k, this.toks.length - 1)] as Token;
  }

  private next(): Token {
    const t = this.peek();
    if (this.pos < this.toks.length - 1) this.pos++;
    return t;
  }

  private loc(t: Token): NftLocation {
    if (!this.locations) return NOWHERE;
    return { line: t.line, col: t.col, endCol: t.endCol };
  }

  private span(a: Token, b: Token): NftLocation {
    if (!this.locations) return NOWHERE;
    return a.line === b.line ? { line: a.line, col: a.col, endCol: b.endCol } : this.loc(a);
  }

  /** bison's report: the token it did not expect. */
  private unexpected(t: Token = this.peek()): NftError {
    const what = t.kind === 'eof' ? 'end of file' : t.kind === 'nl' ? 'newline' : t.kind === 'string' ? 'quoted string' : t.kind === 'punct' ? `'${t.text}'` : t.text;
    return new NftError('NFT_SYNTAX', `syntax error, unexpected ${what}`, this.loc(t));
  }

  private isWord(t: Token, w?: string): boolean {
    return t.kind === 'word' && (w === undefined || t.text === w);
  }

  private isPunct(t: Token, p: string): boolean {
    return t.kind === 'punct' && t.text === p;
  }

  private word(w?: string): Token {
    const t = this.peek();
    if (!this.isWord(t, w)) throw this.unexpected(t);
    return this.next();
  }

  private punct(p: string): Token {
    const t = this.peek();
    if (!this.isPunct(t, p)) throw this.unexpected(t);
    return this.next();
  }

  private str(): Token {
    const t = this.peek();
    if (t.kind !== 'string' && t.kind !== 'word') throw this.unexpected(t);
    return this.next();
  }

  private number(): number {
    const t = this.word();
    if (!/^(0x[0-9a-fA-F]+|-?\d+)$/.test(t.text)) throw this.unexpected(t);
    return Number(t.text);
  }

  private skipNl(): void {
    while (this.peek().kind === 'nl') this.next();
  }

  private skipSeparators(): void {
    while (this.peek().kind === 'nl' || this.isPunct(this.peek(), ';')) this.next();
  }

  /** End of a command or block item: newline, `;`, `}` or end of file (not consumed). */
  private atEnd(): boolean {
    const t = this.peek();
    return t.kind === 'nl' || t.kind === 'eof' || this.isPunct(t, ';') || this.isPunct(t, '}');
  }

  private endItem(): void {
    if (!this.atEnd()) throw this.unexpected();
    if (!this.isPunct(this.peek(), '}')) this.next();
  }

  script(): Cmd[] {
    const out: Cmd[] = [];
    for (;;) {
      this.skipSeparators();
      const t = this.peek();
      if (t.kind === 'eof') return out;
      if (!this.isWord(t)) throw this.unexpected(t);
      if (t.text === 'flush' && this.isWord(this.peek(1), 'ruleset')) {
        this.next();
        this.next();
        const fam = this.isWord(this.peek()) && FAMILIES.includes(this.peek().text) ? this.family() : undefined;
        out.push({ obj: 'ruleset', verb: 'flush', ...(fam !== undefined ? { family: fam } : {}), loc: this.span(t, this.toks[this.pos - 1] as Token) });
        this.endItem();
        continue;
      }
      if (t.text === 'include' || t.text === 'define' || t.text === 'list' || t.text === 'reset' || t.text === 'rename') {
        throw new NftError('NFT_UNSUPPORTED', `\`${t.text}\` is not modelled by the emulator`, this.loc(t));
      }
      // `destroy` came with nft 1.0.8; 1.0.6 reads the word as a string and stumbles on the next.
      if (t.text === 'destroy') {
        this.next();
        const n = this.peek();
        throw new NftError('NFT_SYNTAX', `syntax error, unexpected ${n.kind === 'word' ? n.text : n.kind === 'nl' ? 'newline' : 'end of file'}, expecting string`, this.loc(n));
      }
      let verb: Verb = 'add';
      if ((VERBS as readonly string[]).includes(t.text)) verb = this.next().text as Verb;
      this.command(verb, t, out);
    }
  }

  /** `[family] TABLE`: how every chain, rule, set and element command starts. */
  private tableRef(): { family: Family; table: string; tableTok: Token } {
    const family = this.family();
    const tableTok = this.identifier();
    return { family, table: tableTok.text, tableTok };
  }

  private family(): Family {
    const t = this.peek();
    if (this.isWord(t) && FAMILIES.includes(t.text)) {
      this.next();
      if (t.text !== 'ip' && t.text !== 'inet') throw new NftError('NFT_UNSUPPORTED', `family ${t.text} is not modelled by the emulator (ip and inet are)`, this.loc(t));
      return t.text as Family;
    }
    return 'ip';
  }

  private identifier(): Token {
    const t = this.peek();
    if (t.kind === 'string') return this.next();
    if (!this.isWord(t) || !/^[A-Za-z_.][A-Za-z0-9_./-]*$/.test(t.text)) throw this.unexpected(t);
    return this.next();
  }

  private command(verb: Verb, start: Token, out: Cmd[]): void {
    const objTok = this.word();
    const obj = objTok.text;
    switch (obj) {
      case 'table': {
        const family = this.family();
        const nameTok = this.identifier();
        const name = nameTok.text;
        const loc = this.span(start, nameTok);
        const where = { table: this.loc(nameTok), name: this.loc(nameTok) };
        if (this.isPunct(this.peek(), '{')) {
          if (verb !== 'add' && verb !== 'create') throw this.unexpected();
          this.tableBlock(verb, family, name, loc, out);
        } else {
          out.push({ obj: 'table', verb, family, table: name, loc, where });
        }
        this.endItem();
        return;
      }
      case 'chain': {
        const { family, table, tableTok } = this.tableRef();
        if (verb === 'delete') {
          if (this.isWord(this.peek(), 'handle')) throw new NftError('NFT_UNSUPPORTED', 'deleting a chain by handle is not modelled', this.loc(this.peek()));
        }
        const chainTok = this.identifier();
        const chain = chainTok.text;
        const loc = this.span(start, chainTok);
        const where = { table: this.loc(tableTok), name: this.loc(chainTok) };
        if (this.isPunct(this.peek(), '{')) {
          if (verb !== 'add' && verb !== 'create') throw this.unexpected();
          this.next();
          const rules: Cmd[] = [];
          const spec = this.chainBody(family, table, chain, rules);
          out.push({ obj: 'chain', verb, family, table, chain, spec, loc, where }, ...rules);
        } else {
          out.push({ obj: 'chain', verb, family, table, chain, loc, where });
        }
        this.endItem();
        return;
      }
      case 'rule': {
        const { family, table, tableTok } = this.tableRef();
        const chainTok = this.identifier();
        const chain = chainTok.text;
        let handle: number | undefined;
        let index: number | undefined;
        let handleLoc: NftLocation | undefined;
        const pk = this.peek();
        if (this.isWord(pk, 'handle') || this.isWord(pk, 'position')) {
          this.next();
          handleLoc = this.loc(this.peek());
          handle = this.number();
        } else if (this.isWord(pk, 'index')) {
          this.next();
          handleLoc = this.loc(this.peek());
          index = this.number();
        }
        const where = { table: this.loc(tableTok), name: this.loc(chainTok), ...(handleLoc !== undefined ? { handle: handleLoc } : {}) };
        if (verb === 'delete') {
          if (handle === undefined) throw this.unexpected();
          out.push({ obj: 'rule', verb, family, table, chain, handle, stmts: [], refs: [], loc: this.span(start, this.toks[this.pos - 1] as Token), where });
          this.endItem();
          return;
        }
        if (verb !== 'add' && verb !== 'insert' && verb !== 'replace') throw this.unexpected(objTok);
        if (verb === 'replace' && handle === undefined) throw this.unexpected();
        const r = this.ruleStmts(family);
        out.push({ obj: 'rule', verb, family, table, chain, ...(handle !== undefined ? { handle } : {}), ...(index !== undefined ? { index } : {}), stmts: r.stmts, ...(r.comment !== undefined ? { comment: r.comment } : {}), refs: r.refs, loc: this.span(start, this.toks[this.pos - 1] as Token), where });
        this.endItem();
        return;
      }
      case 'set':
      case 'map': {
        const { family, table, tableTok } = this.tableRef();
        const nameTok = this.identifier();
        const name = nameTok.text;
        const loc = this.span(start, nameTok);
        const where = { table: this.loc(tableTok), name: this.loc(nameTok) };
        let spec: SetSpec | undefined;
        if (this.isPunct(this.peek(), '{')) {
          if (verb !== 'add' && verb !== 'create') throw this.unexpected();
          this.next();
          spec = this.setBody(obj === 'map', loc);
        } else if (verb === 'add' || verb === 'create') {
          throw this.unexpected();
        }
        out.push({ obj: 'set', verb, family, table, map: obj === 'map', name, ...(spec !== undefined ? { spec } : {}), loc, where });
        this.endItem();
        return;
      }
      case 'element': {
        const { family, table, tableTok } = this.tableRef();
        const nameTok = this.identifier();
        const name = nameTok.text;
        const where = { table: this.loc(tableTok), name: this.loc(nameTok) };
        if (verb !== 'add' && verb !== 'create' && verb !== 'delete') throw this.unexpected(objTok);
        const elems = this.elementList();
        out.push({ obj: 'element', verb, family, table, name, elems, loc: this.span(start, this.toks[this.pos - 1] as Token), where });
        this.endItem();
        return;
      }
      default:
        if (['counter', 'quota', 'limit', 'flowtable', 'ct', 'secmark', 'synproxy'].includes(obj)) {
          throw new NftError('NFT_UNSUPPORTED', `named ${obj} objects are not modelled by the emulator`, this.loc(objTok));
        }
        throw this.unexpected(objTok);
    }
  }

  private tableBlock(verb: Verb, family: Family, table: string, loc: NftLocation, out: Cmd[]): void {
    this.punct('{');
    let comment: string | undefined;
    const chains: Cmd[] = [];
    const sets: Cmd[] = [];
    const rules: Cmd[] = [];
    for (;;) {
      this.skipSeparators();
      const t = this.peek();
      if (this.isPunct(t, '}')) { this.next(); break; }
      const w = this.word();
      switch (w.text) {
        case 'comment': comment = this.str().text; this.endItem(); break;
        case 'chain': {
          const name = this.identifier();
          this.punct('{');
          const spec = this.chainBody(family, table, name.text, rules);
          chains.push({ obj: 'chain', verb: 'add', family, table, chain: name.text, spec, loc: this.span(w, name) });
          this.endItem();
          break;
        }
        case 'set':
        case 'map': {
          const name = this.identifier();
          this.punct('{');
          const l = this.span(w, name);
          sets.push({ obj: 'set', verb: 'add', family, table, map: w.text === 'map', name: name.text, spec: this.setBody(w.text === 'map', l), loc: l });
          this.endItem();
          break;
        }
        case 'flags':
          throw new NftError('NFT_UNSUPPORTED', 'table flags are not modelled by the emulator', this.loc(w));
        default:
          throw this.unexpected(w);
      }
    }
    out.push({ obj: 'table', verb, family, table, ...(comment !== undefined ? { comment } : {}), loc }, ...chains, ...sets, ...rules);
  }

  /** After `{`: the chain's properties and rules up to the closing `}` (consumed). */
  private chainBody(family: Family, table: string, chain: string, rules: Cmd[]): ChainSpec {
    let base: { type: ChainType; hook: HookName; priority: number; device?: string } | undefined;
    let policy: 'accept' | 'drop' | undefined;
    let comment: string | undefined;
    for (;;) {
      this.skipSeparators();
      const t = this.peek();
      if (this.isPunct(t, '}')) { this.next(); break; }
      if (this.isWord(t, 'type') && base === undefined) {
        this.next();
        const ty = this.word();
        if (ty.text !== 'filter' && ty.text !== 'nat' && ty.text !== 'route') throw new NftError('NFT_EVAL', `unknown chain type ${ty.text}`, this.loc(ty));
        this.word('hook');
        const hk = this.word();
        if (!(HOOKS as readonly string[]).includes(hk.text)) throw new NftError('NFT_EVAL', `unknown chain hook ${hk.text}`, this.loc(hk));
        let device: string | undefined;
        if (this.isWord(this.peek(), 'device')) { this.next(); device = this.str().text; }
        const prioTok = this.word('priority');
        const priority = this.priority(hk.text as HookName, prioTok);
        base = { type: ty.text as ChainType, hook: hk.text as HookName, priority, ...(device !== undefined ? { device } : {}) };
        if (ty.text === 'route' && hk.text !== 'output') throw new NftError('NFT_KERNEL', 'Could not process rule: Operation not supported', this.loc(ty));
        if (ty.text === 'nat' && hk.text === 'forward') throw new NftError('NFT_KERNEL', 'Could not process rule: Operation not supported', this.loc(ty));
        this.endItem();
        continue;
      }
      if (this.isWord(t, 'policy')) {
        this.next();
        const p = this.word();
        if (p.text !== 'accept' && p.text !== 'drop') throw this.unexpected(p);
        policy = p.text;
        this.endItem();
        continue;
      }
      if (this.isWord(t, 'comment') && (this.peek(1).kind === 'string' || this.isWord(this.peek(1))) && this.endsAfter(2)) {
        this.next();
        comment = this.str().text;
        this.endItem();
        continue;
      }
      const start = this.peek();
      const r = this.ruleStmts(family);
      rules.push({ obj: 'rule', verb: 'add', family, table, chain, stmts: r.stmts, ...(r.comment !== undefined ? { comment: r.comment } : {}), refs: r.refs, loc: this.span(start, this.toks[this.pos - 1] as Token) });
      this.endItem();
    }
    if (policy !== undefined && base === undefined) throw new NftError('NFT_EVAL', 'policy specified for a regular chain', this.loc(this.toks[this.pos - 1] as Token));
    const spec: BaseChainSpec | undefined = base !== undefined ? { ...base, policy: policy ?? 'accept' } : undefined;
    return { ...(spec !== undefined ? { base: spec } : {}), ...(comment !== undefined ? { comment } : {}) };
  }

  private endsAfter(k: number): boolean {
    const t = this.peek(k);
    return t.kind === 'nl' || t.kind === 'eof' || this.isPunct(t, ';') || this.isPunct(t, '}');
  }

  /** `priority` value: a number, or a standard name with an optional `+ N` / `- N`. */
  private priority(hook: HookName, kw: Token): number {
    const t = this.word();
    if (/^-?\d+$/.test(t.text)) return Number(t.text);
    const std = STD_PRIOS.find(([n]) => n === t.text);
    let end = t;
    let off = 0;
    if (this.isPunct(this.peek(), '+') || this.isPunct(this.peek(), '-')) {
      const sign = this.next().text === '-' ? -1 : 1;
      end = this.word();
      if (!/^\d+$/.test(end.text)) throw this.unexpected(end);
      off = sign * Number(end.text);
    } else if (this.isWord(this.peek()) && /^-\d+$/.test(this.peek().text)) {
      end = this.next();
      off = Number(end.text);
    }
    if (std === undefined || !prioNameFits(std[0], hook)) throw new NftError('NFT_EVAL', 'invalid priority expression value in this context.', this.span(kw, end));
    return std[1] + off;
  }

  /** After `{`: a set or map declaration up to `}` (consumed). */
  private setBody(map: boolean, at: NftLocation): SetSpec {
    let keyTypes: string[] | undefined;
    let dataType: string | undefined;
    const flags: string[] = [];
    let timeout: number | undefined;
    let size: number | undefined;
    let comment: string | undefined;
    let policy: string | undefined;
    let elems: RawElem[] = [];
    for (;;) {
      this.skipSeparators();
      const t = this.peek();
      if (this.isPunct(t, '}')) { this.next(); break; }
      const w = this.word();
      switch (w.text) {
        case 'type': {
          keyTypes = [this.typeName()];
          while (this.isPunct(this.peek(), '.')) { this.next(); keyTypes.push(this.typeName()); }
          if (map) {
            this.punct(':');
            const d = this.word();
            if (d.text !== 'verdict' && datatype(d.text) === undefined) throw new NftError('NFT_EVAL', `unknown datatype ${d.text}`, this.loc(d));
            dataType = d.text;
          }
          break;
        }
        case 'typeof':
          throw new NftError('NFT_UNSUPPORTED', '`typeof` set declarations are not modelled by the emulator; use `type`', this.loc(w));
        case 'flags':
          do {
            const f = this.word();
            if (!['constant', 'interval', 'timeout', 'dynamic'].includes(f.text)) throw this.unexpected(f);
            flags.push(f.text);
          } while (this.isPunct(this.peek(), ',') && this.next());
          break;
        case 'timeout': {
          const d = this.word();
          timeout = parseDuration(d.text);
          if (timeout === undefined) throw new NftError('NFT_SYNTAX', 'syntax error, invalid timeout', this.loc(d));
          break;
        }
        case 'size': size = this.number(); break;
        case 'policy': {
          const p = this.word();
          if (p.text !== 'performance' && p.text !== 'memory') throw this.unexpected(p);
          policy = p.text;
          break;
        }
        case 'comment': comment = this.str().text; break;
        case 'elements':
          this.punct('=');
          elems = this.elementList();
          break;
        default:
          throw this.unexpected(w);
      }
      this.endItem();
    }
    if (keyTypes === undefined) throw new NftError('NFT_EVAL', `${map ? 'map' : 'set'} definition does not specify key`, at);
    return { keyTypes, ...(dataType !== undefined ? { dataType } : {}), flags, ...(timeout !== undefined ? { timeout } : {}), ...(size !== undefined ? { size } : {}), ...(comment !== undefined ? { comment } : {}), ...(policy !== undefined ? { policy } : {}), elems };
  }

  private typeName(): string {
    const t = this.word();
    if (datatype(t.text) === undefined) throw new NftError('NFT_EVAL', `unknown datatype ${t.text}`, this.loc(t));
    return t.text;
  }

  private rawValue(): RawValue {
    const t = this.peek();
    if (t.kind !== 'word' && t.kind !== 'string') throw this.unexpected(t);
    this.next();
    return { text: t.text, quoted: t.kind === 'string', loc: this.loc(t) };
  }

  /** `{ elem, elem … }` of an element command or `elements =` (newlines allowed inside). */
  private elementList(): RawElem[] {
    this.punct('{');
    const out: RawElem[] = [];
    this.skipNl();
    if (this.isPunct(this.peek(), '}')) { this.next(); return out; }
    for (;;) {
      this.skipNl();
      const start = this.peek();
      const key = [this.rawValue()];
      while (this.isPunct(this.peek(), '.')) { this.next(); key.push(this.rawValue()); }
      let comment: string | undefined;
      let timeout: number | undefined;
      for (;;) {
        const o = this.peek();
        if (this.isWord(o, 'comment')) { this.next(); comment = this.str().text; continue; }
        if (this.isWord(o, 'timeout') || this.isWord(o, 'expires')) {
          this.next();
          const d = this.word();
          const ms = parseDuration(d.text);
          if (ms === undefined) throw new NftError('NFT_SYNTAX', 'syntax error, invalid timeout', this.loc(d));
          if (o.text === 'timeout') timeout = ms;
          continue;
        }
        break;
      }
      let data: RawElem['data'];
      if (this.isPunct(this.peek(), ':')) {
        this.next();
        const d = this.peek();
        data = this.isWord(d) && VERDICTS.includes(d.text) ? { verdict: this.verdict() } : { value: this.rawValue() };
      }
      out.push({ key, ...(data !== undefined ? { data } : {}), ...(comment !== undefined ? { comment } : {}), ...(timeout !== undefined ? { timeout } : {}), loc: this.span(start, this.toks[this.pos - 1] as Token) });
      this.skipNl();
      if (this.isPunct(this.peek(), ',')) { this.next(); this.skipNl(); if (this.isPunct(this.peek(), '}')) { this.next(); return out; } continue; }
      this.punct('}');
      return out;
    }
  }

  private refs: Ref[] = [];

  private verdict(): Verdict {
    const t = this.word();
    if (t.text === 'jump' || t.text === 'goto') {
      const c = this.identifier();
      this.refs.push({ kind: 'chain', name: c.text, loc: this.loc(c) });
      return { kind: t.text, chain: c.text };
    }
    if (!VERDICTS.includes(t.text)) throw this.unexpected(t);
    return { kind: t.text as Verdict['kind'] };
  }

  // ------------------------------------------------------------ rules

  private ruleStmts(family: Family): { stmts: Stmt[]; comment?: string; refs: Ref[] } {
    this.refs = [];
    const stmts: Stmt[] = [];
    let comment: string | undefined;
    if (this.atEnd()) throw this.unexpected();
    while (!this.atEnd()) {
      if (comment !== undefined) throw this.unexpected();
      const t = this.peek();
      if (!this.isWord(t)) throw this.unexpected(t);
      if (t.text === 'comment') { this.next(); comment = this.str().text; continue; }
      stmts.push(this.statement(family, stmts));
    }
    const refs = this.refs;
    this.refs = [];
    return { stmts: normalize(stmts), ...(comment !== undefined ? { comment } : {}), refs };
  }

  private statement(family: Family, before: readonly Stmt[]): Stmt {
    const t = this.peek();
    switch (t.text) {
      case 'accept': case 'drop': case 'return': case 'continue': case 'jump': case 'goto':
        return { kind: 'verdict', verdict: this.verdict() };
      case 'counter': {
        this.next();
        let packets = 0;
        let bytes = 0;
        if (this.isWord(this.peek(), 'packets')) { this.next(); packets = this.number(); }
        if (this.isWord(this.peek(), 'bytes')) { this.next(); bytes = this.number(); }
        return { kind: 'counter', packets, bytes };
      }
      case 'log': {
        this.next();
        let prefix: string | undefined;
        let level: string | undefined;
        for (;;) {
          if (this.isWord(this.peek(), 'prefix')) { this.next(); prefix = this.str().text; continue; }
          if (this.isWord(this.peek(), 'level')) {
            this.next();
            const l = this.word();
            if (!['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'].includes(l.text)) throw this.unexpected(l);
            level = l.text;
            continue;
          }
          break;
        }
        return { kind: 'log', ...(prefix !== undefined ? { prefix } : {}), ...(level !== undefined && level !== 'warn' ? { level } : {}) };
      }
      case 'reject': {
        this.next();
        if (!this.isWord(this.peek(), 'with')) return { kind: 'reject' };
        this.next();
        const ty = this.word();
        if (ty.text === 'tcp') { this.word('reset'); return { kind: 'reject', with: { type: 'tcp', code: 'reset' } }; }
        if (ty.text !== 'icmp' && ty.text !== 'icmpx') throw this.unexpected(ty);
        if (this.isWord(this.peek(), 'type')) this.next();
        const code = this.word();
        const codes = ty.text === 'icmp' ? ICMP_REJECT : ICMPX_REJECT;
        if (!codes.includes(code.text)) throw new NftError('NFT_EVAL', `Could not parse ${ty.text === 'icmp' ? 'ICMP' : 'ICMPX'} code`, this.loc(code));
        // The default (port-unreachable for ip, icmpx port-unreachable for inet) prints as bare `reject`.
        if (code.text === 'port-unreachable' && ((ty.text === 'icmp' && family === 'ip') || (ty.text === 'icmpx' && family === 'inet'))) return { kind: 'reject' };
        return { kind: 'reject', with: { type: ty.text, code: code.text } };
      }
      case 'dnat': case 'snat': case 'masquerade': case 'redirect':
        return this.natStmt(family, before);
      case 'notrack':
        this.next();
        return { kind: 'notrack' };
      case 'update':
      case 'add': {
        if (!this.isPunct(this.peek(1), '@')) break;
        this.next();
        this.punct('@');
        const name = this.identifier();
        this.refs.push({ kind: 'set', name: name.text, loc: this.loc(name) });
        this.punct('{');
        const sels = this.selectors();
        let timeout: number | undefined;
        if (this.isWord(this.peek(), 'timeout')) {
          this.next();
          const d = this.word();
          timeout = parseDuration(d.text);
          if (timeout === undefined) throw new NftError('NFT_SYNTAX', 'syntax error, invalid timeout', this.loc(d));
        }
        this.punct('}');
        return { kind: 'set update', op: t.text as 'update' | 'add', setName: name.text, sels, ...(timeout !== undefined ? { timeout } : {}) };
      }
      default:
        break;
    }
    return this.matchOrSet();
  }

  private natStmt(family: Family, before: readonly Stmt[]): Stmt {
    const kw = this.next();
    const nat = kw.text as 'dnat' | 'snat' | 'masquerade' | 'redirect';
    let fam: 'ip' | undefined;
    let addrLo: number | undefined;
    let addrHi: number | undefined;
    let portLo: number | undefined;
    let portHi: number | undefined;
    let portLoc: NftLocation | undefined;
    if (nat === 'dnat' || nat === 'snat') {
      if (this.isWord(this.peek(), 'ip')) { this.next(); fam = 'ip'; }
      if (this.isWord(this.peek(), 'ip6')) throw new NftError('NFT_UNSUPPORTED', 'IPv6 is not modelled by the emulator', this.loc(this.peek()));
      this.word('to');
      if (family === 'inet' && fam === undefined) throw new NftError('NFT_EVAL', 'ip or ip6 must be specified with address for inet tables.', this.loc(kw));
      const a = this.word();
      const m = /^([0-9.]+)(?:-([0-9.]+))?(?::(\d+)(?:-(\d+))?)?$/.exec(a.text);
      const lo = m?.[1] !== undefined ? datatype('ipv4_addr')?.parse(m[1], false) : undefined;
      const hi = m?.[2] !== undefined ? datatype('ipv4_addr')?.parse(m[2], false) : lo;
      if (m === null || lo === undefined || hi === undefined) throw new NftError('NFT_EVAL', 'Could not resolve hostname: Name or service not known', this.loc(a));
      addrLo = lo as number;
      addrHi = hi as number;
      if (m[3] !== undefined) {
        const colon = a.text.indexOf(':');
        portLoc = { line: a.line, col: a.col + colon + 1, endCol: a.endCol };
        portLo = Number(m[3]);
        portHi = m[4] !== undefined ? Number(m[4]) : portLo;
        if (portLo > 65535 || portHi > 65535) throw new NftError('NFT_EVAL', 'Could not resolve service: Servname not supported for ai_socktype', this.loc(a));
      }
    } else if (this.isWord(this.peek(), 'to')) {
      this.next();
      this.punct(':');
      const p = this.word();
      portLoc = this.loc(p);
      const m = /^(\d+)(?:-(\d+))?$/.exec(p.text);
      if (m === null) throw this.unexpected(p);
      portLo = Number(m[1]);
      portHi = m[2] !== undefined ? Number(m[2]) : portLo;
    }
    if (portLo !== undefined && !before.some(hasL4Dependency)) {
      throw new NftError('NFT_EVAL', 'transport protocol mapping is only valid after transport protocol match', portLoc);
    }
    const flags: string[] = [];
    while (this.isWord(this.peek()) && ['random', 'fully-random', 'persistent'].includes(this.peek().text)) {
      flags.push(this.next().text);
      if (this.isPunct(this.peek(), ',')) this.next();
    }
    return {
      kind: 'nat', nat, ...(fam !== undefined ? { family: fam } : {}),
      ...(addrLo !== undefined ? { addrLo, addrHi: addrHi as number } : {}), ...(portLo !== undefined ? { portLo, portHi: portHi as number } : {}), flags,
    };
  }

  /** A selector, or a concatenation of them (`ip daddr . meta l4proto . th dport`). */
  private selectors(): Selector[] {
    const out = [this.selector()];
    while (this.isPunct(this.peek(), '.')) { this.next(); out.push(this.selector()); }
    return out;
  }

  private selector(): Selector {
    const t = this.word();
    const sub = (allowed: readonly string[]): string => {
      const s = this.word();
      if (!allowed.includes(s.text)) throw this.unexpected(s);
      return s.text;
    };
    switch (t.text) {
      case 'ip': return { kind: `ip ${sub(['saddr', 'daddr', 'protocol', 'ttl'])}` as SelectorKind };
      case 'tcp': case 'udp': case 'th': return { kind: `${t.text} ${sub(['sport', 'dport'])}` as SelectorKind };
      case 'meta': return { kind: `meta ${sub(['l4proto', 'iifname', 'oifname', 'mark', 'nfproto'])}` as SelectorKind };
      case 'iifname': case 'oifname': case 'mark': return { kind: `meta ${t.text}` as SelectorKind };
      case 'ct': return { kind: `ct ${sub(['state', 'status', 'mark'])}` as SelectorKind };
      case 'fib': {
        const which = sub(['saddr', 'daddr']);
        this.word('type');
        return { kind: `fib ${which} type` as SelectorKind };
      }
      case 'numgen': {
        this.word('random');
        this.word('mod');
        const mod = this.number();
        let offset = 0;
        if (this.isWord(this.peek(), 'offset')) { this.next(); offset = this.number(); }
        if (mod <= 0) throw new NftError('NFT_KERNEL', 'Could not process rule: Numerical result out of range', this.span(t, this.toks[this.pos - 1] as Token));
        return { kind: 'numgen', mod, ...(offset !== 0 ? { offset } : {}) };
      }
      case 'ip6': case 'icmp': case 'icmpv6': case 'sctp': case 'ether': case 'vlan': case 'arp': case 'socket': case 'rt': case 'osf': case 'ipsec': case 'exthdr': case 'tcpopt':
        throw new NftError('NFT_UNSUPPORTED', `\`${t.text}\` expressions are not modelled by the emulator`, this.loc(t));
      default:
        throw this.unexpected(t);
    }
  }

  /** A match (`sel [& mask] [op] rhs`), a verdict map, or `… set value`. */
  private matchOrSet(): Stmt {
    const first = this.peek();
    const sels = this.selectors();
    const types = sels.map(selectorType);
    if (this.isWord(this.peek(), 'set')) {
      this.next();
      const sel = sels[0] as Selector;
      if (sels.length !== 1 || (sel.kind !== 'meta mark' && sel.kind !== 'ct mark')) throw new NftError('NFT_UNSUPPORTED', 'only `meta mark set` and `ct mark set` are modelled', this.span(first, this.toks[this.pos - 1] as Token));
      return this.markSet(sel.kind);
    }
    if (this.isWord(this.peek(), 'vmap')) {
      this.next();
      return { kind: 'vmap', sels, map: this.mapRhs(types) };
    }
    let mask: number | undefined;
    if (this.isPunct(this.peek(), '&') || this.isWord(this.peek(), 'and')) {
      this.next();
      mask = this.number() >>> 0;
    }
    let op: CmpOp = '==';
    const o = this.peek();
    const words: Record<string, CmpOp> = { eq: '==', ne: '!=', lt: '<', gt: '>', le: '<=', ge: '>=' };
    if (o.kind === 'punct' && ['==', '!=', '<', '>', '<=', '>='].includes(o.text)) op = this.next().text as CmpOp;
    else if (this.isWord(o) && Object.hasOwn(words, o.text)) { this.next(); op = words[o.text] as CmpOp; }
    const rhs = this.rhs(types, op);
    return { kind: 'match', sels, ...(mask !== undefined ? { mask } : {}), op, rhs };
  }

  private markSet(target: 'meta mark' | 'ct mark'): Stmt {
    const t = this.peek();
    if (this.isWord(t, 'mark') || this.isWord(t, 'meta') || this.isWord(t, 'ct')) {
      const src = this.selector();
      if (src.kind !== 'meta mark' && src.kind !== 'ct mark') throw this.unexpected(t);
      const o = this.peek();
      const ops: Record<string, '|' | '^' | '&'> = { '|': '|', or: '|', '^': '^', xor: '^', '&': '&', and: '&' };
      if ((o.kind === 'punct' || o.kind === 'word') && Object.hasOwn(ops, o.text)) {
        this.next();
        return { kind: 'mark set', target, source: src.kind, op: ops[o.text] as '|' | '^' | '&', value: this.number() >>> 0 };
      }
      return { kind: 'mark set', target, source: src.kind, value: 0 };
    }
    return { kind: 'mark set', target, value: this.number() >>> 0 };
  }

  private rhs(types: readonly DataType[], op: CmpOp): Rhs {
    const t = this.peek();
    if (this.isPunct(t, '@')) {
      this.next();
      const n = this.identifier();
      this.refs.push({ kind: 'set', name: n.text, loc: this.span(t, n) });
      return { kind: 'named', name: n.text };
    }
    if (this.isPunct(t, '{')) {
      const elems = this.elementList();
      if (elems.some((e) => e.data !== undefined)) throw new NftError('NFT_EVAL', 'Map expression can not be used as a set', this.loc(t));
      const set = anonymousSet(types, elems, false);
      // nft turns an anonymous set of one element into a plain comparison (not a concatenation's).
      if (set.elems.size === 1 && types.length === 1) return { kind: 'value', atoms: [...set.elems.values()][0]?.key ?? [] };
      return { kind: 'set', set };
    }
    const vals = [this.rawValue()];
    while (this.isPunct(this.peek(), '.')) { this.next(); vals.push(this.rawValue()); }
    if (vals.length !== types.length) throw new NftError('NFT_EVAL', 'datatype mismatch', vals[0]?.loc);
    const flagsType = types.length === 1 ? (types[0] as DataType).flags : undefined;
    if (flagsType !== undefined) {
      let bits = 0;
      const list = [vals[0] as RawValue];
      while (this.isPunct(this.peek(), ',')) { this.next(); list.push(this.rawValue()); }
      for (const v of list) {
        const n = (types[0] as DataType).parse(v.text, v.quoted);
        if (n === undefined) throw new NftError('NFT_EVAL', (types[0] as DataType).badValue(v.text), v.loc);
        bits |= n as number;
      }
      if (op === '==' && list.length >= 1) return { kind: 'flags', bits };
      return { kind: 'value', atoms: [{ lo: bits, hi: bits }] };
    }
    const atoms: Atom[] = vals.map((v, i) => parseAtom(types[i] as DataType, v));
    return { kind: 'value', atoms };
  }

  private mapRhs(types: readonly DataType[]): Rhs {
    const t = this.peek();
    if (this.isPunct(t, '@')) {
      this.next();
      const n = this.identifier();
      this.refs.push({ kind: 'set', name: n.text, loc: this.span(t, n) });
      return { kind: 'named', name: n.text };
    }
    const elems = this.elementList();
    for (const e of elems) {
      if (e.data === undefined || !('verdict' in e.data)) throw new NftError('NFT_EVAL', 'Verdict map expects verdicts', e.loc);
    }
    const set: NftSet = anonymousSet(types, elems, true);
    return { kind: 'set', set };
  }
}

const ICMP_REJECT = ['net-unreachable', 'host-unreachable', 'prot-unreachable', 'port-unreachable', 'net-prohibited', 'host-prohibited', 'admin-prohibited'];
const ICMPX_REJECT = ['port-unreachable', 'admin-prohibited', 'no-route', 'host-unreachable'];

/** A match that fixes the transport protocol (what nft requires before a port mapping). */
function hasL4Dependency(s: Stmt): boolean {
  if (s.kind !== 'match') return false;
  return s.sels.some((x) => x.kind === 'meta l4proto' || x.kind === 'ip protocol' || x.kind.startsWith('tcp ') || x.kind.startsWith('udp '));
}

/**
 * nft's payload dependency elimination as seen in `nft list`: a `meta l4proto X` or
 * `ip protocol X` equality (X tcp or udp) followed by a transport selector of that
 * protocol is implied by it and is not printed; a following `th` selector prints as X.
 */
function normalize(stmts: Stmt[]): Stmt[] {
  const out = [...stmts];
  for (let i = 0; i < out.length; i++) {
    const s = out[i] as Stmt;
    if (s.kind !== 'match' || s.sels.length !== 1 || s.op !== '==' || s.mask !== undefined || s.rhs.kind !== 'value') continue;
    const sel = (s.sels[0] as Selector).kind;
    if (sel !== 'meta l4proto' && sel !== 'ip protocol') continue;
    const a = s.rhs.atoms[0] as Atom;
    if (a.lo !== a.hi || (a.lo !== 6 && a.lo !== 17)) continue;
    const proto = a.lo === 6 ? 'tcp' : 'udp';
    const j = out.findIndex((x, k) => k > i && x.kind === 'match' && x.sels.length === 1 && /^(tcp|udp|th) [sd]port$/.test((x.sels[0] as Selector).kind));
    if (j < 0) continue;
    const dep = out[j] as Extract<Stmt, { kind: 'match' }>;
    const depSel = (dep.sels[0] as Selector).kind;
    if (!depSel.startsWith('th ') && !depSel.startsWith(`${proto} `)) continue;
    out[j] = { ...dep, sels: [{ kind: `${proto} ${depSel.split(" ")[1] ?? ""}` as SelectorKind }] };
    out.splice(i, 1);
    i--;
  }
  return out;
}
