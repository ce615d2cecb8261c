/**
 * observe/ — flows: what happened to each packet, summarised as Hubble summarises it,
 * for every front end (the `netsim observe` command, the live cluster's stream, the
 * web UI).
 *
 * Contract: flows are derived from the trace bus only (a subscription, never a flag
 * in the kernel); one verdict record per packet (delivered or dropped), optionally a
 * record per hop; filters are validated (unknown field → NETSIM_ERR_FLOW_FILTER).
 * Not modelled: Hubble's L7 parsing, flow aggregation and identity numbers (pods are
 * named by namespace/name and labels instead).
 */
export * from './flow.ts';
export * from './flow-builder.ts';
export * from './flow-filter.ts';
export * from './flow-hub.ts';
export * from './flow-render.ts';
export * from './flow-ring.ts';
export * from './flow-routes.ts';
export * from './identity.ts';
export * from './packet-summary.ts';
export * from './live-flows.ts';
export * from './topology.ts';
export * from './topology-builder.ts';
export * from './topology-routes.ts';
export * from './trace-report.ts';
