/**
 * The xtables ruleset of one network namespace, loaded the way `iptables-restore`
 * loads it and printed the way `iptables-save` prints it.
 *
 * Restore semantics (iptables 1.8, nf_tables): `*table` opens a table (flushed first
 * unless `--noflush`); `:CHAIN POLICY [p:b]` sets a built-in chain's policy or creates
 * a user chain — and flushes an existing one, which is how kube-proxy rewrites its
 * chains in a `--noflush` restore; `-A/-I/-D/-R/-E/-N/-X/-F/-P/-Z` as on the command
 * line; `COMMIT` applies the table. Each table block is atomic, as each COMMIT is one
 * nf_tables transaction: on an error the failing block changes nothing, blocks
 * committed before it stay. Errors carry the real tool's line and wording: a jump to
 * a missing chain is reported at the block's COMMIT line (iptables-nft resolves jumps
 * when it commits), a jump loop reachable from a built-in chain at the rule that
 * closes it ("Too many links").
 */
import type { Chain, Rule, Table, TableName, Target } from './model.ts';
import { RuleCounter, TABLE_CHAINS, isBuiltin, newChain, newTable } from './model.ts';
import { tokenize } from './tokenize.ts';
import { MissingChain, parseRuleArgs } from './parse-rule.ts';
import type { IptablesShare, SharedRule } from './share.ts';
import { planRestore } from './restore-plan.ts';
import type { RestorePlan } from './restore-plan.ts';
import type { RuleContext } from './parse-rule.ts';
import { IptablesError } from './errors.ts';
import type { IptablesErrorCode } from './errors.ts';
import { renderRuleSpec, renderSave, renderTable } from './render.ts';
import type { SaveOptions } from './render.ts';
import { TableEvaluator } from './evaluate.ts';
import { renderList } from './render-list.ts';
import type { ListOptions } from './render-list.ts';
import type { NfacctObjects, RecentTables, WalkRecord } from './evaluate.ts';
import type { Packet } from '../../packet/packet.ts';
import type { EvalContext, EvalResult } from '../eval-types.ts';

export interface RestoreOptions {
  readonly noflush?: boolean;
  readonly counters?: boolean;
  /** `iptables-restore --test`: parse and validate only. */
  readonly test?: boolean;
}

const TABLE_NAMES: readonly TableName[] = ['raw', 'mangle', 'nat', 'filter'];

/** Where targets may be used (the kernel refuses them elsewhere, e.g. SNAT in PREROUTING). */
function targetAllowed(table: TableName, chain: string, t: Target): boolean {
  const builtin = isBuiltin(table, chain);
  switch (t.kind) {
    case 'DNAT':
    case 'REDIRECT':
      return table === 'nat' && (!builtin || chain === 'PREROUTING' || chain === 'OUTPUT');
    case 'SNAT':
    case 'MASQUERADE':
      return table === 'nat' && (!builtin || chain === 'POSTROUTING' || chain === 'INPUT');
    case 'REJECT':
      return (table === 'filter' || table === 'mangle') && (!builtin || chain === 'INPUT' || chain === 'FORWARD' || chain === 'OUTPUT');
    case 'TRACE':
    case 'NOTRACK':
      return table === 'raw';
    default:
      return true;
  }
}

/** The table a restore block edits: its own chain objects over the same rules and counters (copied when edited: `own`). */
function cloneTable(t: Table): Table {
  const chains = new Map<string, Chain>();
  for (const [n, c] of t.chains) chains.set(n, { ...c });
  return { name: t.name, chains };
}

/** Rule `i` of `c` starts with these counters (a restore's `[p:b]` or `-c`; none: 0 and 0). */
function setCounter(c: Chain, i: number, counters: readonly [number, number] | undefined): void {
  if (counters === undefined) {
    if (c.hits !== undefined && i < c.hits.length) c.hits[i] = undefined;
    return;
  }
  (c.hits ??= [])[i] = new RuleCounter(counters[0], counters[1]);
}

const jumpOf = (r: Rule): string | undefined => (r.target.kind === 'jump' || r.target.kind === 'goto' ? r.target.chain : undefined);

