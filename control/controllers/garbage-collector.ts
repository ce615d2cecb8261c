/**
 * Garbage collector: deletes namespaced objects whose controller owner (ownerReference
 * uid) no longer exists, so deleting a Deployment removes its ReplicaSets and their pods
 * ("Background" propagation). Not modelled: Orphan/Foreground propagation, finalizers.
 */
import type { KubeObject } from '../api/index.ts';
import type { ControlApi, Controller } from './types.ts';
import { isRace } from './types.ts';

const KINDS: readonly { resource: string; owners: readonly string[] }[] = [
  { resource: 'replicasets', owners: ['deployments'] },
  { resource: 'pods', owners: ['replicasets', 'daemonsets', 'statefulsets', 'jobs'] },
  { resource: 'endpointslices', owners: ['services'] },
];

export class GarbageCollector implements Controller {
  readonly name = 'garbage-collector';
  constructor(private readonly api: ControlApi) {}

  async sync(): Promise<number> {
    let writes = 0;
    const uids = new Map<string, Set<string>>();
    const uidsOf = async (resource: string): Promise<Set<string>> => {
      let s = uids.get(resource);
      if (!s) { s = new Set((await this.api.list(resource)).map((o) => o.metadata?.uid ?? '')); uids.set(resource, s); }
      return s;
    };
    for (const k of KINDS) {
      const items = await this.api.list<KubeObject>(k.resource);
      const live = new Set<string>();
      for (const o of k.owners) for (const u of await uidsOf(o)) live.add(u);
      for (const obj of items) {
        const refs = obj.metadata?.ownerReferences ?? [];
        if (refs.length === 0) continue;
        if (refs.some((r) => live.has(r.uid))) continue;
        if (!refs.every((r) => k.owners.some((o) => o.startsWith(r.kind.toLowerCase())))) continue;
        try { await this.api.delete(k.resource, obj.metadata!.namespace, obj.metadata!.name!); writes++; } catch (e) { if (!isRace(e)) throw e; }
      }
    }
    return writes;
  }
}
