/**
 * One `nft -f` batch as one nf_tables transaction (nf_tables_api.c: every command of
 * the batch is prepared against the ruleset the batch has built so far, and the
 * whole batch commits or aborts). Tables, chains and sets are copied when the batch
 * first touches them, so an aborted batch leaves the ruleset exactly as it was and a
 * committed one costs what it changed. After the last command the kernel's
 * validation runs (nft_chain_validate): jumps deeper than 16 or in a loop fail with
 * EMLINK, NAT statements only where a nat chain at the right hook reaches them,
 * `reject` anywhere but postrouting.
 *
 * The errors are the kernel's, worded as nft prints them (`Could not process rule:
 * No such file or directory`), located at the command or the name it could not find.
 */
import { NftError } from './errors.ts';
import type { NftLocation } from './errors.ts';
import type { Cmd, RawElem, SetSpec } from './commands.ts';
import { DATATYPES } from './datatypes.ts';
import type { DataType } from './datatypes.ts';
import type { Chain, Family, HookName, NftSet, Rule, Ruleset, SetElem, Stmt, Table, Verdict } from './model.ts';
import { tableKey } from './model.ts';
import { keyText, selectorTypeName, typeElem } from './values.ts';
import type { NftShare, TypedElem } from './share.ts';

const ENOENT = 'No such file or directory';
const EEXIST = 'File exists';
const EBUSY = 'Device or resource busy';
const EMLINK = 'Too many links';
const EOPNOTSUPP = 'Operation not supported';
const EINVAL = 'Invalid argument';
/** NFT_JUMP_STACK_SIZE. */
const JUMP_STACK = 16;

function kernel(errno: string, loc: NftLocation | undefined): NftError {
  return new NftError('NFT_KERNEL', `Could not process rule: ${errno}`, loc);
}

/**
 * Applies `cmds` to a copy of `rs`; returns the new ruleset or throws NftError leaving `rs` untouched.
 * `share`: where elements of shared commands are typed once for every namespace (share.ts).
 */
export function applyTransaction(rs: Ruleset, cmds: readonly Cmd[], now: number, share?: NftShare): Ruleset {
  return new Tx(rs, now, share).run(cmds);
}

class Tx {
  private readonly tables: Map<string, Table>;
  private nextTableHandle: number;
  private readonly ownTables = new Set<Table>();
  private readonly ownChains = new Set<Chain>();
  private readonly ownSets = new Set<NftSet>();
  /** Where each rule added by this batch came from (validation errors point there). */
  private readonly ruleLoc = new Map<Rule, NftLocation>();

  constructor(rs: Ruleset, private readonly now: number, private readonly share: NftShare | undefined) {
    this.tables = new Map(rs.tables);
    this.nextTableHandle = rs.nextTableHandle;
  }

  run(cmds: readonly Cmd[]): Ruleset {
    for (const c of cmds) this.apply(c);
    this.validate(cmds[0]?.loc);
    return { tables: this.tables, nextTableHandle: this.nextTableHandle };
  }

  // ------------------------------------------------------------ copy on first touch

  /** The table a command names; nft's cache check reports a missing one itself, at the name. */
  private table(family: Family, name: string, loc: NftLocation): Table {
    const t = this.tables.get(tableKey(family, name));
    if (t === undefined) throw new NftError('NFT_EVAL', ENOENT, loc);
    return this.own(t);
  }

  private own(t: Table): Table {
    if (this.ownTables.has(t)) return t;
    const c: Table = { ...t, chains: new Map(t.chains), sets: new Map(t.sets) };
    this.ownTables.add(c);
    this.tables.set(tableKey(t.family, t.name), c);
    return c;
  }

  private chain(t: Table, name: string, loc: NftLocation): Chain {
    const c = t.chains.get(name);
    if (c === undefined) throw kernel(ENOENT, loc);
    if (this.ownChains.has(c)) return c;
    const copy: Chain = { ...c, rules: [...c.rules] };
    this.ownChains.add(copy);
    t.chains.set(name, copy);
    return copy;
  }

  private set(t: Table, name: string, loc: NftLocation): NftSet {
    const s = t.sets.get(name);
    if (s === undefined) throw kernel(ENOENT, loc);
    if (this.ownSets.has(s)) return s;
    const copy: NftSet = { ...s, elems: new Map(s.elems) };
    this.ownSets.add(copy);
    t.sets.set(name, copy);
    return copy;
  }

