/**
 * iptables-restore text for the plugins' nat rules, written the way `iptables-save`
 * prints them so that "does this rule exist" is a line comparison against the
 * node's `iptables-save` (what the reference plugins ask with `iptables -C`).
 */
import { createHash } from 'node:crypto';
import type { IptablesRestorer } from '../host.ts';
import { saveHasChain, saveHasRule } from '../host.ts';

/** Maximum iptables chain name length (XT_EXTENSION_MAXNAMELEN - 1). */
export const MAX_CHAIN_LEN = 28;

/** containernetworking pkg/utils FormatChainName: prefix + sha512(name + id) in hex, cut to 28 characters. */
export function formatChainName(prefix: string, name: string, id: string): string {
  return (prefix + createHash('sha512').update(name + id).digest('hex')).slice(0, MAX_CHAIN_LEN);
}

/** `"name: \"cbr0\" id: \"abc\""` as a quoted iptables comment argument. */
export function quoteComment(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Build an idempotent `--noflush` restore for `table`: chains are declared only when
 * missing (declaring an existing chain would flush it), rules appended only when
 * absent, deletions only of rules that exist.
 */
export class NatPatch {
  private readonly save: string;
  private readonly lines: string[] = [];
  private readonly declared = new Set<string>();
  private readonly appended = new Set<string>();

  constructor(private readonly ipt: IptablesRestorer, private readonly table: 'nat' | 'filter' = 'nat') {
    this.save = ipt.save({ table });
  }

  hasChain(chain: string): boolean {
    return this.declared.has(chain) || saveHasChain(this.save, chain);
  }

  hasRule(chain: string, spec: string): boolean {
    return this.appended.has(`${chain} ${spec}`) || saveHasRule(this.save, chain, spec);
  }

  ensureChain(chain: string): this {
    if (!this.hasChain(chain)) {
      this.lines.push(`:${chain} - [0:0]`);
      this.declared.add(chain);
    }
    return this;
  }

  appendUnique(chain: string, spec: string): this {
    if (!this.hasRule(chain, spec)) {
      this.lines.push(`-A ${chain} ${spec}`);
      this.appended.add(`${chain} ${spec}`);
    }
    return this;
  }

  /** `-I chain 1 spec` unless the rule exists (libcni's prependEntry). */
  insertUnique(chain: string, spec: string): this {
    if (!this.hasRule(chain, spec)) {
      this.lines.push(`-I ${chain} 1 ${spec}`);
      this.appended.add(`${chain} ${spec}`);
    }
    return this;
  }

  deleteIfPresent(chain: string, spec: string): this {
    if (saveHasRule(this.save, chain, spec)) this.lines.push(`-D ${chain} ${spec}`);
    return this;
  }

  /** Flush and delete a user chain when it exists. */
  removeChain(chain: string): this {
    if (saveHasChain(this.save, chain)) this.lines.push(`-F ${chain}`, `-X ${chain}`);
    return this;
  }

  /** The restore text, or '' when nothing changes. */
  text(): string {
    return this.lines.length === 0 ? '' : [`*${this.table}`, ...this.lines, 'COMMIT', ''].join('\n');
  }

  apply(): string {
    const t = this.text();
    if (t !== '') this.ipt.restore(t, { noflush: true });
    return t;
  }
}
