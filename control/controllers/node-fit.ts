/**
 * Whether a pod may run on a node, as the scheduler's NodeUnschedulable, NodeAffinity
 * (nodeSelector + required node affinity) and TaintToleration filters decide it, and as
 * the DaemonSet controller's nodeShouldRunDaemonPod asks it. Resources, ports and
 * preferred (soft) terms are not considered.
 */
import type { Node, NodeSelectorRequirement, PodSpec, Taint, Toleration } from '../api/index.ts';

/** v1helper.TolerationsTolerateTaint: one toleration matches the taint's key, value and effect. */
export function tolerates(tolerations: readonly Toleration[] | undefined, taint: Taint): boolean {
  return (tolerations ?? []).some((t) => {
    if (t.effect !== undefined && t.effect !== '' && t.effect !== taint.effect) return false;
    if (t.key === undefined || t.key === '') return t.operator === 'Exists';
    if (t.key !== taint.key) return false;
    return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '');
  });
}

function requirementHolds(r: NodeSelectorRequirement, value: string | undefined): boolean {
  switch (r.operator) {
    case 'In': return value !== undefined && (r.values ?? []).includes(value);
    case 'NotIn': return value === undefined || !(r.values ?? []).includes(value);
    case 'Exists': return value !== undefined;
    case 'DoesNotExist': return value === undefined;
    case 'Gt': return value !== undefined && Number(value) > Number(r.values?.[0]);
    case 'Lt': return value !== undefined && Number(value) < Number(r.values?.[0]);
  }
  return false;
}

/** nodeSelector and requiredDuringSchedulingIgnoredDuringExecution (terms ORed, requirements ANDed; matchFields on metadata.name). */
export function matchesNodeAffinity(spec: PodSpec, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  if (!Object.entries(spec.nodeSelector ?? {}).every(([k, v]) => labels[k] === v)) return false;
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms === undefined) return true;
  return terms.some((t) => (t.matchExpressions ?? []).every((r) => requirementHolds(r, labels[r.key]))
    && (t.matchFields ?? []).every((r) => r.key === 'metadata.name' && requirementHolds(r, node.metadata.name)));
}

/** The taints that keep a pod off a node unless tolerated (NoSchedule, NoExecute), the unschedulable flag as its taint. */
function blockingTaints(node: Node): Taint[] {
  const taints = (node.spec?.taints ?? []).filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
  if (node.spec?.unschedulable) taints.push({ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' });
  return taints;
}

/** Whether the pod fits the node (affinity, taints, unschedulable). */
export function podFitsNode(spec: PodSpec, node: Node): boolean {
  return matchesNodeAffinity(spec, node) && blockingTaints(node).every((t) => tolerates(spec.tolerations, t));
}