/** Whether some chain reachable from a built-in chain can reach itself (the kernel refuses: ELOOP). */
function hasReachableLoop(t: Table, edgeOk: (r: Rule) => boolean): boolean {
  const state = new Map<string, 1 | 2>();
  const visit = (name: string): boolean => {
    const s = state.get(name);
    if (s === 1) return true;
    if (s === 2) return false;
    state.set(name, 1);
    for (const r of t.chains.get(name)?.rules ?? []) {
      const to = jumpOf(r);
      if (to !== undefined && edgeOk(r) && visit(to)) return true;
    }
    state.set(name, 2);
    return false;
  };
  return TABLE_CHAINS[t.name].some((c) => t.chains.has(c) && visit(c));
}

/** One `*table` … `COMMIT` block being read. */
interface Block {
  readonly table: Table;
  readonly openedAt: number;
  lines: number;
  /** A jump to a missing chain: reported at COMMIT, as iptables-nft does. */
  missing: string | undefined;
  /** Rules this block added and their input lines (for the line a loop is blamed on). */
  readonly added: Rule[];
  readonly addedLines: number[];
  /** What the rule parser asks about this block's chains. */
  readonly ruleCtx: RuleContext;
  /**
   * User chains the kernel already has and this block did not recreate: the only ones
   * `-E` can rename (nf_tables renames kernel objects; a chain created in the same
   * transaction gives ENOENT, and so does one a flushing restore recreates).
   */
  readonly kernelChains: Set<string>;
  /** New names given by `-E` in this block: iptables-nft's chain cache does not know them until the next restore. */
  readonly renamed: Set<string>;
  /** Chains whose rules (and counters) this block copied to edit, or made: see `own`. */
  readonly owned: Set<Chain>;
}

export class Iptables {
  /** Tables that exist (a restore block with at least one line creates its table). */
  private readonly tables = new Map<TableName, Table>();
  /** Bumped on every change; evaluators recompile when it moves. */
  generation = 0;
  /**
   * Bumped when a table appears (tables never go: the kernel keeps a registered
   * table until its module unloads): the hook operations registered per table are
   * rebuilt when it moves, not on every ruleset change.
   */
  layoutGeneration = 0;
  /** Whether an ipset exists; rules naming a missing set are refused, as the kernel does. */
  setExists: ((name: string) => boolean) | undefined = undefined;
  /** `-m recent` lists (/proc/net/xt_recent/NAME), kept across restores like the kernel's. */
  readonly recent: RecentTables = new Map();
  /** nfnetlink_acct objects `-m nfacct` counts into; a rule naming a missing one is refused (ENOENT), as the kernel does. */
  readonly nfacct: NfacctObjects = new Map();
  private readonly evaluator: TableEvaluator;
  /** Where rules and rule lists are shared with other namespaces (undefined: nothing is shared). */
  private readonly share: IptablesShare | undefined;

  /**
   * `indexMinRun`: see TableEvaluator (tests compare indexed and linear evaluation with it).
   * `share`: parse each distinct rule line once and keep each distinct chain body once
   * across the namespaces that use it (share.ts); what the namespace shows is the same.
   */
  constructor(opts: { indexMinRun?: number; share?: IptablesShare } = {}) {
    this.evaluator = new TableEvaluator(this.recent, opts.indexMinRun, this.nfacct);
    this.share = opts.share;
    this.share?.register(this);
  }

  /** Every chain of every table (what a share keeps alive). */
  *chains(): IterableIterator<Chain> {
    for (const t of this.tables.values()) yield* t.chains.values();
  }

  /**
   * Evaluate `table` for a packet at `ctx.hook` (IPv4 header at pkt.off). A table that
   * was never loaded, or has no chain for this hook, accepts.
   */
  evaluate(table: TableName, pkt: Packet, ctx: EvalContext): EvalResult {
    const t = this.tables.get(table);
    const hook = t?.chains.get(ctx.hook);
    if (hook === undefined) return acceptAt(ctx.hook);
    if (countEmptyAccept(hook, pkt.len)) {
      ctx.onRuleHit?.(table, hook.name, 0, 'ACCEPT');
      return acceptAt(hook.name);
    }
    return this.evaluator.evaluateFrom(t as Table, this.generation, hook, pkt, ctx);
  }

