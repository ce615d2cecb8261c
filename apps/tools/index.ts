/**
 * apps/tools — the programs a user runs in a pod with `kubectl exec`: curl, ping,
 * nc, ip, ss, cat, and a POSIX-like `sh -c` with `;`, `&&`, `||` over them. Their
 * traffic crosses the emulated datapath; their output and exit codes follow the
 * real tools (curl 8, iputils ping, OpenBSD netcat, iproute2).
 *
 * Contract: a program is `(ctx) => Promise<exit status>` on the namespace's virtual
 * clock; it never throws for a user's mistake (usage errors are exit statuses with
 * the real tool's message). Not modelled: pipes, redirections, stdin, TTYs.
 */
export * from './program.ts';
export * from './shell.ts';
export * from './registry.ts';
