/**
 * policy — the NetworkPolicy enforcer of each node: kube-router's network policy
 * controller (pkg/controllers/netpol at v2.6.3, the version k3s v1.3x embeds beside
 * flannel and kube-proxy), iptables + ipset.
 *
 * Contract:
 * - Inputs: core/v1 Pods and Namespaces and networking.k8s.io/v1 NetworkPolicies,
 *   read from informer caches (PolicyListers) and watched for changes (any relevant
 *   change requests a full sync; a full sync also runs every syncPeriod).
 * - Output: the node's filter table and ipsets, written as upstream writes them —
 *   KUBE-ROUTER-INPUT/FORWARD/OUTPUT jumped to from rule 1 of INPUT/FORWARD/OUTPUT;
 *   KUBE-NWPLCY-COMMON (INVALID drop, RELATED/ESTABLISHED accept, ICMP echo-request,
 *   destination-unreachable, time-exceeded) and KUBE-NWPLCY-DEFAULT (mark 0x10000);
 *   one KUBE-POD-FW-<hash> chain per local pod (node → pod accepted for probes,
 *   default chain for a direction no policy covers, the policies' chains, NFLOG and
 *   REJECT of unmarked traffic, mark 0x20000) and one KUBE-NWPLCY-<hash> chain per
 *   policy (MARK 0x10000 + RETURN per allowed peer/port, matched through
 *   KUBE-SRC-/KUBE-DST-<hash> sets: hash:ip for pods, hash:net with `nomatch` excepts
 *   for ipBlocks). Names are upstream's sha256/base32 names (names.ts). Single
 *   commands ensure the fixed chains; `iptables-save -t filter` → edit →
 *   `iptables-restore -T filter` writes the rest, `ipset restore -exist` the sets.
 * - The node is reached through two narrow interfaces, IptablesCommands (go-iptables'
 *   commands, save and restore) and IpsetCommands; netsim-node.ts adapts a netsim
 *   namespace. Stateful by the kernel's conntrack: replies and connections that
 *   existed before a deny pass KUBE-NWPLCY-COMMON's ESTABLISHED accept.
 * - Traces: explain.ts maps a hit rule back to the policy through its comment (and
 *   the chain/position this controller wrote), for trace hops and flows.
 *
 * Wiring (composition root):
 *   const npc = new NetworkPolicyController({ nodeName, nodeIPs: [nodeIP], serviceClusterIPRange, nodePortRange: '30000:32767' },
 *     { iptables: netsimIptablesCommands(nf), ipset: netsimIpsetCommands(nf, ipsets), listers, clock, nowUnixNano });
 *   npc.watch(podInformer, namespaceInformer, networkPolicyInformer);
 *   npc.start();                     // first full sync at once, then every syncPeriod
 *   npc.last?.restoreText            // what the last sync loaded
 *
 * Not modelled: IPv6 and dual-stack (the IPv4 family only: no `inet6:` sets); the
 * nftables mode of later releases; NFLOG consumers (the rule is written and
 * counted, nothing reads group 100); kube-router's other controllers (routes, BGP,
 * service proxy) and its health/metrics; the ipset mutex shared with them; the
 * time a sync takes (a requested sync runs at the same virtual instant, one at a
 * time). Upstream iterates Go maps in random order (local pods, a policy's target
 * pods, named ports); here they are sorted, which is one order upstream can produce.
 * Policies are sorted by namespace/name (upstream: the informer cache's order).
 * A policy whose selectors cannot be evaluated (it bypassed validation) is skipped
 * and reported in the sync result; upstream ignores the selector error instead.
 */
export * from './names.ts';
export * from './policy-info.ts';
export * from './ipset-handler.ts';
export * from './policy-chains.ts';
export * from './pod-chains.ts';
export * from './top-level.ts';
export * from './controller.ts';
export * from './netsim-node.ts';
export * from './explain.ts';
