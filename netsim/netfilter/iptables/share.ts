/**
 * Rules and rule lists shared between network namespaces: the nodes of a cluster whose
 * kube-proxy writes the same text hold one copy of it (issue 23, "shared, copy-on-write
 * state across nodes").
 *
 * - A restore's `-A CHAIN …` line parsed once serves every later restore of the same
 *   line in any namespace of the share (`rule`). Parsing depends on the table only
 *   through which user chains exist, which the namespace checks again (Iptables:
 *   appendShared). Rules whose matches keep per-rule state in the evaluator (statistic
 *   `--mode nth`, limit) are not shared: two namespaces, or two places in one, must not
 *   step one counter or bucket.
 * - A chain's rules, once committed, are interned by content (`rules`): every chain
 *   with the same rules holds the same array (typed readonly; edits copy it first), so
 *   its compiled form (evaluate.ts) is built once too. Chain names are interned as well.
 * - What stays per namespace: tables and chain objects (names, policies, the policy
 *   counters), each rule's counters (Chain.hits, made when the rule first counts), the
 *   evaluator's state (nth, limit, recent lists, nfacct), and every restore's edits,
 *   which copy a shared array before they change it (copy on write).
 *
 * Sharing changes what the process holds, never what a namespace shows: iptables-save,
 * listings, counters, traces and verdicts are the same with and without it (the
 * differential test in tests/scale/share.test.ts).
 *
 * A whole restore text, once committed, is kept as its plan (restore-plan.ts): a further
 * namespace loading the same text sets each declared chain to the committed rule list
 * (`plan`, `learn`). The last few texts are remembered (kube-proxy's nodes write the
 * same text one after the other), each with its plan or the fact that it has none.
 *
 * Memory stays bounded under churn: when the entries have doubled since the last sweep,
 * those no registered namespace holds any more are dropped.
 */
import type { Chain, Rule } from './model.ts';
import type { RestorePlan } from './restore-plan.ts';

/** A parsed `-A` line: its chain, the rule and the counters its `-c` gave. */
export interface SharedRule {
  readonly chain: string;
  readonly rule: Rule;
  readonly counters: readonly [number, number] | undefined;
  readonly id: number;
}

/** What a share holds (observation for the benchmark and the tests). */
export interface ShareStats {
  readonly rules: number;
  readonly ruleLists: number;
  /** `-A` lines served from the share, and parsed. */
  readonly hits: number;
  readonly parsed: number;
  /** Restores that found their text's plan (restore-plan.ts; loaded from it unless a check failed). */
  readonly planned: number;
}

/** How many recent restore texts keep their plan. */
const PLANS = 4;

/** Sweep no earlier than this many entries. */
const MIN_SWEEP = 1 << 16;

export class IptablesShare {
  /** `-A` line (without counters) → its parse. */
  private readonly byLine = new Map<string, SharedRule>();
  /** A shared rule (or a namespace's copy of a shared jump) → the id of its line. */
  private readonly ids = new WeakMap<Rule, number>();
  /** The ids of a chain's rules, joined → the one array of those rules. */
  private readonly lists = new Map<string, readonly Rule[]>();
  /**
   * Chain names, one string each: a name read from a restore is a slice of that restore's
   * text, and would keep the whole text alive in every namespace that holds the chain.
   */
  private readonly names = new Map<string, string>();
  private readonly members: Array<{ chains(): Iterable<Chain> }> = [];
  private nextId = 1;
  private sweepAt = MIN_SWEEP;
  private hits = 0;
  private parsed = 0;
  /** Recent restore texts → their plan (null: the text has none), oldest first. */
  private readonly plans = new Map<string, RestorePlan | null>();
  private planned = 0;

  /** A namespace whose tables the share must keep (Iptables registers itself). */
  register(member: { chains(): Iterable<Chain> }): void {
    this.members.push(member);
  }

  /** The parse of `line` made before, if any. */
  rule(line: string): SharedRule | undefined {
    const s = this.byLine.get(line);
    if (s !== undefined) this.hits++;
    return s;
  }

