/**
 * networking.k8s.io/v1 NetworkPolicy (pkg/registry/networking/networkpolicy): the
 * defaults of pkg/apis/networking/v1/defaults.go (policyTypes inferred from the spec, a
 * port's protocol TCP), ValidateNetworkPolicy of pkg/apis/networking/validation and the
 * printer's columns (printNetworkPolicy: Name, Pod-Selector, Age). The API side only: the
 * enforcer is policy/ (kube-router's controller), switched on by the cluster spec.
 * Not modelled: the update rule that keeps accepting a CIDR the stored object already
 * held (AllowCIDRsEvenIfInvalid) and invalid selector values grandfathered from the old
 * object; with sloppy CIDR parsing and a fresh store, no stored policy needs them.
 */
import type { FieldError, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from '../api/index.ts';
import {
  forbidden, invalid, ipNetContains, isValidPortName, labelSelectorStructToString, notSupported, parseCIDRSloppy, required, validateLabelSelector,
  validateObjectMeta,
} from '../api/index.ts';
import { defineKind } from './strategy.ts';
import { fields, mergeTop, topLevel } from './schema.ts';
import type { FieldSchema } from './schema.ts';
import { PROTOCOLS, SELECTOR_FIELDS, validatePort } from './pod-template.ts';
import { age, AGE_COLUMN, NAME_COLUMN } from './table.ts';

const POLICY_TYPES = ['Ingress', 'Egress'] as const;
const CIDR_MSG = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';

const list = <T>(v: T[] | undefined): T[] => (Array.isArray(v) ? v : []);
const isObject = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v);

/** SetDefaults_NetworkPolicy and SetDefaults_NetworkPolicyPort. */
export function defaultNetworkPolicy(np: NetworkPolicy): NetworkPolicy {
  const spec = np.spec;
  if (!isObject(spec)) return np;
  const ports = [...list(spec.ingress), ...list(spec.egress)].flatMap((r) => (isObject(r) ? list(r.ports) : []));
  for (const p of ports) if (isObject(p)) p.protocol ??= 'TCP';
  if (list(spec.policyTypes).length === 0) spec.policyTypes = list(spec.egress).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  return np;
}

/** ValidateNetworkPolicyPort. */
function validatePolicyPort(p: NetworkPolicyPort, path: string, errs: FieldError[]): void {
  if (!isObject(p)) { errs.push(invalid(path, p, 'must be an object')); return; }
  if (p.protocol !== undefined && p.protocol !== null && !PROTOCOLS.includes(p.protocol)) errs.push(notSupported(`${path}.protocol`, p.protocol, ['TCP', 'UDP', 'SCTP']));
  const hasEnd = p.endPort !== undefined && p.endPort !== null;
  if (p.port === undefined || p.port === null) {
    if (hasEnd) errs.push(invalid(`${path}.endPort`, p.endPort, 'may not be specified when `port` is not specified'));
  } else if (typeof p.port === 'number') {
    validatePort(p.port, `${path}.port`, errs);
    if (hasEnd) {
      if (typeof p.endPort === 'number' && p.endPort < p.port) errs.push(invalid(`${path}.endPort`, p.endPort, 'must be greater than or equal to `port`'));
      validatePort(p.endPort, `${path}.endPort`, errs);
    }
  } else {
    if (hasEnd) errs.push(invalid(`${path}.endPort`, p.endPort, 'may not be specified when `port` is non-numeric'));
    for (const m of isValidPortName(String(p.port))) errs.push(invalid(`${path}.port`, p.port, m));
  }
}

/** ValidateIPBlock: a CIDR, and each `except` a CIDR strictly inside it. */
function validateIPBlock(b: NonNullable<NetworkPolicyPeer['ipBlock']>, path: string, errs: FieldError[]): void {
  if (!isObject(b)) { errs.push(invalid(path, b, 'must be an object')); return; }
  if (typeof b.cidr !== 'string' || b.cidr === '') { errs.push(required(`${path}.cidr`)); return; }
  const net = parseCIDRSloppy(b.cidr);
  if (!net) { errs.push(invalid(`${path}.cidr`, b.cidr, CIDR_MSG)); return; }
  list(b.except).forEach((e, i) => {
    const ep = `${path}.except[${i}]`;
    const ex = typeof e === 'string' ? parseCIDRSloppy(e) : undefined;
    if (!ex) errs.push(invalid(ep, e, CIDR_MSG));
    else if (!ipNetContains(net, ex) || net.prefix >= ex.prefix) errs.push(invalid(ep, e, 'must be a strict subset of `cidr`'));
  });
}

