/**
 * What `nft -f` text parses into: a list of commands, each with the location nft
 * reports errors at. Names are resolved and values typed against the ruleset when
 * the transaction applies them (transaction.ts), as nft's evaluation step does.
 */
import type { NftLocation } from './errors.ts';
import type { BaseChainSpec, Family, SetProps, Stmt, Verdict } from './model.ts';

/** A word of input not yet typed (a set element's component before its set is known). */
export interface RawValue {
  readonly text: string;
  readonly quoted: boolean;
  readonly loc: NftLocation;
}

export interface RawElem {
  /** One raw value per key component. */
  readonly key: readonly RawValue[];
  readonly data?: { readonly verdict: Verdict } | { readonly value: RawValue };
  readonly comment?: string;
  readonly timeout?: number;
  readonly loc: NftLocation;
}

export interface SetSpec extends SetProps {
  readonly elems: readonly RawElem[];
}

export interface ChainSpec {
  readonly base?: BaseChainSpec;
  readonly comment?: string;
}

export type Verb = 'add' | 'create' | 'insert' | 'replace' | 'delete' | 'flush';

/** Where a command's table name, object name and handle are (nft points its errors at them). */
export interface Where {
  readonly table?: NftLocation;
  readonly name?: NftLocation;
  readonly handle?: NftLocation;
}

interface At {
  readonly loc: NftLocation;
  readonly where?: Where;
  readonly family: Family;
  readonly table: string;
}

export type Cmd =
  | (At & { readonly obj: 'table'; readonly verb: Verb; readonly comment?: string })
  | (At & { readonly obj: 'chain'; readonly verb: Verb; readonly chain: string; readonly spec?: ChainSpec })
  | (At & {
    readonly obj: 'rule'; readonly verb: Verb; readonly chain: string;
    /** `handle N` (delete/replace, or add/insert after/before it), `index N`, `position N`. */
    readonly handle?: number; readonly index?: number;
    readonly stmts: readonly Stmt[]; readonly comment?: string;
    /** Where each statement's named references are (for errors about them). */
    readonly refs: ReadonlyArray<{ readonly kind: 'set' | 'chain'; readonly name: string; readonly loc: NftLocation }>;
  })
  | (At & { readonly obj: 'set'; readonly verb: Verb; readonly map: boolean; readonly name: string; readonly spec?: SetSpec })
  | (At & { readonly obj: 'element'; readonly verb: Verb; readonly name: string; readonly elems: readonly RawElem[] })
  | { readonly obj: 'ruleset'; readonly verb: 'flush'; readonly family?: Family; readonly loc: NftLocation };
