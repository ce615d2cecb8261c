/**
 * The xtables ruleset of one network namespace, loaded the way `iptables-restore`
 * loads it and printed the way `iptables-save` prints it.
 *
 * Restore semantics (iptables 1.8): `*table` opens a table (flushed first unless
 * `--noflush`); `:CHAIN POLICY [p:b]` sets a built-in chain's policy or creates a
 * user chain — and flushes an existing one, which is how kube-proxy rewrites its
 * chains in a `--noflush` restore; `-A/-I/-D/-R/-N/-X/-F/-P/-Z` as on the command
 * line; `COMMIT` applies the table. A restore is atomic: on any error nothing
 * changes and the error names the line.
 */
import type { Chain, Rule, Table, TableName, Target } from './model.ts';
import { TABLE_CHAINS, isBuiltin, newTable } from './model.ts';
import { tokenize } from './tokenize.ts';
import { parseRuleSpec } from './parse-rule.ts';
import { IptablesError } from './errors.ts';
import { renderRuleSpec, renderSave, renderTable } from './render.ts';
import type { SaveOptions } from './render.ts';
import { TableEvaluator } from './evaluate.ts';
import { renderList } from './render-list.ts';
import type { RecentTables } from './evaluate.ts';
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
function targetAllowed(table: TableName, chain: string, t: Target): string | undefined {
  const builtin = isBuiltin(table, chain);
  switch (t.kind) {
    case 'DNAT':
    case 'REDIRECT':
      if (table !== 'nat') return `${t.kind} is only valid in the nat table`;
      if (builtin && chain !== 'PREROUTING' && chain !== 'OUTPUT') return `${t.kind} is only valid in PREROUTING and OUTPUT`;
      return undefined;
    case 'SNAT':
    case 'MASQUERADE':
      if (table !== 'nat') return `${t.kind} is only valid in the nat table`;
      if (builtin && chain !== 'POSTROUTING' && chain !== 'INPUT') return `${t.kind} is only valid in POSTROUTING and INPUT`;
      return undefined;
    case 'REJECT':
      if (table !== 'filter' && table !== 'mangle') return 'REJECT is only valid in the filter and mangle tables';
      if (builtin && chain !== 'INPUT' && chain !== 'FORWARD' && chain !== 'OUTPUT') return 'REJECT is only valid in INPUT, FORWARD and OUTPUT';
      return undefined;
    case 'TRACE':
    case 'NOTRACK':
      return table === 'raw' ? undefined : `${t.kind} is only valid in the raw table`;
    default:
      return undefined;
  }
}

function cloneTable(t: Table): Table {
  const chains = new Map<string, Chain>();
  for (const [n, c] of t.chains) chains.set(n, { ...c, rules: c.rules.map((r) => ({ ...r })) });
  return { name: t.name, chains };
}

export class Iptables {
  /** Tables that exist (a restore block with at least one line creates its table). */
  private readonly tables = new Map<TableName, Table>();
  /** Bumped on every change; evaluators recompile when it moves. */
  generation = 0;
  /** Whether an ipset exists; rules naming a missing set are refused, as the kernel does. */
  setExists: ((name: string) => boolean) | undefined = undefined;
  /** `-m recent` lists (/proc/net/xt_recent/NAME), kept across restores like the kernel's. */
  readonly recent: RecentTables = new Map();
  private readonly evaluator: TableEvaluator;

  /** `indexMinRun`: see TableEvaluator (tests compare indexed and linear evaluation with it). */
  constructor(opts: { indexMinRun?: number } = {}) {
    this.evaluator = new TableEvaluator(this.recent, opts.indexMinRun);
  }

  /**
   * Evaluate `table` for a packet at `ctx.hook` (IPv4 header at pkt.off). A table that
   * was never loaded, or has no chain for this hook, accepts.
   */
  evaluate(table: TableName, pkt: Packet, ctx: EvalContext): EvalResult {
    const t = this.tables.get(table);
    if (t === undefined || !t.chains.has(ctx.hook)) return { verdict: 'ACCEPT', chain: ctx.hook, rule: 0, rulesEvaluated: 0 };
    return this.evaluator.evaluate(t, this.generation, ctx.hook, pkt, ctx);
  }

  table(name: TableName): Table {
    let t = this.tables.get(name);
    if (t === undefined) {
      t = newTable(name);
      this.tables.set(name, t);
    }
    return t;
  }

  hasTable(name: TableName): boolean {
    return this.tables.has(name);
  }

