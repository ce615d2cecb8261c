/** iptables-restore failures, with a stable code and the input line (1-based). */
export type IptablesErrorCode =
  | 'IPT_PARSE'
  | 'IPT_UNKNOWN_OPTION'
  | 'IPT_UNKNOWN_MATCH'
  | 'IPT_UNKNOWN_TARGET'
  | 'IPT_BAD_ARG'
  | 'IPT_NO_CHAIN'
  | 'IPT_CHAIN_EXISTS'
  | 'IPT_CHAIN_IN_USE'
  | 'IPT_BAD_TABLE'
  | 'IPT_NO_COMMIT'
  | 'IPT_TARGET_NOT_ALLOWED'
  | 'IPT_NO_SET';

export class IptablesError extends Error {
  constructor(readonly code: IptablesErrorCode, readonly detail: string, readonly line: number | undefined = undefined) {
    super(line !== undefined ? `iptables-restore: line ${line} failed: ${detail}` : `iptables: ${detail}`);
    this.name = 'IptablesError';
  }
}
