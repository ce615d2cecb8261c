/**
 * Endpoints and EndpointSlice controllers: for every Service with a selector, the pods of
 * its namespace matching it that have a podIP. Named targetPorts resolve against each pod's
 * container ports (pods whose ports resolve differently land in different subsets/slices).
 *
 * Endpoints: ready pods in `addresses`, not-ready in `notReadyAddresses` (all in `addresses`
 * with `publishNotReadyAddresses`); terminating pods are left out.
 * EndpointSlices (`<svc>-<suffix>`, labels `kubernetes.io/service-name` and `managed-by`):
 * terminating pods are included with `terminating: true`, `serving` = pod readiness,
 * `ready` = serving && !terminating (or true with publishNotReadyAddresses).
 */
import type { EndpointAddress, EndpointPort, Endpoints, EndpointSlice, Endpoint, Pod, Service, EndpointSubset } from '../api/index.ts';
import { canonicalJson, isPodReady, resolveTargetPort, matchesLabels, labelSelectorFromStruct, fnv32a, safeEncode } from '../api/index.ts';
import type { ControlApi, Controller } from './types.ts';
import { isRace, rfc3339 } from './types.ts';
import { LabelIndex } from './indexes.ts';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY = 'endpointslice-controller.k8s.io';
const TRIGGER = 'endpoints.kubernetes.io/last-change-trigger-time';

/** Whether a Service selects a pod (the selector parsed once per Service, not once per pod). */
function selector(svc: Service): (pod: Pod) => boolean {
  const sel = labelSelectorFromStruct({ matchLabels: svc.spec.selector ?? {} })!;
  return (pod) => matchesLabels(sel, pod.metadata.labels);
}

/** The uids and resourceVersions of objects, in order: equal exactly when none of them changed, came or went. */
function revisions(objs: ReadonlyArray<{ metadata: { uid?: string; resourceVersion?: string } }>): string {
  let out = '';
  for (const o of objs) out += `${o.metadata.uid ?? ''}@${o.metadata.resourceVersion ?? ''},`;
  return out;
}

