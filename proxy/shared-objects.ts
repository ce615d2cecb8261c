/**
 * The informers' Services and EndpointSlices as kube-proxy keeps them (ServiceInfo,
 * EndpointSliceInfo), converted once per API object for every node of a cluster
 * instead of once per node (issue 23: one informer store per cluster, per-node views).
 *
 * Exact because the conversions are pure functions of an object the informer hands
 * every node alike and nobody changes (both results are readonly); what differs per
 * node — whether an endpoint is local, the rules — is made from them by each node's
 * change trackers as before. Weak: an object the informer dropped takes its
 * conversion with it. In iptables mode the rules written for a service port are kept
 * for every node too (iptables/rule-fragments.ts).
 */
import type { EndpointSlice, Service } from '../control/api/service.ts';
import { endpointSliceInfoFromApi, serviceInfoFromApi } from './service-port.ts';
import type { EndpointSliceInfo, ServiceInfo } from './service-port.ts';
import { RuleFragments } from './iptables/rule-fragments.ts';

export class SharedProxyObjects {
  private readonly services = new WeakMap<Service, ServiceInfo>();
  private readonly slices = new WeakMap<EndpointSlice, { info: EndpointSliceInfo | undefined }>();
  readonly ruleFragments = new RuleFragments();

  service(svc: Service): ServiceInfo {
    let info = this.services.get(svc);
    if (info === undefined) {
      info = serviceInfoFromApi(svc);
      this.services.set(svc, info);
    }
    return info;
  }

  slice(slice: EndpointSlice): EndpointSliceInfo | undefined {
    let had = this.slices.get(slice);
    if (had === undefined) {
      had = { info: endpointSliceInfoFromApi(slice) };
      this.slices.set(slice, had);
    }
    return had.info;
  }
}
