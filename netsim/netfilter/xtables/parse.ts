/**
 * iptables-restore input applied to a ruleset, as iptables-restore 1.8.9 does it:
 *
 * - `*table` opens a block that ends with `COMMIT`; tables not named are untouched.
 *   Without --noflush the block starts from an empty table (user chains gone,
 *   policies ACCEPT); with it, the block edits the live table.
 * - `:NAME POLICY [p:b]` sets a built-in chain's policy (counters only with
 *   --counters) or declares a user chain — flushing it if it exists, also under
 *   --noflush.
 * - `-A/-I/-D/-R/-N/-X/-F/-Z/-P/-E` lines are iptables commands inside the table;
 *   `[p:b]` before a rule sets its counters with --counters; `-c P B` always does.
 * - A block that contains no line creates nothing (iptables-nft).
 *
 * Unlike the real tool, which commits each table at its COMMIT, a restore here is
 * atomic per call: on any error no table changes. Errors name the offending line
 * (for a jump to a missing chain the real tool names the COMMIT line instead).
 */
import { IptablesRestoreError, RuleArgError, argError } from './errors.ts';
import type { Chain, Rule, Table, TableName } from './model.ts';
import { cloneTable, isTableName, newChain, newTable, targetChain } from './model.ts';
import { checkChainName, parseRuleSpec, validateChainForRule } from './parse-rule.ts';
import { renderRuleSpec } from './render-rule.ts';
import { tokenizeLine } from './tokenize.ts';
import { parseDec } from './values.ts';

export interface RestoreOptions {
  /** `--noflush`: edit the named tables instead of replacing them. */
  readonly noflush?: boolean;
  /** `--counters`: honour `[p:b]` on chain and rule lines. */
  readonly counters?: boolean;
}

export interface RestoreEnv {
  /** Whether an ipset exists (`-m set` refuses unknown sets); absent = accept any name. */
  readonly setExists?: ((name: string) => boolean) | undefined;
}

export interface RestoreResult {
  /** The tables after the restore (unchanged tables are the same objects). */
  readonly tables: Map<TableName, Table>;
  /** Tables the input committed. */
  readonly changed: ReadonlySet<TableName>;
}

interface Block {
  readonly name: TableName;
  readonly table: Table;
  readonly line: number;
  touched: boolean;
  /** Input line of each rule added in this block (for errors found at COMMIT). */
  readonly ruleLines: Map<Rule, number>;
}

const fail = (code: IptablesRestoreError['code'], line: number, detail: string) => new IptablesRestoreError(code, line, detail);

export function applyRestore(
  current: ReadonlyMap<TableName, Table>,
  text: string,
  opts: RestoreOptions = {},
  env: RestoreEnv = {},
): RestoreResult {
  const tables = new Map(current);
  const changed = new Set<TableName>();
  const lines = text.split('\n');
  let block: Block | undefined;
  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    const raw = (lines[n] as string).replace(/\r$/, '');
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      if (block) throw fail('IPT_PARSE', lineNo, `Bad argument \`${line}'`);
      const name = line.slice(1);
      if (!isTableName(name)) throw fail('IPT_BAD_TABLE', lineNo, `table name '${name}' invalid`);
      const live = tables.get(name);
      const table = opts.noflush && live ? cloneTable(live) : newTable(name);
      block = { name, table, line: lineNo, touched: false, ruleLines: new Map() };
      continue;
    }
    if (!block) throw fail('IPT_PARSE', lineNo, 'no table opened (`*TABLE` expected)');
    if (line === 'COMMIT') {
      commitCheck(block, lineNo);
      if (block.touched) {
        tables.set(block.name, block.table);
        changed.add(block.name);
      }
      block = undefined;
      continue;
    }
    block.touched = true;
    try {
      if (line.startsWith(':')) chainLine(block.table, line, opts);
      else command(block, line, lineNo, opts, env);
    } catch (e) {
      if (e instanceof RuleArgError) throw fail(e.code, lineNo, e.detail);
      throw e;
    }
  }
  if (block) throw fail('IPT_NO_COMMIT', 0, `COMMIT expected at line ${lines.length + (text.endsWith('\n') ? 0 : 1)}`);
  return { tables, changed };
}

function parseCounters(s: string): { packets: number; bytes: number } | undefined {
  const m = /^\[([0-9]+):([0-9]+)\]$/.exec(s);
  if (!m) return undefined;
  return { packets: Number(m[1]), bytes: Number(m[2]) };
}

