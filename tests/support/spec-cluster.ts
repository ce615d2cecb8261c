/**
 * Helpers for scenario tests of clusters built from a spec: the seed spec with its
 * backend, runtime, proxy mode, seed or manifests swapped (through the spec parser,
 * so defaults such as the VXLAN port are the parser's), and small traffic helpers
 * that run on the cluster's virtual clock.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseClusterSpec } from '../../cluster/spec.ts';
import type { ClusterSpec, FlannelBackendType, ProxyMode, RuntimeKind } from '../../cluster/spec.ts';
import { DEMO_SPEC_PATH } from '../../cluster/demo-flows.ts';
import type { Cluster } from '../../cluster/cluster.ts';
import { httpGet } from '../../netsim/apps/http.ts';
import type { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import type { Ipv4Addr } from '../../netsim/wire/addr.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';

export interface SpecVariant {
  readonly backend?: FlannelBackendType;
  readonly runtime?: RuntimeKind;
  readonly mode?: ProxyMode;
  readonly seed?: number;
  /** Replaces the seed's manifests (YAML text, indented by the helper). */
  readonly manifests?: string;
  /** Extra lines for the `network:` section (e.g. `  loadBalancerPool: [...]`). */
  readonly networkExtra?: string;
  /** Extra lines for the `proxy:` section (e.g. `  syncPeriod: 1s`). */
  readonly proxyExtra?: string;
}

function replaceOnce(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `seed spec has no "${from}"`);
  return text.replace(from, to);
}

/** The seed spec's text with the variant applied. */
export function seedSpecText(v: SpecVariant = {}): string {
  let t = readFileSync(DEMO_SPEC_PATH, 'utf8');
  if (v.backend !== undefined) t = replaceOnce(t, 'backend: udp', `backend: ${v.backend}`);
  if (v.runtime !== undefined) t = replaceOnce(t, 'runtime: docker', `runtime: ${v.runtime}`);
  if (v.mode !== undefined) t = replaceOnce(t, '  mode: iptables', `  mode: ${v.mode}`);
  if (v.proxyExtra !== undefined) t = replaceOnce(t, '  mode: ', `${v.proxyExtra.replace(/\n?$/, '\n')}  mode: `);
  if (v.seed !== undefined) t = replaceOnce(t, '\nseed: 1\n', `\nseed: ${v.seed}\n`);
  if (v.networkExtra !== undefined) t = replaceOnce(t, '  mtu: 1500\n', `  mtu: 1500\n${v.networkExtra.replace(/\n?$/, '\n')}`);
  if (v.manifests !== undefined) {
    const i = t.indexOf('manifests: |\n');
    assert.ok(i >= 0);
    t = `${t.slice(0, i)}manifests: |\n${v.manifests.split('\n').map((l) => (l === '' ? '' : `  ${l}`)).join('\n')}\n`;
  }
  return t;
}

export function seedSpec(v: SpecVariant = {}): ClusterSpec {
  return parseClusterSpec(seedSpecText(v), 'seed-variant.yaml');
}

/** One HTTP GET on a fresh connection; the answering pod's name ('' when the page has none), or `failed: …`. */
export async function fetchFrom(cluster: Cluster, from: NetNamespace, dst: Ipv4Addr, port: number, windowNs = 2 * SECOND): Promise<string> {
  const s = httpGet(from, dst, port);
  await cluster.runFor(windowNs);
  const r = s.results[0];
  if (r === undefined || r.status !== 200) return `failed: ${r !== undefined ? `HTTP ${r.status}` : `${s.error ?? 'no response'} ${s.errorDetail}`.trim()}`;
  return /from (\S+)$/.exec(r.body.trim())?.[1] ?? '';
}
