/**
 * A restore text already loaded in one namespace of a share, as what it does to a
 * table (issue 23: one shared table per identical restore text). kube-proxy on every
 * node of a cluster writes the same `iptables-restore --noflush` text whenever its
 * inputs are the same (its first full sync after the informers synced, the partial
 * syncs that follow one Service change); each further node loads it by setting each
 * chain the text declares to the rule list the first node committed, instead of
 * splitting, looking up, checking and appending every line again.
 *
 * A text gets a plan only when what it does follows from the text alone, given a few
 * facts about the namespace checked before anything changes (`before`, `sets`,
 * `nfacct`):
 * - every table block declares user chains (`:NAME - [p:b]`, each once) and appends
 *   (`-A`) only to chains it declared on an earlier line; nothing else (no built-in
 *   chain, `-I`, `-D`, `-X`, `-E`, `-F`, `-Z`, policy), one block per table, no empty block;
 * - every `-A` line was parsed through the share (no per-rule evaluator state) and
 *   carries no counters (`[p:b]` or `-c`), so the declared chains end up with exactly
 *   the rules the first namespace committed, and no rule counters;
 * - the jumps among the declared chains make no cycle.
 * What the kernel checks per namespace is checked per namespace: the chains the rules
 * jump to without declaring them first must exist as user chains (`before`), the
 * ipsets and nfacct objects they name must exist, and unless every jump stays among
 * the declared chains (`closed`: then no loop can pass through them, and the rest of
 * the table is as loop-free as it was) the loop check runs. When a check fails the
 * text is loaded line by line, which gives the error the real tool gives.
 */
import type { Rule, TableName } from './model.ts';
import { isBuiltin } from './model.ts';

/** One `*table … COMMIT` block of a planned text. */
export interface PlanBlock {
  readonly table: TableName;
  /** The chains it declares, in text order, with the rule list each ends up holding. */
  readonly chains: ReadonlyArray<{ readonly name: string; readonly rules: readonly Rule[] }>;
  /** User chains its rules jump to before (or without) declaring them: the namespace must have them. */
  readonly before: readonly string[];
  readonly sets: readonly string[];
  readonly nfacct: readonly string[];
  /** Every jump goes to a chain the block declares: the loop check cannot fail. */
  readonly closed: boolean;
}

export interface RestorePlan {
  readonly blocks: readonly PlanBlock[];
}

/** What the planner asks of the share and of the namespace that just loaded the text. */
export interface PlanSource {
  /** The shared parse of an `-A` line, if the share keeps one. */
  rule(line: string): { readonly chain: string; readonly rule: Rule; readonly counters: readonly [number, number] | undefined } | undefined;
  /** The rule list and name object chain `name` of `table` holds now (after the text was committed). */
  chain(table: TableName, name: string): { readonly name: string; readonly rules: readonly Rule[] } | undefined;
}

const jumpOf = (r: Rule): string | undefined => (r.target.kind === 'jump' || r.target.kind === 'goto' ? r.target.chain : undefined);

/**
 * The plan of `text`, just committed whole by a namespace of the share (read through
 * `src`); undefined when the text does something a plan does not model.
 */
export function planRestore(text: string, src: PlanSource): RestorePlan | undefined {
  const blocks: PlanBlock[] = [];
  const tables = new Set<string>();
  let cur: { table: TableName; declared: Map<string, number>; order: string[]; before: Set<string>; sets: Set<string>; nfacct: Set<string>; edges: Map<string, Set<string>>; lines: number } | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    if (cur === undefined) {
      if (!line.startsWith('*')) return undefined;
      const table = line.slice(1) as TableName;
      if (tables.has(table)) return undefined;
      tables.add(table);
      cur = { table, declared: new Map(), order: [], before: new Set(), sets: new Set(), nfacct: new Set(), edges: new Map(), lines: 0 };
      continue;
    }
    if (line === 'COMMIT') {
      const b = finish(cur, src);
      if (b === undefined) return undefined;
      blocks.push(b);
      cur = undefined;
      continue;
    }
    cur.lines++;
    if (line.startsWith(':')) {
      const m = /^:(\S+)\s+-(?:\s|$)/.exec(line);
      if (m === null) return undefined;
      const name = m[1] as string;
      if (isBuiltin(cur.table, name) || cur.declared.has(name)) return undefined;
      cur.declared.set(name, i);
      cur.order.push(name);
      continue;
    }
    if (!line.startsWith('-A ')) return undefined;
    const s = src.rule(line);
    if (s === undefined || s.counters !== undefined || !cur.declared.has(s.chain)) return undefined;
    const to = jumpOf(s.rule);
    if (to !== undefined) {
      if (!cur.declared.has(to)) cur.before.add(to);
      let e = cur.edges.get(s.chain);
      if (e === undefined) cur.edges.set(s.chain, (e = new Set()));
      e.add(to);
    }
    for (const m of s.rule.matches) {
      if (m.kind === 'set') cur.sets.add(m.name);
      else if (m.kind === 'nfacct') cur.nfacct.add(m.name);
    }
  }
  return cur === undefined && blocks.length > 0 ? { blocks } : undefined;
}

function finish(
  b: { table: TableName; declared: Map<string, number>; order: string[]; before: Set<string>; sets: Set<string>; nfacct: Set<string>; edges: Map<string, Set<string>>; lines: number },
  src: PlanSource,
): PlanBlock | undefined {
  if (b.lines === 0) return undefined;
  const chains: Array<{ name: string; rules: readonly Rule[] }> = [];
  for (const name of b.order) {
    const c = src.chain(b.table, name);
    if (c === undefined) return undefined;
    chains.push({ name: c.name, rules: c.rules });
  }
  // A jump to a chain declared later that existed before is `before` too, but it stays inside the block.
  let closed = true;
  for (const to of b.before) if (!b.declared.has(to)) closed = false;
  if (cyclic(b.edges)) return undefined;
  return { table: b.table, chains, before: [...b.before], sets: [...b.sets], nfacct: [...b.nfacct], closed };
}

/** Whether the jumps among a block's chains make a cycle. */
function cyclic(edges: ReadonlyMap<string, ReadonlySet<string>>): boolean {
  const state = new Map<string, 1 | 2>();
  const visit = (n: string): boolean => {
    const s = state.get(n);
    if (s !== undefined) return s === 1;
    state.set(n, 1);
    for (const to of edges.get(n) ?? []) if (visit(to)) return true;
    state.set(n, 2);
    return false;
  };
  for (const n of edges.keys()) if (visit(n)) return true;
  return false;
}
