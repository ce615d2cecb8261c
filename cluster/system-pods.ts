/**
 * The system pods a kubeadm cluster with flannel runs, as objects in the API: the
 * `kube-system/kube-proxy` DaemonSet (kubeadm's addon manifest) and the
 * `kube-flannel/kube-flannel-ds` DaemonSet in its `kube-flannel` namespace (flannel's
 * kube-flannel.yml), host-network pods that the DaemonSet controller puts on every node.
 *
 * Those pods ARE the node's agents: when the node agent starts a pod whose container runs
 * a node component (by image: `kube-proxy`, `flannel`), it starts that component, and when
 * the pod stops, the component stops. So deleting a kube-proxy pod stops the node's
 * kube-proxy (its rules stay in the kernel, as when the process dies; it hears nothing
 * meanwhile), the DaemonSet controller creates a new pod, and its start restarts
 * kube-proxy, which resyncs its rules from what the informers hold.
 *
 * Not modelled: the ConfigMaps and ServiceAccounts these manifests mount (their volumes
 * are left out), the kube-flannel init containers' CNI files (the runtime installs them),
 * a restart of flanneld itself (a restarted kube-flannel pod adopts the flanneld that runs:
 * leases and backends stay as they are).
 */
import type { Pod } from '../control/api/index.ts';

/** The node components a system pod can be (node-cache: NodeLocal DNSCache, cluster/node-local-dns.ts). */
export type NodeComponentName = 'kube-proxy' | 'flanneld' | 'node-cache';

/** A node component the node agent starts and stops with its pod. */
export interface NodeComponent {
  start(): void;
  stop(): void;
}

const KUBE_VERSION = 'v1.32.4';
const FLANNEL_VERSION = 'v0.26.1';

/** The component an image runs: kube-proxy's, flannel's or node-cache's. */
export function componentOfImage(image: string): NodeComponentName | undefined {
  const repo = image.split('@')[0]!.replace(/:[^/]*$/, '');
  const name = repo.split('/').pop() ?? '';
  if (name === 'kube-proxy') return 'kube-proxy';
  if (name === 'flannel') return 'flanneld';
  if (name === 'k8s-dns-node-cache') return 'node-cache';
  return undefined;
}

/** Which component a pod runs: its first container whose image is a component's. */
export function componentOf(pod: Pod): NodeComponentName | undefined {
  for (const c of pod.spec.containers ?? []) {
    const n = componentOfImage(c.image ?? '');
    if (n !== undefined) return n;
  }
  return undefined;
}

export interface SystemPodsOptions {
  /** flanneld's `--ip-masq`. */
  readonly ipMasq: boolean;
}

/** The manifests, in the order kubeadm and `kubectl apply -f kube-flannel.yml` create them. */
export function systemManifests(opts: SystemPodsOptions): Record<string, unknown>[] {
  const kubeProxy = {
    apiVersion: 'apps/v1', kind: 'DaemonSet',
    metadata: { name: 'kube-proxy', namespace: 'kube-system', labels: { 'k8s-app': 'kube-proxy' } },
    spec: {
      selector: { matchLabels: { 'k8s-app': 'kube-proxy' } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels: { 'k8s-app': 'kube-proxy' } },
        spec: {
          containers: [{
            name: 'kube-proxy', image: `registry.k8s.io/kube-proxy:${KUBE_VERSION}`, imagePullPolicy: 'IfNotPresent',
            command: ['/usr/local/bin/kube-proxy', '--config=/var/lib/kube-proxy/config.conf', '--hostname-override=$(NODE_NAME)'],
            env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } }],
            securityContext: { privileged: true },
          }],
          hostNetwork: true,
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          priorityClassName: 'system-node-critical',
          serviceAccountName: 'kube-proxy',
          tolerations: [{ operator: 'Exists' }],
        },
      },
    },
  };
  const flannelNs = {
    apiVersion: 'v1', kind: 'Namespace',
    metadata: { name: 'kube-flannel', labels: { 'k8s-app': 'flannel', 'pod-security.kubernetes.io/enforce': 'privileged' } },
  };
  const flannel = {
    apiVersion: 'apps/v1', kind: 'DaemonSet',
    metadata: { name: 'kube-flannel-ds', namespace: 'kube-flannel', labels: { tier: 'node', app: 'flannel', 'k8s-app': 'flannel' } },
    spec: {
      selector: { matchLabels: { app: 'flannel' } },
      template: {
        metadata: { labels: { tier: 'node', app: 'flannel' } },
        spec: {
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] }] } } },
          hostNetwork: true,
          priorityClassName: 'system-node-critical',
          tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
          serviceAccountName: 'flannel',
          containers: [{
            name: 'kube-flannel', image: `docker.io/flannel/flannel:${FLANNEL_VERSION}`,
            command: ['/opt/bin/flanneld'], args: ['--ip-masq', '--kube-subnet-mgr'].filter((a) => a !== '--ip-masq' || opts.ipMasq),
            resources: { requests: { cpu: '100m', memory: '50Mi' } },
            securityContext: { privileged: false, capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } },
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              { name: 'EVENT_QUEUE_DEPTH', value: '5000' },
            ],
          }],
        },
      },
    },
  };
  return [kubeProxy, flannelNs, flannel];
}