  table(name: TableName): Table {
    let t = this.tables.get(name);
    if (t === undefined) {
      t = newTable(name);
      this.tables.set(name, t);
      this.layoutGeneration++;
      this.generation++;
    }
    return t;
  }

  hasTable(name: TableName): boolean {
    return this.tables.has(name);
  }

  /** How many rules of any table match ipset `name` (`ipset list` References; `ipset destroy` refuses while > 0). */
  setReferences(name: string): number {
    let n = 0;
    for (const t of this.tables.values()) for (const c of t.chains.values()) for (const r of c.rules) for (const m of r.matches) if (m.kind === 'set' && m.name === name) n++;
    return n;
  }

  /** A loaded table's chain for a hook (undefined when the table is not loaded): what a hook operation walks from. */
  hookChain(table: TableName, hook: string): Chain | undefined {
    return this.tables.get(table)?.chains.get(hook);
  }

  /**
   * Evaluate a loaded table from its hook chain (as {@link evaluate}, without the
   * lookups: the caller keeps the chain per generation).
   */
  evaluateChain(table: TableName, hookChain: Chain, pkt: Packet, ctx: EvalContext, rec?: WalkRecord): EvalResult {
    if (countEmptyAccept(hookChain, pkt.len)) {
      ctx.onRuleHit?.(table, hookChain.name, 0, 'ACCEPT');
      if (rec !== undefined) rec.policy = hookChain;
      return acceptAt(hookChain.name);
    }
    return this.evaluator.evaluateFrom(this.tables.get(table) as Table, this.generation, hookChain, pkt, ctx, rec);
  }


  /**
   * Load iptables-restore input. Throws IptablesError (with the line) on the first
   * error; the failing table block changes nothing, blocks committed before it stay.
   */
  restore(text: string, opts: RestoreOptions = {}): void {
    const share = this.share;
    try {
      // A text another namespace of the share committed whole: its plan, when this namespace passes its checks (restore-plan.ts).
      const plannable = share !== undefined && opts.noflush === true && opts.test !== true;
      if (plannable) {
        const plan = share.plan(text);
        if (plan !== undefined && this.applyPlan(plan)) return;
      }
      this.restoreText(text, opts);
      if (plannable && !share.knows(text)) {
        share.learn(text, planRestore(text, { rule: (l) => share.peek(l), chain: (t, n) => this.tables.get(t)?.chains.get(n) }));
      }
    } finally {
      share?.settle();
    }
  }

  /**
   * Load a planned text: what restoreText does with it, given the checks the plan names
   * (restore-plan.ts). False, with nothing changed, when a check fails (the text is then
   * loaded line by line, which fails the way the real tool does).
   */
  private applyPlan(plan: RestorePlan): boolean {
    for (const b of plan.blocks) {
      const t = this.tables.get(b.table);
      for (const n of b.before) {
        const c = t?.chains.get(n);
        if (c === undefined || c.policy !== undefined) return false;
      }
      if (this.setExists !== undefined) for (const s of b.sets) if (!this.setExists(s)) return false;
      for (const a of b.nfacct) if (!this.nfacct.has(a)) return false;
    }
    const next: Table[] = [];
    for (const b of plan.blocks) {
      // The chains the block does not declare stay the live table's objects (nothing here edits one in place): only the Map is copied.
      const t: Table = this.tables.has(b.table) ? { name: b.table, chains: new Map(this.table(b.table).chains) } : newTable(b.table);
      for (const pc of b.chains) {
        // Re-declaring an existing chain flushes it (its rule counters go); a new one is added at the end.
        const c = t.chains.get(pc.name);
        t.chains.set(pc.name, c !== undefined ? { ...c, rules: pc.rules, hits: undefined } : { ...newChain(pc.name, undefined), rules: pc.rules });
      }
      if (!b.closed && hasReachableLoop(t, () => true)) return false;
      next.push(t);
    }
    for (const t of next) {
      if (!this.tables.has(t.name)) this.layoutGeneration++;
      this.tables.set(t.name, t);
      this.generation++;
    }
    return true;
  }

