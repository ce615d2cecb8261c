/**
 * core/v1 Pod (pkg/registry/core/pod/strategy.go): status reset on create, graceful
 * deletion of bound pods (CheckGracefulDelete), the field selectors of GetAttrs /
 * PodToSelectableFields, and the printer's columns. Binding is the `binding` subresource,
 * handled by the generic registry.
 */
import type { Pod } from '../api/index.ts';
import { validateObjectMeta } from '../api/index.ts';
import { defineKind } from './strategy.ts';
import { CONDITIONS_MERGE, ANY, mergeTop, topLevel } from './schema.ts';
import { defaultPodSpec, POD_SPEC_FIELDS, POD_SPEC_MERGE, validatePodSpec } from './pod-template.ts';
import { age, NAME_COLUMN, AGE_COLUMN } from './table.ts';

function podStatusReason(pod: Pod): string {
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  let reason = pod.status?.reason ?? pod.status?.phase ?? 'Pending';
  for (const cs of pod.status?.containerStatuses ?? []) {
    if (cs.state?.waiting?.reason) reason = cs.state.waiting.reason;
    else if (cs.state?.terminated?.reason) reason = cs.state.terminated.reason;
    else if (cs.state?.terminated) reason = `ExitCode:${cs.state.terminated.exitCode}`;
  }
  return reason;
}

export const pod = defineKind<Pod>({
  info: { group: '', version: 'v1', resource: 'pods', singular: 'pod', kind: 'Pod', listKind: 'PodList', namespaced: true, shortNames: ['po'], categories: ['all'], subresources: ['status', 'binding', 'log', 'exec', 'attach', 'portforward'], hasStatus: true },
  fields: topLevel({ spec: POD_SPEC_FIELDS, status: ANY }),
  merge: mergeTop({ spec: POD_SPEC_MERGE, status: { fields: { conditions: CONDITIONS_MERGE, podIPs: { mergeKey: 'ip' }, hostIPs: { mergeKey: 'ip' } } } }),
  prepareForCreate(p) {
    // A pod may be created with status; the apiserver resets it (phase Pending comes from defaults).
    if (p.status !== null && typeof p.status === 'object') p.status = {};
  },
  defaults(p) {
    if (p.spec) defaultPodSpec(p.spec);
    p.status ??= {};
    p.status.phase ??= 'Pending';
    p.status.qosClass ??= 'BestEffort';
  },
  validate: (p) => [...validateObjectMeta(p.metadata, true, 'dns1123-subdomain'), ...validatePodSpec(p.spec, 'spec')],
  gracefulDelete(p, grace) {
    const seconds = grace ?? p.spec.terminationGracePeriodSeconds ?? 30;
    if (!p.spec.nodeName || seconds <= 0 || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') return undefined;
    return seconds;
  },
  fieldSelectors: {
    'spec.nodeName': (p) => p.spec?.nodeName ?? '',
    'spec.restartPolicy': (p) => p.spec?.restartPolicy ?? '',
    'spec.schedulerName': (p) => p.spec?.schedulerName ?? '',
    'spec.serviceAccountName': (p) => p.spec?.serviceAccountName ?? '',
    'spec.hostNetwork': (p) => String(p.spec?.hostNetwork === true),
    'status.phase': (p) => p.status?.phase ?? '',
    'status.podIP': (p) => p.status?.podIP ?? '',
    'status.podIPs': (p) => p.status?.podIPs?.[0]?.ip ?? '',
    'status.nominatedNodeName': (p) => p.status?.nominatedNodeName ?? '',
  },
  table: {
    columns: [NAME_COLUMN, ['Ready', 'string', 0, 'The aggregate readiness state of this pod for accepting traffic.'], ['Status', 'string', 0, 'The aggregate status of the containers in this pod.'],
      ['Restarts', 'string', 0, 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'], AGE_COLUMN,
      ['IP', 'string', 1, 'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.'], ['Node', 'string', 1, 'NodeName is a request to schedule this pod onto a specific node.'],
      ['Nominated Node', 'string', 1, 'nominatedNodeName is set when this pod preempts other pods on the node.'], ['Readiness Gates', 'string', 1, 'If specified, all readiness gates will be evaluated for pod readiness.']],
    cells(p, now) {
      const total = p.spec.containers?.length ?? 0;
      const statuses = p.status?.containerStatuses ?? [];
      const ready = statuses.filter((c) => c.ready).length;
      const restarts = statuses.reduce((a, c) => a + (c.restartCount ?? 0), 0);
      const gates = p.spec.readinessGates ?? [];
      const gateText = gates.length === 0 ? '<none>' : `${gates.filter((g) => (p.status?.conditions ?? []).some((c) => c.type === g.conditionType && c.status === 'True')).length}/${gates.length}`;
      return [p.metadata.name ?? '', `${ready}/${total}`, podStatusReason(p), String(restarts), age(p, now), p.status?.podIP || '<none>', p.spec.nodeName || '<none>', p.status?.nominatedNodeName || '<none>', gateText];
    },
  },
});
