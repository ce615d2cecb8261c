/** The standard controller set in dependency order, for main.ts and tests. */
import type { Controller, ControlApi } from './types.ts';
import { NodeIpam } from './node-ipam.ts';
import type { NodeIpamOptions } from './node-ipam.ts';
import { Scheduler } from './scheduler.ts';
import { DeploymentController } from './deployment.ts';
import { ReplicaSetController } from './replicaset.ts';
import { EndpointsController, EndpointSliceController } from './endpoints.ts';
import { FakeKubelet } from './fake-kubelet.ts';
import type { FakeKubeletOptions } from './fake-kubelet.ts';
import { GarbageCollector } from './garbage-collector.ts';
import { LoadBalancerController } from './load-balancer.ts';
import { NamespaceController } from './namespace.ts';
import { DaemonSetController } from './daemonset.ts';
import { ServiceAccountsController } from './serviceaccounts.ts';
import { JobController } from './job.ts';
import { StatefulSetController } from './statefulset.ts';

export interface StandardControllerOptions extends NodeIpamOptions {
  readonly clock?: () => Date;
  /** Include the FakeKubelet (default false: the emulator's node agent runs pods). */
  readonly fakeKubelet?: boolean | FakeKubeletOptions;
  /** Address pool of the emulated load-balancer controller (CIDRs, ranges, IPs); undefined: no such controller. */
  readonly loadBalancerPool?: readonly string[];
  /** The `spec.loadBalancerClass` it serves (default: Services without one). */
  readonly loadBalancerClass?: string;
  /** The namespace controller's delay before it empties a deleted namespace (default 5 s, as upstream). */
  readonly namespaceDeletionGraceMs?: number;
}

export function standardControllers(api: ControlApi, opts: StandardControllerOptions = {}): Controller[] {
  const clock = opts.clock ?? (() => new Date());
  const list: Controller[] = [
    new NamespaceController(api, { clock, ...(opts.namespaceDeletionGraceMs !== undefined ? { deletionGraceMs: opts.namespaceDeletionGraceMs } : {}) }),
    new NodeIpam(api, opts),
    new DeploymentController(api, clock),
    new ReplicaSetController(api, clock),
    // After the ReplicaSet controller: pods it creates get the same names and uids as before these controllers existed.
    new DaemonSetController(api),
    new JobController(api, clock),
    new StatefulSetController(api),
    new Scheduler(api, clock),
    new ServiceAccountsController(api),
  ];
  if (opts.fakeKubelet) list.push(new FakeKubelet(api, { clock, ...(typeof opts.fakeKubelet === 'object' ? opts.fakeKubelet : {}) }));
  list.push(new EndpointsController(api, clock), new EndpointSliceController(api));
  if (opts.loadBalancerPool !== undefined) {
    list.push(new LoadBalancerController(api, { pool: opts.loadBalancerPool, clock, ...(opts.loadBalancerClass !== undefined ? { loadBalancerClass: opts.loadBalancerClass } : {}) }));
  }
  list.push(new GarbageCollector(api));
  return list;
}
