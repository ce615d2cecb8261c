/**
 * DaemonSet controller (kube-controller-manager's pkg/controller/daemon): one pod per node
 * the template fits, created with the node in its required node affinity (the scheduler
 * binds it, as since Kubernetes 1.12) and the tolerations the controller always adds
 * (not-ready/unreachable NoExecute, the pressure and unschedulable NoSchedule taints,
 * network-unavailable for host-network pods). A node that stops fitting loses its pod
 * (numberMisscheduled until gone); a Failed pod is deleted and replaced; a terminating pod
 * is waited for before its replacement is created, as podsShouldBeOnNode does.
 *
 * Updates: pods carry `controller-revision-hash` (the template's hash, computed like a
 * Deployment's) and `pod-template-generation`. RollingUpdate deletes old pods that are not
 * ready at once and ready ones while fewer than `maxUnavailable` (scaled on the desired
 * count, rounded up) nodes are without an available pod; the new pods follow on the next
 * passes. OnDelete replaces a pod only when someone deleted it.
 *
 * Status: desired/current/misscheduled/ready/updated/available/unavailable and
 * observedGeneration, the fields `kubectl rollout status daemonset/NAME` reads.
 *
 * Not modelled: ControllerRevision objects (no `rollout history`/`undo`), maxSurge (a
 * surge rolls out like maxUnavailable), minReadySeconds, the failed-pod back-off.
 */
import type { DaemonSet, DaemonSetStatus, Node, Pod, PodSpec, Toleration } from '../api/index.ts';
import { isPodReady, scaledValue } from '../api/index.ts';
import type { ControlApi, Controller } from './types.ts';
import { byControllerUid } from './indexes.ts';
import { isRace } from './types.ts';
import { podTemplateHash } from './deployment.ts';
import { podFitsNode } from './node-fit.ts';

export const CONTROLLER_REVISION_HASH = 'controller-revision-hash';
export const POD_TEMPLATE_GENERATION = 'pod-template-generation';

