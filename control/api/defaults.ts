/**
 * Defaulting as kube-apiserver's `SetDefaults_*` functions for the fields the
 * emulator reads (core/v1 and apps/v1 defaults.go). Functions mutate and return
 * the object; they are idempotent.
 */
import type { Container, Deployment, EndpointSlice, Endpoints, KubeObject, Namespace, Pod, PodSpec, ReplicaSet, Service } from './types.ts';

function defaultContainer(c: Container): void {
  if (c === null || typeof c !== 'object') return;
  if (c.imagePullPolicy === undefined && typeof c.image === 'string') {
    const tagged = /:[^/]+$/.test(c.image) && !c.image.endsWith(':latest');
    c.imagePullPolicy = tagged || c.image.includes('@') ? 'IfNotPresent' : 'Always';
  }
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  for (const p of c.ports ?? []) if (p && typeof p === 'object') p.protocol ??= 'TCP';
}

export function defaultPodSpec(spec: PodSpec): PodSpec {
  if (!spec || typeof spec !== 'object') return spec;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  if (Array.isArray(spec.containers)) spec.containers.forEach(defaultContainer);
  if (Array.isArray(spec.initContainers)) spec.initContainers.forEach(defaultContainer);
  return spec;
}

export function defaultPod(pod: Pod): Pod {
  if (pod.spec) defaultPodSpec(pod.spec);
  pod.status ??= {};
  pod.status.phase ??= 'Pending';
  pod.status.qosClass ??= 'BestEffort';
  return pod;
}

export function defaultService(svc: Service): Service {
  const spec = svc.spec;
  if (!spec || typeof spec !== 'object') return svc;
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.sessionAffinity === 'ClientIP') {
    spec.sessionAffinityConfig ??= {};
    spec.sessionAffinityConfig.clientIP ??= {};
    spec.sessionAffinityConfig.clientIP.timeoutSeconds ??= 10800;
  }
  if (spec.type !== 'ExternalName') {
    spec.internalTrafficPolicy ??= 'Cluster';
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
  }
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
  if (Array.isArray(spec.ports)) for (const p of spec.ports) {
    if (!p || typeof p !== 'object') continue;
    p.protocol ??= 'TCP';
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  svc.status ??= { loadBalancer: {} };
  return svc;
}

export function defaultDeployment(d: Deployment): Deployment {
  const spec = d.spec;
  if (!spec || typeof spec !== 'object') return d;
  spec.replicas ??= 1;
  spec.strategy ??= {};
  spec.strategy.type ??= 'RollingUpdate';
  if (spec.strategy.type === 'RollingUpdate') {
    spec.strategy.rollingUpdate ??= {};
    spec.strategy.rollingUpdate.maxSurge ??= '25%';
    spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  if (spec.template && typeof spec.template === 'object') {
    spec.template.metadata ??= {};
    if (spec.template.spec) defaultPodSpec(spec.template.spec);
  }
  // apps/v1 defaults the labels of the object itself from the template (older API versions did).
  return d;
}

export function defaultReplicaSet(rs: ReplicaSet): ReplicaSet {
  const spec = rs.spec;
  if (!spec || typeof spec !== 'object') return rs;
  spec.replicas ??= 1;
  if (spec.template?.spec) defaultPodSpec(spec.template.spec);
  return rs;
}

export function defaultNamespace(ns: Namespace): Namespace {
  ns.spec ??= {};
  ns.spec.finalizers ??= ['kubernetes'];
  ns.status ??= {};
  ns.status.phase ??= 'Active';
  ns.metadata.labels ??= {};
  if (ns.metadata.name) ns.metadata.labels['kubernetes.io/metadata.name'] = ns.metadata.name;
  return ns;
}

export function defaultEndpoints(ep: Endpoints): Endpoints {
  for (const s of ep.subsets ?? []) for (const p of s.ports ?? []) p.protocol ??= 'TCP';
  return ep;
}

export function defaultEndpointSlice(s: EndpointSlice): EndpointSlice {
  for (const p of s.ports ?? []) p.protocol ??= 'TCP';
  return s;
}

/** Apply the defaults of any served kind (by `kind`). */
export function defaultObject(kind: string, obj: KubeObject): KubeObject {
  switch (kind) {
    case 'Pod': defaultPod(obj as unknown as Pod); break;
    case 'Service': defaultService(obj as unknown as Service); break;
    case 'Deployment': defaultDeployment(obj as unknown as Deployment); break;
    case 'ReplicaSet': defaultReplicaSet(obj as unknown as ReplicaSet); break;
    case 'Namespace': defaultNamespace(obj as unknown as Namespace); break;
    case 'Endpoints': defaultEndpoints(obj as unknown as Endpoints); break;
    case 'EndpointSlice': defaultEndpointSlice(obj as unknown as EndpointSlice); break;
  }
  return obj;
}
