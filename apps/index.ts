/**
 * apps/ — userspace programs that run inside a pod's or node's network namespace,
 * over the emulated kernel's sockets (netsim/stack). They see only what a real
 * program sees: sockets, their namespace's addresses, and (for cluster add-ons)
 * the Kubernetes API objects their informers deliver (control/api types).
 *
 * Contract: nothing here touches devices, routes or netfilter; time is the virtual
 * clock of the namespace's Sim; every decision an app makes about a packet is an
 * `app` trace event. Imports netsim/, control/api and control/client only.
 *
 * - dns/: the cluster DNS — a CoreDNS-like server (kubernetes plugin, forward,
 *   cache), resolv.conf and /etc/hosts by dnsPolicy, a glibc-like stub resolver,
 *   and dig/nslookup output formatters.
 *
 * - tools/: the programs `kubectl exec` runs in a pod (curl, ping, nc, ip, ss, cat,
 *   `sh -c`), with the real tools' output and exit codes.
 *
 * The earlier apps (nginx-like HTTP, echo, ping) still live in netsim/apps/.
 */
export * from './dns/index.ts';
export * from './tools/index.ts';