/** util.AddOrUpdateDaemonPodTolerations: what every daemon pod tolerates. */
function daemonTolerations(spec: PodSpec): Toleration[] {
  const add: Toleration[] = [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  ];
  if (spec.hostNetwork === true) add.push({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
  const out = [...(spec.tolerations ?? [])];
  for (const t of add) if (!out.some((o) => o.key === t.key && o.effect === t.effect)) out.push(t);
  return out;
}

/** The node a daemon pod is for: its nodeName, or before binding the node in its affinity (util.GetTargetNodeName). */
export function daemonPodNode(pod: Pod): string | undefined {
  if (pod.spec.nodeName) return pod.spec.nodeName;
  for (const t of pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    const f = (t.matchFields ?? []).find((r) => r.key === 'metadata.name' && r.operator === 'In');
    if (f?.values?.length === 1) return f.values[0];
  }
  return undefined;
}

/** The pod spec for `node`: template spec, daemon tolerations, node affinity naming the node (ReplaceDaemonSetPodNodeNameNodeAffinity). */
function podSpecFor(ds: DaemonSet, node: string): PodSpec {
  const spec = JSON.parse(JSON.stringify(ds.spec.template.spec)) as PodSpec;
  spec.tolerations = daemonTolerations(spec);
  const field = { key: 'metadata.name', operator: 'In' as const, values: [node] };
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  const next = terms !== undefined && terms.length > 0
    ? terms.map((t) => ({ ...t, matchFields: [field] }))
    : [{ matchFields: [field] }];
  spec.affinity = { ...(spec.affinity ?? {}), nodeAffinity: { ...(spec.affinity?.nodeAffinity ?? {}), requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: next } } };
  return spec;
}

function terminal(p: Pod): boolean {
  return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
}

export class DaemonSetController implements Controller {
  readonly name = 'daemonset';
  constructor(private readonly api: ControlApi) {}

  async sync(): Promise<number> {
    const sets = await this.api.list<DaemonSet>('daemonsets');
    if (sets.length === 0) return 0;
    const nodes = (await this.api.list<Node>('nodes')).sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
    const ownedBy = byControllerUid(await this.api.list<Pod>('pods'));
    let writes = 0;
    for (const ds of sets) {
      if (ds.metadata.deletionTimestamp) continue;
      try { writes += await this.syncOne(ds, nodes, ownedBy(ds.metadata.uid)); } catch (e) { if (!isRace(e)) throw e; }
    }
    return writes;
  }

  private async syncOne(ds: DaemonSet, nodes: readonly Node[], owned: readonly Pod[]): Promise<number> {
    const ns = ds.metadata.namespace!;
    const hash = podTemplateHash(ds.spec.template, ds.status?.collisionCount ?? 0);
    const byNode = new Map<string, Pod[]>();
    for (const p of owned) {
      const n = daemonPodNode(p);
      if (n === undefined) continue;
      byNode.set(n, [...(byNode.get(n) ?? []), p]);
    }
    let writes = 0;
    const del = async (p: Pod): Promise<void> => {
      try { await this.api.delete('pods', ns, p.metadata.name!); writes++; } catch (e) { if (!isRace(e)) throw e; }
    };
    const should = new Set<string>();
    const create: string[] = [];
    for (const node of nodes) {
      const name = node.metadata.name!;
      const here = byNode.get(name) ?? [];
      if (!podFitsNode(podSpecFor(ds, name), node)) {
        for (const p of here) if (!p.metadata.deletionTimestamp) await del(p);
        continue;
      }
      should.add(name);
      if (here.length === 0) { create.push(name); continue; }
      const running = here.filter((p) => !p.metadata.deletionTimestamp);
      for (const p of running.filter(terminal)) await del(p);
      const alive = running.filter((p) => !terminal(p)).sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
      for (const extra of alive.slice(1)) await del(extra);
    }
    // Pods for nodes that no longer exist.
    for (const [name, ps] of byNode) if (!nodes.some((n) => n.metadata.name === name)) for (const p of ps) if (!p.metadata.deletionTimestamp) await del(p);
    for (const name of create) {
      const t = ds.spec.template;
      const pod: Pod = {
        apiVersion: 'v1', kind: 'Pod',
        metadata: {
          generateName: `${ds.metadata.name}-`, namespace: ns,
          labels: { ...(t.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH]: hash, [POD_TEMPLATE_GENERATION]: String(ds.metadata.generation ?? 1) },
          ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: ds.metadata.name!, uid: ds.metadata.uid!, controller: true, blockOwnerDeletion: true }],
        },
        spec: podSpecFor(ds, name),
      };
      try { await this.api.create('pods', ns, pod); writes++; } catch (e) { if (!isRace(e)) throw e; }
    }
    const current = (name: string): Pod | undefined => (byNode.get(name) ?? []).find((p) => !p.metadata.deletionTimestamp && !terminal(p));
    if (ds.spec.updateStrategy?.type !== 'OnDelete') writes += await this.rollingUpdate(ds, [...should], current, hash, del);
    return writes + await this.writeStatus(ds, nodes, byNode, should, current, hash);
  }

  /** rollingUpdate (update.go): old pods go, unready ones first and at once, ready ones within maxUnavailable. */
  private async rollingUpdate(ds: DaemonSet, should: readonly string[], current: (n: string) => Pod | undefined, hash: string, del: (p: Pod) => Promise<void>): Promise<number> {
    const maxUnavailable = Math.max(1, scaledValue(ds.spec.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1, should.length, true));
    let unavailable = should.filter((n) => { const p = current(n); return p === undefined || !isPodReady(p); }).length;
    let writes = 0;
    const old = should.map(current).filter((p): p is Pod => p !== undefined && p.metadata.labels?.[CONTROLLER_REVISION_HASH] !== hash);
    for (const p of old.filter((x) => !isPodReady(x))) { await del(p); writes++; }
    for (const p of old.filter(isPodReady)) {
      if (unavailable >= maxUnavailable) break;
      await del(p);
      unavailable++;
      writes++;
    }
    return writes;
  }

  private async writeStatus(ds: DaemonSet, nodes: readonly Node[], byNode: ReadonlyMap<string, Pod[]>, should: ReadonlySet<string>, current: (n: string) => Pod | undefined, hash: string): Promise<number> {
    let scheduled = 0; let ready = 0; let updated = 0; let misscheduled = 0;
    for (const n of nodes) {
      const name = n.metadata.name!;
      const p = current(name);
      if (!should.has(name)) { if ((byNode.get(name) ?? []).some((x) => !x.metadata.deletionTimestamp)) misscheduled++; continue; }
      if (p === undefined) continue;
      scheduled++;
      if (isPodReady(p)) ready++;
      if (p.metadata.labels?.[CONTROLLER_REVISION_HASH] === hash) updated++;
    }
    const status: DaemonSetStatus = {
      currentNumberScheduled: scheduled, numberMisscheduled: misscheduled, desiredNumberScheduled: should.size, numberReady: ready,
      observedGeneration: ds.metadata.generation ?? 1, updatedNumberScheduled: updated, numberAvailable: ready,
      ...(should.size - ready > 0 ? { numberUnavailable: should.size - ready } : {}),
      ...(ds.status?.collisionCount !== undefined ? { collisionCount: ds.status.collisionCount } : {}),
    };
    const cur = ds.status;
    const same = cur !== undefined && (Object.keys(status) as (keyof DaemonSetStatus)[]).every((k) => cur[k] === status[k]) && (cur.numberUnavailable === undefined) === (status.numberUnavailable === undefined);
    if (same) return 0;
    try { await this.api.updateStatus('daemonsets', ds.metadata.namespace, ds.metadata.name!, { ...ds, status }); return 1; } catch (e) { if (!isRace(e)) throw e; return 0; }
  }
}