/** Resolved ports of a service for one pod (undefined entries dropped). */
function podPorts(svc: Service, pod: Pod): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of svc.spec.ports ?? []) {
    const port = resolveTargetPort(sp, pod.spec.containers ?? []);
    if (port === undefined) continue;
    const ep: EndpointPort = { port, protocol: sp.protocol ?? 'TCP' };
    if (sp.name) ep.name = sp.name;
    if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

function ipCompare(a: string, b: string): number {
  const n = (s: string): number => s.split('.').reduce((x, o) => x * 256 + (Number(o) || 0), 0);
  return n(a) - n(b) || a.localeCompare(b);
}

function targetRef(pod: Pod): NonNullable<EndpointAddress['targetRef']> {
  return { kind: 'Pod', namespace: pod.metadata.namespace!, name: pod.metadata.name!, uid: pod.metadata.uid! };
}

export function desiredSubsets(svc: Service, pods: readonly Pod[]): EndpointSubset[] {
  const groups = new Map<string, { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }>();
  const selects = selector(svc);
  for (const pod of pods) {
    if (pod.metadata.namespace !== svc.metadata.namespace || !pod.status?.podIP || pod.metadata.deletionTimestamp || !selects(pod)) continue;
    if (pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed') continue;
    const ports = podPorts(svc, pod);
    if ((svc.spec.ports ?? []).length > 0 && ports.length === 0) continue;
    const key = canonicalJson(ports);
    let g = groups.get(key);
    if (!g) { g = { ports, ready: [], notReady: [] }; groups.set(key, g); }
    const addr: EndpointAddress = { ip: pod.status.podIP, targetRef: targetRef(pod) };
    if (pod.spec.nodeName) addr.nodeName = pod.spec.nodeName;
    // endpoints controller: a hostname only for pods whose subdomain is this Service (a StatefulSet's headless Service).
    if (pod.spec.hostname && pod.spec.subdomain === svc.metadata.name) addr.hostname = pod.spec.hostname;
    (isPodReady(pod) || svc.spec.publishNotReadyAddresses ? g.ready : g.notReady).push(addr);
  }
  return [...groups.values()].sort((a, b) => canonicalJson(a.ports).localeCompare(canonicalJson(b.ports))).map((g) => {
    const s: EndpointSubset = {};
    if (g.ready.length) s.addresses = g.ready.sort((a, b) => ipCompare(a.ip, b.ip));
    if (g.notReady.length) s.notReadyAddresses = g.notReady.sort((a, b) => ipCompare(a.ip, b.ip));
    if (g.ports.length) s.ports = g.ports;
    return s;
  });
}

export class EndpointsController implements Controller {
  readonly name = 'endpoints';
  /** Per Service: the revisions of its inputs (Service, selected pods, Endpoints) at a pass that had nothing to write. */
  private settled = new Map<string, string>();
  constructor(private readonly api: ControlApi, private readonly clock: () => Date = () => new Date()) {}

  async sync(): Promise<number> {
    const settled = new Map<string, string>();
    const services = await this.api.list<Service>('services');
    const pods = await this.api.list<Pod>('pods');
    const existing = await this.api.list<Endpoints>('endpoints');
    // The pods a Service selects come from a label index: a scan of every pod per Service made a sync O(services × pods).
    const index = new LabelIndex(pods);
    // Indexed once per sync: a find per Service made a sync O(services²).
    const existingByKey = new Map(existing.map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]));
    let writes = 0;
    const wanted = new Set<string>();
    for (const svc of services) {
      if (!svc.spec.selector || Object.keys(svc.spec.selector).length === 0 || svc.spec.type === 'ExternalName') continue;
      const ns = svc.metadata.namespace!;
      const name = svc.metadata.name!;
      wanted.add(`${ns}/${name}`);
      const selected = index.select(ns, { matchLabels: svc.spec.selector });
      const cur = existingByKey.get(`${ns}/${name}`);
      // Per changed Service: unchanged inputs since a pass that found nothing to write leave nothing to write.
      const fp = revisions([svc, ...selected, ...(cur !== undefined ? [cur] : [])]);
      if (this.settled.get(`${ns}/${name}`) === fp) {
        settled.set(`${ns}/${name}`, fp);
        continue;
      }
      const before = writes;
      const subsets = desiredSubsets(svc, selected);
      const labels = { ...(svc.metadata.labels ?? {}) };
      if (svc.spec.clusterIP === 'None') labels['service.kubernetes.io/headless'] = '';
      try {
        if (!cur) {
          await this.api.create<Endpoints>('endpoints', ns, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: ns, labels, annotations: { [TRIGGER]: rfc3339(this.clock()) } }, ...(subsets.length ? { subsets } : {}) });
          writes++;
        } else if (canonicalJson(cur.subsets ?? []) !== canonicalJson(subsets) || canonicalJson(cur.metadata.labels ?? {}) !== canonicalJson(labels)) {
          const next: Endpoints = { ...cur, metadata: { ...cur.metadata, labels, annotations: { ...(cur.metadata.annotations ?? {}), [TRIGGER]: rfc3339(this.clock()) } } };
          if (subsets.length) next.subsets = subsets; else delete next.subsets;
          await this.api.update('endpoints', ns, name, next);
          writes++;
        }
        if (writes === before) settled.set(`${ns}/${name}`, fp);
      } catch (e) { if (!isRace(e)) throw e; }
    }
    this.settled = settled;
    // Endpoints this controller wrote for services that are gone.
    for (const e of existing) {
      if (wanted.has(`${e.metadata.namespace}/${e.metadata.name}`) || !e.metadata.annotations?.[TRIGGER]) continue;
      if (services.some((s) => s.metadata.namespace === e.metadata.namespace && s.metadata.name === e.metadata.name && s.spec.selector && Object.keys(s.spec.selector).length)) continue;
      try { await this.api.delete('endpoints', e.metadata.namespace, e.metadata.name!); writes++; } catch (err) { if (!isRace(err)) throw err; }
    }
    return writes;
  }
}

