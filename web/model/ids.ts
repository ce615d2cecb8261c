/** Graph element ids, one scheme for the topology, the trace animation and the flow highlights. */
export const elementId = {
  node: (name: string): string => `node:${name}`,
  device: (node: string, dev: string): string => `dev:${node}:${dev}`,
  pod: (key: string): string => `pod:${key}`,
  /** The veth pair between a pod and its node's bridge (an edge). */
  veth: (key: string): string => `veth:${key}`,
  service: (key: string): string => `svc:${key}`,
  host: (name: string): string => `host:${name}`,
  underlay: 'net:underlay',
  outside: 'net:outside',
} as const;
