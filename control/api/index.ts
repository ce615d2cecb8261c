/**
 * control/api: the Kubernetes object model of the emulated control plane: types,
 * resource names and URLs, selectors, and the field errors validation is written in
 * (each kind's defaults and validation live in control/resources). Imports nothing
 * else of the project; everyone may import it.
 *
 * Not modelled: API versions other than the served ones (core/v1, apps/v1,
 * discovery.k8s.io/v1), conversion, protobuf, full OpenAPI schemas.
 */
export type * from './types.ts';
export * from './resources.ts';
export * from './selectors.ts';
export * from './validation.ts';
export * from './helpers.ts';
