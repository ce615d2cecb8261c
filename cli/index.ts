/**
 * cli/: the `netsim` command (bin/netsim.mjs loads main.ts through tsx).
 *
 * Contract: commands parse their arguments with commander, build what they need
 * through cluster/ (load-cluster.ts: --spec, -f, --seed), print what the real tools
 * would print, and map failures to exit codes — 0 success, 1 the network said no,
 * 2 bad input with a stable NETSIM_* code on stderr (cli-error.ts and the lower
 * layers' error classes). Rendering of traces lives in render/, hubble-style
 * filters in trace-filter.ts.
 *
 * Not here: anything that decides how packets move (cluster/ and below).
 */
export { buildProgram, main } from './main.ts';
