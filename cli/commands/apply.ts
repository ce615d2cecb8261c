/**
 * `netsim apply -f M...`: server-side apply of manifests, like
 * `kubectl apply --server-side --force-conflicts` — to a running `netsim up` when
 * --kubeconfig (the one `netsim up` wrote) or --server [--token] is given, else to a fresh cluster built from --spec, after which it
 * prints what the cluster did with them (pods and their addresses, services).
 */
import type { ClusterArgs } from '../load-cluster.ts';
import { loadCluster, loadManifestFiles } from '../load-cluster.ts';
import { CliError } from '../cli-error.ts';
import { resourcePath } from '../../control/api/index.ts';
import { resourceForKind } from '../../control/resources/index.ts';
import type { KubeObject } from '../../control/api/index.ts';
import { renderGet } from './get.ts';
import { manifestLabel } from '../../cluster/control-plane.ts';
import { manifestLocation } from '../../cluster/spec.ts';
import { remoteFailure, remoteJson, remoteRequest, resolveRemote } from '../remote.ts';
import type { RemoteArgs } from '../remote.ts';
import type { KubeconfigEntry } from '../up/kubeconfig.ts';

/**
 * Each manifest in turn, as batch apply does: one the server rejects (a 4xx Status other
 * than 401/403) is NETSIM_ERR_MANIFEST naming its file and line, and stops the run (the
 * ones before it stay applied); a refused token, a server error or an answer that is not
 * the API's is NETSIM_ERR_SERVER. All exit 2.
 */
async function applyRemote(remote: KubeconfigEntry, manifests: readonly Record<string, unknown>[], print: (s: string) => void): Promise<number> {
  for (const m of manifests) {
    const r = resourceForKind(String(m['apiVersion']), String(m['kind']));
    const meta = (m['metadata'] ?? {}) as { name?: string; namespace?: string };
    if (r === undefined) throw new CliError('NETSIM_ERR_MANIFEST', `${manifestLocation(m)}no matches for kind "${String(m['kind'])}" in version "${String(m['apiVersion'])}"`);
    const label = manifestLabel(r, meta.name ?? '');
    const path = `${resourcePath(r, r.namespaced ? meta.namespace ?? 'default' : undefined, meta.name)}?fieldManager=netsim&force=true`;
    const res = await remoteRequest(remote, 'PATCH', path, { 'content-type': 'application/apply-patch+yaml', accept: 'application/json' }, JSON.stringify(m));
    if (res.status >= 400 && res.status < 500 && res.status !== 401 && res.status !== 403) {
      let message = `HTTP ${res.status}`;
      try { message = (JSON.parse(res.body) as { message?: string }).message ?? message; } catch { /* not a Status: the HTTP code says enough */ }
      throw new CliError('NETSIM_ERR_MANIFEST', `${manifestLocation(m)}${label}: ${message}`);
    }
    if (res.status < 200 || res.status >= 300) throw remoteFailure(remote, res);
    remoteJson<unknown>(remote, res);
    print(`${label} ${res.status === 201 ? 'created' : 'serverside-applied'}\n`);
  }
  return 0;
}

export async function applyCommand(o: ClusterArgs & RemoteArgs, print: (s: string) => void): Promise<number> {
  const remote = resolveRemote(o);
  if (remote !== undefined) return applyRemote(remote, loadManifestFiles(o.file ?? []), print);
  const cluster = await loadCluster({ ...o, file: [] });
  const lines = await cluster.apply(loadManifestFiles(o.file ?? []));
  for (const l of lines) print(`${l}\n`);
  const now = cluster.control.registry.clock();
  print('\n' + renderGet('pods', await cluster.control.api.list<KubeObject>('pods'), now, { output: 'wide', allNamespaces: true, namespace: 'default' }));
  print('\n' + renderGet('services', await cluster.control.api.list<KubeObject>('services'), now, { output: 'table', allNamespaces: true, namespace: 'default' }));
  await cluster.close();
  return 0;
}
