// A registry on a memory store with the standard controllers and the fake kubelet, for
// the controllers' tests: namespaces and nodes made, a clock the test moves by hand.
import { MemoryStore } from '../../control/store/memory-store.ts';
import { Registry } from '../../control/server/registry.ts';
import { resourceByName } from '../../control/resources/index.ts';
import type { Node, ResourceInfo } from '../../control/api/index.ts';
import { RegistryControlApi } from '../../control/controllers/registry-api.ts';
import { ControllerManager } from '../../control/controllers/manager.ts';
import { standardControllers } from '../../control/controllers/standard.ts';

type Taints = NonNullable<NonNullable<Node['spec']>['taints']>;

export interface ControllerClusterOptions {
  /** Nodes, with InternalIPs 192.168.56.11, .12, … in order. Default one, `node-1`. */
  readonly nodes?: ReadonlyArray<{ name: string; labels?: Record<string, string>; taints?: Taints }>;
  /** Default `default`. */
  readonly namespaces?: readonly string[];
  readonly gracefulPodDeletion?: boolean;
  /** How long the fake kubelet takes to terminate a pod. Default 0. */
  readonly terminationDelayMs?: number;
}

export async function controllerCluster(o: ControllerClusterOptions = {}) {
  let now = Date.parse('2025-01-01T00:00:00Z');
  let n = 0;
  const clock = (): Date => new Date(now);
  const reg = new Registry({ store: new MemoryStore(), clock, uid: () => `u${++n}`, gracefulPodDeletion: o.gracefulPodDeletion ?? true });
  const r = (x: string): ResourceInfo => resourceByName(x) as ResourceInfo;
  for (const ns of o.namespaces ?? ['default']) await reg.create(r('namespaces'), undefined, { metadata: { name: ns } });
  for (const [i, nd] of (o.nodes ?? [{ name: 'node-1' }]).entries()) {
    await reg.create(r('nodes'), undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: nd.name, labels: nd.labels ?? {} }, spec: nd.taints ? { taints: nd.taints } : {}, status: { addresses: [{ type: 'InternalIP', address: `192.168.56.${11 + i}` }] } });
  }
  const api = new RegistryControlApi(reg);
  const mgr = new ControllerManager(api, standardControllers(api, { clock, fakeKubelet: { terminationDelayMs: o.terminationDelayMs ?? 0 } }));
  return { reg, r, api, mgr, clock, advance: (ms: number): void => { now += ms; } };
}