  // ------------------------------------------------------------ commands

  private apply(c: Cmd): void {
    if (c.obj === 'ruleset') {
      for (const [k, t] of [...this.tables]) if (c.family === undefined || t.family === c.family) this.tables.delete(k);
      return;
    }
    const key = tableKey(c.family, c.table);
    if (c.obj === 'table') {
      const t = this.tables.get(key);
      switch (c.verb) {
        case 'add':
        case 'create':
          if (t !== undefined) {
            if (c.verb === 'create') throw kernel(EEXIST, c.where?.name ?? c.loc);
            return;
          }
          this.ownTables.add(this.newTable(c.family, c.table, c.comment));
          return;
        case 'delete':
          if (t === undefined) throw kernel(ENOENT, c.where?.name ?? c.loc);
          this.tables.delete(key);
          return;
        case 'flush': {
          const own = this.table(c.family, c.table, c.loc);
          for (const name of own.chains.keys()) this.chain(own, name, c.loc).rules.length = 0;
          return;
        }
        default:
          throw kernel(EOPNOTSUPP, c.loc);
      }
    }
    const t = this.table(c.family, c.table, c.where?.table ?? c.loc);
    switch (c.obj) {
      case 'chain': return this.chainCmd(t, c);
      case 'rule': return this.ruleCmd(t, c);
      case 'set': return this.setCmd(t, c);
      case 'element': return this.elementCmd(t, c);
    }
  }

  private newTable(family: Family, name: string, comment: string | undefined): Table {
    const t: Table = { family, name, handle: this.nextTableHandle++, ...(comment !== undefined ? { comment } : {}), chains: new Map(), sets: new Map(), nextHandle: 1 };
    this.tables.set(tableKey(family, name), t);
    return t;
  }

  private chainCmd(t: Table, c: Extract<Cmd, { obj: 'chain' }>): void {
    const existing = t.chains.get(c.chain);
    switch (c.verb) {
      case 'add':
      case 'create': {
        if (existing !== undefined) {
          if (c.verb === 'create') throw kernel(EEXIST, c.where?.name ?? c.loc);
          const b = c.spec?.base;
          if (b === undefined) return;
          const e = existing.base;
          if (e === undefined || e.type !== b.type || e.hook !== b.hook || e.priority !== b.priority) throw kernel(e === undefined ? EBUSY : EOPNOTSUPP, c.loc);
          // Only the policy of an existing base chain may change.
          const own = this.chain(t, c.chain, c.loc);
          t.chains.set(c.chain, { ...own, base: b });
          this.ownChains.add(t.chains.get(c.chain) as Chain);
          return;
        }
        const ch: Chain = { name: c.chain, handle: t.nextHandle++, ...(c.spec?.base !== undefined ? { base: c.spec.base } : {}), ...(c.spec?.comment !== undefined ? { comment: c.spec.comment } : {}), rules: [] };
        if (c.chain.length > 256) throw kernel('Numerical result out of range', c.loc);
        t.chains.set(c.chain, ch);
        this.ownChains.add(ch);
        return;
      }
      case 'flush':
        this.chain(t, c.chain, c.where?.name ?? c.loc).rules.length = 0;
        return;
      case 'delete': {
        if (existing === undefined) throw kernel(ENOENT, c.where?.name ?? c.loc);
        if (chainReferenced(t, c.chain)) throw kernel(EBUSY, c.loc);
        t.chains.delete(c.chain);
        return;
      }
      default:
        throw kernel(EOPNOTSUPP, c.loc);
    }
  }