/** ValidateNetworkPolicyPeer: at least one of the three, and ipBlock only alone. */
function validatePeer(peer: NetworkPolicyPeer, path: string, errs: FieldError[]): void {
  if (!isObject(peer)) { errs.push(invalid(path, peer, 'must be an object')); return; }
  let n = 0;
  if (peer.podSelector != null) { n++; errs.push(...validateLabelSelector(peer.podSelector, `${path}.podSelector`)); }
  if (peer.namespaceSelector != null) { n++; errs.push(...validateLabelSelector(peer.namespaceSelector, `${path}.namespaceSelector`)); }
  if (peer.ipBlock != null) { n++; validateIPBlock(peer.ipBlock, `${path}.ipBlock`, errs); }
  if (n === 0) errs.push(required(path, 'must specify a peer'));
  else if (n > 1 && peer.ipBlock != null) errs.push(forbidden(path, 'may not specify both ipBlock and another peer'));
}

/** ValidateNetworkPolicy: metadata (a DNS subdomain name), the pod selector, every rule, policyTypes. */
export function validateNetworkPolicy(np: NetworkPolicy): FieldError[] {
  const errs = validateObjectMeta(np.metadata, true, 'dns1123-subdomain');
  const spec = np.spec;
  if (!isObject(spec)) return [...errs, required('spec')];
  errs.push(...validateLabelSelector(spec.podSelector, 'spec.podSelector'));
  const rule = (ports: NetworkPolicyPort[] | undefined, peers: NetworkPolicyPeer[] | undefined, rp: string, peersName: 'from' | 'to'): void => {
    list(ports).forEach((p, j) => validatePolicyPort(p, `${rp}.ports[${j}]`, errs));
    list(peers).forEach((p, j) => validatePeer(p, `${rp}.${peersName}[${j}]`, errs));
  };
  list(spec.ingress).forEach((r, i) => {
    if (!isObject(r)) errs.push(invalid(`spec.ingress[${i}]`, r, 'must be an object'));
    else rule(r.ports, r.from, `spec.ingress[${i}]`, 'from');
  });
  list(spec.egress).forEach((r, i) => {
    if (!isObject(r)) errs.push(invalid(`spec.egress[${i}]`, r, 'must be an object'));
    else rule(r.ports, r.to, `spec.egress[${i}]`, 'to');
  });
  const types = list(spec.policyTypes);
  if (types.length > POLICY_TYPES.length) errs.push(invalid('spec.policyTypes', types, 'may not specify more than two policyTypes'));
  else types.forEach((t, i) => { if (!POLICY_TYPES.includes(t)) errs.push(notSupported(`spec.policyTypes[${i}]`, t, POLICY_TYPES)); });
  return errs;
}

/** metav1.FormatLabelSelector of the pod selector, as the Pod-Selector column shows it. */
export function podSelectorCell(np: NetworkPolicy): string {
  return labelSelectorStructToString(np.spec?.podSelector ?? {}) || '<none>';
}

const PEER_FIELDS: FieldSchema = { podSelector: SELECTOR_FIELDS, namespaceSelector: SELECTOR_FIELDS, ipBlock: fields('cidr except') };
const PORT_FIELDS: FieldSchema = fields('protocol port endPort');

export const networkPolicy = defineKind<NetworkPolicy>({
  info: { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies', singular: 'networkpolicy', kind: 'NetworkPolicy', listKind: 'NetworkPolicyList', namespaced: true, shortNames: ['netpol'], categories: [], subresources: [], hasStatus: false },
  fields: topLevel({
    spec: fields('policyTypes', {
      podSelector: SELECTOR_FIELDS,
      ingress: [{ ports: [PORT_FIELDS], from: [PEER_FIELDS] }],
      egress: [{ ports: [PORT_FIELDS], to: [PEER_FIELDS] }],
    }),
  }),
  // k8s.io/api/networking/v1 declares no patch strategy: every list is replaced whole.
  merge: mergeTop(),
  defaults: defaultNetworkPolicy,
  validate: validateNetworkPolicy,
  table: {
    columns: [NAME_COLUMN, ['Pod-Selector', 'string', 0, 'podSelector selects the pods to which this NetworkPolicy object applies. The array of rules is applied to any pods selected by this field. An empty selector matches all pods in this namespace.'], AGE_COLUMN],
    cells: (np, now) => [np.metadata.name ?? '', podSelectorCell(np), age(np, now)],
  },
});