export function desiredSliceGroups(svc: Service, pods: readonly Pod[]): { ports: EndpointPort[]; endpoints: Endpoint[] }[] {
  const groups = new Map<string, { ports: EndpointPort[]; endpoints: Endpoint[] }>();
  const selects = selector(svc);
  for (const pod of pods) {
    if (pod.metadata.namespace !== svc.metadata.namespace || !pod.status?.podIP || !selects(pod)) continue;
    if (pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed') continue;
    const ports = podPorts(svc, pod);
    if ((svc.spec.ports ?? []).length > 0 && ports.length === 0) continue;
    const key = canonicalJson(ports);
    let g = groups.get(key);
    if (!g) { g = { ports, endpoints: [] }; groups.set(key, g); }
    const terminating = pod.metadata.deletionTimestamp !== undefined;
    const serving = isPodReady(pod);
    const ep: Endpoint = {
      addresses: [pod.status.podIP],
      conditions: { ready: svc.spec.publishNotReadyAddresses ? true : serving && !terminating, serving: svc.spec.publishNotReadyAddresses ? true : serving, terminating },
      targetRef: targetRef(pod),
    };
    if (pod.spec.nodeName) ep.nodeName = pod.spec.nodeName;
    if (pod.spec.hostname && pod.spec.subdomain === svc.metadata.name) ep.hostname = pod.spec.hostname;
    g.endpoints.push(ep);
  }
  const out = [...groups.values()].map((g) => ({ ports: g.ports, endpoints: g.endpoints.sort((a, b) => ipCompare(a.addresses[0]!, b.addresses[0]!)) }));
  return out.sort((a, b) => canonicalJson(a.ports).localeCompare(canonicalJson(b.ports)));
}

export class EndpointSliceController implements Controller {
  readonly name = 'endpointslice';
  /** Per Service: the revisions of its inputs (Service, selected pods, its slices) at a pass that had nothing to write. */
  private settled = new Map<string, string>();
  constructor(private readonly api: ControlApi) {}

  async sync(): Promise<number> {
    const settled = new Map<string, string>();
    const services = await this.api.list<Service>('services');
    const pods = await this.api.list<Pod>('pods');
    const slices = (await this.api.list<EndpointSlice>('endpointslices')).filter((s) => s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY);
    const index = new LabelIndex(pods);
    // The slices of each Service, grouped once per sync (a filter per Service made a sync O(services²)).
    const slicesByService = new Map<string, EndpointSlice[]>();
    for (const sl of slices) {
      const k = `${sl.metadata.namespace}/${sl.metadata.labels?.[SERVICE_NAME_LABEL] ?? ''}`;
      const list = slicesByService.get(k);
      if (list === undefined) slicesByService.set(k, [sl]);
      else list.push(sl);
    }
    let writes = 0;
    const keep = new Set<string>();
    for (const svc of services) {
      if (!svc.spec.selector || Object.keys(svc.spec.selector).length === 0 || svc.spec.type === 'ExternalName') continue;
      const ns = svc.metadata.namespace!;
      const name = svc.metadata.name!;
      const selected = index.select(ns, { matchLabels: svc.spec.selector });
      const theirs = slicesByService.get(`${ns}/${name}`) ?? [];
      const mine = theirs.filter((s) => s.metadata.ownerReferences?.some((o) => o.uid === svc.metadata.uid));
      // Per changed Service: a pass with nothing to write kept every slice of the Service; unchanged inputs keep them again.
      const fp = revisions([svc, ...selected, ...theirs]);
      if (this.settled.get(`${ns}/${name}`) === fp) {
        settled.set(`${ns}/${name}`, fp);
        for (const sl of theirs) keep.add(sl.metadata.uid!);
        continue;
      }
      const before = writes;
      let raced = false;
      const groups = desiredSliceGroups(svc, selected);
      if (groups.length === 0) groups.push({ ports: [], endpoints: [] });
      const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}), [SERVICE_NAME_LABEL]: name, [MANAGED_BY_LABEL]: MANAGED_BY };
      if (svc.spec.clusterIP === 'None') labels['service.kubernetes.io/headless'] = '';
      const unused = [...mine];
      for (const g of groups) {
        const portsKey = canonicalJson(g.ports);
        const idx = unused.findIndex((s) => canonicalJson(s.ports ?? []) === portsKey);
        const cur = idx >= 0 ? unused.splice(idx, 1)[0] : unused.shift();
        const body: EndpointSlice = {
          apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
          metadata: {
            ...(cur ? cur.metadata : { name: `${name}-${safeEncode(fnv32a(`${svc.metadata.uid}/${portsKey}`)).slice(0, 5)}`, namespace: ns }),
            labels,
            ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true }],
          },
          addressType: 'IPv4', endpoints: g.endpoints,
          ...(g.ports.length ? { ports: g.ports } : {}),
        };
        try {
          if (!cur) { const c = await this.api.create('endpointslices', ns, body); keep.add(c.metadata.uid!); writes++; }
          else {
            keep.add(cur.metadata.uid!);
            if (canonicalJson({ e: cur.endpoints, p: cur.ports ?? [], l: cur.metadata.labels }) !== canonicalJson({ e: body.endpoints, p: body.ports ?? [], l: labels })) {
              if (!body.ports) delete (body as { ports?: unknown }).ports;
              await this.api.update('endpointslices', ns, cur.metadata.name!, body);
              writes++;
            }
          }
        } catch (e) { if (!isRace(e)) throw e; raced = true; }
      }
      // Nothing written, and every slice of the Service kept (none left for deletion below).
      if (writes === before && !raced && theirs.every((sl) => keep.has(sl.metadata.uid!))) settled.set(`${ns}/${name}`, fp);
    }
    this.settled = settled;
    for (const s of slices) {
      if (keep.has(s.metadata.uid!)) continue;
      try { await this.api.delete('endpointslices', s.metadata.namespace, s.metadata.name!); writes++; } catch (e) { if (!isRace(e)) throw e; }
    }
    return writes;
  }
}
