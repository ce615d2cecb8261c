/**
 * Validation with Kubernetes field errors (k8s.io/apimachinery `field.Error`), so the
 * server's 422 Invalid Status reads as kube-apiserver's:
 * `Service "web" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767`.
 * Covers the fields the emulator uses; unknown fields are not rejected here.
 */
import type {
  Container, Deployment, Endpoints, EndpointSlice, KubeObject, Namespace, Node, ObjectMeta, Pod,
  ReplicaSet, Service, StatusCause, LabelSelector, PodTemplateSpec, Event,
} from './types.ts';
import { labelSelectorFromStruct, matchesLabels, validateLabelKey, validateLabelValue } from './selectors.ts';

export type FieldErrorType =
  | 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueNotSupported' | 'FieldValueDuplicate'
  | 'FieldValueForbidden' | 'FieldValueTooLong' | 'FieldValueNotFound';

export interface FieldError {
  readonly type: FieldErrorType;
  readonly field: string;
  /** Detail text (after the value). */
  readonly detail: string;
  readonly value?: unknown;
}

/** Go's `%#v`-ish rendering used in "Invalid value: …": strings quoted, numbers bare. */
export function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[]string{${v.map((x) => JSON.stringify(x)).join(', ')}}`;
  if (typeof v === 'object') return `map[string]string{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify((v as Record<string, unknown>)[k])}`).join(', ')}}`;
  return String(v);
}

/** The error's text without the field: `Invalid value: 80: provided …`. */
export function fieldErrorBody(e: FieldError): string {
  switch (e.type) {
    case 'FieldValueInvalid': return `Invalid value: ${formatValue(e.value)}${e.detail ? `: ${e.detail}` : ''}`;
    case 'FieldValueRequired': return `Required value${e.detail ? `: ${e.detail}` : ''}`;
    case 'FieldValueNotSupported': return `Unsupported value: ${formatValue(e.value)}${e.detail ? `: ${e.detail}` : ''}`;
    case 'FieldValueDuplicate': return `Duplicate value: ${formatValue(e.value)}`;
    case 'FieldValueForbidden': return `Forbidden${e.detail ? `: ${e.detail}` : ''}`;
    case 'FieldValueTooLong': return `Too long: ${e.detail}`;
    case 'FieldValueNotFound': return `Not found: ${formatValue(e.value)}`;
  }
  return e.detail;
}

export function formatFieldError(e: FieldError): string {
  return `${e.field}: ${fieldErrorBody(e)}`;
}

/** `Kind "name" is invalid: err` or `…: [err1, err2]`, as apierrors.NewInvalid. */
export function invalidMessage(kind: string, name: string, errs: readonly FieldError[]): string {
  const list = errs.map(formatFieldError);
  return `${kind} "${name}" is invalid: ${list.length === 1 ? list[0] : `[${list.join(', ')}]`}`;
}

export function fieldErrorCauses(errs: readonly FieldError[]): StatusCause[] {
  return errs.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field }));
}

export const invalid = (field: string, value: unknown, detail: string): FieldError => ({ type: 'FieldValueInvalid', field, value, detail });
export const required = (field: string, detail = ''): FieldError => ({ type: 'FieldValueRequired', field, detail });
export const notSupported = (field: string, value: unknown, supported: readonly string[]): FieldError =>
  ({ type: 'FieldValueNotSupported', field, value, detail: `supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}` });
export const duplicate = (field: string, value: unknown): FieldError => ({ type: 'FieldValueDuplicate', field, value, detail: '' });
export const forbidden = (field: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field, detail });

// ---------------------------------------------------------------- names

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export const DNS1123_LABEL_MSG = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
export const DNS1123_SUBDOMAIN_MSG = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
export const DNS1035_LABEL_MSG = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/** Problems with a DNS-1123 label (namespaces, container names): empty list when valid. */
export function isDns1123Label(v: string): string[] {
  const out: string[] = [];
  if (v.length > 63) out.push('must be no more than 63 characters');
  if (!DNS1123_LABEL.test(v)) out.push(DNS1123_LABEL_MSG);
  return out;
}
export function isDns1123Subdomain(v: string): string[] {
  const out: string[] = [];
  if (v.length > 253) out.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN.test(v)) out.push(DNS1123_SUBDOMAIN_MSG);
  return out;
}
export function isDns1035Label(v: string): string[] {
  const out: string[] = [];
  if (v.length > 63) out.push('must be no more than 63 characters');
  if (!DNS1035_LABEL.test(v)) out.push(DNS1035_LABEL_MSG);
  return out;
}

