/**
 * control/api: the Kubernetes object model of the emulated control plane: types,
 * the resource table, selectors, defaulting and validation with Kubernetes field
 * errors. Imports nothing else of the project; everyone may import it.
 *
 * Not modelled: API versions other than the served ones (core/v1, apps/v1,
 * discovery.k8s.io/v1), conversion, protobuf, full OpenAPI schemas.
 */
export type * from './types.ts';
export * from './resources.ts';
export * from './selectors.ts';
export * from './validation.ts';
export * from './defaults.ts';
export * from './helpers.ts';
