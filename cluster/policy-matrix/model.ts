/**
 * The upstream e2e suite's pod model (test/e2e/network/netpol/model.go): namespaces
 * (x, y, z by default), each with pods a, b and c, each pod with one agnhost container
 * per port and protocol, named `cont-PORT-PROTO` and serving the container port named
 * `serve-PORT-PROTO` (what the named-port cases refer to). Pods carry `pod: NAME`,
 * namespaces `ns: NAME` (the API server adds `kubernetes.io/metadata.name`).
 *
 * Here an agnhost container serves HTTP on its TCP port and echoes on its UDP port
 * (cluster/pod-apps.ts: any other image); its SCTP port serves nothing (no SCTP in the
 * emulated stack) but exists, so named SCTP ports resolve as they would.
 */
import type { Protocol } from '../../control/api/index.ts';

export const MODEL_NAMESPACES = ['x', 'y', 'z'] as const;
export const MODEL_PODS = ['a', 'b', 'c'] as const;
const MODEL_PORTS = [80, 81] as const;
const MODEL_PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];
/** The image upstream's model runs. */
const AGNHOST = 'registry.k8s.io/e2e-test-images/agnhost:2.53';

function modelPodLabels(pod: string): Record<string, string> {
  return { pod };
}

function modelNamespaceLabels(ns: string): Record<string, string> {
  return { ns };
}

/** Namespace and pod manifests of the model. */
export function modelManifests(namespaces: readonly string[] = MODEL_NAMESPACES, ports: readonly number[] = MODEL_PORTS, protocols: readonly Protocol[] = MODEL_PROTOCOLS): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const ns of namespaces) out.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: modelNamespaceLabels(ns) } });
  for (const ns of namespaces) {
    for (const pod of MODEL_PODS) {
      const containers = ports.flatMap((port) => protocols.map((protocol) => {
        const p = protocol.toLowerCase();
        return { name: `cont-${port}-${p}`, image: AGNHOST, ports: [{ containerPort: port, name: `serve-${port}-${p}`, protocol }] };
      }));
      out.push({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod, namespace: ns, labels: modelPodLabels(pod) }, spec: { containers } });
    }
  }
  return out;
}

/** Kinds whose objects bring pods into a namespace. */
const POD_KINDS = ['Pod', 'Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet', 'Job', 'ReplicationController'];

/** Whether some manifest brings pods into `namespace` (then the model's pods are not added there). */
export function createsPods(manifests: readonly Record<string, unknown>[], namespace: string): boolean {
  return manifests.some((m) => POD_KINDS.includes(String(m['kind'])) && ((m['metadata'] as { namespace?: unknown } | undefined)?.namespace ?? 'default') === namespace);
}