  private ruleCmd(t: Table, c: Extract<Cmd, { obj: 'rule' }>): void {
    const ch = this.chain(t, c.chain, c.where?.name ?? c.loc);
    // Rules are found by handle among those before this batch (the kernel does not find a rule the batch added).
    const at = c.handle !== undefined ? ch.rules.findIndex((r) => r.handle === c.handle && !this.ruleLoc.has(r)) : -1;
    if (c.handle !== undefined && at < 0) throw kernel(ENOENT, c.where?.handle ?? c.loc);
    if (c.verb === 'delete') {
      ch.rules.splice(at, 1);
      return;
    }
    this.resolveRule(t, c);
    // Each anonymous set of the rule is a set object of the table, created (and given a handle) before the rule.
    for (const s of c.stmts) if ((s.kind === 'match' && s.rhs.kind === 'set') || (s.kind === 'vmap' && s.map.kind === 'set')) t.nextHandle++;
    // A replaced rule keeps its handle (NFTA_RULE_HANDLE given); a new one takes the next.
    const rule: Rule = { handle: c.verb === 'replace' ? (c.handle as number) : t.nextHandle++, stmts: withOwnCounters(c.stmts), ...(c.comment !== undefined ? { comment: c.comment } : {}) };
    this.ruleLoc.set(rule, c.loc);
    if (c.verb === 'replace') {
      ch.rules[at] = rule;
      return;
    }
    let pos: number;
    if (at >= 0) pos = c.verb === 'insert' ? at : at + 1;
    else if (c.index !== undefined) {
      if (c.index >= ch.rules.length) throw kernel(ENOENT, c.where?.handle ?? c.loc);
      pos = c.verb === 'insert' ? c.index : c.index + 1;
    } else pos = c.verb === 'insert' ? 0 : ch.rules.length;
    ch.rules.splice(pos, 0, rule);
  }

  /** nft's evaluation of a rule's names: chains and sets must exist, sets must fit their selectors. */
  private resolveRule(t: Table, c: Extract<Cmd, { obj: 'rule' }>): void {
    for (const ref of c.refs) {
      if (ref.kind === 'set') {
        if (!t.sets.has(ref.name)) throw new NftError('NFT_EVAL', ENOENT, ref.loc);
        continue;
      }
      const target = t.chains.get(ref.name);
      if (target === undefined) throw kernel(ENOENT, ref.loc);
      // The kernel refuses jumps to base chains (nft_verdict_init).
      if (target.base !== undefined) throw kernel(EOPNOTSUPP, ref.loc);
    }
    for (const s of c.stmts) {
      const check = (sels: readonly { kind: string }[], name: string, wantMap: boolean | undefined): void => {
        const set = t.sets.get(name) as NftSet;
        const ref = c.refs.find((r) => r.kind === 'set' && r.name === name);
        const want = sels.map((x) => selectorTypeName(x as never));
        if (set.keyTypes.join(' . ') !== want.join(' . ')) {
          throw new NftError('NFT_EVAL', `datatype mismatch, expected ${describeType(want)}, expression has type ${describeType(set.keyTypes)}`, ref?.loc ?? c.loc);
        }
        if (wantMap === true && set.dataType !== 'verdict') throw new NftError('NFT_EVAL', `Expression is not a verdict map`, ref?.loc ?? c.loc);
        if (wantMap === false && set.map) throw new NftError('NFT_EVAL', `Map expression can not be used as a set`, ref?.loc ?? c.loc);
      };
      if (s.kind === 'match' && s.rhs.kind === 'named') check(s.sels, s.rhs.name, false);
      if (s.kind === 'vmap' && s.map.kind === 'named') check(s.sels, s.map.name, true);
      if (s.kind === 'set update') check(s.sels, s.setName, false);
      if (s.kind === 'vmap' && s.map.kind === 'set') {
        for (const e of s.map.set.elems.values()) this.checkVerdict(t, e.data as Verdict, c.loc);
      }
    }
  }

  private checkVerdict(t: Table, v: Verdict | undefined, loc: NftLocation): void {
    if (v?.chain === undefined) return;
    const target = t.chains.get(v.chain);
    if (target === undefined) throw kernel(ENOENT, loc);
    if (target.base !== undefined) throw kernel(EOPNOTSUPP, loc);
  }

