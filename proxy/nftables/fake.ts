/**
 * An in-memory nftables table with knftables.Fake's semantics (sigs.k8s.io/knftables
 * fake.go): transactions apply whole or not at all; `add` of an existing object is a
 * no-op (an element's value is replaced); flush/delete of a missing object, a rule in
 * a missing chain, and a reference (`@set`, `vmap @map`, `jump`/`goto`) to a missing
 * object fail. `dump()` prints the state the way upstream's tests compare it: the
 * table, chains, sets, maps (each sorted by name), then rules in chain order and
 * elements in insertion order, as `add` lines.
 *
 * Used by the translated upstream tests and benchmarks, and as kube-proxy's backend
 * where the node has no nf_tables. Not modelled: rule handles, index/insert/replace,
 * flowtables, counters.
 */
import type { NftChain, NftElement, NftMap, NftOperation, NftRule, NftSet, NftTable, NftTableRef } from './transaction.ts';
import type { NftTransaction } from './transaction.ts';
import { renderOperation } from './transaction.ts';
import type { NftablesBackend } from './backend.ts';

interface FakeChain { readonly chain: NftChain; rules: NftRule[] }
interface FakeContainer<T extends NftSet | NftMap> { readonly obj: T; elements: Map<string, NftElement> }

export class FakeNftError extends Error {
  constructor(message: string, readonly notFound: boolean) {
    super(message);
  }
}

/** State of one table. */
class FakeTableState {
  table: NftTable | undefined;
  chains = new Map<string, FakeChain>();
  sets = new Map<string, FakeContainer<NftSet>>();
  maps = new Map<string, FakeContainer<NftMap>>();
}

export class FakeNftables implements NftablesBackend {
  private state = new FakeTableState();
  /** The last transaction run (upstream's fake.LastTransaction). */
  lastTransaction: NftTransaction | undefined;

  constructor(readonly ref: NftTableRef = { family: 'ip', table: 'kube-proxy' }) {}

  run(tx: NftTransaction): void {
    const undo: Array<() => void> = [];
    try {
      for (const op of tx.operations) this.apply(op, undo);
    } catch (e) {
      for (let i = undo.length - 1; i >= 0; i--) (undo[i] as () => void)();
      throw e;
    }
    this.lastTransaction = tx;
  }

  list(kind: 'chains' | 'sets' | 'maps'): string[] | undefined {
    if (this.state.table === undefined) return undefined;
    return [...(kind === 'chains' ? this.state.chains : kind === 'sets' ? this.state.sets : this.state.maps).keys()];
  }

  /** The rules of one chain (upstream diffNFTablesChain), one per line. */
  chainRules(name: string): string[] | undefined {
    return this.state.chains.get(name)?.rules.map((r) => (r.comment !== undefined ? `${r.rule} comment ${JSON.stringify(r.comment)}` : r.rule));
  }

  /** Elements of a set or map. */
  elements(name: string): NftElement[] | undefined {
    const c = this.state.sets.get(name) ?? this.state.maps.get(name);
    return c === undefined ? undefined : [...c.elements.values()];
  }

  /** knftables Fake.Dump. */
  dump(): string {
    const s = this.state;
    if (s.table === undefined) return '';
    const lines: string[] = [renderOperation({ verb: 'add', obj: s.table }, this.ref)];
    const byName = <T>(m: Map<string, T>): T[] => [...m.keys()].sort().map((k) => m.get(k) as T);
    const chains = byName(s.chains);
    const sets = byName(s.sets);
    const maps = byName(s.maps);
    for (const c of chains) lines.push(renderOperation({ verb: 'add', obj: c.chain }, this.ref));
    for (const c of sets) lines.push(renderOperation({ verb: 'add', obj: c.obj }, this.ref));
    for (const c of maps) lines.push(renderOperation({ verb: 'add', obj: c.obj }, this.ref));
    for (const c of chains) for (const r of c.rules) lines.push(renderOperation({ verb: 'add', obj: r }, this.ref));
    for (const c of [...sets, ...maps]) for (const e of c.elements.values()) lines.push(renderOperation({ verb: 'add', obj: e }, this.ref));
    return `${lines.join('\n')}\n`;
  }

  private need(exists: boolean, verb: string, what: string, name: string): boolean {
    if (exists || verb === 'add' || verb === 'destroy') return exists;
    throw new FakeNftError(`no such ${what} "${name}"`, true);
  }

