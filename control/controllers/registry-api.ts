/** ControlApi served in-process by the API server's registry (no HTTP). */
import type { KubeObject, ResourceInfo } from '../api/index.ts';
import { resourceByName } from '../resources/index.ts';
import type { Registry } from '../server/registry.ts';
import type { ControlApi } from './types.ts';

function res(name: string): ResourceInfo {
  const r = resourceByName(name);
  if (!r) throw new Error(`unknown resource ${name}`);
  return r;
}

export class RegistryControlApi implements ControlApi {
  constructor(private readonly registry: Registry, private readonly fieldManager = 'kube-controller-manager') {}

  async list<T = KubeObject>(resource: string, namespace?: string): Promise<T[]> {
    // Shared, frozen objects (decoded once per revision): controllers copy what they change.
    return (await this.registry.list(res(resource), namespace, { shared: true })).items as T[];
  }
  async get<T = KubeObject>(resource: string, namespace: string | undefined, name: string): Promise<T | undefined> {
    return (await this.registry.getOrUndefined(res(resource), namespace, name)) as T | undefined;
  }
  async create<T = KubeObject>(resource: string, namespace: string | undefined, obj: T): Promise<T> {
    return (await this.registry.create(res(resource), namespace, obj, { fieldManager: this.fieldManager })) as T;
  }
  async update<T = KubeObject>(resource: string, namespace: string | undefined, name: string, obj: T): Promise<T> {
    return (await this.registry.update(res(resource), namespace, name, obj, { fieldManager: this.fieldManager })) as T;
  }
  async updateStatus<T = KubeObject>(resource: string, namespace: string | undefined, name: string, obj: T): Promise<T> {
    return (await this.registry.update(res(resource), namespace, name, obj, { fieldManager: this.fieldManager }, 'status')) as T;
  }
  async updateSubresource<T = KubeObject>(resource: string, namespace: string | undefined, name: string, subresource: string, obj: T): Promise<T> {
    return (await this.registry.update(res(resource), namespace, name, obj, { fieldManager: this.fieldManager }, subresource)) as T;
  }
  async delete(resource: string, namespace: string | undefined, name: string, opts: { gracePeriodSeconds?: number; preconditions?: { uid?: string } } = {}): Promise<void> {
    await this.registry.delete(res(resource), namespace, name, opts);
  }
  async bind(namespace: string, podName: string, nodeName: string): Promise<void> {
    await this.registry.bind(namespace, podName, { apiVersion: 'v1', kind: 'Binding', metadata: { name: podName }, target: { kind: 'Node', name: nodeName } });
  }
  async onAnyChange(onChange: () => void): Promise<() => void> {
    const h = this.registry.store.watch('/registry/', this.registry.store.revision(), () => onChange());
    return () => h.cancel();
  }
}