  private setCmd(t: Table, c: Extract<Cmd, { obj: 'set' }>): void {
    const existing = t.sets.get(c.name);
    switch (c.verb) {
      case 'add':
      case 'create': {
        const spec = c.spec as SetSpec;
        if (existing !== undefined) {
          if (c.verb === 'create') throw kernel(EEXIST, c.where?.name ?? c.loc);
          if (existing.map !== c.map || existing.keyTypes.join('.') !== spec.keyTypes.join('.') || existing.dataType !== spec.dataType || [...existing.flags].sort().join() !== [...spec.flags].sort().join()) {
            throw kernel(EEXIST, c.loc);
          }
        } else {
          if (c.map && spec.dataType === undefined) throw new NftError('NFT_EVAL', 'map definition does not specify mapping data type', c.loc);
          if (!c.map && spec.dataType !== undefined) throw new NftError('NFT_SYNTAX', "syntax error, unexpected ':'", c.loc);
          // nft adds the timeout flag when a default timeout is given.
          const flags = spec.timeout !== undefined && !spec.flags.includes('timeout') ? [...spec.flags, 'timeout'] : spec.flags;
          const s: NftSet = {
            name: c.name, map: c.map, keyTypes: spec.keyTypes, ...(spec.dataType !== undefined ? { dataType: spec.dataType } : {}), flags,
            ...(spec.timeout !== undefined ? { timeout: spec.timeout } : {}), ...(spec.size !== undefined ? { size: spec.size } : {}),
            ...(spec.comment !== undefined ? { comment: spec.comment } : {}), ...(spec.policy !== undefined ? { policy: spec.policy } : {}),
            elems: new Map(), handle: t.nextHandle++,
          };
          t.sets.set(c.name, s);
          this.ownSets.add(s);
        }
        if (spec.elems.length > 0) this.addElems(t, this.set(t, c.name, c.loc), spec.elems, false);
        return;
      }
      case 'flush':
        this.set(t, c.name, c.where?.name ?? c.loc).elems.clear();
        return;
      case 'delete':
        if (existing === undefined) throw kernel(ENOENT, c.where?.name ?? c.loc);
        if (setReferenced(t, c.name)) throw kernel(EBUSY, c.loc);
        t.sets.delete(c.name);
        return;
      default:
        throw kernel(EOPNOTSUPP, c.loc);
    }
  }

  private elementCmd(t: Table, c: Extract<Cmd, { obj: 'element' }>): void {
    if (!t.sets.has(c.name)) throw new NftError('NFT_EVAL', ENOENT, c.where?.name ?? c.loc);
    const s = this.set(t, c.name, c.loc);
    if (c.verb === 'add' || c.verb === 'create') {
      this.addElems(t, s, c.elems, c.verb === 'create');
      return;
    }
    const types = s.keyTypes.map((n) => DATATYPES[n] as DataType);
    for (const raw of c.elems) {
      const e = typeElem(types, undefined, { key: raw.key, loc: raw.loc });
      const k = keyText(e.key);
      if (!s.elems.delete(k)) throw kernel(ENOENT, raw.loc);
    }
  }

  private addElems(t: Table, s: NftSet, raws: readonly RawElem[], excl: boolean): void {
    const types = s.keyTypes.map((n) => DATATYPES[n] as DataType);
    const interval = s.flags.includes('interval');
    const dataType = s.map ? s.dataType : undefined;
    const sig = `${s.keyTypes.join(' . ')}:${dataType ?? ''}`;
    for (const raw of raws) {
      const typed = this.typed(types, dataType, sig, raw);
      const e0 = typed.elem;
      if (!interval && e0.key.some((a) => a.lo !== a.hi)) throw new NftError('NFT_EVAL', `You must add 'flags interval' to your set declaration if you want to add ${raw.key.some((k) => k.text.includes('/')) ? 'prefix' : 'range'} elements`, raw.loc);
      if (e0.timeout !== undefined && !s.flags.includes('timeout')) throw kernel(EINVAL, raw.loc);
      if (typeof e0.data === 'object') this.checkVerdict(t, e0.data, keyLoc(raw));
      const timeout = e0.timeout ?? s.timeout;
      const e: SetElem = timeout !== undefined ? { ...e0, expires: this.now + timeout * 1e6 } : e0;
      const k = typed.key;
      const old = s.elems.get(k);
      if (old !== undefined) {
        const same = JSON.stringify(old.data) === JSON.stringify(e.data);
        if (excl || !same) throw kernel(EEXIST, raw.loc);
        continue;
      }
      if (interval && types.length === 1) {
        const a = e.key[0] as { lo: number; hi: number };
        for (const o of s.elems.values()) {
          const b = o.key[0] as { lo: number; hi: number };
          if (a.lo <= b.hi && b.lo <= a.hi) throw new NftError('NFT_EVAL', `interval overlaps with an existing one`, raw.loc);
        }
      }
      s.elems.set(k, e);
    }
  }

  /** `raw` typed against the set's types (once for every namespace of a share). */
  private typed(types: readonly DataType[], dataType: string | undefined, sig: string, raw: RawElem): TypedElem {
    const make = (): TypedElem => {
      const elem = typeElem(types, dataType, raw);
      return { elem, key: keyText(elem.key) };
    };
    return this.share !== undefined ? this.share.element(raw, sig, make) : make();
  }

  // ------------------------------------------------------------ validation

