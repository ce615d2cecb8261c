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
 * Server-side apply keeps field ownership in `metadata.managedFields` and answers 409
 * Conflict when another manager owns an applied field with a different value (`force`
 * takes it); items are keyed by the SMP merge key, atomic maps/lists are not modelled.
 * `fieldValidation` Strict/Warn/Ignore is enforced against per-kind field lists
 * (`server/field-validation.ts`), open below the levels the emulator interprets;
 * duplicate keys are found in JSON bodies (a YAML body with a repeated key is rejected).
 *
 * Deliberately not modelled: authentication beyond one optional bearer token, RBAC,
 * admission webhooks, CRDs, API versions other than the served ones, protobuf,
 * full OpenAPI schemas (`kubectl explain`), graceful deletion of
 * anything but pods, Orphan/Foreground propagation, namespace finalization phases.
 */
export * as api from './api/index.ts';
export * as controllers from './controllers/index.ts';
export * as client from './client/index.ts';
export { buildApp } from './server/app.ts';
export type { BuildAppOptions } from './server/app.ts';
export { Registry } from './server/registry.ts';