export type NameRule = 'dns1123-label' | 'dns1123-subdomain' | 'dns1035-label';

export function validateName(rule: NameRule, v: string): string[] {
  return rule === 'dns1123-label' ? isDns1123Label(v) : rule === 'dns1035-label' ? isDns1035Label(v) : isDns1123Subdomain(v);
}

const IANA_SVC_NAME = /^[-a-z0-9]+$/;
/** Port names (IANA_SVC_NAME): at most 15 chars, lower-case alphanumerics and '-', at least one letter. */
export function isValidPortName(v: string): string[] {
  const out: string[] = [];
  if (v.length > 15) out.push('must be no more than 15 characters');
  if (!IANA_SVC_NAME.test(v)) out.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (v.includes('--')) out.push("must not contain consecutive hyphens");
  if (!/[a-z]/.test(v)) out.push('must contain at least one letter (a-z)');
  if (v.startsWith('-') || v.endsWith('-')) out.push('must not begin or end with a hyphen');
  return out;
}

export function isValidIPv4(v: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255 && (o === '0' || !o.startsWith('0')));
}
export function isValidIP(v: string): boolean {
  return isValidIPv4(v) || (/^[0-9a-fA-F:.]+$/.test(v) && v.includes(':') && v.split('::').length <= 2);
}
export function isValidCIDR(v: string): boolean {
  const [ip, len, extra] = v.split('/');
  if (extra !== undefined || ip === undefined || len === undefined || !/^\d{1,3}$/.test(len)) return false;
  return isValidIPv4(ip) ? Number(len) <= 32 : isValidIP(ip) && Number(len) <= 128;
}

const PORT_RANGE_MSG = 'must be between 1 and 65535, inclusive';

// ---------------------------------------------------------------- metadata

export function validateObjectMeta(meta: ObjectMeta | undefined, namespaced: boolean, nameRule: NameRule): FieldError[] {
  const errs: FieldError[] = [];
  if (!meta) return [required('metadata')];
  if (meta.name === undefined || meta.name === '') {
    if (!meta.generateName) errs.push(required('metadata.name', 'name or generateName is required'));
  } else {
    for (const msg of validateName(nameRule, meta.name)) errs.push(invalid('metadata.name', meta.name, msg));
  }
  if (namespaced) {
    if (!meta.namespace) errs.push(required('metadata.namespace'));
    else for (const msg of isDns1123Label(meta.namespace)) errs.push(invalid('metadata.namespace', meta.namespace, msg));
  } else if (meta.namespace) {
    errs.push(forbidden('metadata.namespace', 'not allowed on this type'));
  }
  errs.push(...validateLabels(meta.labels, 'metadata.labels'));
  if (meta.annotations !== undefined && (typeof meta.annotations !== 'object' || meta.annotations === null)) errs.push(invalid('metadata.annotations', meta.annotations, 'must be a map'));
  else for (const [k, v] of Object.entries(meta.annotations ?? {})) {
    const e = validateLabelKey(k);
    if (e) errs.push(invalid('metadata.annotations', k, e));
    if (typeof v !== 'string') errs.push(invalid(`metadata.annotations[${k}]`, v, 'must be a string'));
  }
  return errs;
}

export function validateLabels(labels: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (labels === undefined || labels === null) return errs;
  if (typeof labels !== 'object' || Array.isArray(labels)) return [invalid(path, labels, 'must be a map of string to string')];
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    const ke = validateLabelKey(k);
    if (ke) errs.push(invalid(path, k, ke));
    if (typeof v !== 'string') errs.push(invalid(`${path}[${k}]`, v, 'must be a string'));
    else {
      const ve = validateLabelValue(v);
      if (ve) errs.push(invalid(path, v, ve));
    }
  }
  return errs;
}

function validatePort(n: unknown, path: string, errs: FieldError[]): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) errs.push(invalid(path, n, PORT_RANGE_MSG));
}

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'] as const;

// ---------------------------------------------------------------- pods

