/**
 * The pod spec shared by Pods and every workload's template (Deployment, ReplicaSet and
 * the kinds to come): its defaults (core/v1 SetDefaults_PodSpec, SetDefaults_Container),
 * validation (ValidatePodSpec, ValidatePodTemplateSpec), known fields and merge keys,
 * and the Containers/Images/Selector cells of the workload tables.
 */
import type { Container, FieldError, LabelSelector, PodSpec, PodTemplateSpec } from '../api/index.ts';
import {
  duplicate, invalid, isDns1123Label, isDns1123Subdomain, isValidPortName, labelSelectorFromStruct, labelSelectorStructToString,
  matchesLabels, notSupported, required, validateLabels,
} from '../api/index.ts';
import type { FieldSchema, SmpSchema } from './schema.ts';
import { CONDITIONS_MERGE, MAP, META_FIELDS, META_MERGE, fields } from './schema.ts';

// ---------------------------------------------------------------- defaults

function defaultContainer(c: Container): void {
  if (c === null || typeof c !== 'object') return;
  if (c.imagePullPolicy === undefined && typeof c.image === 'string') {
    const tagged = /:[^/]+$/.test(c.image) && !c.image.endsWith(':latest');
    c.imagePullPolicy = tagged || c.image.includes('@') ? 'IfNotPresent' : 'Always';
  }
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  if (Array.isArray(c.ports)) for (const p of c.ports) if (p && typeof p === 'object') p.protocol ??= 'TCP';
}

export function defaultPodSpec(spec: PodSpec): PodSpec {
  if (!spec || typeof spec !== 'object') return spec;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  if (Array.isArray(spec.containers)) spec.containers.forEach(defaultContainer);
  if (Array.isArray(spec.initContainers)) spec.initContainers.forEach(defaultContainer);
  return spec;
}

/** Defaults of a workload's pod template (its metadata exists, its pod spec is defaulted). */
export function defaultTemplate(t: PodTemplateSpec | undefined): void {
  if (!t || typeof t !== 'object') return;
  t.metadata ??= {};
  if (t.spec) defaultPodSpec(t.spec);
}

// ---------------------------------------------------------------- validation

const PORT_RANGE_MSG = 'must be between 1 and 65535, inclusive';
export const PROTOCOLS = ['SCTP', 'TCP', 'UDP'] as const;

