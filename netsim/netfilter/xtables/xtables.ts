/**
 * The xtables ruleset of one network namespace: loaded the way `iptables-restore`
 * loads it, printed the way `iptables-save` and `iptables -L` print it, and
 * evaluated packet by packet for the netfilter glue (netfilter-stack.ts calls
 * `evaluate(table, pkt, ctx)` at each hook).
 */
import type { Packet } from '../../packet/packet.ts';
import type { EvalContext, EvalResult, TableName } from '../eval-types.ts';
import type { CompiledTable } from './compile.ts';
import { compileTable } from './compile.ts';
import { Evaluator } from './evaluate.ts';
import type { Table } from './model.ts';
import { applyRestore } from './parse.ts';
import type { RestoreOptions } from './parse.ts';
import { RecentState } from './recent.ts';
import { renderList } from './render-list.ts';
import type { ListOptions } from './render-list.ts';
import { renderSave } from './render.ts';
import type { SaveOptions } from './render.ts';

export interface XtablesRestoreOptions extends RestoreOptions {
  /** `iptables-restore --test`: parse and check only, change nothing. */
  readonly test?: boolean;
}

export interface XtablesOptions {
  /** Compile chains with indexed dispatch (default true); false walks every rule like the kernel. */
  readonly indexed?: boolean;
}

export class Xtables {
  private tables = new Map<TableName, Table>();
  private readonly compiled = new Map<TableName, CompiledTable>();
  private readonly evaluator = new Evaluator();
  /** `-m recent` tables of this namespace (`/proc/net/xt_recent`). */
  readonly recent = new RecentState();
  /** Whether an ipset exists; set by whoever attaches the namespace's ipsets. Absent: any name is accepted. */
  setExists: ((name: string) => boolean) | undefined = undefined;
  private readonly indexed: boolean;

  constructor(opts: XtablesOptions = {}) {
    this.indexed = opts.indexed ?? true;
  }

  /** Load iptables-restore input; atomic: throws IptablesRestoreError (with the line) and changes nothing on failure. */
  restore(text: string, opts: XtablesRestoreOptions = {}): void {
    const { tables, changed } = applyRestore(this.tables, text, opts, { setExists: this.setExists });
    if (opts.test) return;
    this.tables = tables;
    for (const name of changed) this.compiled.set(name, compileTable(tables.get(name) as Table, this.recent, this.indexed));
  }

  /** `iptables-save [-t TABLE] [-c]` (header lines only when `date` is given). */
  save(opts: SaveOptions = {}): string {
    return renderSave(this.tables, opts);
  }

  /** `iptables -t TABLE -L [CHAIN] -n [-v] [-x] [--line-numbers]`. */
  list(table: TableName, opts: ListOptions = {}): string {
    return renderList(this.tables.get(table), table, opts);
  }

  /** The live tables (read-only view; counters change as packets pass). */
  table(name: TableName): Table | undefined {
    return this.tables.get(name);
  }

  /** `iptables -t TABLE -Z [CHAIN]` (all tables when omitted). */
  zero(table?: TableName, chain?: string): void {
    for (const t of this.tables.values()) {
      if (table !== undefined && t.name !== table) continue;
      for (const c of t.chains.values()) {
        if (chain !== undefined && c.name !== chain) continue;
        c.packets = 0;
        c.bytes = 0;
        for (const r of c.rules) {
          r.packets = 0;
          r.bytes = 0;
        }
      }
    }
  }

  /** Whether the table has rules or a non-ACCEPT policy (the glue may skip inactive tables). */
  hasTable(table: TableName): boolean {
    return this.compiled.get(table)?.active ?? false;
  }

  /** Evaluate `table` at `ctx.hook` for the packet (IPv4 header at pkt.off). */
  evaluate(table: TableName, pkt: Packet, ctx: EvalContext): EvalResult {
    return this.evaluator.run(this.compiled.get(table), table, pkt, ctx);
  }
}