function validateContainers(cs: Container[] | undefined, path: string, errs: FieldError[]): void {
  if (!Array.isArray(cs) || cs.length === 0) { errs.push(required(path)); return; }
  const names = new Set<string>();
  cs.forEach((c, i) => {
    const p = `${path}[${i}]`;
    if (c === null || typeof c !== 'object') { errs.push(invalid(p, c, 'must be an object')); return; }
    if (!c.name) errs.push(required(`${p}.name`));
    else {
      for (const m of isDns1123Label(c.name)) errs.push(invalid(`${p}.name`, c.name, m));
      if (names.has(c.name)) errs.push(duplicate(`${p}.name`, c.name));
      names.add(c.name);
    }
    if (!c.image || (typeof c.image === 'string' && c.image.trim() === '')) errs.push(required(`${p}.image`));
    const portNames = new Set<string>();
    (c.ports ?? []).forEach((cp, j) => {
      const pp = `${p}.ports[${j}]`;
      validatePort(cp.containerPort, `${pp}.containerPort`, errs);
      if (cp.hostPort !== undefined && cp.hostPort !== 0) validatePort(cp.hostPort, `${pp}.hostPort`, errs);
      if (cp.protocol !== undefined && !PROTOCOLS.includes(cp.protocol)) errs.push(notSupported(`${pp}.protocol`, cp.protocol, PROTOCOLS));
      if (cp.name !== undefined && cp.name !== '') {
        for (const m of isValidPortName(cp.name)) errs.push(invalid(`${pp}.name`, cp.name, m));
        if (portNames.has(cp.name)) errs.push(duplicate(`${pp}.name`, cp.name));
        portNames.add(cp.name);
      }
    });
  });
}

export function validatePodSpec(spec: Pod['spec'] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!spec || typeof spec !== 'object') return [required(path)];
  validateContainers(spec.containers, `${path}.containers`, errs);
  if (spec.restartPolicy !== undefined && !['Always', 'OnFailure', 'Never'].includes(spec.restartPolicy)) errs.push(notSupported(`${path}.restartPolicy`, spec.restartPolicy, ['Always', 'Never', 'OnFailure']));
  if (spec.nodeName !== undefined && spec.nodeName !== '') for (const m of isDns1123Subdomain(spec.nodeName)) errs.push(invalid(`${path}.nodeName`, spec.nodeName, m));
  errs.push(...validateLabels(spec.nodeSelector, `${path}.nodeSelector`));
  return errs;
}

export function validatePod(pod: Pod): FieldError[] {
  return [...validateObjectMeta(pod.metadata, true, 'dns1123-subdomain'), ...validatePodSpec(pod.spec, 'spec')];
}

// ---------------------------------------------------------------- services

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'] as const;

export interface ServiceValidationOptions {
  /** NodePort range, default 30000-32767 (kube-apiserver --service-node-port-range). */
  readonly nodePortRange?: { readonly base: number; readonly size: number };
}

