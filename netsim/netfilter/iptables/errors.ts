/**
 * iptables-restore failures: a stable code, the input line (1-based) and the real
 * tool's own words for what went wrong (`detail`).
 */
import { CodedError } from '../../errors.ts';
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
  | 'IPT_NO_SET'
  | 'IPT_NO_NFACCT'
  /** -D of a rule that is not there. */
  | 'IPT_NO_RULE'
  /** A jump loop reachable from a built-in chain (the kernel's ELOOP). */
  | 'IPT_LOOP';

export class IptablesError extends CodedError {
  constructor(readonly code: IptablesErrorCode, readonly detail: string, readonly line: number | undefined = undefined) {
    super(line !== undefined ? `iptables-restore: line ${line} failed: ${detail}` : `iptables: ${detail}`);
    this.name = 'IptablesError';
  }
}
