/**
 * iptables-restore failures. `code` is stable (tests and callers switch on it);
 * `line` is the 1-based input line; the message reads like the real tool's
 * (`iptables-restore: line 5 failed: Chain already exists.`).
 */
export type IptablesErrorCode =
  | 'IPT_PARSE'
  | 'IPT_NO_CHAIN'
  | 'IPT_UNKNOWN_MATCH'
  | 'IPT_UNKNOWN_TARGET'
  | 'IPT_UNKNOWN_OPTION'
  | 'IPT_CHAIN_EXISTS'
  | 'IPT_CHAIN_IN_USE'
  | 'IPT_BAD_ARG'
  | 'IPT_BAD_TABLE'
  | 'IPT_NO_COMMIT'
  | 'IPT_NO_RULE'
  | 'IPT_LOOP'
  | 'IPT_NO_SET';

export class IptablesRestoreError extends Error {
  override readonly name = 'IptablesRestoreError';
  constructor(
    readonly code: IptablesErrorCode,
    /** 1-based input line (0 when not tied to a line). */
    readonly line: number,
    /** What went wrong, in the real tool's words where it has some. */
    readonly detail: string,
  ) {
    super(line > 0 ? `iptables-restore: line ${line} failed: ${detail}` : `iptables-restore: ${detail}`);
  }
}

/** A rule-level problem found while parsing arguments; the restore adds the line. */
export class RuleArgError extends Error {
  constructor(readonly code: IptablesErrorCode, readonly detail: string) {
    super(detail);
  }
}

export function argError(code: IptablesErrorCode, detail: string): RuleArgError {
  return new RuleArgError(code, detail);
}