function chainLine(t: Table, line: string, opts: RestoreOptions): void {
  const parts = line.slice(1).split(/\s+/);
  const [name, policy, ctr] = parts as [string, string | undefined, string | undefined];
  if (policy === undefined || parts.length > 3) throw argError('IPT_PARSE', 'Bad chain line');
  const counters = ctr === undefined ? undefined : parseCounters(ctr);
  if (ctr !== undefined && counters === undefined) throw argError('IPT_PARSE', 'invalid counters');
  const existing = t.chains.get(name);
  if (existing?.builtin) {
    if (policy !== 'ACCEPT' && policy !== 'DROP') throw argError('IPT_BAD_ARG', 'Bad policy name.');
    existing.policy = policy;
    if (opts.counters && counters) {
      existing.packets = counters.packets;
      existing.bytes = counters.bytes;
    }
    return;
  }
  if (policy !== '-') throw argError('IPT_BAD_ARG', `Can't set policy \`${policy}' on \`${name}': Bad built-in chain name`);
  if (existing) {
    existing.rules = [];
    return;
  }
  checkChainName(name);
  t.chains.set(name, newChain(name, false));
}

function getChain(t: Table, name: string | undefined): Chain {
  if (name === undefined) throw argError('IPT_PARSE', 'chain name expected');
  const c = t.chains.get(name);
  if (!c) throw argError('IPT_NO_CHAIN', 'No chain/target/match by that name.');
  return c;
}

function referenced(t: Table, name: string): boolean {
  for (const c of t.chains.values()) for (const r of c.rules) if (targetChain(r.target) === name) return true;
  return false;
}

function command(b: Block, line: string, lineNo: number, opts: RestoreOptions, env: RestoreEnv): void {
  let body = line;
  let prefixCounters: { packets: number; bytes: number } | undefined;
  if (body.startsWith('[')) {
    const end = body.indexOf(']');
    prefixCounters = end < 0 ? undefined : parseCounters(body.slice(0, end + 1));
    if (!prefixCounters) throw argError('IPT_PARSE', 'invalid counters');
    body = body.slice(end + 1);
  }
  const toks = tokenizeLine(body);
  if (toks === undefined) throw argError('IPT_PARSE', 'unterminated quoted string');
  const [cmd, chainName] = toks;
  const t = b.table;
  const ruleOf = (args: readonly string[], chain: Chain): Rule => {
    const { rule, counters } = parseRuleSpec(args, { table: t.name, setExists: env.setExists });
    validateChainForRule(rule, chain.name, chain.builtin);
    const c = counters ?? (opts.counters ? prefixCounters : undefined);
    if (c) {
      rule.packets = c.packets;
      rule.bytes = c.bytes;
    }
    b.ruleLines.set(rule, lineNo);
    return rule;
  };
  switch (cmd) {
    case '-A': case '--append': {
      const c = getChain(t, chainName);
      c.rules.push(ruleOf(toks.slice(2), c));
      return;
    }
    case '-I': case '--insert': {
      const c = getChain(t, chainName);
      const num = toks[2] !== undefined ? parseDec(toks[2], 0xffffffff) : undefined;
      const pos = num ?? 1;
      if (pos < 1) throw argError('IPT_BAD_ARG', `Invalid rule number \`${toks[2]}'`);
      if (pos > c.rules.length + 1) throw argError('IPT_BAD_ARG', 'Index of insertion too big.');
      c.rules.splice(pos - 1, 0, ruleOf(toks.slice(num === undefined ? 2 : 3), c));
      return;
    }
    case '-R': case '--replace': {
      const c = getChain(t, chainName);
      const num = toks[2] !== undefined ? parseDec(toks[2], 0xffffffff) : undefined;
      if (num === undefined || num < 1) throw argError('IPT_BAD_ARG', '-R requires a rule number');
      if (num > c.rules.length) throw argError('IPT_NO_RULE', 'Index of replacement too big.');
      c.rules[num - 1] = ruleOf(toks.slice(3), c);
      return;
    }
    case '-D': case '--delete': {
      const c = getChain(t, chainName);
      const num = toks.length === 3 && toks[2] !== undefined ? parseDec(toks[2], 0xffffffff) : undefined;
      if (num !== undefined) {
        if (num < 1 || num > c.rules.length) throw argError('IPT_NO_RULE', 'Index of deletion too big.');
        c.rules.splice(num - 1, 1);
        return;
      }
      const { rule } = parseRuleSpec(toks.slice(2), { table: t.name, setExists: env.setExists });
      const want = renderRuleSpec(rule);
      const k = c.rules.findIndex((r) => renderRuleSpec(r) === want);
      if (k < 0) throw argError('IPT_NO_RULE', 'Bad rule (does a matching rule exist in that chain?).');
      c.rules.splice(k, 1);
      return;
    }
    case '-N': case '--new-chain': {
      if (chainName === undefined) throw argError('IPT_PARSE', 'chain name expected');
      if (t.chains.has(chainName)) throw argError('IPT_CHAIN_EXISTS', 'Chain already exists.');
      checkChainName(chainName);
      t.chains.set(chainName, newChain(chainName, false));
      return;
    }
    case '-X': case '--delete-chain': {
      const names = chainName === undefined ? [...t.chains.values()].filter((c) => !c.builtin).map((c) => c.name) : [chainName];
      for (const n of names) {
        const c = getChain(t, n);
        if (c.builtin) throw argError('IPT_BAD_ARG', `Can't delete built-in chain \`${n}'`);
        // iptables-nft: the kernel refuses to delete a chain with rules or references (EBUSY).
        if (c.rules.length > 0 || referenced(t, n)) throw argError('IPT_CHAIN_IN_USE', `CHAIN_DEL failed (Device or resource busy): chain ${n}`);
        t.chains.delete(n);
      }
      return;
    }
    case '-F': case '--flush': {
      const cs = chainName === undefined ? [...t.chains.values()] : [getChain(t, chainName)];
      for (const c of cs) c.rules = [];
      return;
    }
    case '-Z': case '--zero': {
      const cs = chainName === undefined ? [...t.chains.values()] : [getChain(t, chainName)];
      for (const c of cs) {
        c.packets = 0;
        c.bytes = 0;
        for (const r of c.rules) { r.packets = 0; r.bytes = 0; }
      }
      return;
    }
    case '-P': case '--policy': {
      const c = getChain(t, chainName);
      const p = toks[2];
      if (!c.builtin) throw argError('IPT_BAD_ARG', `Can't set policy on user chain \`${c.name}'`);
      if (p !== 'ACCEPT' && p !== 'DROP') throw argError('IPT_BAD_ARG', 'Bad policy name.');
      c.policy = p;
      return;
    }
    case '-E': case '--rename-chain': {
      const c = getChain(t, chainName);
      const to = toks[2];
      if (c.builtin || to === undefined) throw argError('IPT_BAD_ARG', 'Only user chains can be renamed');
      if (t.chains.has(to)) throw argError('IPT_CHAIN_EXISTS', 'File exists.');
      checkChainName(to);
      renameChain(t, c, to);
      return;
    }
    case '-t': case '--table':
      throw argError('IPT_PARSE', 'The -t option cannot be used in iptables-restore.');
    default:
      throw argError('IPT_PARSE', cmd === undefined ? 'empty command' : `Bad argument \`${cmd}'`);
  }
}