export function validatePort(n: unknown, path: string, errs: FieldError[]): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) errs.push(invalid(path, n, PORT_RANGE_MSG));
}

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
    (Array.isArray(c.ports) ? c.ports : []).forEach((cp, j) => {
      const pp = `${p}.ports[${j}]`;
      if (cp === null || typeof cp !== 'object') { errs.push(invalid(pp, cp, 'must be an object')); return; }
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

export function validatePodSpec(spec: PodSpec | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!spec || typeof spec !== 'object') return [required(path)];
  validateContainers(spec.containers, `${path}.containers`, errs);
  if (spec.restartPolicy !== undefined && !['Always', 'OnFailure', 'Never'].includes(spec.restartPolicy)) errs.push(notSupported(`${path}.restartPolicy`, spec.restartPolicy, ['Always', 'Never', 'OnFailure']));
  if (spec.nodeName !== undefined && spec.nodeName !== '') for (const m of isDns1123Subdomain(spec.nodeName)) errs.push(invalid(`${path}.nodeName`, spec.nodeName, m));
  errs.push(...validateLabels(spec.nodeSelector, `${path}.nodeSelector`));
  return errs;
}

/**
 * A workload's selector and template: the selector is required and non-empty, matches the
 * template's labels, and the template's restartPolicy is one of `restartPolicies`.
 */
export function validateSelectorAndTemplate(selector: LabelSelector | undefined, template: PodTemplateSpec | undefined, errs: FieldError[], restartPolicies: readonly string[] = ['Always']): void {
  if (!selector || typeof selector !== 'object') errs.push(required('spec.selector'));
  else {
    errs.push(...validateLabels(selector.matchLabels, 'spec.selector.matchLabels'));
    const parsed = labelSelectorFromStruct(selector);
    if (!parsed || parsed.length === 0) errs.push(invalid('spec.selector', selector, 'empty selector is invalid for deployment'));
    else if (template && typeof template === 'object' && !matchesLabels(parsed, template.metadata?.labels)) {
      errs.push(invalid('spec.template.metadata.labels', template.metadata?.labels ?? {}, '`selector` does not match template `labels`'));
    }
  }
  if (!template || typeof template !== 'object') errs.push(required('spec.template'));
  else {
    errs.push(...validateLabels(template.metadata?.labels, 'spec.template.metadata.labels'));
    errs.push(...validatePodSpec(template.spec, 'spec.template.spec'));
    if (template.spec?.restartPolicy !== undefined && !restartPolicies.includes(template.spec.restartPolicy)) {
      errs.push(notSupported('spec.template.spec.restartPolicy', template.spec.restartPolicy, restartPolicies));
    }
  }
}

/** The label selector of a workload may not change (apps/v1 ValidateDeploymentUpdate and friends). */
export function validateSelectorUnchanged(next: { spec?: { selector?: LabelSelector } }, old: { spec?: { selector?: LabelSelector } }): FieldError[] {
  const a = labelSelectorStructToString(old.spec?.selector);
  const b = labelSelectorStructToString(next.spec?.selector);
  return a === b ? [] : [invalid('spec.selector', next.spec?.selector, 'field is immutable')];
}

export function validateReplicas(n: unknown, errs: FieldError[], path = 'spec.replicas'): void {
  if (n !== undefined && (typeof n !== 'number' || !Number.isInteger(n) || n < 0)) errs.push(invalid(path, n, 'must be greater than or equal to 0'));
}

export function validateIntOrPercent(v: unknown, path: string, errs: FieldError[]): void {
  if (v === undefined) return;
  if (typeof v === 'number') { if (!Number.isInteger(v) || v < 0) errs.push(invalid(path, v, 'must be greater than or equal to 0')); return; }
  if (typeof v === 'string' && /^\d+%$/.test(v)) { if (Number.parseInt(v, 10) > 100) errs.push(invalid(path, v, 'must not be greater than 100%')); return; }
  errs.push(invalid(path, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"));
}

// ---------------------------------------------------------------- known fields

const CONTAINER_FIELDS = fields('name image command args workingDir envFrom resources resizePolicy restartPolicy volumeMounts volumeDevices livenessProbe readinessProbe startupProbe lifecycle terminationMessagePath terminationMessagePolicy imagePullPolicy securityContext stdin stdinOnce tty targetContainerName', {
  ports: [fields('name containerPort hostPort hostIP protocol')],
  env: [fields('name value valueFrom')],
});
export const POD_SPEC_FIELDS = fields('volumes ephemeralContainers restartPolicy terminationGracePeriodSeconds activeDeadlineSeconds dnsPolicy serviceAccountName serviceAccount automountServiceAccountToken nodeName hostNetwork hostPID hostIPC shareProcessNamespace securityContext imagePullSecrets hostname subdomain affinity schedulerName tolerations hostAliases priorityClassName priority dnsConfig readinessGates runtimeClassName enableServiceLinks preemptionPolicy overhead topologySpreadConstraints setHostnameAsFQDN os hostUsers schedulingGates resourceClaims resources', {
  nodeSelector: MAP,
  containers: [CONTAINER_FIELDS],
  initContainers: [CONTAINER_FIELDS],
});
export const SELECTOR_FIELDS: FieldSchema = fields('', { matchLabels: MAP, matchExpressions: [fields('key operator values')] });
export const TEMPLATE_FIELDS: FieldSchema = fields('', { metadata: META_FIELDS, spec: POD_SPEC_FIELDS });

// ---------------------------------------------------------------- merge keys

const CONTAINER_MERGE: SmpSchema = {
  fields: {
    ports: { mergeKey: 'containerPort' },
    env: { mergeKey: 'name' },
    volumeMounts: { mergeKey: 'mountPath' },
    volumeDevices: { mergeKey: 'devicePath' },
  },
};
export const POD_SPEC_MERGE: SmpSchema = {
  fields: {
    containers: { mergeKey: 'name', elem: CONTAINER_MERGE },
    initContainers: { mergeKey: 'name', elem: CONTAINER_MERGE },
    ephemeralContainers: { mergeKey: 'name', elem: CONTAINER_MERGE },
    volumes: { mergeKey: 'name', elem: { retainKeys: true } },
    imagePullSecrets: { mergeKey: 'name' },
    hostAliases: { mergeKey: 'ip' },
    topologySpreadConstraints: { mergeKey: 'topologyKey' },
  },
};
export const POD_TEMPLATE_MERGE: SmpSchema = { fields: { metadata: META_MERGE, spec: POD_SPEC_MERGE } };
export const WORKLOAD_STATUS_MERGE: SmpSchema = { fields: { conditions: CONDITIONS_MERGE } };

// ---------------------------------------------------------------- table cells

/** The Containers, Images and Selector cells of workload tables. */
export function templateCells(template: PodTemplateSpec | undefined, selector: LabelSelector | undefined): string[] {
  const cs = template?.spec?.containers ?? [];
  return [cs.map((c) => c.name).join(','), cs.map((c) => c.image ?? '').join(','), labelSelectorStructToString(selector) || '<none>'];
}
