/**
 * What the nf_tables of several network namespaces share: the nodes of a cluster whose
 * kube-proxy (nftables mode) writes the same text hold one copy of it (issue 23,
 * "shared, copy-on-write state across nodes"; the iptables counterpart is
 * ../iptables/share.ts).
 *
 * - Each distinct line of a batch is parsed once (`commands`). knftables writes one
 *   command a line, so a batch whose every line is a command on its own is the
 *   concatenation of its lines' commands; the commands (and the statements, anonymous
 *   sets and names in them) are immutable, and a rule without a counter holds its
 *   command's statements as they are (transaction.ts), so every namespace that adds
 *   the same rule line holds the same statements. A node's own lines (its Local
 *   endpoints) are parsed for it alone, the rest is still shared: the overlay is per
 *   line, not per batch.
 * - Each distinct element of a line, typed against its set's types, is one SetElem
 *   (`element`): elements hold no per-namespace state unless they expire, and those
 *   are copied per namespace (their `expires`). The key text a set is indexed by is
 *   shared with it.
 * - What stays per namespace: tables, chains, rules (their handles, which follow each
 *   namespace's own history), sets and their element maps (a packet's `update @set`
 *   adds to them), counter statements, and every batch's copy-on-write edits.
 *
 * Exactness: a line kept in the share is parsed without locations (they would be on
 * line 1 of the line, and only errors show them); a batch that fails with shared
 * commands is parsed again whole and applied again
 * (it changed nothing), so its error is the one nft reports for the whole text
 * (Nftables.apply). Lines that are not a command on their own (blocks over several
 * lines, continuations) make the batch parse whole, unshared.
 *
 * Memory stays bounded under churn: lines and elements live in two generations; when
 * the current one has grown past twice what the last swap kept, the older is dropped,
 * and with it whatever no batch asked for since.
 */
import type { Cmd, RawElem } from './commands.ts';
import type { SetElem } from './model.ts';
import { NftError } from './errors.ts';
import { parseNft } from './parse.ts';

/** A typed element and the key text its set indexes it by. */
export interface TypedElem {
  readonly elem: SetElem;
  readonly key: string;
}

/** What a share holds (observation for the benchmark and the tests). */
export interface NftShareStats {
  readonly lines: number;
  /** Lines served from the share, and parsed. */
  readonly hits: number;
  readonly parsed: number;
  readonly elements: number;
}

/** Swap generations no earlier than this many entries. */
const MIN_SWAP = 1 << 16;
const VERB = /^(?:add|create|insert|replace|delete|flush) /;

export class NftShare {
  private lines = new Map<string, readonly Cmd[]>();
  private oldLines = new Map<string, readonly Cmd[]>();
  /** A raw element (of a shared command) → its typing, per set type signature. */
  private elems = new WeakMap<RawElem, { readonly sig: string; readonly typed: TypedElem }>();
  private elemCount = 0;
  private swapAt = MIN_SWAP;
  private hits = 0;
  private parsed = 0;

  /**
   * The commands of `text` with each line's parse shared, or undefined when a line is
   * not a command on its own (the caller parses the text whole, as before).
   */
  commands(text: string): Cmd[] | undefined {
    const out: Cmd[] = [];
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const line = text.slice(start, end);
      start = end + 1;
      if (line.length === 0) continue;
      const cmds = this.line(line);
      if (cmds === undefined) return undefined;
      for (const c of cmds) out.push(c);
    }
    if (this.lines.size >= this.swapAt) this.swap();
    return out;
  }

  private line(line: string): readonly Cmd[] | undefined {
    const had = this.lines.get(line);
    if (had !== undefined) {
      this.hits++;
      return had;
    }
    const old = this.oldLines.get(line);
    if (old !== undefined) {
      this.hits++;
      this.lines.set(line, old);
      return old;
    }
    if (!VERB.test(line) || line.includes('\\')) return undefined;
    // A fresh string: a slice would keep this namespace's whole batch alive in the share.
    const own = Buffer.from(line, 'utf8').toString('utf8');
    let cmds: Cmd[];
    try {
      cmds = parseNft(own, { locations: false });
    } catch (e) {
      if (e instanceof NftError) return undefined;
      throw e;
    }
    this.parsed++;
    this.lines.set(own, cmds);
    return cmds;
  }

  /** The typing of `raw` against a set whose types are `sig`, made once (`make`) and kept. */
  element(raw: RawElem, sig: string, make: () => TypedElem): TypedElem {
    const had = this.elems.get(raw);
    if (had !== undefined && had.sig === sig) return had.typed;
    const typed = make();
    this.elems.set(raw, { sig, typed });
    this.elemCount++;
    return typed;
  }

  /** Drop the lines no batch asked for since the last swap (their elements go with them: weakly held). */
  private swap(): void {
    this.oldLines = this.lines;
    this.lines = new Map();
    this.swapAt = Math.max(MIN_SWAP, 2 * this.oldLines.size);
  }

  stats(): NftShareStats {
    return { lines: this.lines.size + this.oldLines.size, hits: this.hits, parsed: this.parsed, elements: this.elemCount };
  }
}
