/**
 * Node events: `node-down` / `node-up` (Cluster.nodeDown / nodeUp: link down, pods
 * stopped, the Node NotReady and its pods unready as the node lifecycle controller
 * would; kube-proxy stopped) and `proxy-sync-delay` (Cluster.delayProxy: that node's
 * kube-proxy hears of changes late).
 */
import { parseExperimentDuration } from '../duration.ts';
import { DNS_NAME, DURATION } from './event-kind.ts';
import type { EventBase, EventKind } from './event-kind.ts';

type StateAction = 'node-down' | 'node-up';
export type NodeStateEvent<A extends StateAction = StateAction> = EventBase & { readonly action: A; readonly node: string };
export type ProxySyncDelayEvent = EventBase & { readonly action: 'proxy-sync-delay'; readonly node: string; readonly delayNs: number };

function nodeStateEvent<A extends StateAction>(action: A): EventKind<NodeStateEvent<A>> {
  return {
    fields: { node: DNS_NAME },
    required: ['node'],
    parse: (raw, base) => ({ ...base, action, node: raw['node'] }),
    defaultLabel: (raw) => `${String(raw['node'])} ${action === 'node-down' ? 'down' : 'up'}`,
    async apply(ctx, e) {
      if (!ctx.cluster.clusterNodes.has(e.node)) ctx.fail(`no node "${e.node}"`);
      if ((e.action as StateAction) === 'node-down') await ctx.cluster.nodeDown(e.node);
      else await ctx.cluster.nodeUp(e.node);
    },
  };
}

export const nodeDownEvent = nodeStateEvent('node-down');
export const nodeUpEvent = nodeStateEvent('node-up');

export const proxySyncDelayEvent: EventKind<ProxySyncDelayEvent> = {
  fields: { node: DNS_NAME, delay: DURATION },
  required: ['node', 'delay'],
  parse: (raw, base) => ({ ...base, action: 'proxy-sync-delay', node: raw['node'], delayNs: parseExperimentDuration(raw['delay']) }),
  defaultLabel: (raw) => `${String(raw['node'])} kube-proxy sync +${String(raw['delay'])}`,
  async apply(ctx, e) {
    if (!ctx.cluster.clusterNodes.has(e.node)) ctx.fail(`no node "${e.node}"`);
    ctx.cluster.delayProxy(e.node, e.delayNs);
  },
};
