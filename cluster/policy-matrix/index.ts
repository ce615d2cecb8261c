/**
 * cluster/policy-matrix/: `netsim policy matrix` — a pods × pods reachability matrix per
 * port and protocol, every cell measured by a real probe through the emulated datapath
 * (probe.ts) and compared with the truth table the NetworkPolicy API's semantics give
 * (semantics.ts, independent of the enforcer in policy/), printed in the layout of the
 * upstream e2e suite's truth tables (truth-table.ts; test/e2e/network/netpol). The
 * upstream pod model (namespaces x, y, z with pods a, b, c serving ports 80 and 81) is
 * in model.ts.
 *
 * Not modelled: SCTP probes (the emulated stack has no SCTP; those cells are `?`, their
 * expectation is still computed), probes through a per-pod Service as upstream makes
 * them (here pod to pod address: kube-proxy's DNAT happens before the policy chains, so
 * the enforcer sees the same pod addresses), IPv6.
 */
export { runPolicyMatrix, matrixJson, matrixFromJson, matrixText } from './matrix.ts';
export type { MatrixOptions, MatrixResult, MatrixCase, MatrixCell, MatrixJson } from './matrix.ts';
export { TruthTable } from './truth-table.ts';
export { modelManifests, createsPods, MODEL_NAMESPACES, MODEL_PODS } from './model.ts';
