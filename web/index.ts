/**
 * web/ — the browser UI of a running cluster (`netsim up` serves it at `/`; cli/up/web-ui.ts
 * bundles app/main.ts with esbuild when the server starts).
 *
 * Contract: the page reads the live cluster only through the server's own endpoints, with
 * the same token as kubectl: the topology (`/netsim/v1/topology`), API watches, the flow
 * stream and the live trace. app/ holds the browser code (typed by web/tsconfig.json, with
 * the DOM's types); model/ the pure parts (layout, hop placement, load-balancing counts,
 * sampling) that node tests check. It imports observe/'s types only, never its code.
 *
 * Not modelled: editing the cluster from the page (apply, scale, delete go through
 * kubectl or the API), history beyond the server's flow ring, NetworkPolicy views.
 */
export { topologyElements } from './model/topology-elements.ts';
export { HopLocator } from './model/hop-target.ts';
export { flowPath } from './model/flow-path.ts';
export { LbCounter, opensConnection } from './model/lb-counts.ts';
export { RateSampler } from './model/rate-sampler.ts';
