/**
 * core/v1 Service (pkg/registry/core/service): defaults, validation (ValidateService),
 * ClusterIP and NodePort allocation at admission (service-alloc.ts, released when the
 * Service is deleted), field selectors and the printer's columns.
 */
import type { FieldError, Service } from '../api/index.ts';
import {
  duplicate, forbidden, invalid, isDns1123Label, isDns1123Subdomain, isValidCIDR, isValidIP, isValidPortName, mapToSelectorString, notSupported,
  required, validateLabels, validateObjectMeta,
} from '../api/index.ts';
import type { Admission, AdmissionContext, ServerConfig } from './strategy.ts';
import type { WatchHandle } from '../store/object-store.ts';
import { defineKind } from './strategy.ts';
import { ANY, MAP, fields, mergeTop, topLevel } from './schema.ts';
import { PROTOCOLS, validatePort } from './pod-template.ts';
import { age, AGE_COLUMN, NAME_COLUMN } from './table.ts';
import { allocateService, ServiceAllocations } from './service-alloc.ts';

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'] as const;

export function defaultService(svc: Service): Service {
  const spec = svc.spec;
  if (!spec || typeof spec !== 'object') return svc;
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.sessionAffinity === 'ClientIP') {
    spec.sessionAffinityConfig ??= {};
    if (spec.sessionAffinityConfig && typeof spec.sessionAffinityConfig === 'object') {
      spec.sessionAffinityConfig.clientIP ??= {};
      if (spec.sessionAffinityConfig.clientIP && typeof spec.sessionAffinityConfig.clientIP === 'object') spec.sessionAffinityConfig.clientIP.timeoutSeconds ??= 10800;
    }
  }
  if (spec.type !== 'ExternalName') {
    spec.internalTrafficPolicy ??= 'Cluster';
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
  }
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
  if (Array.isArray(spec.ports)) for (const p of spec.ports) {
    if (!p || typeof p !== 'object') continue;
    p.protocol ??= 'TCP';
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  svc.status ??= { loadBalancer: {} };
  return svc;
}