export function validateService(svc: Service, opts: ServiceValidationOptions = {}): FieldError[] {
  const errs = validateObjectMeta(svc.metadata, true, 'dns1035-label');
  const spec = svc.spec;
  if (!spec || typeof spec !== 'object') return [...errs, required('spec')];
  const type = spec.type ?? 'ClusterIP';
  if (!SERVICE_TYPES.includes(type)) errs.push(notSupported('spec.type', type, SERVICE_TYPES));
  const range = opts.nodePortRange ?? { base: 30000, size: 2768 };
  const ports = spec.ports ?? [];
  if (!Array.isArray(ports)) errs.push(invalid('spec.ports', ports, 'must be a list'));
  else {
    if (ports.length === 0 && type !== 'ExternalName' && spec.clusterIP !== 'None') errs.push(required('spec.ports'));
    const names = new Set<string>();
    const seen = new Set<string>();
    const seenNodePorts = new Set<string>();
    ports.forEach((p, i) => {
      const pp = `spec.ports[${i}]`;
      if (p === null || typeof p !== 'object') { errs.push(invalid(pp, p, 'must be an object')); return; }
      if (ports.length > 1 && !p.name) errs.push(required(`${pp}.name`));
      if (p.name) {
        for (const m of isDns1123Label(p.name)) errs.push(invalid(`${pp}.name`, p.name, m));
        if (names.has(p.name)) errs.push(duplicate(`${pp}.name`, p.name));
        names.add(p.name);
      }
      validatePort(p.port, `${pp}.port`, errs);
      const proto = p.protocol ?? 'TCP';
      if (!PROTOCOLS.includes(proto)) errs.push(notSupported(`${pp}.protocol`, proto, PROTOCOLS));
      const key = `${p.port}/${proto}`;
      if (seen.has(key)) errs.push(duplicate(pp, { port: p.port, protocol: proto }));
      seen.add(key);
      if (p.targetPort !== undefined) {
        if (typeof p.targetPort === 'number') {
          if (p.targetPort !== 0) validatePort(p.targetPort, `${pp}.targetPort`, errs);
        } else if (typeof p.targetPort === 'string') {
          if (/^\d+$/.test(p.targetPort)) validatePort(Number(p.targetPort), `${pp}.targetPort`, errs);
          else for (const m of isValidPortName(p.targetPort)) errs.push(invalid(`${pp}.targetPort`, p.targetPort, m));
        } else errs.push(invalid(`${pp}.targetPort`, p.targetPort, 'must be an integer or a string'));
      }
      if (p.nodePort !== undefined && p.nodePort !== 0) {
        if (type === 'ClusterIP' || type === 'ExternalName') errs.push(forbidden(`${pp}.nodePort`, `may not be used when \`type\` is '${type}'`));
        else if (typeof p.nodePort !== 'number' || !Number.isInteger(p.nodePort) || p.nodePort < range.base || p.nodePort >= range.base + range.size) {
          errs.push(invalid(`${pp}.nodePort`, p.nodePort, `provided port is not in the valid range. The range of valid ports is ${range.base}-${range.base + range.size - 1}`));
        } else {
          const nk = `${p.nodePort}/${proto}`;
          if (seenNodePorts.has(nk)) errs.push(duplicate(`${pp}.nodePort`, p.nodePort));
          seenNodePorts.add(nk);
        }
      }
    });
  }
  errs.push(...validateLabels(spec.selector, 'spec.selector'));
  if (type === 'ExternalName') {
    if (!spec.externalName) errs.push(required('spec.externalName'));
    else for (const m of isDns1123Subdomain(spec.externalName)) errs.push(invalid('spec.externalName', spec.externalName, m));
  }
  if (spec.clusterIP !== undefined && spec.clusterIP !== '' && spec.clusterIP !== 'None' && !isValidIP(spec.clusterIP)) {
    errs.push(invalid('spec.clusterIP', spec.clusterIP, 'must be empty, \'None\', or a valid IP address'));
  }
  if (spec.clusterIP === 'None' && (type === 'NodePort' || type === 'LoadBalancer')) errs.push(invalid('spec.clusterIPs[0]', 'None', `may not be set to 'None' for ${type} services`));
  (spec.clusterIPs ?? []).forEach((ip, i) => {
    if (ip !== 'None' && !isValidIP(ip)) errs.push(invalid(`spec.clusterIPs[${i}]`, ip, 'must be a valid IP address'));
  });
  if (spec.clusterIP && spec.clusterIPs && spec.clusterIPs.length > 0 && spec.clusterIPs[0] !== spec.clusterIP) {
    errs.push(invalid('spec.clusterIPs', spec.clusterIPs, 'must match `spec.clusterIP` in the first element'));
  }
  (spec.externalIPs ?? []).forEach((ip, i) => { if (!isValidIP(ip)) errs.push(invalid(`spec.externalIPs[${i}]`, ip, 'must be a valid IP address')); });
  (spec.loadBalancerSourceRanges ?? []).forEach((c, i) => {
    if (!isValidCIDR(c)) errs.push(invalid(`spec.loadBalancerSourceRanges[${i}]`, c, 'must be a valid CIDR'));
  });
  if (spec.loadBalancerSourceRanges && spec.loadBalancerSourceRanges.length > 0 && type !== 'LoadBalancer') {
    errs.push(forbidden('spec.loadBalancerSourceRanges', 'may only be used when `type` is \'LoadBalancer\''));
  }
  if (spec.sessionAffinity !== undefined && !['None', 'ClientIP'].includes(spec.sessionAffinity)) errs.push(notSupported('spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None']));
  const t = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (t !== undefined) {
    if (spec.sessionAffinity !== 'ClientIP') errs.push(forbidden('spec.sessionAffinityConfig', 'must not be set when session affinity is None'));
    else if (!Number.isInteger(t) || t <= 0 || t > 86400) errs.push(invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', t, 'must be greater than 0 and less than 86400'));
  }
  if (spec.externalTrafficPolicy !== undefined) {
    if (!['Cluster', 'Local'].includes(spec.externalTrafficPolicy)) errs.push(notSupported('spec.externalTrafficPolicy', spec.externalTrafficPolicy, ['Cluster', 'Local']));
    else if (type === 'ClusterIP' || type === 'ExternalName') errs.push(invalid('spec.externalTrafficPolicy', spec.externalTrafficPolicy, 'may only be set for externally-accessible services'));
  }
  if (spec.internalTrafficPolicy !== undefined && !['Cluster', 'Local'].includes(spec.internalTrafficPolicy)) errs.push(notSupported('spec.internalTrafficPolicy', spec.internalTrafficPolicy, ['Cluster', 'Local']));
  return errs;
}