  private apply(op: NftOperation, undo: Array<() => void>): void {
    const s = this.state;
    const { verb, obj } = op;
    if (obj.kind === 'table') {
      if (verb === 'add' || verb === 'create') {
        if (s.table !== undefined) {
          if (verb === 'create') throw new FakeNftError('table already exists', false);
          return;
        }
        s.table = obj;
        undo.push(() => { s.table = undefined; });
        return;
      }
      this.need(s.table !== undefined, verb, 'table', this.ref.table);
      const old = this.state;
      this.state = new FakeTableState();
      if (verb === 'flush') this.state.table = old.table;
      undo.push(() => { this.state = old; });
      return;
    }
    if (s.table === undefined) throw new FakeNftError(`no such table "${this.ref.family}" "${this.ref.table}"`, true);
    switch (obj.kind) {
      case 'chain': {
        const cur = s.chains.get(obj.name);
        if (verb === 'add' || verb === 'create') {
          if (cur !== undefined) {
            if (verb === 'create') throw new FakeNftError(`chain "${obj.name}" already exists`, false);
            return;
          }
          s.chains.set(obj.name, { chain: obj, rules: [] });
          undo.push(() => s.chains.delete(obj.name));
        } else if (this.need(cur !== undefined, verb, 'chain', obj.name) && cur !== undefined) {
          if (verb === 'flush') {
            const rules = cur.rules;
            cur.rules = [];
            undo.push(() => { cur.rules = rules; });
          } else {
            s.chains.delete(obj.name);
            undo.push(() => s.chains.set(obj.name, cur));
          }
        }
        return;
      }
      case 'rule': {
        const c = s.chains.get(obj.chain);
        if (c === undefined) throw new FakeNftError(`no such chain "${obj.chain}"`, true);
        if (verb !== 'add') throw new FakeNftError(`${verb} rule needs a handle (not modelled)`, false);
        this.checkRuleRefs(obj.rule);
        c.rules.push(obj);
        undo.push(() => c.rules.pop());
        return;
      }
      case 'set':
      case 'map': {
        const m = (obj.kind === 'set' ? s.sets : s.maps) as Map<string, FakeContainer<NftSet | NftMap>>;
        const cur = m.get(obj.name);
        if (verb === 'add' || verb === 'create') {
          if (cur !== undefined) {
            if (verb === 'create') throw new FakeNftError(`${obj.kind} "${obj.name}" already exists`, false);
            return;
          }
          m.set(obj.name, { obj, elements: new Map() });
          undo.push(() => m.delete(obj.name));
        } else if (this.need(cur !== undefined, verb, obj.kind, obj.name) && cur !== undefined) {
          if (verb === 'flush') {
            const els = cur.elements;
            cur.elements = new Map();
            undo.push(() => { cur.elements = els; });
          } else {
            m.delete(obj.name);
            undo.push(() => m.set(obj.name, cur));
          }
        }
        return;
      }
      case 'element': {
        const c = obj.containerKind === 'set' ? s.sets.get(obj.container) : s.maps.get(obj.container);
        if (c === undefined) throw new FakeNftError(`no such ${obj.containerKind} "${obj.container}"`, true);
        const key = obj.key.join(' . ');
        const old = c.elements.get(key);
        if (verb === 'add' || verb === 'create') {
          if (old !== undefined && verb === 'create') throw new FakeNftError(`element "${key}" already exists`, false);
          const target = obj.value?.[0]?.split(' ');
          if (target !== undefined && target.length === 2 && (target[0] === 'goto' || target[0] === 'jump') && !s.chains.has(target[1] as string)) {
            throw new FakeNftError(`no such chain "${target[1] as string}"`, true);
          }
          c.elements.set(key, obj);
          undo.push(() => (old === undefined ? c.elements.delete(key) : c.elements.set(key, old)));
        } else if (verb === 'delete' || verb === 'destroy') {
          if (old === undefined) {
            if (verb === 'delete') throw new FakeNftError(`no such element "${key}"`, true);
            return;
          }
          c.elements.delete(key);
          undo.push(() => c.elements.set(key, old));
        } else throw new FakeNftError(`${verb} is not implemented for elements`, false);
        return;
      }
    }
  }

  /** knftables checkRuleRefs: chains, sets and maps a rule names must exist. */
  private checkRuleRefs(rule: string): void {
    const s = this.state;
    const words = rule.split(' ');
    words.forEach((w, i) => {
      const prev = words[i - 1];
      if (w.startsWith('@') && !w.includes(',')) {
        const name = w.slice(1);
        if (prev === 'map' || prev === 'vmap') {
          if (!s.maps.has(name)) throw new FakeNftError(`no such map "${name}"`, true);
        } else if (!s.sets.has(name) && !s.maps.has(name)) throw new FakeNftError(`no such set "${name}"`, true);
      } else if ((w === 'goto' || w === 'jump') && i < words.length - 1) {
        const name = words[i + 1] as string;
        if (!s.chains.has(name)) throw new FakeNftError(`no such chain "${name}"`, true);
      }
    });
  }
}

