/**
 * control/controllers: kube-controller-manager, kube-scheduler and a stand-in kubelet
 * for the emulated control plane, as level-triggered reconcile passes over a small
 * `ControlApi` (in-process registry or HTTP client) on an injectable timer.
 *
 * Controllers: Scheduler, ReplicaSetController, DaemonSetController, JobController, StatefulSetController, DeploymentController (RollingUpdate,
 * Recreate, revisions, rollback), NodeIpam (podCIDR per node), EndpointsController,
 * EndpointSliceController, NamespaceController (Terminating namespaces emptied, then
 * finalized), GarbageCollector, FakeKubelet, and (with a pool configured)
 * LoadBalancerController, which hands LoadBalancer Services ingress IPs, NodeLifecycleController
 * (a node silent past the grace period becomes NotReady; run by node partitions), and
 * ServiceAccountsController (a `default` ServiceAccount per namespace). Service ClusterIP/NodePort
 * allocation and the default namespaces + `default/kubernetes` service are done by the
 * API server itself (control/server), as kube-apiserver does.
 *
 * Not modelled: informer-driven work queues (each pass lists everything; fine for
 * emulator-sized clusters), events, leader election, resource-aware scheduling, pod
 * disruption budgets, ControllerRevisions (no rollout history for DaemonSets/StatefulSets).
 */
export * from './types.ts';
export * from './registry-api.ts';
export * from './scheduler.ts';
export * from './node-ipam.ts';
export * from './replicaset.ts';
export * from './deployment.ts';
export * from './endpoints.ts';
export * from './fake-kubelet.ts';
export * from './garbage-collector.ts';
export * from './load-balancer.ts';
export * from './namespace.ts';
export * from './node-fit.ts';
export * from './daemonset.ts';
export * from './serviceaccounts.ts';
export * from './job.ts';
export * from './statefulset.ts';
export * from './node-lifecycle.ts';
export * from './manager.ts';
export * from './standard.ts';
