/**
 * The cluster spec's compact form for large clusters: node pools and workload generators,
 * expanded into the plain node list and manifests the rest of the spec speaks.
 *
 * ```yaml
 * nodePools:                      # `count` nodes named from a pattern, addresses taken in order from a range
 *   - { name: "node{n:4}", count: 5000, addresses: 172.16.0.10-172.31.255.254, labels: { pool: a }, cpus: 1 }
 * workloads:                      # `count` Deployments of `replicas` pods, each behind a ClusterIP Service
 *   - { name: "web{n:5}", count: 10000, replicas: 15, image: "nginx:1.27", port: 80, protocol: TCP, namespace: default }
 * ```
 * A name pattern holds `{n}` (the index from 1) or `{n:W}` (zero-padded to W digits); an
 * address range is a CIDR (its network and broadcast addresses skipped), `first-last`, or
 * one address to count up from. What it does not do: spread pools over several ranges, or
 * generate anything but Deployment + Service pairs (write other objects as manifests).
 */

const INDEX = /\{n(?::(\d{1,2}))?\}/;

/** The `i`-th name (from 1) of a pattern: `node{n:3}` → node007. */
export function patternName(pattern: string, i: number): string {
  return pattern.replace(INDEX, (_m, w: string | undefined) => String(i).padStart(w === undefined ? 0 : Number(w), '0'));
}

/** Whether a pattern names more than one thing (has an index placeholder). */
export function hasIndex(pattern: string): boolean {
  return INDEX.test(pattern);
}

export interface NodePoolInput {
  readonly name: string;
  readonly count: number;
  readonly addresses: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly cpus?: number;
}

export interface WorkloadInput {
  readonly name: string;
  readonly count: number;
  readonly replicas?: number;
  readonly image?: string;
  readonly port?: number;
  readonly protocol?: 'TCP' | 'UDP';
  readonly namespace?: string;
}

/** The replicas a workload generator asks for in all (count × replicas). */
export function workloadPods(w: WorkloadInput): number {
  return w.count * (w.replicas ?? 1);
}

/**
 * An address range as [first, last] (numbers): a CIDR without its network and broadcast
 * addresses (for prefixes up to /30), `a-b`, or a single start address (open-ended to
 * 255.255.255.254); undefined when it is none of these.
 */
export function addressRange(s: string, parseIp: (t: string) => number | undefined): [number, number] | undefined {
  const t = s.trim();
  const cidr = /^([0-9.]+)\/(\d{1,2})$/.exec(t);
  if (cidr !== null) {
    const base = parseIp(cidr[1] as string);
    const len = Number(cidr[2]);
    if (base === undefined || len > 32) return undefined;
    const size = 2 ** (32 - len);
    const first = Math.floor(base / size) * size;
    return len <= 30 ? [first + 1, first + size - 2] : [first, first + size - 1];
  }
  const dash = t.split('-');
  if (dash.length === 2) {
    const a = parseIp(dash[0] as string);
    const b = parseIp(dash[1] as string);
    return a !== undefined && b !== undefined && a <= b ? [a, b] : undefined;
  }
  const one = parseIp(t);
  return one !== undefined ? [one, 0xfffffffe] : undefined;
}

/** The Deployment and Service a workload generator makes for index `i`. */
export function workloadManifests(w: WorkloadInput, i: number): Record<string, unknown>[] {
  const name = patternName(w.name, i);
  const namespace = w.namespace ?? 'default';
  const port = w.port ?? 80;
  const protocol = w.protocol ?? 'TCP';
  const labels = { app: name };
  return [
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace, labels },
      spec: {
        replicas: w.replicas ?? 1, selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: w.image ?? 'nginx:1.27', ports: [{ containerPort: port, protocol }] }] } },
      },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, labels },
      spec: { selector: labels, ports: [{ name: protocol === 'TCP' ? 'http' : 'udp', port, targetPort: port, protocol }] },
    },
  ];
}

/** Namespaces the generators use that the cluster does not create by itself. */
export function workloadNamespaces(ws: readonly WorkloadInput[]): Record<string, unknown>[] {
  const names = [...new Set(ws.map((w) => w.namespace ?? 'default'))].filter((n) => !['default', 'kube-system', 'kube-public', 'kube-node-lease'].includes(n));
  return names.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
}
