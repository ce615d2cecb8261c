/**
 * `nft -f` failures, worded and located as nft 1.0.6 reports them:
 * `FILE:LINE:COL-COL: Error: …`, then the offending line and carets under it.
 * Parse errors read `syntax error, unexpected …` (bison's words); evaluation errors
 * (a missing table, chain or set; a value of the wrong type) use nft's sentences.
 */
import { CodedError } from '../../errors.ts';

export type NftErrorCode =
  /** The text does not parse. */
  | 'NFT_SYNTAX'
  /** It parses, but names something that does not exist or does not fit (nft's evaluation step). */
  | 'NFT_EVAL'
  /** The kernel refused the transaction (ENOENT, EEXIST, EBUSY, ELOOP). */
  | 'NFT_KERNEL'
  /** Valid nft, but a family or expression the emulator does not model. */
  | 'NFT_UNSUPPORTED';

export interface NftLocation {
  /** 1-based line and columns (inclusive), as nft prints them. */
  readonly line: number;
  readonly col: number;
  readonly endCol: number;
}

export class NftError extends CodedError {
  constructor(readonly code: NftErrorCode, readonly detail: string, readonly loc: NftLocation | undefined = undefined, readonly file = '/dev/stdin') {
    super(loc !== undefined ? `${file}:${loc.line}:${loc.col}-${loc.endCol}: Error: ${detail}` : `Error: ${detail}`);
    this.name = 'NftError';
  }

  /** nft's full report: the location line, the source line and carets under the offending span. */
  report(source: string): string {
    if (this.loc === undefined) return this.message;
    const line = source.split('\n')[this.loc.line - 1] ?? '';
    const carets = ' '.repeat(Math.max(0, this.loc.col - 1)) + '^'.repeat(Math.max(1, this.loc.endCol - this.loc.col + 1));
    return `${this.message}\n${line}\n${carets}`;
  }
}
