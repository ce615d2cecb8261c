/**
 * What the fast path of established flows keeps per flow (flow-walks.ts, hook-plans.ts):
 * for each key (`slot * 2 + direction` of a conntrack entry) a reference to a shared
 * value and the id of the entry it was stored for, in arrays indexed by the key; the
 * values themselves stored once in a trie over their path (a walk's rule counters, a
 * plan's steps), then matched on their conditions. A value per flow lived as long as
 * its conntrack entry and was promoted out of the young generation; shared, they are few.
 */
import type { NetDevice } from '../link/net-device.ts';
import type { NfContext } from '../stack/netfilter-hooks.ts';
import type { Chain, RuleCounter } from './iptables/model.ts';

/** The conditions a remembered walk or plan was made under and replays under. */
export interface FlowConditions {
  readonly gen: number;
  readonly setGen: number;
  /** The namespace's route generation when a walk tested an address type (NetNamespace.routeGeneration), else -1. */
  readonly routeGen: number;
  readonly ctState: number;
  readonly markIn: number;
  readonly markOut: number;
  readonly inDev: NetDevice | undefined;
  readonly outDev: NetDevice | undefined;
  readonly physIn: NetDevice | undefined;
  readonly physOut: NetDevice | undefined;
}

export function sameConditions(a: FlowConditions, b: FlowConditions): boolean {
  return a.gen === b.gen && a.setGen === b.setGen && a.routeGen === b.routeGen && a.ctState === b.ctState && a.markIn === b.markIn && a.markOut === b.markOut
    && a.inDev === b.inDev && a.outDev === b.outDev && a.physIn === b.physIn && a.physOut === b.physOut;
}

/**
 * Whether a walk or plan made under `c` replays for a packet now: ruleset generation
 * `gen`, ipset generation `setGen` (only if it tested a set), route generation
 * `routeGen` (only if it tested an address type), the packet's conntrack state and
 * mark on entry, and the hook's devices.
 */
export function holdsNow(c: FlowConditions, gen: number, setGen: number | undefined, routeGen: number, ctState: number, mark: number, ctx: NfContext): boolean {
  return c.gen === gen && c.ctState === ctState && c.markIn === mark
    && c.inDev === ctx.inDev && c.outDev === ctx.outDev && c.physIn === ctx.physIn && c.physOut === ctx.physOut
    && (c.setGen < 0 || c.setGen === setGen) && (c.routeGen < 0 || c.routeGen === routeGen);
}

/** What a remembered walk counted, counted again for a packet of `len` bytes: its rules, then its policy. */
export function countAgain(rules: readonly RuleCounter[], policy: Chain | undefined, len: number): void {
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i] as RuleCounter;
    r.packets++;
    r.bytes += len;
  }
  if (policy !== undefined) {
    policy.packets++;
    policy.bytes += len;
  }
}

interface TrieNode<P, V> {
  next: Map<P, TrieNode<P, V>> | undefined;
  values: V[];
}

/** Per-key references to values shared through a trie over paths of `P`. */
export class FlowSlots<P, V> {
  private ids: Float64Array;
  private readonly byKey: Array<V | undefined> = [];
  private root: TrieNode<P, V> = { next: undefined, values: [] };
  private rootGen = -1;
  private stored = 0;

  /** `max`: values stored above which the trie starts again (those of old generations pile up otherwise). */
  constructor(initialKeys: number, private readonly max: number) {
    this.ids = new Float64Array(initialKeys);
  }

  /** The value remembered for `key` while it belonged to the conntrack entry `id`. */
  get(key: number, id: number): V | undefined {
    return key < this.byKey.length && this.ids[key] === id ? this.byKey[key] : undefined;
  }

  protected setSlot(key: number, id: number, v: V): void {
    if (key >= this.ids.length) {
      let n = this.ids.length * 2;
      while (n <= key) n *= 2;
      const ids = new Float64Array(n);
      ids.set(this.ids);
      this.ids = ids;
    }
    const byKey = this.byKey;
    while (byKey.length <= key) byKey.push(undefined);
    this.ids[key] = id;
    byKey[key] = v;
  }

  /** The values stored for `path` in ruleset generation `gen`; a new one is stored with `store`. */
  protected candidates(path: readonly P[], gen: number): V[] {
    if (this.rootGen !== gen || this.stored >= this.max) {
      this.root = { next: undefined, values: [] };
      this.rootGen = gen;
      this.stored = 0;
    }
    let node = this.root;
    for (let i = 0; i < path.length; i++) {
      const p = path[i] as P;
      let next = node.next?.get(p);
      if (next === undefined) {
        next = { next: undefined, values: [] };
        (node.next ??= new Map()).set(p, next);
      }
      node = next;
    }
    return node.values;
  }

  protected store(candidates: V[], v: V): V {
    candidates.push(v);
    this.stored++;
    return v;
  }
}