// ---------------------------------------------------------------- workloads

function validateSelectorAndTemplate(selector: LabelSelector | undefined, template: PodTemplateSpec | undefined, errs: FieldError[]): void {
  if (!selector || typeof selector !== 'object') errs.push(required('spec.selector'));
  else {
    errs.push(...validateLabels(selector.matchLabels, 'spec.selector.matchLabels'));
    const parsed = labelSelectorFromStruct(selector);
    if (!parsed || parsed.length === 0) errs.push(invalid('spec.selector', selector, 'empty selector is invalid for deployment'));
    else if (template && !matchesLabels(parsed, template.metadata?.labels)) {
      errs.push(invalid('spec.template.metadata.labels', template.metadata?.labels ?? {}, '`selector` does not match template `labels`'));
    }
  }
  if (!template || typeof template !== 'object') errs.push(required('spec.template'));
  else {
    errs.push(...validateLabels(template.metadata?.labels, 'spec.template.metadata.labels'));
    errs.push(...validatePodSpec(template.spec, 'spec.template.spec'));
    if (template.spec?.restartPolicy !== undefined && template.spec.restartPolicy !== 'Always') {
      errs.push(notSupported('spec.template.spec.restartPolicy', template.spec.restartPolicy, ['Always']));
    }
  }
}

function validateReplicas(n: unknown, errs: FieldError[]): void {
  if (n !== undefined && (typeof n !== 'number' || !Number.isInteger(n) || n < 0)) errs.push(invalid('spec.replicas', n, 'must be greater than or equal to 0'));
}