  private restoreText(text: string, opts: RestoreOptions): void {
    let cur: Block | undefined;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const lineNo = i + 1;
      const line = (lines[i] as string).replace(/\r$/, '').trim();
      if (line === '' || line.startsWith('#')) continue;
      if (cur === undefined) {
        if (!line.startsWith('*')) throw new IptablesError('IPT_PARSE', `"${line.slice(0, 40)}" outside a table (missing *table line)`, lineNo);
        const name = line.slice(1) as TableName;
        if (!TABLE_NAMES.includes(name)) throw new IptablesError('IPT_BAD_TABLE', `table name '${line.slice(1)}' invalid`, lineNo);
        const base = this.tables.has(name) ? cloneTable(this.table(name)) : newTable(name);
        const kernelChains = new Set(opts.noflush === true ? [...base.chains.values()].filter((c) => c.policy === undefined).map((c) => c.name) : []);
        const table = opts.noflush === true ? base : flushAll(base);
        const renamed = new Set<string>();
        const ruleCtx: RuleContext = { userChain: (n) => table.chains.has(n) && !isBuiltin(table.name, n) && !renamed.has(n) };
        // A flushed table's chains are new (flushAll), so this block owns them.
        const owned = new Set<Chain>(opts.noflush === true ? [] : table.chains.values());
        cur = { table, openedAt: lineNo, lines: 0, missing: undefined, added: [], addedLines: [], ruleCtx, kernelChains, renamed, owned };
        continue;
      }
      if (line === 'COMMIT') {
        this.commit(cur, lineNo, opts);
        cur = undefined;
        continue;
      }
      if (line.startsWith('*')) throw new IptablesError('IPT_PARSE', `Bad argument \`${line}'`, lineNo);
      cur.lines++;
      if (line.startsWith(':')) {
        this.chainLine(cur, line, lineNo, opts);
        continue;
      }
      let counters: [number, number] | undefined;
      let body = line;
      const cm = /^\[(\d+):(\d+)\]\s+(.*)$/.exec(line);
      if (cm !== null) {
        counters = [Number(cm[1]), Number(cm[2])];
        body = cm[3] as string;
      }
      const given = opts.counters === true ? counters : undefined;
      const shared = this.share !== undefined && body.startsWith('-A ') ? this.share.rule(body) : undefined;
      if (shared !== undefined) this.appendShared(cur, shared, lineNo, given);
      else this.command(cur, tokenize(body, lineNo), lineNo, given, body);
    }
    if (cur !== undefined) throw new IptablesError('IPT_NO_COMMIT', `COMMIT expected at line ${lines.length}`, lines.length);
  }

  /**
   * Parse and check the rule in `args` from `from` on, for chain `c`; undefined when it
   * jumps to a missing chain. The counters are the line's `[p:b]` (with --counters), else
   * the rule's `-c`. `body`: the `-A` line it came from, to share the parse (share.ts).
   */
  private rule(b: Block, c: Chain, args: readonly string[], from: number, line: number, counters: [number, number] | undefined, body?: string): { rule: Rule; counters: readonly [number, number] | undefined } | undefined {
    const p = parseRuleArgs(args.slice(from), b.ruleCtx, line);
    if (p instanceof MissingChain) {
      b.missing ??= p.chain;
      return undefined;
    }
    this.check(b, c, p.rule, line);
    if (body !== undefined) this.share?.store(body, c.name, p.rule, p.counters);
    return { rule: p.rule, counters: counters ?? p.counters };
  }

  /**
   * An `-A` line parsed before (here or in another namespace sharing the parse): the same
   * rule as parsing it again gives, checked against this block as `rule` checks it. A
   * jump is its own object in this block, as the loop check and `-E` tell rules apart by
   * identity (commit shares its chain again).
   */
  private appendShared(b: Block, s: SharedRule, line: number, counters: [number, number] | undefined): void {
    const c = chainOf(b.table, '-A', s.chain, line);
    const to = jumpOf(s.rule);
    if (to !== undefined && !isBuiltin(b.table.name, to) && !b.ruleCtx.userChain(to)) {
      b.missing ??= to;
      return;
    }
    const r = to !== undefined ? (this.share as IptablesShare).copy(s.rule) : s.rule;
    this.check(b, c, r, line);
    const rules = own(b, c);
    rules.push(r);
    setCounter(c, rules.length - 1, counters ?? s.counters);
  }

  /** What the kernel checks of a parsed rule for chain `c` (and records it as added by this block). */
  private check(b: Block, c: Chain, r: Rule, line: number): void {
    const t = b.table;
    if (isBuiltin(t.name, c.name)) {
      if (r.inIface !== undefined && (c.name === 'OUTPUT' || c.name === 'POSTROUTING')) failLine('IPT_BAD_ARG', `Can't use -i with ${c.name}`, line);
      if (r.outIface !== undefined && (c.name === 'INPUT' || c.name === 'PREROUTING')) failLine('IPT_BAD_ARG', `Can't use -o with ${c.name}`, line);
    }
    if (t.name === 'nat' && r.target.kind === 'DROP') failLine('IPT_BAD_ARG', 'The "nat" table is not intended for filtering, the use of DROP is therefore inhibited.', line);
    for (const m of r.matches) {
      if (m.kind === 'set' && this.setExists !== undefined && !this.setExists(m.name)) failLine('IPT_NO_SET', `Set ${m.name} doesn't exist.`, line);
      if (m.kind === 'nfacct' && !this.nfacct.has(m.name)) failLine('IPT_NO_NFACCT', `RULE_APPEND failed (No such file or directory): rule in chain ${c.name}`, line);
    }
    if (!targetAllowed(t.name, c.name, r.target)) failLine('IPT_TARGET_NOT_ALLOWED', `RULE_APPEND failed (Invalid argument): rule in chain ${c.name}`, line);
    b.added.push(r);
    b.addedLines.push(line);
  }

  /** `COMMIT`: deferred checks, then the block replaces its table (unless --test). */
  private commit(b: Block, lineNo: number, opts: RestoreOptions): void {
    if (b.missing !== undefined) throw new IptablesError('IPT_UNKNOWN_TARGET', `Chain '${b.missing}' does not exist`, lineNo);
    const t = b.table;
    if (hasReachableLoop(t, () => true)) {
      // Blame the rule whose addition first made a loop reachable (rules of earlier restores count from the start).
      const lineOf = new Map(b.added.map((r, k) => [r, b.addedLines[k] as number]));
      const added = [...lineOf.entries()].sort((x, y) => x[1] - y[1]);
      for (let k = 0; k < added.length; k++) {
        const upTo = new Set(added.slice(0, k + 1).map(([r]) => r));
        if (hasReachableLoop(t, (r) => !lineOf.has(r) || upTo.has(r))) {
          const [rule, line] = added[k] as [Rule, number];
          const chain = [...t.chains.values()].find((c) => c.rules.includes(rule));
          throw new IptablesError('IPT_LOOP', `RULE_APPEND failed (Too many links): rule in chain ${chain?.name ?? '?'}`, line);
        }
      }
      throw new IptablesError('IPT_LOOP', 'RULE_APPEND failed (Too many links)', lineNo);
    }
    if (opts.test === true) return;
    // An empty `*table … COMMIT` block does not create the table (iptables-nft).
    if (b.lines === 0 && !this.tables.has(t.name)) return;
    if (this.share !== undefined) for (const c of b.owned) if (t.chains.get(c.name) === c) c.rules = this.share.rules(c.rules);
    if (!this.tables.has(t.name)) this.layoutGeneration++;
    this.tables.set(t.name, t);
    this.generation++;
  }

  /** `:CHAIN POLICY [packets:bytes]`. */
  private chainLine(b: Block, line: string, lineNo: number, opts: RestoreOptions): void {
    const t = b.table;
    // xtables-restore reads the chain, the policy and the counters with strtok and ignores what follows
    // (kube-router's restores carry `:INPUT ACCEPT [0:0] - [0:0]`).
    const m = /^:(\S+)\s+(\S+)(?:\s+\[(\d+):(\d+)\])?(?:\s.*)?$/.exec(line);
    if (m === null) throw new IptablesError('IPT_PARSE', `bad chain line "${line}"`, lineNo);
    const [, name, policy, pkts, bytes] = m as unknown as [string, string, string, string | undefined, string | undefined];
    checkChainName(name, lineNo);
    if (isBuiltin(t.name, name)) {
      if (policy !== 'ACCEPT' && policy !== 'DROP') throw new IptablesError('IPT_BAD_ARG', `Bad policy name. Run \`dmesg' for more information.`, lineNo);
      const c = t.chains.get(name) as Chain;
      c.policy = policy;
      if (opts.counters === true && pkts !== undefined && bytes !== undefined) {
        c.packets = Number(pkts);
        c.bytes = Number(bytes);
      }
      return;
    }
    if (policy !== '-') throw new IptablesError('IPT_BAD_ARG', `user chain ${name} cannot have a policy`, lineNo);
    // Declaring a chain in a --noflush restore re-creates it in the transaction (so -E cannot rename it).
    b.kernelChains.delete(name);
    const c = t.chains.get(name);
    if (c !== undefined) flushChain(b, c);
    else addChain(b, newChain(this.share?.name(name) ?? name, undefined));
  }

  /** One iptables command inside a table (`-A`, `-I`, `-D`, `-R`, `-E`, `-N`, `-X`, `-F`, `-P`, `-Z`). */
  private command(b: Block, args: string[], line: number, counters: [number, number] | undefined, body?: string): void {
    const t = b.table;
    const op = args[0];
    const chainName = args[1];
    switch (op) {
      case '-A': case '--append': {
        const c = chainOf(t, op, chainName, line);
        const r = this.rule(b, c, args, 2, line, counters, op === '-A' ? body : undefined);
        if (r === undefined) return;
        const rules = own(b, c);
        rules.push(r.rule);
        setCounter(c, rules.length - 1, r.counters);
        return;
      }
      case '-I': case '--insert': {
        const c = chainOf(t, op, chainName, line);
        const n = ruleNumber(args[2], line);
        const pos = n ?? 1;
        const r = this.rule(b, c, args, n !== undefined ? 3 : 2, line, counters);
        if (pos > c.rules.length + 1) failLine('IPT_BAD_ARG', 'Index of insertion too big.', line);
        if (r === undefined) return;
        own(b, c).splice(pos - 1, 0, r.rule);
        if (c.hits !== undefined && c.hits.length >= pos) c.hits.splice(pos - 1, 0, undefined);
        setCounter(c, pos - 1, r.counters);
        return;
      }
      case '-R': case '--replace': {
        const c = chainOf(t, op, chainName, line);
        const n = ruleNumber(args[2], line);
        if (n === undefined) return failLine('IPT_BAD_ARG', '-R requires a rule number', line);
        const r = this.rule(b, c, args, 3, line, counters);
        if (n > c.rules.length) failLine('IPT_BAD_ARG', 'Index of replacement too big.', line);
        if (r === undefined) return;
        own(b, c)[n - 1] = r.rule;
        setCounter(c, n - 1, r.counters);
        return;
      }
      case '-D': case '--delete': {
        const c = chainOf(t, op, chainName, line);
        const n = args.length === 3 ? ruleNumber(args[2], line) : undefined;
        if (n !== undefined) {
          if (n > c.rules.length) failLine('IPT_BAD_ARG', 'Index of deletion too big.', line);
          deleteRule(b, c, n - 1);
          return;
        }
        const r = this.rule(b, c, args, 2, line, counters);
        if (r === undefined) return;
        b.added.pop();
        b.addedLines.pop();
        const want = renderRuleSpec(r.rule);
        const i = c.rules.findIndex((x) => renderRuleSpec(x) === want);
        if (i < 0) failLine('IPT_NO_RULE', 'Bad rule (does a matching rule exist in that chain?).', line);
        deleteRule(b, c, i);
        return;
      }
      case '-E': case '--rename-chain': {
        const c = chainOf(t, op, chainName, line);
        const to = args[2];
        if (to === undefined) return failLine('IPT_BAD_ARG', '-E requires old-chain-name and new-chain-name', line);
        checkChainName(to, line);
        if (t.chains.has(to)) failLine('IPT_CHAIN_EXISTS', 'File exists.', line);
        if (c.policy !== undefined) failLine('IPT_BAD_ARG', 'Bad built-in chain name.', line);
        if (!b.kernelChains.has(c.name)) failLine('IPT_NO_CHAIN', `CHAIN_RENAME failed (No such file or directory): chain ${to}`, line);
        b.renamed.add(to);
        // Rename in place, keeping chain order in the map irrelevant (save sorts user chains).
        t.chains.delete(c.name);
        const renamed: Chain = { ...c, name: this.share?.name(to) ?? to };
        t.chains.set(to, renamed);
        if (b.owned.has(c)) b.owned.add(renamed);
        for (const ch of t.chains.values()) {
          ch.rules = ch.rules.map((r) => {
            if ((r.target.kind === 'jump' || r.target.kind === 'goto') && r.target.chain === c.name) {
              const nr: Rule = { ...r, target: { kind: r.target.kind, chain: to } };
              const k = b.added.indexOf(r);
              if (k >= 0) b.added[k] = nr;
              return nr;
            }
            return r;
          });
        }
        return;
      }
      case '-N': case '--new-chain': {
        if (chainName === undefined) return failLine('IPT_BAD_ARG', 'option "-N" requires an argument', line);
        checkChainName(chainName, line);
        if (t.chains.has(chainName)) failLine('IPT_CHAIN_EXISTS', 'Chain already exists.', line);
        addChain(b, newChain(this.share?.name(chainName) ?? chainName, undefined));
        b.kernelChains.delete(chainName);
        return;
      }
      case '-X': case '--delete-chain': {
        const victims = chainName === undefined ? [...t.chains.values()].filter((c) => c.policy === undefined) : [chainOf(t, op, chainName, line)];
        const busy = (v: Chain): boolean =>
          v.policy !== undefined || v.rules.length > 0 ||
          [...t.chains.values()].some((c) => c.rules.some((r) => jumpOf(r) === v.name));
        const first = victims.find(busy);
        if (first !== undefined) failLine('IPT_CHAIN_IN_USE', `CHAIN_DEL failed (Device or resource busy): chain ${first.name}`, line);
        for (const v of victims) {
          t.chains.delete(v.name);
          b.kernelChains.delete(v.name);
        }
        return;
      }
      case '-F': case '--flush':
        if (chainName === undefined) for (const c of t.chains.values()) flushChain(b, c);
        else flushChain(b, chainOf(t, op, chainName, line));
        return;
      case '-P': case '--policy': {
        const c = chainOf(t, op, chainName, line);
        const p = args[2];
        if (c.policy === undefined) failLine('IPT_BAD_ARG', 'Bad built-in chain name.', line);
        if (t.name === 'nat' && p === 'DROP') failLine('IPT_BAD_ARG', 'The "nat" table is not intended for filtering, the use of DROP is therefore inhibited.', line);
        if (p !== 'ACCEPT' && p !== 'DROP') return failLine('IPT_BAD_ARG', `Bad policy name. Run \`dmesg' for more information.`, line);
        c.policy = p;
        return;
      }
      case '-Z': case '--zero':
        for (const c of chainName === undefined ? t.chains.values() : [chainOf(t, op, chainName, line)]) {
          c.packets = 0;
          c.bytes = 0;
          // A new (empty) counter list: the old one may still be the live table's.
          c.hits = undefined;
        }
        return;
      default:
        failLine('IPT_PARSE', `unknown command "${op ?? ''}"`, line);
    }
  }

  /** `iptables-save [-t TABLE] [-c]`. */
  /** `nfacct list`: one line per object in name order, as libnetfilter_acct's plain format prints it. */
  nfacctList(): string {
    const pad = (n: number): string => String(n).padStart(20, '0');
    return [...this.nfacct].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, c]) => `{ pkts = ${pad(c.pkts)}, bytes = ${pad(c.bytes)} } = ${name};\n`).join('');
  }

  save(opts: SaveOptions & { table?: TableName } = {}): string {
    if (opts.table !== undefined) return this.tables.has(opts.table) ? renderTable(this.table(opts.table), opts) : '';
    // iptables-nft prints tables in its fixed table-type order (nft.c: mangle, security, raw, filter, nat).
    const order: TableName[] = ['mangle', 'raw', 'filter', 'nat'];
    return renderSave(order.filter((n) => this.tables.has(n)).map((n) => this.table(n)), opts);
  }

  /** `iptables -t TABLE -L -n -v` (by default), or without `-v` / with `--line-numbers`. */
  list(table: TableName, opts: ListOptions = {}): string {
    return renderList(this.tables.get(table) ?? newTable(table), opts);
  }

  chain(table: TableName, name: string): Chain | undefined {
    return this.tables.get(table)?.chains.get(name);
  }

  /** Built-in chains of a table, for evaluation order checks. */
  static builtinChains(table: TableName): readonly string[] {
    return TABLE_CHAINS[table];
  }
}

