/**
 * A pods × pods table of booleans and its text, in the layout of the upstream e2e
 * network-policy suite (test/e2e/network/netpol/truthtable.go `PrettyPrint`): a header
 * row `-` then the destination pods, one row per source pod, tab-separated, `.` for
 * true (reachable, or agreeing in a comparison), `X` for false, `?` for a cell with no
 * value. The summary line is reachability.go's `reachability: correct:N, incorrect:M,
 * result=…`, with a pod's connections to itself ignored as upstream ignores them
 * (`ignoreLoopback`: the API leaves loopback undefined and plugins differ).
 */
export class TruthTable {
  private readonly values = new Map<string, boolean>();

  constructor(readonly items: readonly string[]) {}

  private static key(from: string, to: string): string {
    return `${from}\u0000${to}`;
  }

  set(from: string, to: string, v: boolean): void {
    this.values.set(TruthTable.key(from, to), v);
  }

  get(from: string, to: string): boolean | undefined {
    return this.values.get(TruthTable.key(from, to));
  }

  /** Cell by cell: true where both tables hold the same value. */
  compare(other: TruthTable): TruthTable {
    const out = new TruthTable(this.items);
    for (const f of this.items) for (const t of this.items) {
      const a = this.get(f, t);
      const b = other.get(f, t);
      if (a !== undefined && b !== undefined) out.set(f, t, a === b);
    }
    return out;
  }

  /** truthtable.go's PrettyPrint. */
  render(indent = ''): string {
    const lines = [indent + ['-', ...this.items].join('\t')];
    for (const f of this.items) {
      const row = [f, ...this.items.map((t) => {
        const v = this.get(f, t);
        return v === undefined ? '?' : v ? '.' : 'X';
      })];
      lines.push(indent + row.join('\t'));
    }
    return lines.join('\n');
  }
}

/** Agreeing and disagreeing cells of a comparison table, loopback (from = to) counted apart. */
export function summarize(comparison: TruthTable): { correct: number; incorrect: number; ignored: number } {
  let correct = 0;
  let incorrect = 0;
  let ignored = 0;
  for (const f of comparison.items) for (const t of comparison.items) {
    const v = comparison.get(f, t);
    if (v === undefined) continue;
    if (f === t) ignored++;
    else if (v) correct++;
    else incorrect++;
  }
  return { correct, incorrect, ignored };
}
