/**
 * The cluster a command works on: `--spec FILE` (default: the built-in seed
 * scenario), `-f MANIFEST` files applied on top, `--seed N` overriding the spec's
 * seed. With the built-in scenario and `settle: 'traffic'`, the seed's five flows run
 * first, so node views show the neighbour, FDB and conntrack state traffic leaves.
 */
import { readFileSync } from 'node:fs';
import { Cluster } from '../cluster/cluster.ts';
import type { BuildClusterOptions } from '../cluster/cluster.ts';
import { loadClusterSpec, parseManifests, SpecError } from '../cluster/spec.ts';
import type { ClusterSpec } from '../cluster/spec.ts';
import { demoSpec, runFlows, seedFlowPlans } from '../cluster/demo-flows.ts';

export interface ClusterArgs {
  readonly spec?: string;
  readonly file?: readonly string[];
  readonly seed?: number;
}

export function loadManifestFiles(files: readonly string[]): Record<string, unknown>[] {
  return files.flatMap((f) => {
    let text: string;
    try {
      text = f === '-' ? readFileSync(0, 'utf8') : readFileSync(f, 'utf8');
    } catch (e) {
      throw new SpecError('NETSIM_SPEC_FILE', `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, f, '');
    }
    return parseManifests(text, f);
  });
}

export function specFor(a: ClusterArgs): ClusterSpec {
  const spec = a.spec !== undefined ? loadClusterSpec(a.spec) : demoSpec();
  return a.seed !== undefined ? { ...spec, seed: a.seed } : spec;
}

export async function loadCluster(a: ClusterArgs, opts: { settle?: 'traffic' | 'quiet' } & BuildClusterOptions = {}): Promise<Cluster> {
  const spec = specFor(a);
  const cluster = await Cluster.build(spec, { ...opts, manifests: [...(opts.manifests ?? []), ...loadManifestFiles(a.file ?? [])] });
  if (opts.settle === 'traffic' && a.spec === undefined) await runFlows(cluster, seedFlowPlans(cluster));
  return cluster;
}