function failLine(code: IptablesErrorCode, detail: string, line: number): never {
  throw new IptablesError(code, detail, line);
}

/** The chain a command names, or the real tool's error. */
function chainOf(t: Table, op: string | undefined, name: string | undefined, line: number): Chain {
  if (name === undefined) throw new IptablesError('IPT_BAD_ARG', `option "${op ?? ''}" requires an argument`, line);
  const c = t.chains.get(name);
  if (c === undefined) throw new IptablesError('IPT_NO_CHAIN', 'No chain/target/match by that name.', line);
  return c;
}

/** A rule number argument (`-I CHAIN 3`), undefined when the argument is not a number. */
function ruleNumber(a: string | undefined, line: number): number | undefined {
  if (a === undefined || !/^-?\d+$/.test(a)) return undefined;
  const n = Number(a);
  if (n < 1) throw new IptablesError('IPT_BAD_ARG', `Invalid rule number \`${a}'`, line);
  return n;
}

/** iptables' chain name rules (xshared.c: at most 28 characters, no leading `-` or `!`). */
function checkChainName(name: string, line: number): void {
  if (name.length > 28) throw new IptablesError('IPT_BAD_ARG', `chain name \`${name}' too long (must be under 29 chars)`, line);
  if (name.startsWith('-') || name.startsWith('!')) throw new IptablesError('IPT_BAD_ARG', `chain name not allowed to start with \`${name[0] ?? ''}'`, line);
}

