/**
 * What kube-proxy's iptables ruleset writes for one service port (rules.ts
 * writeServicePort), kept for every node of a cluster (issue 23: kube-proxy builds
 * the text once). The rules of a service port depend on the node only through its
 * endpoints' locality (the endpoint list, which nodes with no local endpoint of the
 * Service share: change-tracker.ts), the node IP (when LoadBalancer source ranges are
 * set) and the proxier's options; the key holds those, so a fragment found is what
 * writing the service port again would give. Keyed weakly by the shared
 * ServicePortInfo and endpoint list (proxy/shared-objects.ts): a Service or endpoint
 * change makes new objects and the old fragments go with the old ones.
 */
import type { EndpointInfo, ServicePortInfo } from '../service-port.ts';

/** One step of writing a service port: declare a per-service nat chain, or add a line to a nat (1) or filter (2) chain. */
export type FragmentOp = readonly [0, string] | readonly [1 | 2, string, string];

export interface RuleFragment {
  readonly ops: readonly FragmentOp[];
  /** The per-service nat chains the ruleset uses for it (written or not). */
  readonly active: readonly string[];
}

export class RuleFragments {
  private readonly bySp = new WeakMap<ServicePortInfo, WeakMap<readonly EndpointInfo[], Map<string, RuleFragment>>>();

  get(sp: ServicePortInfo, eps: readonly EndpointInfo[], key: string): RuleFragment | undefined {
    return this.bySp.get(sp)?.get(eps)?.get(key);
  }

  set(sp: ServicePortInfo, eps: readonly EndpointInfo[], key: string, f: RuleFragment): void {
    let byEps = this.bySp.get(sp);
    if (byEps === undefined) this.bySp.set(sp, (byEps = new WeakMap()));
    let byKey = byEps.get(eps);
    if (byKey === undefined) byEps.set(eps, (byKey = new Map()));
    byKey.set(key, f);
  }
}