function validateIntOrPercent(v: unknown, path: string, errs: FieldError[]): void {
  if (v === undefined) return;
  if (typeof v === 'number') { if (!Number.isInteger(v) || v < 0) errs.push(invalid(path, v, 'must be greater than or equal to 0')); return; }
  if (typeof v === 'string' && /^\d+%$/.test(v)) { if (Number.parseInt(v, 10) > 100) errs.push(invalid(path, v, 'must not be greater than 100%')); return; }
  errs.push(invalid(path, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"));
}

export function validateDeployment(d: Deployment): FieldError[] {
  const errs = validateObjectMeta(d.metadata, true, 'dns1123-subdomain');
  if (!d.spec || typeof d.spec !== 'object') return [...errs, required('spec')];
  validateReplicas(d.spec.replicas, errs);
  validateSelectorAndTemplate(d.spec.selector, d.spec.template, errs);
  const st = d.spec.strategy;
  if (st?.type !== undefined && !['RollingUpdate', 'Recreate'].includes(st.type)) errs.push(notSupported('spec.strategy.type', st.type, ['Recreate', 'RollingUpdate']));
  if (st?.type === 'Recreate' && st.rollingUpdate) errs.push(forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
  validateIntOrPercent(st?.rollingUpdate?.maxSurge, 'spec.strategy.rollingUpdate.maxSurge', errs);
  validateIntOrPercent(st?.rollingUpdate?.maxUnavailable, 'spec.strategy.rollingUpdate.maxUnavailable', errs);
  const ms = st?.rollingUpdate?.maxSurge; const mu = st?.rollingUpdate?.maxUnavailable;
  if ((ms === 0 || ms === '0%') && (mu === 0 || mu === '0%')) errs.push(invalid('spec.strategy.rollingUpdate.maxUnavailable', mu, 'may not be 0 when `maxSurge` is 0'));
  return errs;
}

export function validateReplicaSet(rs: ReplicaSet): FieldError[] {
  const errs = validateObjectMeta(rs.metadata, true, 'dns1123-subdomain');
  if (!rs.spec || typeof rs.spec !== 'object') return [...errs, required('spec')];
  validateReplicas(rs.spec.replicas, errs);
  validateSelectorAndTemplate(rs.spec.selector, rs.spec.template, errs);
  return errs;
}

// ---------------------------------------------------------------- the rest

export function validateNamespace(ns: Namespace): FieldError[] {
  return validateObjectMeta(ns.metadata, false, 'dns1123-label');
}

export function validateNode(n: Node): FieldError[] {
  const errs = validateObjectMeta(n.metadata, false, 'dns1123-subdomain');
  if (n.spec?.podCIDR && !isValidCIDR(n.spec.podCIDR)) errs.push(invalid('spec.podCIDR', n.spec.podCIDR, 'must be a valid CIDR'));
  (n.spec?.podCIDRs ?? []).forEach((c, i) => { if (!isValidCIDR(c)) errs.push(invalid(`spec.podCIDRs[${i}]`, c, 'must be a valid CIDR')); });
  return errs;
}

export function validateEndpoints(ep: Endpoints): FieldError[] {
  const errs = validateObjectMeta(ep.metadata, true, 'dns1123-subdomain');
  (ep.subsets ?? []).forEach((s, i) => {
    [...(s.addresses ?? []).map((a) => ['addresses', a] as const), ...(s.notReadyAddresses ?? []).map((a) => ['notReadyAddresses', a] as const)].forEach(([kind, a], j) => {
      if (!a || !isValidIP(a.ip)) errs.push(invalid(`subsets[${i}].${kind}[${j}].ip`, a?.ip, 'must be a valid IP address'));
    });
    (s.ports ?? []).forEach((p, j) => validatePort(p.port, `subsets[${i}].ports[${j}].port`, errs));
  });
  return errs;
}

export function validateEndpointSlice(s: EndpointSlice): FieldError[] {
  const errs = validateObjectMeta(s.metadata, true, 'dns1123-subdomain');
  if (!['IPv4', 'IPv6', 'FQDN'].includes(s.addressType)) errs.push(notSupported('addressType', s.addressType, ['FQDN', 'IPv4', 'IPv6']));
  if (!Array.isArray(s.endpoints)) errs.push(required('endpoints'));
  else s.endpoints.forEach((e, i) => {
    if (!Array.isArray(e?.addresses) || e.addresses.length === 0) errs.push(required(`endpoints[${i}].addresses`));
    else e.addresses.forEach((a, j) => {
      if (s.addressType !== 'FQDN' && !isValidIP(a)) errs.push(invalid(`endpoints[${i}].addresses[${j}]`, a, 'must be a valid IP address'));
    });
  });
  (s.ports ?? []).forEach((p, j) => { if (p.port !== undefined && p.port !== null) validatePort(p.port, `ports[${j}].port`, errs); });
  return errs;
}

export function validateEvent(e: Event): FieldError[] {
  const errs = validateObjectMeta(e.metadata, true, 'dns1123-subdomain');
  if (!e.involvedObject || typeof e.involvedObject !== 'object') errs.push(required('involvedObject'));
  return errs;
}

/** Validate any served kind; unknown kinds only get metadata checks. */
export function validateObject(kind: string, obj: KubeObject, opts: ServiceValidationOptions = {}): FieldError[] {
  switch (kind) {
    case 'Pod': return validatePod(obj as unknown as Pod);
    case 'Service': return validateService(obj as unknown as Service, opts);
    case 'Deployment': return validateDeployment(obj as unknown as Deployment);
    case 'ReplicaSet': return validateReplicaSet(obj as unknown as ReplicaSet);
    case 'Namespace': return validateNamespace(obj as unknown as Namespace);
    case 'Node': return validateNode(obj as unknown as Node);
    case 'Endpoints': return validateEndpoints(obj as unknown as Endpoints);
    case 'EndpointSlice': return validateEndpointSlice(obj as unknown as EndpointSlice);
    case 'Event': return validateEvent(obj as unknown as Event);
    default: return validateObjectMeta(obj.metadata, true, 'dns1123-subdomain');
  }
}
