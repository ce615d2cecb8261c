/**
 * Deployment events: `scale` (the scale subresource, as `kubectl scale`) and
 * `rolling-update` (a new pod-template annotation, as `kubectl rollout restart`).
 */
import { resourceForKind } from '../../control/resources/index.ts';
import { NS_NAME, splitName } from './event-kind.ts';
import type { EventBase, EventKind, NamespacedName } from './event-kind.ts';

export type ScaleEvent = EventBase & { readonly action: 'scale'; readonly deployment: NamespacedName; readonly replicas: number };
export type RollingUpdateEvent = EventBase & { readonly action: 'rolling-update'; readonly deployment: NamespacedName };

function deployment(): NonNullable<ReturnType<typeof resourceForKind>> {
  const r = resourceForKind('apps/v1', 'Deployment');
  if (r === undefined) throw new Error('no Deployment resource');
  return r;
}

export const scaleEvent: EventKind<ScaleEvent> = {
  fields: { deployment: NS_NAME, replicas: { type: 'integer', minimum: 0, maximum: 100000 } },
  required: ['deployment', 'replicas'],
  parse: (raw, base) => ({ ...base, action: 'scale', deployment: splitName(raw['deployment']), replicas: raw['replicas'] }),
  defaultLabel: (raw) => `scale ${String(raw['deployment'])} to ${String(raw['replicas'])}`,
  async apply(ctx, e) {
    try {
      await ctx.cluster.control.registry.patch(deployment(), e.deployment.namespace, e.deployment.name, 'merge', { spec: { replicas: e.replicas } }, {}, 'scale');
    } catch (err) {
      ctx.fail(`deployment ${e.deployment.namespace}/${e.deployment.name}: ${(err as Error).message}`);
    }
  },
};

export const rollingUpdateEvent: EventKind<RollingUpdateEvent> = {
  fields: { deployment: NS_NAME },
  required: ['deployment'],
  parse: (raw, base) => ({ ...base, action: 'rolling-update', deployment: splitName(raw['deployment']) }),
  defaultLabel: (raw) => `rolling update ${String(raw['deployment'])}`,
  async apply(ctx, e) {
    try {
      await ctx.cluster.control.registry.patch(deployment(), e.deployment.namespace, e.deployment.name, 'merge', { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': `netsim-${e.at}` } } } } }, {});
    } catch (err) {
      ctx.fail(`deployment ${e.deployment.namespace}/${e.deployment.name}: ${(err as Error).message}`);
    }
  },
};