  /** The parse of `line` if kept, without counting a hit (the planner's look-up). */
  peek(line: string): SharedRule | undefined {
    return this.byLine.get(line);
  }

  /** The plan of a restore text seen before (undefined: not seen, or it has none). */
  plan(text: string): RestorePlan | undefined {
    const p = this.plans.get(text);
    if (p === undefined || p === null) return undefined;
    this.planned++;
    return p;
  }

  /** Whether `text` was seen lately (planned or found to have no plan). */
  knows(text: string): boolean {
    return this.plans.has(text);
  }

  /** Remember a restore text that was just committed whole, with its plan or none. */
  learn(text: string, plan: RestorePlan | undefined): void {
    this.plans.delete(text);
    this.plans.set(text, plan ?? null);
    if (this.plans.size > PLANS) this.plans.delete(this.plans.keys().next().value as string);
  }

  /** Keep the parse of `line` (an `-A CHAIN …` line that parsed and checked) for the next namespace. */
  store(line: string, chain: string, rule: Rule, counters: readonly [number, number] | undefined): void {
    this.parsed++;
    if (!shareable(rule) || this.byLine.has(line)) return;
    const id = this.nextId++;
    this.byLine.set(line, { chain, rule, counters, id });
    this.ids.set(rule, id);
  }

  /**
   * After a restore: sweep when the entries have doubled since the last sweep (not in
   * the middle of one, whose rules no namespace holds yet).
   */
  settle(): void {
    if (this.size() >= this.sweepAt) this.sweep();
  }

  /** The one string of a chain name. */
  name(name: string): string {
    const had = this.names.get(name);
    if (had !== undefined) return had;
    this.names.set(name, name);
    return name;
  }

  /** A namespace's own object for a shared rule (same fields, same id). */
  copy(rule: Rule): Rule {
    const c = { ...rule };
    this.ids.set(c, this.ids.get(rule) as number);
    return c;
  }

  /** The shared array with these rules (`rules` itself when it has a rule not parsed through the share). */
  rules(rules: readonly Rule[]): readonly Rule[] {
    let key = '';
    for (let i = 0; i < rules.length; i++) {
      const id = this.ids.get(rules[i] as Rule);
      if (id === undefined) return rules;
      key += i === 0 ? String(id) : `,${id}`;
    }
    const had = this.lists.get(key);
    if (had !== undefined) return had;
    this.lists.set(key, rules);
    return rules;
  }

  private size(): number {
    return this.byLine.size + this.lists.size + this.names.size;
  }

  stats(): ShareStats {
    return { rules: this.byLine.size, ruleLists: this.lists.size, hits: this.hits, parsed: this.parsed, planned: this.planned };
  }

  /** Drop the lines and lists no member's chain holds any more. */
  private sweep(): void {
    const liveLists = new Set<readonly Rule[]>();
    const liveIds = new Set<number>();
    const liveNames = new Set<string>();
    for (const m of this.members) {
      for (const c of m.chains()) {
        liveNames.add(c.name);
        if (liveLists.has(c.rules)) continue;
        liveLists.add(c.rules);
        for (const r of c.rules) {
          const id = this.ids.get(r);
          if (id !== undefined) liveIds.add(id);
        }
      }
    }
    for (const [line, s] of this.byLine) if (!liveIds.has(s.id)) this.byLine.delete(line);
    for (const [key, list] of this.lists) if (!liveLists.has(list)) this.lists.delete(key);
    for (const name of this.names.keys()) if (!liveNames.has(name)) this.names.delete(name);
    // Plans hold rule lists and names of their own: a plan is a cache, made again on the next sight of its text.
    this.plans.clear();
    this.sweepAt = Math.max(MIN_SWEEP, 2 * this.size());
  }
}

/** Whether a rule holds no per-rule evaluator state (statistic nth, limit buckets are kept per match object). */
function shareable(r: Rule): boolean {
  for (const m of r.matches) if ((m.kind === 'statistic' && m.mode === 'nth') || m.kind === 'limit') return false;
  return true;
}