export function validateService(svc: Service, config?: ServerConfig): FieldError[] {
  const errs = validateObjectMeta(svc.metadata, true, 'dns1035-label');
  const spec = svc.spec;
  if (!spec || typeof spec !== 'object') return [...errs, required('spec')];
  const type = spec.type ?? 'ClusterIP';
  if (!SERVICE_TYPES.includes(type)) errs.push(notSupported('spec.type', type, SERVICE_TYPES));
  const range = config ? { base: config.nodePortBase, size: config.nodePortSize } : { base: 30000, size: 2768 };
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

/**
 * ClusterIP/NodePort admission. The ClusterIPs and nodePorts held by the stored Services
 * are loaded from one list on first use and kept current by a watch on the Services
 * prefix, so writes by anyone else on the store (another Registry, another apiserver on
 * etcd) show up too. If the watch fails or ends, the next admission lists again; if it
 * cannot be started, the index of that one list serves that one admission.
 */
class ServiceAdmission implements Admission<Service> {
  private held: ServiceAllocations | undefined;
  private loading: Promise<ServiceAllocations> | undefined;
  constructor(private readonly ctx: AdmissionContext) {}

  async admit(svc: Service, old: Service | undefined, dryRun: boolean): Promise<{ errors?: FieldError[]; release?: () => void }> {
    const held = await this.allocations();
    const key = this.ctx.key(svc.metadata.namespace, svc.metadata.name!);
    const errors = allocateService(svc, key, held, old);
    if (errors.length) return { errors };
    return dryRun ? {} : { release: held.reserve(key, svc) };
  }

  /** Apply a write this Registry made (its watch event may come later, or came first). */
  stored(key: string, svc: Service | undefined, revision: number): void {
    const held = this.held;
    if (held === undefined) return;
    if (svc === undefined) held.remove(key, revision);
    else held.put(key, svc, revision);
  }

  private allocations(): Promise<ServiceAllocations> {
    if (this.held !== undefined) return Promise.resolve(this.held);
    return (this.loading ??= this.load().finally(() => { this.loading = undefined; }));
  }

  private async load(): Promise<ServiceAllocations> {
    const { store, prefix, config } = this.ctx;
    const res = await store.list(prefix);
    const held = new ServiceAllocations(config);
    held.load(res.items.map((kv) => ({ key: kv.key, svc: JSON.parse(kv.value) as Service, rev: kv.modRevision })), res.revision);
    let live = true;
    const drop = (): void => {
      live = false;
      if (this.held === held) this.held = undefined;
    };
    let w: WatchHandle | undefined;
    try {
      w = store.watch(prefix, res.revision, (ev) => {
        if (!live) return;
        try {
          if (ev.type === 'DELETE') held.remove(ev.kv.key, ev.revision);
          else held.put(ev.kv.key, JSON.parse(ev.kv.value) as Service, ev.kv.modRevision);
          held.seen(ev.revision);
        } catch {
          drop();
          w?.cancel();
        }
      }, drop);
      if (live) this.held = held;
    } catch {
      // No watch (e.g. the list's revision is already compacted): not cached.
    }
    return held;
  }
}

function servicePorts(svc: Service): string {
  const ports = svc.spec.ports ?? [];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

function externalIP(svc: Service): string {
  const type = svc.spec.type ?? 'ClusterIP';
  const ext = svc.spec.externalIPs ?? [];
  const lb = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '').filter(Boolean);
  switch (type) {
    case 'ClusterIP': case 'NodePort': return ext.length ? ext.join(',') : '<none>';
    case 'LoadBalancer': { const all = [...lb, ...ext]; return all.length ? all.join(',') : '<pending>'; }
    case 'ExternalName': return svc.spec.externalName ?? '<none>';
  }
  return '<none>';
}

export const service = defineKind<Service>({
  info: { group: '', version: 'v1', resource: 'services', singular: 'service', kind: 'Service', listKind: 'ServiceList', namespaced: true, shortNames: ['svc'], categories: ['all'], subresources: ['status'], hasStatus: true },
  fields: topLevel({
    spec: fields('clusterIP clusterIPs type externalIPs sessionAffinity loadBalancerIP loadBalancerSourceRanges externalName externalTrafficPolicy healthCheckNodePort publishNotReadyAddresses sessionAffinityConfig ipFamilies ipFamilyPolicy allocateLoadBalancerNodePorts loadBalancerClass internalTrafficPolicy trafficDistribution', {
      selector: MAP,
      ports: [fields('name protocol appProtocol port targetPort nodePort')],
    }),
    status: ANY,
  }),
  merge: mergeTop({ spec: { fields: { ports: { mergeKey: 'port' } } } }),
  // Status (a load balancer's ingress) may be given on create, as the emulator's controllers do.
  prepareForCreate() {},
  defaults: defaultService,
  validate: validateService,
  admission: (ctx) => new ServiceAdmission(ctx),
  fieldSelectors: {
    'spec.clusterIP': (s) => s.spec?.clusterIP ?? '',
    'spec.type': (s) => s.spec?.type ?? '',
  },
  table: {
    columns: [NAME_COLUMN, ['Type', 'string', 0, 'type determines how the Service is exposed.'], ['Cluster-IP', 'string', 0, 'clusterIP is the IP address of the service and is usually assigned randomly.'],
      ['External-IP', 'string', 0, 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'], ['Port(s)', 'string', 0, 'The list of ports that are exposed by this service.'],
      AGE_COLUMN, ['Selector', 'string', 1, 'Route service traffic to pods with label keys and values matching this selector.']],
    cells: (svc, now) => [svc.metadata.name ?? '', svc.spec.type ?? 'ClusterIP', svc.spec.clusterIP || '<none>', externalIP(svc), servicePorts(svc), age(svc, now), mapToSelectorString(svc.spec.selector) || '<none>'],
  },
});