function renameChain(t: Table, c: Chain, to: string): void {
  const entries = [...t.chains.entries()].map(([n, ch]) => (n === c.name ? [to, { ...ch, name: to }] : [n, ch]) as [string, Chain]);
  t.chains.clear();
  for (const [n, ch] of entries) {
    ch.rules = ch.rules.map((r) => {
      const tc = targetChain(r.target);
      return tc === c.name ? { ...r, target: { ...(r.target as { kind: 'jump' | 'goto'; chain: string }), chain: to } } : r;
    });
    t.chains.set(n, ch);
  }
}

/** At COMMIT: every jump names an existing user chain, and no chain reaches itself. */
function commitCheck(b: Block, commitLine: number): void {
  const t = b.table;
  for (const c of t.chains.values()) {
    for (const r of c.rules) {
      const to = targetChain(r.target);
      if (to === undefined) continue;
      const dest = t.chains.get(to);
      const line = b.ruleLines.get(r) ?? commitLine;
      if (!dest) throw fail('IPT_NO_CHAIN', line, `Chain '${to}' does not exist`);
      if (dest.builtin) throw fail('IPT_BAD_ARG', line, `Cannot jump to built-in chain '${to}'`);
    }
  }
  // Depth-first search for a cycle (the kernel refuses loops with ELOOP).
  const state = new Map<string, 1 | 2>();
  const visit = (name: string): Rule | undefined => {
    state.set(name, 1);
    for (const r of (t.chains.get(name) as Chain).rules) {
      const to = targetChain(r.target);
      if (to === undefined) continue;
      const s = state.get(to);
      if (s === 1) return r;
      if (s === undefined) {
        const bad = visit(to);
        if (bad) return bad;
      }
    }
    state.set(name, 2);
    return undefined;
  };
  for (const name of t.chains.keys()) {
    if (state.has(name)) continue;
    const bad = visit(name);
    if (bad) throw fail('IPT_LOOP', b.ruleLines.get(bad) ?? commitLine, 'Too many levels of symbolic links.');
  }
}
