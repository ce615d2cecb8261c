/**
 * NetworkPolicy events: `policy-apply` adds or changes a policy (the entry's
 * `manifest`, applied server-side as `kubectl apply --server-side` would) and
 * `policy-delete` removes one (`policy: NS/NAME`). The manifest is checked when the file
 * is read, with the API server's own defaults and validation (upstream's messages and
 * field paths), so a bad policy is a located file error before any cluster is built.
 * What the change does to traffic is the enforcer's business: connections it already
 * let through keep flowing on their conntrack entries; new ones meet the new rules.
 */
import type { NetworkPolicy } from '../../control/api/index.ts';
import { formatFieldError } from '../../control/api/index.ts';
import { defaultNetworkPolicy, validateNetworkPolicy } from '../../control/resources/networkpolicy.ts';
import { NS_NAME, splitName } from './event-kind.ts';
import type { EventBase, EventKind, NamespacedName } from './event-kind.ts';

export type PolicyApplyEvent = EventBase & { readonly action: 'policy-apply'; readonly policy: NamespacedName; readonly manifest: Readonly<Record<string, unknown>> };
export type PolicyDeleteEvent = EventBase & { readonly action: 'policy-delete'; readonly policy: NamespacedName };

function policyName(raw: Readonly<Record<string, unknown>>): string {
  const meta = (raw['manifest'] as { metadata?: { name?: unknown; namespace?: unknown } } | undefined)?.metadata;
  return `${typeof meta?.namespace === 'string' ? meta.namespace : 'default'}/${String(meta?.name)}`;
}

export const policyApplyEvent: EventKind<PolicyApplyEvent> = {
  fields: { manifest: { type: 'object' } },
  required: ['manifest'],
  parse(raw, base, fail) {
    const m = raw['manifest'] as Record<string, unknown>;
    if (m['apiVersion'] !== 'networking.k8s.io/v1' || m['kind'] !== 'NetworkPolicy') fail('manifest', 'must be a NetworkPolicy (apiVersion: networking.k8s.io/v1, kind: NetworkPolicy)');
    const meta = (m['metadata'] ?? {}) as { name?: unknown; namespace?: unknown };
    const namespace = typeof meta.namespace === 'string' ? meta.namespace : 'default';
    const np = defaultNetworkPolicy(structuredClone({ ...m, metadata: { ...meta, namespace } }) as unknown as NetworkPolicy);
    const errs = validateNetworkPolicy(np);
    if (errs.length > 0) fail('manifest', `NetworkPolicy.networking.k8s.io "${String(meta.name)}" is invalid: ${errs.map(formatFieldError).join(', ')}`);
    return { ...base, action: 'policy-apply', policy: { namespace, name: String(meta.name) }, manifest: { ...m, metadata: { ...meta, namespace } } };
  },
  defaultLabel: (raw) => `policy ${policyName(raw)} applied`,
  async apply(ctx, e) {
    try {
      await ctx.cluster.control.apply(e.manifest as Record<string, unknown>);
    } catch (err) {
      ctx.fail(`policy ${e.policy.namespace}/${e.policy.name}: ${(err as Error).message}`);
    }
  },
};

export const policyDeleteEvent: EventKind<PolicyDeleteEvent> = {
  fields: { policy: NS_NAME },
  required: ['policy'],
  parse: (raw, base) => ({ ...base, action: 'policy-delete', policy: splitName(raw['policy']) }),
  defaultLabel: (raw) => `policy ${String(raw['policy']).includes('/') ? String(raw['policy']) : `default/${String(raw['policy'])}`} deleted`,
  async apply(ctx, e) {
    try {
      await ctx.cluster.control.api.delete('networkpolicies', e.policy.namespace, e.policy.name);
    } catch (err) {
      ctx.fail(`policy ${e.policy.namespace}/${e.policy.name}: ${(err as Error).message}`);
    }
  },
};