  /** nft_chain_validate from every base chain: depth, loops, and where statements may run. */
  private validate(fallback: NftLocation | undefined): void {
    for (const t of this.ownTables) {
      if (this.tables.get(tableKey(t.family, t.name)) !== t) continue;
      for (const base of t.chains.values()) {
        if (base.base === undefined) continue;
        const { type, hook } = base.base;
        const seen = new Set<string>();
        const walk = (c: Chain, depth: number, path: Set<string>): void => {
          for (const r of c.rules) {
            for (const s of r.stmts) {
              const bad = stmtNotAllowed(s, type, hook);
              if (bad) throw kernel(EOPNOTSUPP, this.ruleLoc.get(r) ?? fallback);
              for (const v of verdictsOf(s, t)) {
                if (v.chain === undefined) continue;
                const next = t.chains.get(v.chain);
                if (next === undefined) continue;
                if (path.has(v.chain) || depth + 1 >= JUMP_STACK) throw kernel(EMLINK, this.ruleLoc.get(r) ?? fallback);
                const key = `${v.chain}`;
                if (seen.has(key) && depth > 0) continue;
                seen.add(key);
                path.add(v.chain);
                walk(next, depth + 1, path);
                path.delete(v.chain);
              }
            }
          }
        };
        walk(base, 0, new Set([base.name]));
      }
    }
  }
}

/** Where an element's key is (from its first component to its last). */
function keyLoc(e: RawElem): NftLocation {
  const a = e.key[0]?.loc ?? e.loc;
  const b = e.key.at(-1)?.loc ?? e.loc;
  return a.line === b.line ? { line: a.line, col: a.col, endCol: b.endCol } : a;
}

/** How nft names a (concatenated) type in its messages. */
function describeType(names: readonly string[]): string {
  const d = names.map((n) => (DATATYPES[n] as DataType | undefined)?.description ?? n);
  return d.length === 1 ? (d[0] as string) : `concatenation of (${d.join(', ')})`;
}

/**
 * A new rule's statements: its own counters (they count per rule, from the values the
 * command gave); everything else in a parsed statement is immutable and shared, and a
 * rule without a counter holds its command's statements as they are (share.ts).
 */
function withOwnCounters(stmts: readonly Stmt[]): readonly Stmt[] {
  if (!stmts.some((s) => s.kind === 'counter')) return stmts;
  return stmts.map((s) => (s.kind === 'counter' ? { kind: 'counter', packets: s.packets, bytes: s.bytes } : s));
}

/** The verdicts a statement may take (jumps, gotos, vmap entries). */
function verdictsOf(s: Stmt, t: Table): Verdict[] {
  if (s.kind === 'verdict') return [s.verdict];
  if (s.kind !== 'vmap') return [];
  const set = s.map.kind === 'set' ? s.map.set : s.map.kind === 'named' ? t.sets.get(s.map.name) : undefined;
  if (set === undefined) return [];
  const out: Verdict[] = [];
  for (const e of set.elems.values()) if (typeof e.data === 'object') out.push(e.data);
  return out;
}

/** nft_*_validate: NAT in nat chains at their hooks; reject anywhere but postrouting (nft_reject_validate). */
function stmtNotAllowed(s: Stmt, type: string, hook: HookName): boolean {
  if (s.kind === 'nat') {
    if (type !== 'nat') return true;
    if (s.nat === 'dnat' || s.nat === 'redirect') return hook !== 'prerouting' && hook !== 'output';
    return hook !== 'postrouting' && hook !== 'input';
  }
  if (s.kind === 'reject') return hook === 'postrouting';
  return false;
}

function chainReferenced(t: Table, name: string): boolean {
  for (const c of t.chains.values()) {
    for (const r of c.rules) for (const s of r.stmts) if (verdictsOf(s, t).some((v) => v.chain === name)) return true;
  }
  for (const s of t.sets.values()) {
    if (s.dataType !== 'verdict') continue;
    for (const e of s.elems.values()) if (typeof e.data === 'object' && e.data.chain === name) return true;
  }
  return false;
}

function setReferenced(t: Table, name: string): boolean {
  for (const c of t.chains.values()) {
    for (const r of c.rules) {
      for (const s of r.stmts) {
        if ((s.kind === 'match' && s.rhs.kind === 'named' && s.rhs.name === name) || (s.kind === 'vmap' && s.map.kind === 'named' && s.map.name === name) || (s.kind === 'set update' && s.setName === name)) return true;
      }
    }
  }
  return false;
}
