/**
 * Pod events: `endpoint-fail` (the pod's apps stop answering; readiness probes then
 * fail too, if the pod has one), `endpoint-unready` / `endpoint-ready` (its readiness
 * endpoint answers 503 / 200: the probe takes it out / back after its thresholds) and
 * `pod-delete` (graceful deletion: the pod keeps serving through its preStop).
 */
import { NS_NAME, splitName } from './event-kind.ts';
import type { EventBase, EventContext, EventKind, NamespacedName } from './event-kind.ts';

type HealthAction = 'endpoint-fail' | 'endpoint-unready' | 'endpoint-ready';
export type PodHealthEvent<A extends HealthAction = HealthAction> = EventBase & { readonly action: A; readonly pod: NamespacedName };
export type PodDeleteEvent = EventBase & { readonly action: 'pod-delete'; readonly pod: NamespacedName };

function healthEvent<A extends HealthAction>(action: A): EventKind<PodHealthEvent<A>> {
  return {
    fields: { pod: NS_NAME },
    required: ['pod'],
    parse: (raw, base) => ({ ...base, action, pod: splitName(raw['pod']) }),
    defaultLabel: (raw) => `${String(raw['pod'])} ${action.replace('endpoint-', '')}`,
    async apply(ctx: EventContext, e: PodHealthEvent<A>) {
      const key = ctx.podKey(e.pod);
      const run = [...ctx.cluster.clusterNodes.values()].flatMap((n) => [...n.agent.pods.values()]).find((p) => p.key === key);
      if (run === undefined) ctx.fail(`no running pod ${key}`);
      if ((e.action as HealthAction) === 'endpoint-fail') {
        run.apps.stop();
        run.apps.healthy = false;
      } else run.apps.healthy = (e.action as HealthAction) === 'endpoint-ready';
    },
  };
}

export const endpointFailEvent = healthEvent('endpoint-fail');
export const endpointUnreadyEvent = healthEvent('endpoint-unready');
export const endpointReadyEvent = healthEvent('endpoint-ready');

export const podDeleteEvent: EventKind<PodDeleteEvent> = {
  fields: { pod: NS_NAME },
  required: ['pod'],
  parse: (raw, base) => ({ ...base, action: 'pod-delete', pod: splitName(raw['pod']) }),
  defaultLabel: (raw) => `${String(raw['pod'])} deleted`,
  async apply(ctx, e) {
    const key = ctx.podKey(e.pod);
    try {
      await ctx.cluster.control.api.delete('pods', e.pod.namespace, key.slice(key.indexOf('/') + 1));
    } catch (err) {
      ctx.fail(`pod ${e.pod.namespace}/${e.pod.name}: ${(err as Error).message}`);
    }
  },
};
