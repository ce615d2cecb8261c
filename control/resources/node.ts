/** core/v1 Node (pkg/registry/core/node): pod CIDR validation, `spec.unschedulable` field selector, the printer's columns. */
import type { Node } from '../api/index.ts';
import { invalid, isValidCIDR, validateObjectMeta } from '../api/index.ts';
import { defineKind } from './strategy.ts';
import { ANY, CONDITIONS_MERGE, fields, mergeTop, topLevel } from './schema.ts';
import { age, AGE_COLUMN, NAME_COLUMN } from './table.ts';

export const node = defineKind<Node>({
  info: { group: '', version: 'v1', resource: 'nodes', singular: 'node', kind: 'Node', listKind: 'NodeList', namespaced: false, shortNames: ['no'], categories: [], subresources: ['status'], hasStatus: true },
  fields: topLevel({ spec: fields('podCIDR podCIDRs providerID unschedulable taints configSource externalID'), status: ANY }),
  merge: mergeTop({ spec: { fields: { podCIDRs: { primitiveMerge: true } } }, status: { fields: { conditions: CONDITIONS_MERGE, addresses: { mergeKey: 'type' } } } }),
  // Node agents register with their status (addresses, conditions).
  prepareForCreate() {},
  validate(n) {
    const errs = validateObjectMeta(n.metadata, false, 'dns1123-subdomain');
    if (n.spec?.podCIDR && !isValidCIDR(n.spec.podCIDR)) errs.push(invalid('spec.podCIDR', n.spec.podCIDR, 'must be a valid CIDR'));
    (n.spec?.podCIDRs ?? []).forEach((c, i) => { if (!isValidCIDR(c)) errs.push(invalid(`spec.podCIDRs[${i}]`, c, 'must be a valid CIDR')); });
    return errs;
  },
  fieldSelectors: { 'spec.unschedulable': (n) => String(n.spec?.unschedulable === true) },
  table: {
    columns: [NAME_COLUMN, ['Status', 'string', 0, 'The status of the node'], ['Roles', 'string', 0, 'The roles of the node'], AGE_COLUMN, ['Version', 'string', 0, 'Kubelet Version reported by the node.'],
      ['Internal-IP', 'string', 1, 'List of addresses reachable to the node.'], ['External-IP', 'string', 1, 'List of addresses reachable to the node.'], ['OS-Image', 'string', 1, 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).'],
      ['Kernel-Version', 'string', 1, 'Kernel Version reported by the node.'], ['Container-Runtime', 'string', 1, 'Container runtime version reported by the node.']],
    cells(n, now) {
      const ready = (n.status?.conditions ?? []).find((c) => c.type === 'Ready');
      let status = ready?.status === 'True' ? 'Ready' : 'NotReady';
      if (!ready) status = 'Unknown';
      if (n.spec?.unschedulable) status += ',SchedulingDisabled';
      const roles = Object.keys(n.metadata.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice('node-role.kubernetes.io/'.length)).sort();
      const addr = (t: string): string => (n.status?.addresses ?? []).find((a) => a.type === t)?.address ?? '<none>';
      const info = n.status?.nodeInfo ?? {};
      return [n.metadata.name ?? '', status, roles.length ? roles.join(',') : '<none>', age(n, now), info.kubeletVersion ?? '', addr('InternalIP'), addr('ExternalIP'), info.osImage ?? '<unknown>', info.kernelVersion ?? '<unknown>', info.containerRuntimeVersion ?? '<unknown>'];
    },
  },
});
