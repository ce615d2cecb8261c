/**
 * The nf_tables state of one network namespace: `nft -f` text applied as one
 * transaction, `nft list ruleset` printed back, and the base chains per hook that
 * the hook operations run (ops/nft-do-chain.ts). A listener hears each committed
 * change so the netfilter stack can re-register the base chains at their priorities.
 */
import { NftError } from './errors.ts';
import type { Chain, HookName, Ruleset, Table } from './model.ts';
import { parseNft } from './parse.ts';
import { applyTransaction } from './transaction.ts';
import { renderRuleset } from './render.ts';
import { renderRulesetJson } from './json.ts';
import type { NftShare } from './share.ts';

export interface BaseChainRef {
  readonly table: Table;
  readonly chain: Chain;
}

export class Nftables {
  private rs: Ruleset = { tables: new Map(), nextTableHandle: 1 };
  /** Bumped by every committed transaction (caches key on it). */
  generation = 0;
  /** Called after a commit that added, removed or moved a base chain (the netfilter stack rebuilds its hook entries). */
  onChange: (() => void) | undefined = undefined;
  private layout = '';

  /**
   * `now` gives virtual time in ns (element expiry of sets with timeouts). `share`: parse
   * each distinct line once and type each distinct element once across the namespaces
   * that use it (share.ts); what the namespace shows is the same.
   */
  constructor(private readonly now: () => number = () => 0, private readonly share?: NftShare) {}

  get ruleset(): Ruleset {
    return this.rs;
  }

  /**
   * `nft -f -` with `text`: parsed, then applied as one transaction. Throws NftError
   * (syntax, evaluation or kernel error, with nft's location and words) and then
   * changes nothing.
   */
  apply(text: string): void {
    this.rs = this.transaction(text);
    this.generation++;
    const layout = this.layoutSignature();
    if (layout !== this.layout) {
      this.layout = layout;
      this.onChange?.();
    }
  }

  /**
   * The ruleset after `text`. With a share, from the shared parses of its lines; should
   * that fail, the text is parsed whole and applied again (nothing changed), so the error
   * and its location are the ones the whole text gives.
   */
  private transaction(text: string): Ruleset {
    const shared = this.share?.commands(text);
    if (shared !== undefined) {
      try {
        return applyTransaction(this.rs, shared, this.now(), this.share);
      } catch (e) {
        if (!(e instanceof NftError)) throw e;
      }
    }
    return applyTransaction(this.rs, parseNft(text), this.now());
  }

  /** Like {@link apply}, but an error comes back as nft's full report (location line, source line, carets). */
  tryApply(text: string): { ok: true } | { ok: false; error: NftError; report: string } {
    try {
      this.apply(text);
      return { ok: true };
    } catch (e) {
      if (!(e instanceof NftError)) throw e;
      return { ok: false, error: e, report: e.report(text) };
    }
  }

  /** `nft list ruleset` (`handles`: `nft -a list ruleset`). */
  listRuleset(opts: { handles?: boolean } = {}): string {
    return renderRuleset(this.rs, { now: this.now(), ...opts });
  }

  /** `nft -j list ruleset`. */
  listRulesetJson(): string {
    return renderRulesetJson(this.rs, this.now());
  }

  private layoutSignature(): string {
    let s = '';
    for (const [k, t] of this.rs.tables) {
      for (const c of t.chains.values()) if (c.base !== undefined) s += `${k}/${c.name}/${c.base.type}/${c.base.hook}/${c.base.priority};`;
    }
    return s;
  }

  /** Base chains at `hook` across all tables (unordered; the hook entries sort them by priority). */
  baseChains(hook: HookName): BaseChainRef[] {
    const out: BaseChainRef[] = [];
    for (const table of this.rs.tables.values()) {
      for (const chain of table.chains.values()) if (chain.base?.hook === hook) out.push({ table, chain });
    }
    return out;
  }
}
