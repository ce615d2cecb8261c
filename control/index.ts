/**
 * control/: the lean Kubernetes-compatible control plane of the emulator.
 *
 * Contract: a fastify kube-apiserver (`server/buildApp`, never listens itself) over the
 * etcd-shaped `store/ObjectStore` (resourceVersion = the store's modRevision), serving
 * core/v1 Namespaces, Nodes (+status), Pods (+status, +binding), Services (+status),
 * Endpoints, Events; discovery.k8s.io/v1 EndpointSlices; apps/v1 Deployments and
 * ReplicaSets (+status, +scale) — with discovery (aggregated v2 when asked exactly,
 * legacy otherwise), a minimal OpenAPI v3, Table output, selectors, paging, optimistic
 * concurrency, dryRun, the four patch types, watches over HTTP and WebSocket, and
 * `Status` errors. `api/` holds the types, validation and defaults everyone imports;
 * `controllers/` the scheduler, workload, IPAM, endpoints and GC controllers plus a
 * FakeKubelet; `client/` a typed client and an Informer. `main.ts` serves it alone.
 *
 * Deliberately not modelled: authentication beyond one optional bearer token, RBAC,
 * admission webhooks, CRDs, API versions other than the served ones, protobuf,
 * full OpenAPI schemas (`kubectl explain`), strict unknown-field rejection
 * (`fieldValidation=Strict` is accepted but not enforced), server-side apply field
 * conflicts (ownership is recorded in managedFields and fields an applier drops are
 * removed, but another manager's values never produce a 409), graceful deletion of
 * anything but pods, Orphan/Foreground propagation, namespace finalization phases.
 */
export * as api from './api/index.ts';
export * as controllers from './controllers/index.ts';
export * as client from './client/index.ts';
export { buildApp } from './server/app.ts';
export type { BuildAppOptions } from './server/app.ts';
export { Registry } from './server/registry.ts';