/**
 * The rules of `c` for this block to edit in place: copied the first time (the live
 * table, other namespaces and compiled chains may hold the array, and the live table
 * the counters).
 */
function own(b: Block, c: Chain): Rule[] {
  if (!b.owned.has(c)) {
    c.rules = c.rules.slice();
    if (c.hits !== undefined) c.hits = c.hits.slice();
    b.owned.add(c);
  }
  return c.rules as Rule[];
}

function deleteRule(b: Block, c: Chain, i: number): void {
  own(b, c).splice(i, 1);
  c.hits?.splice(i, 1);
}

/** `-F CHAIN`, or re-declaring a chain in a --noflush restore: no rules, no rule counters. */
function flushChain(b: Block, c: Chain): void {
  c.rules = [];
  c.hits = undefined;
  b.owned.add(c);
}

function addChain(b: Block, c: Chain): void {
  b.table.chains.set(c.name, c);
  b.owned.add(c);
}

/** A table with every chain flushed and user chains removed (restore without --noflush). */
function flushAll(t: Table): Table {
  const fresh = newTable(t.name);
  for (const [n, c] of t.chains) {
    const f = fresh.chains.get(n);
    if (f !== undefined) f.policy = c.policy;
  }
  return fresh;
}

/** An empty built-in chain with policy ACCEPT passes the packet: counted on its policy, as the evaluator would. */
/**
 * The untraced fast path of an evaluation for a hook chain with nothing to walk (empty
 * with policy ACCEPT — kube-proxy's mangle canary table, most raw/mangle hooks): counts
 * the packet on the policy as the evaluator would and says so, without building a
 * context or a result. False: evaluate it.
 */
export function countEmptyAccept(chain: Chain, len: number): boolean {
  if (chain.rules.length !== 0 || (chain.policy ?? 'ACCEPT') !== 'ACCEPT') return false;
  chain.packets++;
  chain.bytes += len;
  return true;
}

/** The verdict "accepted by the policy of `chain`, no rule walked" (shared: results are read-only). */
const ACCEPT_AT = new Map<string, EvalResult>();
function acceptAt(chain: string): EvalResult {
  let r = ACCEPT_AT.get(chain);
  if (r === undefined) {
    r = Object.freeze({ verdict: 'ACCEPT', chain, rule: 0, rulesEvaluated: 0 });
    ACCEPT_AT.set(chain, r);
  }
  return r;
}
