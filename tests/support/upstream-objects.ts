/**
 * The object side of upstream kube-proxy's proxier tests, shared by the iptables and
 * IPVS case runners: cases read from tests/upstream/kube-proxy/*.yaml, Services and
 * EndpointSlices written as upstream's makeTestService/makeTestEndpointSlice build
 * them, and the add/update/delete calls a step makes on a proxier (OnServiceAdd,
 * OnServiceUpdate, OnEndpointSliceAdd, …).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { EndpointSlice, Service } from '../../control/api/service.ts';
import { endpointSliceInfoFromApi, serviceInfoFromApi } from '../../proxy/service-port.ts';
import type { Proxier } from '../../proxy/proxier.ts';

export interface SliceSpec {
  readonly ns: string;
  readonly svc: string;
  /** upstream makeTestEndpointSlice names slices "<svc>-<n>". */
  readonly n?: number;
  readonly addressType?: 'IPv4' | 'IPv6';
  readonly endpoints: EndpointSlice['endpoints'];
  readonly ports: NonNullable<EndpointSlice['ports']>;
}

/** The object changes of one step, before its sync. */
export interface ObjectStep {
  readonly services?: readonly Service[];
  readonly endpointSlices?: readonly SliceSpec[];
  /** "namespace/name" of Services to delete. */
  readonly deleteServices?: readonly string[];
  /** "namespace/sliceName" of EndpointSlices to delete. */
  readonly deleteEndpointSlices?: readonly string[];
}

export function toSlice(s: SliceSpec): EndpointSlice {
  return {
    metadata: { name: `${s.svc}-${s.n ?? 1}`, namespace: s.ns, labels: { 'kubernetes.io/service-name': s.svc } },
    addressType: s.addressType ?? 'IPv4',
    endpoints: s.endpoints,
    ports: s.ports,
  };
}

/** A data file of tests/upstream/kube-proxy/. */
export function loadUpstreamDoc<D>(file: string): D {
  return parse(readFileSync(new URL(`../upstream/kube-proxy/${file}`, import.meta.url), 'utf8')) as D;
}

export function loadUpstreamCases<C>(file: string): C[] {
  return loadUpstreamDoc<{ cases: C[] }>(file).cases;
}

/** A case's steps; Services and slices given at the case level belong to its first step. */
export function stepsOf<S extends ObjectStep>(c: S & { readonly steps?: readonly S[] }): S[] {
  if (c.steps === undefined) return [c];
  const steps = [...c.steps];
  const first = steps[0] as S;
  steps[0] = { ...first, services: [...(c.services ?? []), ...(first.services ?? [])], endpointSlices: [...(c.endpointSlices ?? []), ...(first.endpointSlices ?? [])] };
  return steps;
}

/** The Services and slices a proxier has been told about, so that later steps update and delete them. */
export class UpstreamObjects {
  private readonly services = new Map<string, Service>();
  private readonly slices = new Map<string, EndpointSlice>();

  constructor(private proxier: Pick<Proxier, 'onServiceUpdate' | 'onEndpointSliceUpdate'>) {}

  /** A restarted kube-proxy: a new proxier learns every object again, as its informers list them. */
  restart(proxier: Pick<Proxier, 'onServiceUpdate' | 'onEndpointSliceUpdate'>): void {
    this.proxier = proxier;
    for (const svc of this.services.values()) proxier.onServiceUpdate(undefined, serviceInfoFromApi(svc));
    for (const sl of this.slices.values()) {
      const info = endpointSliceInfoFromApi(sl);
      if (info !== undefined) proxier.onEndpointSliceUpdate(info, false);
    }
  }

  apply(s: ObjectStep, where: string): void {
    const p = this.proxier;
    for (const svc of s.services ?? []) {
      const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
      const old = this.services.get(key);
      p.onServiceUpdate(old !== undefined ? serviceInfoFromApi(old) : undefined, serviceInfoFromApi(svc));
      this.services.set(key, svc);
    }
    for (const key of s.deleteServices ?? []) {
      const old = this.services.get(key);
      assert.ok(old !== undefined, `${where}: no service ${key}`);
      p.onServiceUpdate(serviceInfoFromApi(old), undefined);
      this.services.delete(key);
    }
    for (const spec of s.endpointSlices ?? []) {
      const sl = toSlice(spec);
      this.slices.set(`${spec.ns}/${sl.metadata.name}`, sl);
      const info = endpointSliceInfoFromApi(sl);
      if (info !== undefined) p.onEndpointSliceUpdate(info, false);
    }
    for (const key of s.deleteEndpointSlices ?? []) {
      const sl = this.slices.get(key);
      assert.ok(sl !== undefined, `${where}: no slice ${key}`);
      const info = endpointSliceInfoFromApi(sl);
      if (info !== undefined) p.onEndpointSliceUpdate(info, true);
      this.slices.delete(key);
    }
  }
}