  /** Load iptables-restore input. Throws IptablesError (with the line) and changes nothing on failure. */
  restore(text: string, opts: RestoreOptions = {}): void {
    const staged = new Map<TableName, Table>();
    let cur: Table | undefined;
    let curLine = 0;
    let curLines = 0;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const lineNo = i + 1;
      const raw = (lines[i] as string).replace(/\r$/, '');
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      if (line.startsWith('*')) {
        if (cur !== undefined) throw new IptablesError('IPT_NO_COMMIT', `table ${cur.name} opened on line ${curLine} was not committed`, lineNo);
        const name = line.slice(1) as TableName;
        if (!TABLE_NAMES.includes(name)) throw new IptablesError('IPT_BAD_TABLE', `unknown table "${line.slice(1)}"`, lineNo);
        const base = staged.get(name) ?? (this.tables.has(name) ? cloneTable(this.table(name)) : newTable(name));
        cur = opts.noflush === true ? base : flushAll(base);
        curLine = lineNo;
        curLines = 0;
        continue;
      }
      if (cur === undefined) throw new IptablesError('IPT_PARSE', `"${line.slice(0, 40)}" outside a table (missing *table line)`, lineNo);
      if (line === 'COMMIT') {
        // An empty `*table … COMMIT` block does not create the table (iptables-nft).
        if (curLines > 0 || this.tables.has(cur.name) || staged.has(cur.name)) staged.set(cur.name, cur);
        cur = undefined;
        continue;
      }
      curLines++;
      if (line.startsWith(':')) {
        const m = /^:(\S+)\s+(\S+)(?:\s+\[(\d+):(\d+)\])?$/.exec(line);
        if (m === null) throw new IptablesError('IPT_PARSE', `bad chain line "${line}"`, lineNo);
        const [, name, policy, p, b] = m as unknown as [string, string, string, string | undefined, string | undefined];
        if (name.length > 28) throw new IptablesError('IPT_BAD_ARG', `chain name "${name}" longer than 28 characters`, lineNo);
        if (isBuiltin(cur.name, name)) {
          if (policy !== 'ACCEPT' && policy !== 'DROP') throw new IptablesError('IPT_BAD_ARG', `bad policy "${policy}" for built-in chain ${name}`, lineNo);
          const c = cur.chains.get(name) as Chain;
          c.policy = policy;
          if (opts.counters === true && p !== undefined && b !== undefined) {
            c.packets = Number(p);
            c.bytes = Number(b);
          }
        } else {
          if (policy !== '-') throw new IptablesError('IPT_BAD_ARG', `user chain ${name} cannot have a policy`, lineNo);
          if (TABLE_NAMES.includes(name as TableName) || /^[-!]/.test(name)) throw new IptablesError('IPT_BAD_ARG', `invalid chain name "${name}"`, lineNo);
          const c = cur.chains.get(name);
          if (c !== undefined) c.rules = [];
          else cur.chains.set(name, { name, policy: undefined, packets: 0, bytes: 0, rules: [] });
        }
        continue;
      }
      let counters: [number, number] | undefined;
      let body = line;
      const cm = /^\[(\d+):(\d+)\]\s+(.*)$/.exec(line);
      if (cm !== null) {
        counters = [Number(cm[1]), Number(cm[2])];
        body = cm[3] as string;
      }
      this.command(cur, tokenize(body, lineNo), lineNo, opts.counters === true ? counters : undefined);
    }
    if (cur !== undefined) throw new IptablesError('IPT_NO_COMMIT', `table ${cur.name} opened on line ${curLine} was not committed (missing COMMIT)`, lines.length);
    if (opts.test === true) return;
    for (const [name, t] of staged) this.tables.set(name, t);
    if (staged.size > 0) this.generation++;
  }

  /** One iptables command inside a table (`-A`, `-I`, `-D`, `-N`, `-X`, `-F`, `-P`, `-Z`). */
  private command(t: Table, args: string[], line: number, counters: [number, number] | undefined): void {
    const op = args[0];
    const chainName = args[1];
    const need = (): Chain => {
      if (chainName === undefined) throw new IptablesError('IPT_PARSE', `${op} needs a chain`, line);
      const c = t.chains.get(chainName);
      if (c === undefined) throw new IptablesError('IPT_NO_CHAIN', `chain '${chainName}' does not exist`, line);
      return c;
    };
    const userChain = (n: string): boolean => t.chains.has(n) && !isBuiltin(t.name, n);
    const rule = (from: number): Rule => {
      const c = need();
      const r = parseRuleSpec(args.slice(from), userChain, line);
      for (const m of r.matches) {
        if (m.kind === 'set' && this.setExists !== undefined && !this.setExists(m.name)) throw new IptablesError('IPT_NO_SET', `Set ${m.name} doesn't exist.`, line);
      }
      const bad = targetAllowed(t.name, c.name, r.target);
      if (bad !== undefined) throw new IptablesError('IPT_TARGET_NOT_ALLOWED', `RULE_APPEND failed (Invalid argument): rule in chain ${c.name}: ${bad}`, line);
      if (counters !== undefined) {
        r.packets = counters[0];
        r.bytes = counters[1];
      }
      return r;
    };
    switch (op) {
      case '-A': case '--append': need().rules.push(rule(2)); return;
      case '-I': case '--insert': {
        const c = need();
        const hasNum = args[2] !== undefined && /^\d+$/.test(args[2]);
        const pos = hasNum ? Number(args[2]) : 1;
        if (pos < 1 || pos > c.rules.length + 1) throw new IptablesError('IPT_BAD_ARG', `index of insertion too big`, line);
        c.rules.splice(pos - 1, 0, rule(hasNum ? 3 : 2));
        return;
      }
      case '-D': case '--delete': {
        const c = need();
        if (args[2] !== undefined && /^\d+$/.test(args[2]) && args.length === 3) {
          const n = Number(args[2]);
          if (n < 1 || n > c.rules.length) throw new IptablesError('IPT_BAD_ARG', 'index of deletion too big', line);
          c.rules.splice(n - 1, 1);
          return;
        }
        const want = renderRuleSpec(rule(2));
        const i = c.rules.findIndex((r) => renderRuleSpec(r) === want);
        if (i < 0) throw new IptablesError('IPT_BAD_ARG', 'Bad rule (does a matching rule exist in that chain?)', line);
        c.rules.splice(i, 1);
        return;
      }
      case '-N': case '--new-chain': {
        if (chainName === undefined) throw new IptablesError('IPT_PARSE', '-N needs a chain name', line);
        if (t.chains.has(chainName)) throw new IptablesError('IPT_CHAIN_EXISTS', `chain '${chainName}' already exists`, line);
        t.chains.set(chainName, { name: chainName, policy: undefined, packets: 0, bytes: 0, rules: [] });
        return;
      }
      case '-X': case '--delete-chain': {
        const victims = chainName === undefined ? [...t.chains.values()].filter((c) => c.policy === undefined) : [need()];
        for (const v of victims) {
          if (v.policy !== undefined) throw new IptablesError('IPT_BAD_ARG', `cannot delete built-in chain ${v.name}`, line);
          if (v.rules.length > 0 && chainName !== undefined) throw new IptablesError('IPT_CHAIN_IN_USE', `chain '${v.name}' is not empty`, line);
          for (const c of t.chains.values()) {
            if (victims.includes(c)) continue;
            if (c.rules.some((r) => (r.target.kind === 'jump' || r.target.kind === 'goto') && r.target.chain === v.name)) {
              throw new IptablesError('IPT_CHAIN_IN_USE', `chain '${v.name}' is referenced by ${c.name} (Device or resource busy)`, line);
            }
          }
        }
        for (const v of victims) t.chains.delete(v.name);
        return;
      }
      case '-F': case '--flush':
        if (chainName === undefined) for (const c of t.chains.values()) c.rules = [];
        else need().rules = [];
        return;
      case '-P': case '--policy': {
        const c = need();
        const p = args[2];
        if (c.policy === undefined) throw new IptablesError('IPT_BAD_ARG', `cannot set a policy on user chain ${c.name}`, line);
        if (p !== 'ACCEPT' && p !== 'DROP') throw new IptablesError('IPT_BAD_ARG', `bad policy "${p ?? ''}"`, line);
        c.policy = p;
        return;
      }
      case '-Z': case '--zero':
        for (const c of chainName === undefined ? t.chains.values() : [need()]) {
          c.packets = 0;
          c.bytes = 0;
          for (const r of c.rules) {
            r.packets = 0;
            r.bytes = 0;
          }
        }
        return;
      default:
        throw new IptablesError('IPT_PARSE', `unknown command "${op ?? ''}"`, line);
    }
  }

  /** `iptables-save [-t TABLE] [-c]`. */
  save(opts: SaveOptions & { table?: TableName } = {}): string {
    if (opts.table !== undefined) return this.tables.has(opts.table) ? renderTable(this.table(opts.table), opts) : '';
    // iptables-nft prints tables in its fixed table-type order (nft.c: mangle, security, raw, filter, nat).
    const order: TableName[] = ['mangle', 'raw', 'filter', 'nat'];
    return renderSave(order.filter((n) => this.tables.has(n)).map((n) => this.table(n)), opts);
  }

  /** `iptables -t TABLE -L -n -v`. */
  list(table: TableName): string {
    return renderList(this.table(table));
  }

  chain(table: TableName, name: string): Chain | undefined {
    return this.tables.get(table)?.chains.get(name);
  }

  /** Built-in chains of a table, for evaluation order checks. */
  static builtinChains(table: TableName): readonly string[] {
    return TABLE_CHAINS[table];
  }
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
