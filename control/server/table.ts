/**
 * `meta.k8s.io/v1` Table rendering with kube-apiserver's columns per kind
 * (pkg/printers/internalversion/printers.go): kubectl prints these when it asks for
 * `as=Table`; priority-1 columns show with `-o wide`.
 */
import type {
  Deployment, Endpoints, EndpointSlice, Event, KubeObject, Namespace, Node, Pod, ReplicaSet, Service, Table, TableColumnDefinition, TableRow,
} from '../api/index.ts';
import { isPodReady, labelSelectorStructToString, mapToSelectorString } from '../api/index.ts';

type Col = [name: string, type: TableColumnDefinition['type'], priority: number, description: string, format?: string];

const NAME: Col = ['Name', 'string', 0, 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names', 'name'];
const AGE: Col = ['Age', 'string', 0, 'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata'];

const COLUMNS: Record<string, Col[]> = {
  Pod: [NAME, ['Ready', 'string', 0, 'The aggregate readiness state of this pod for accepting traffic.'], ['Status', 'string', 0, 'The aggregate status of the containers in this pod.'],
    ['Restarts', 'string', 0, 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'], AGE,
    ['IP', 'string', 1, 'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.'], ['Node', 'string', 1, 'NodeName is a request to schedule this pod onto a specific node.'],
    ['Nominated Node', 'string', 1, 'nominatedNodeName is set when this pod preempts other pods on the node.'], ['Readiness Gates', 'string', 1, 'If specified, all readiness gates will be evaluated for pod readiness.']],
  Service: [NAME, ['Type', 'string', 0, 'type determines how the Service is exposed.'], ['Cluster-IP', 'string', 0, 'clusterIP is the IP address of the service and is usually assigned randomly.'],
    ['External-IP', 'string', 0, 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'], ['Port(s)', 'string', 0, 'The list of ports that are exposed by this service.'],
    AGE, ['Selector', 'string', 1, 'Route service traffic to pods with label keys and values matching this selector.']],
  Deployment: [NAME, ['Ready', 'string', 0, 'Number of the pod with ready state'], ['Up-to-date', 'integer', 0, 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'],
    ['Available', 'integer', 0, 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'], AGE,
    ['Containers', 'string', 1, 'Names of each container in the template.'], ['Images', 'string', 1, 'Images referenced by each container in the template.'], ['Selector', 'string', 1, 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.']],
  ReplicaSet: [NAME, ['Desired', 'integer', 0, 'Replicas is the number of desired replicas.'], ['Current', 'integer', 0, 'Replicas is the most recently observed number of replicas.'], ['Ready', 'integer', 0, 'The number of ready replicas for this replica set.'], AGE,
    ['Containers', 'string', 1, 'Names of each container in the template.'], ['Images', 'string', 1, 'Images referenced by each container in the template.'], ['Selector', 'string', 1, 'Selector is a label query over pods that should match the replica count.']],
  Node: [NAME, ['Status', 'string', 0, 'The status of the node'], ['Roles', 'string', 0, 'The roles of the node'], AGE, ['Version', 'string', 0, 'Kubelet Version reported by the node.'],
    ['Internal-IP', 'string', 1, 'List of addresses reachable to the node.'], ['External-IP', 'string', 1, 'List of addresses reachable to the node.'], ['OS-Image', 'string', 1, 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).'],
    ['Kernel-Version', 'string', 1, 'Kernel Version reported by the node.'], ['Container-Runtime', 'string', 1, 'Container runtime version reported by the node.']],
  Endpoints: [NAME, ['Endpoints', 'string', 0, 'Endpoints of the service'], AGE],
  EndpointSlice: [NAME, ['AddressType', 'string', 0, 'addressType specifies the type of address carried by this EndpointSlice.'], ['Ports', 'string', 0, 'ports specifies the list of network ports exposed by each endpoint in this slice.'], ['Endpoints', 'string', 0, 'endpoints is a list of unique endpoints in this slice.'], AGE],
  Namespace: [NAME, ['Status', 'string', 0, 'The status of the namespace'], AGE],
  Event: [['Last Seen', 'string', 0, 'Time when last event occurred'], ['Type', 'string', 0, 'Type of this event (Normal, Warning), new types could be added in the future.'], ['Reason', 'string', 0, 'Reason is why the action was taken. It is human-readable.'],
    ['Object', 'string', 0, 'Object this event is about.'], ['Subobject', 'string', 1, 'Subobject this event is about.'], ['Source', 'string', 1, 'Source of the event.'], ['Message', 'string', 0, 'Message is a human-readable description of the status of this operation.'],
    ['First Seen', 'string', 1, 'Time when first event occurred'], ['Count', 'string', 1, 'Number of times this event has occurred.'], ['Name', 'string', 1, 'Name of the event.']],
};

export function columnDefinitions(kind: string): TableColumnDefinition[] {
  return (COLUMNS[kind] ?? [NAME, AGE]).map(([name, type, priority, description, format]) => ({ name, type, format: format ?? '', description, priority }));
}

/** duration.HumanDuration as kubectl prints ages: 45s, 5m10s, 3h4m, 2d5h, 400d. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  if (d < 365 * 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

function age(obj: KubeObject, now: Date): string {
  const t = obj.metadata?.creationTimestamp;
  if (!t) return '<unknown>';
  return humanDuration(now.getTime() - Date.parse(t));
}

function podStatusReason(pod: Pod): string {
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  let reason = pod.status?.reason ?? pod.status?.phase ?? 'Pending';
  for (const cs of pod.status?.containerStatuses ?? []) {
    if (cs.state?.waiting?.reason) reason = cs.state.waiting.reason;
    else if (cs.state?.terminated?.reason) reason = cs.state.terminated.reason;
  }
  return reason;
}

function servicePorts(svc: Service): string {
  const ports = svc.spec.ports ?? [];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

function externalIP(svc: Service): string {
  const type = svc.spec.type ?? 'ClusterIP';
  const ext = svc.spec.externalIPs ?? [];
  const lb = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '').filter(Boolean);
  switch (type) {
    case 'ClusterIP': case 'NodePort': return ext.length ? ext.join(',') : '<none>';
    case 'LoadBalancer': { const all = [...lb, ...ext]; return all.length ? all.join(',') : '<pending>'; }
    case 'ExternalName': return svc.spec.externalName ?? '<none>';
  }
  return '<none>';
}

function formatEndpoints(ep: Endpoints): string {
  const list: string[] = [];
  let total = 0;
  for (const s of ep.subsets ?? []) {
    const ports = s.ports && s.ports.length ? s.ports : [undefined];
    for (const a of s.addresses ?? []) for (const p of ports) {
      total++;
      if (list.length < 3) list.push(p ? `${a.ip}:${p.port}` : a.ip);
    }
  }
  if (total === 0) return '<none>';
  return total > 3 ? `${list.join(',')} + ${total - 3} more...` : list.join(',');
}

function cells(obj: KubeObject, now: Date): unknown[] {
  const name = obj.metadata?.name ?? '';
  switch (obj.kind) {
    case 'Pod': {
      const pod = obj as unknown as Pod;
      const total = pod.spec.containers?.length ?? 0;
      const statuses = pod.status?.containerStatuses ?? [];
      const ready = statuses.filter((c) => c.ready).length;
      const restarts = statuses.reduce((a, c) => a + (c.restartCount ?? 0), 0);
      const gates = pod.spec.readinessGates ?? [];
      const gateText = gates.length === 0 ? '<none>' : `${gates.filter((g) => (pod.status?.conditions ?? []).some((c) => c.type === g.conditionType && c.status === 'True')).length}/${gates.length}`;
      return [name, `${ready}/${total}`, podStatusReason(pod), String(restarts), age(obj, now), pod.status?.podIP || '<none>', pod.spec.nodeName || '<none>', pod.status?.nominatedNodeName || '<none>', gateText];
    }
    case 'Service': {
      const svc = obj as unknown as Service;
      const sel = mapToSelectorString(svc.spec.selector);
      return [name, svc.spec.type ?? 'ClusterIP', svc.spec.clusterIP || '<none>', externalIP(svc), servicePorts(svc), age(obj, now), sel || '<none>'];
    }
    case 'Deployment': {
      const d = obj as unknown as Deployment;
      const cs = d.spec.template?.spec?.containers ?? [];
      return [name, `${d.status?.readyReplicas ?? 0}/${d.spec.replicas ?? 0}`, d.status?.updatedReplicas ?? 0, d.status?.availableReplicas ?? 0, age(obj, now),
        cs.map((c) => c.name).join(','), cs.map((c) => c.image ?? '').join(','), labelSelectorStructToString(d.spec.selector) || '<none>'];
    }
    case 'ReplicaSet': {
      const rs = obj as unknown as ReplicaSet;
      const cs = rs.spec.template?.spec?.containers ?? [];
      return [name, rs.spec.replicas ?? 0, rs.status?.replicas ?? 0, rs.status?.readyReplicas ?? 0, age(obj, now),
        cs.map((c) => c.name).join(','), cs.map((c) => c.image ?? '').join(','), labelSelectorStructToString(rs.spec.selector) || '<none>'];
    }
    case 'Node': {
      const n = obj as unknown as Node;
      const ready = (n.status?.conditions ?? []).find((c) => c.type === 'Ready');
      let status = ready?.status === 'True' ? 'Ready' : 'NotReady';
      if (!ready) status = 'Unknown';
      if (n.spec?.unschedulable) status += ',SchedulingDisabled';
      const roles = Object.keys(n.metadata.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice('node-role.kubernetes.io/'.length)).sort();
      const addr = (t: string): string => (n.status?.addresses ?? []).find((a) => a.type === t)?.address ?? '<none>';
      const info = n.status?.nodeInfo ?? {};
      return [name, status, roles.length ? roles.join(',') : '<none>', age(obj, now), info.kubeletVersion ?? '', addr('InternalIP'), addr('ExternalIP'), info.osImage ?? '<unknown>', info.kernelVersion ?? '<unknown>', info.containerRuntimeVersion ?? '<unknown>'];
    }
    case 'Endpoints': return [name, formatEndpoints(obj as unknown as Endpoints), age(obj, now)];
    case 'EndpointSlice': {
      const s = obj as unknown as EndpointSlice;
      const ports = (s.ports ?? []).map((p) => String(p.port ?? '')).join(',') || '<unset>';
      const addrs = s.endpoints.flatMap((e) => e.addresses);
      const eps = addrs.length === 0 ? '<unset>' : addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(',');
      return [name, s.addressType, ports, eps, age(obj, now)];
    }
    case 'Namespace': return [name, (obj as unknown as Namespace).status?.phase ?? 'Active', age(obj, now)];
    case 'Event': {
      const e = obj as unknown as Event;
      const last = e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
      const first = e.firstTimestamp ?? e.metadata.creationTimestamp;
      const io = e.involvedObject ?? {};
      return [last ? humanDuration(now.getTime() - Date.parse(last)) : '<unknown>', e.type ?? '', e.reason ?? '', `${(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`, io.fieldPath ?? '',
        e.source?.component ?? e.reportingComponent ?? '', e.message ?? '', first ? humanDuration(now.getTime() - Date.parse(first)) : '<unknown>', String(e.count ?? 1), name];
    }
  }
  return [name, age(obj, now)];
}

export function tableRow(obj: KubeObject, now: Date, includeObject: 'None' | 'Metadata' | 'Object' = 'Metadata'): TableRow {
  const row: TableRow = { cells: cells(obj, now) };
  if (includeObject === 'Metadata') row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata ?? {} };
  else if (includeObject === 'Object') row.object = obj;
  return row;
}

export function toTable(kind: string, items: readonly KubeObject[], now: Date, meta: Table['metadata'], includeObject: 'None' | 'Metadata' | 'Object' = 'Metadata', headers = true): Table {
  return {
    kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: meta,
    columnDefinitions: headers ? columnDefinitions(kind) : [],
    rows: items.map((o) => tableRow({ ...o, kind }, now, includeObject)),
  };
}

export { isPodReady };
