/**
 * What kube-proxy's iptables ruleset writes for one service port (rules.ts
 * writeServicePort), kept for every node of a cluster (issue 23: kube-proxy builds
 * the text once). The rules of a service port depend on the node only through its
 * endpoints' locality (the endpoint list, which nodes with no local endpoint of the
 * Service share: change-tracker.ts), whether LoadBalancer source ranges hold the node
 * IP, and the proxier's options; the key holds those, so a fragment found is what
 * writing the service port again would give. Keyed weakly by the shared
 * ServicePortInfo and endpoint list (proxy/shared-objects.ts): a Service or endpoint
 * change makes new objects and the old fragments go with the old ones.
 *
 * A whole restore text is kept too, by what it is made of (`text`): the node's own
 * parts (options, node addresses, chains to delete) and the id of each service port's
 * fragment in order. Fragments are immutable and an id names one fragment, so two
 * syncs with the same key write the same text; the second node gets the first one's
 * string instead of joining its lines again, and the iptables share then finds that
 * string's restore plan without comparing it character by character (the same string
 * object). The last few texts are kept: nodes sync one after another.
 */
import type { EndpointInfo, ServicePortInfo } from '../service-port.ts';

/** One step of writing a service port: declare a per-service nat chain, or add a line to a nat (1) or filter (2) chain. */
export type FragmentOp = readonly [0, string] | readonly [1 | 2, string, string];

export interface RuleFragment {
  readonly ops: readonly FragmentOp[];
  /** The per-service nat chains the ruleset uses for it (written or not). */
  readonly active: readonly string[];
  /** Names this fragment among all of the share's (in a restore text's key). */
  readonly id: number;
}

/** A restore text built before, with what the build reports about it. */
export interface BuiltText {
  readonly text: string;
  readonly filterRules: number;
  readonly natRules: number;
}

/** How many recent texts are kept by key. */
const TEXTS = 4;

export class RuleFragments {
  private readonly bySp = new WeakMap<ServicePortInfo, WeakMap<readonly EndpointInfo[], Map<string, RuleFragment>>>();
  private readonly texts = new Map<string, BuiltText>();
  private nextId = 1;
  /** Texts served by key, and built (observation for the benchmark and the tests). */
  textHits = 0;
  textsBuilt = 0;

  get(sp: ServicePortInfo, eps: readonly EndpointInfo[], key: string): RuleFragment | undefined {
    return this.bySp.get(sp)?.get(eps)?.get(key);
  }

  /** Keep the steps written for a service port; the fragment kept (with its id). */
  set(sp: ServicePortInfo, eps: readonly EndpointInfo[], key: string, ops: readonly FragmentOp[], active: readonly string[]): RuleFragment {
    let byEps = this.bySp.get(sp);
    if (byEps === undefined) this.bySp.set(sp, (byEps = new WeakMap()));
    let byKey = byEps.get(eps);
    if (byKey === undefined) byEps.set(eps, (byKey = new Map()));
    const f: RuleFragment = { ops, active, id: this.nextId++ };
    byKey.set(key, f);
    return f;
  }

  /** The text a sync with this key built lately, if any. */
  text(key: string): BuiltText | undefined {
    const t = this.texts.get(key);
    if (t !== undefined) this.textHits++;
    return t;
  }

  /** Keep a text just built under its key (the oldest of more than a few goes). */
  keepText(key: string, t: BuiltText): void {
    this.textsBuilt++;
    this.texts.delete(key);
    this.texts.set(key, t);
    if (this.texts.size > TEXTS) this.texts.delete(this.texts.keys().next().value as string);
  }
}
