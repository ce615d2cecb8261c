/**
 * cluster/verify — the emulator checked against the real Linux kernel.
 *
 * Contract: {@link verifyNode} builds the real twin of one node of any
 * {@link EmulatedCluster} (read from its NetNamespace objects, its `iptables-save` and
 * `nft` views and — for what an nft ruleset does not show — its kube-proxy's view,
 * never from a particular builder), injects the same probes
 * into both sides and returns a {@link VerifyReport}; {@link replayCapture} sends a
 * capture's IPv4 packets into a real namespace. Both need root, `ip netns`,
 * iptables-restore and the `raw-socket` addon ({@link netnsUnavailableReason} says
 * which is missing). Namespaces are named `nsv-<pid>.<start time>.<rnd>-…` (their
 * owner), removed on dispose, exit and SIGINT/SIGTERM, and — when a run was killed
 * before it could — by the next run. A failure of the harness itself (the twin cannot
 * be built, an agent dies) is a {@link VerifyHarnessError}, never a disagreement.
 * Kernel-side packets are attributed to probes by content (attribution.ts).
 *
 * Layout: `raw/` is the only code that touches the host (namespaces, the raw-socket
 * helper process); `twin.ts` plans and builds the twin; `emulator-side.ts` taps the
 * emulated node; `twin-side.ts` drives the agents; `suites.ts` generates probes;
 * `netsim/wire/encap.ts` (`decapsulate`) opens flannel's encapsulations; `compare.ts` turns packets into comparable signatures and holds the chi-square
 * test (cluster/ may not import experiments/); `one-sided.ts` decides which outcomes only one
 * side can give (confirmed by a fresh draw of the group); `verify.ts` judges; `report.ts` renders.
 *
 * Not modelled / not compared: link-layer addresses of packets leaving the node
 * (the twin's sinks differ from the emulator's neighbours), IP ids the kernels
 * choose themselves, TCP sessions beyond the first segment and its answer, IPVS
 * (no ip_vs module here), applications and kube-proxy's healthz and health-check
 * servers (the twin runs neither; the emulator is built without them), the VXLAN
 * source port (a flow hash the real kernel keys with a per-boot secret: only its range
 * is compared) and anything beyond the node's underlay NIC (what other nodes do with
 * the encapsulated packet; wire/encap.ts opens it, the twin has real flannel devices). The emulator's side
 * runs each probe's window on in virtual time while a neighbour resolution holds
 * packets, so an ARP failure's host unreachable (~3 s) lands in its own probe; the
 * kernel's side attributes by content.
 */
export { verifyNode, VerifyHarnessError, VerifyUnavailableError, EXIT_VERIFY_HARNESS, EXIT_VERIFY_UNAVAILABLE } from './verify.ts';
export type { VerifyOptions, VerifyReport, Disagreement, SuiteSummary, SideView } from './verify.ts';
export { reportJson, reportText } from './report.ts';
export { replayCapture, ReplayError } from './replay.ts';
export { planTwin, buildTwin } from './twin.ts';
export { netnsUnavailableReason, NetnsSession } from './raw/netns.ts';
export { SUITES } from './suites.ts';
