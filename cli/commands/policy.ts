/**
 * `netsim policy matrix`: the pods × pods reachability matrix per port and protocol,
 * every cell probed through the datapath and compared with what the NetworkPolicy
 * semantics allow (cluster/policy-matrix/). Exit 0 when every measured cell agrees, 1
 * when one disagrees, 2 for bad input. On a fresh cluster (`--spec`, `-f`) each of the
 * `--namespaces` that no manifest fills with pods gets upstream's model pods a, b and c;
 * with `--server`/`--kubeconfig` the probes cross a running `netsim up`
 * (`POST /netsim/v1/policy-matrix`, cli/up/live-routes.ts) and its own pods are used.
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { Cluster } from '../../cluster/cluster.ts';
import { createsPods, matrixFromJson, matrixJson, matrixText, modelManifests, MODEL_NAMESPACES, runPolicyMatrix } from '../../cluster/policy-matrix/index.ts';
import type { MatrixJson, MatrixOptions, MatrixResult } from '../../cluster/policy-matrix/index.ts';
import type { Protocol } from '../../control/api/index.ts';
import type { NetworkPolicyEnforcer } from '../../cluster/spec.ts';
import { SECOND } from '../../netsim/time/scheduler.ts';
import { loadManifestFiles, specFor } from '../load-cluster.ts';
import type { ClusterArgs } from '../load-cluster.ts';
import { CliError } from '../cli-error.ts';
import { remoteFailure, remoteJson, remoteRequest, resolveRemote } from '../remote.ts';
import type { RemoteArgs } from '../remote.ts';
import type { KubeconfigEntry } from '../up/kubeconfig.ts';

/** Where a running `netsim up` runs the matrix. */
export const POLICY_MATRIX_PATH = '/netsim/v1/policy-matrix';

/** Namespaces that exist in every cluster: never filled with model pods. */
const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'kube-flannel'];

/** After the cluster settled: time for the policy enforcer's sync before the first probe (virtual). */
const POLICY_SETTLE_NS = 2 * SECOND;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** `--namespaces a,b,c`: DNS labels, no repeats. */
export function parseNamespaces(v: string): string[] {
  const list = v.split(',').map((s) => s.trim());
  for (const n of list) if (!DNS_LABEL.test(n)) throw new InvalidArgumentError(`--namespaces: "${n}" is not a namespace name (a DNS label: lower-case letters, digits and '-')`);
  if (new Set(list).size !== list.length) throw new InvalidArgumentError('--namespaces names a namespace twice');
  return list;
}

/** `--ports 80,81`: ports 1–65535, no repeats. */
export function parsePorts(v: string): number[] {
  const list = v.split(',').map((s) => s.trim());
  const out = list.map((s) => {
    if (!/^\d{1,5}$/.test(s) || Number(s) < 1 || Number(s) > 65535) throw new InvalidArgumentError(`--ports: "${s}" is not a port between 1 and 65535`);
    return Number(s);
  });
  if (new Set(out).size !== out.length) throw new InvalidArgumentError('--ports names a port twice');
  return out;
}

/** `--protocols tcp,udp,sctp` (any case): the NetworkPolicy protocols. */
export function parseProtocols(v: string): Protocol[] {
  const out = v.split(',').map((s) => {
    const p = s.trim().toUpperCase();
    if (p !== 'TCP' && p !== 'UDP' && p !== 'SCTP') throw new InvalidArgumentError(`--protocols: "${s.trim()}" is not tcp, udp or sctp (the protocols a NetworkPolicy names)`);
    return p as Protocol;
  });
  if (new Set(out).size !== out.length) throw new InvalidArgumentError('--protocols names a protocol twice');
  return out;
}

export interface PolicyMatrixArgs {
  /** Fresh cluster only: the enforcer to run, overriding the spec's `networkPolicy.enforcer`. */
  readonly enforcer?: NetworkPolicyEnforcer;
  readonly namespaces: readonly string[];
  readonly ports: readonly number[];
  readonly protocols: readonly Protocol[];
  readonly output: 'text' | 'json';
}

function report(r: MatrixResult, output: 'text' | 'json', print: (s: string) => void): number {
  print(output === 'json' ? JSON.stringify(matrixJson(r), null, 2) + '\n' : matrixText(r));
  return r.disagreements === 0 ? 0 : 1;
}

function noPods(namespaces: readonly string[]): CliError {
  return new CliError('NETSIM_ERR_NAMESPACE', `no running pods in namespace${namespaces.length === 1 ? '' : 's'} ${namespaces.join(', ')}`);
}

/** The matrix on a fresh cluster: the spec, the model pods where no manifest brings pods, then the -f manifests. */
export async function policyMatrixCommand(c: ClusterArgs, o: PolicyMatrixArgs, print: (s: string) => void): Promise<number> {
  const base = specFor(c);
  const spec = o.enforcer !== undefined ? { ...base, networkPolicy: { ...base.networkPolicy, enforcer: o.enforcer } } : base;
  const manifests = loadManifestFiles(c.file ?? []);
  const empty = o.namespaces.filter((ns) => !SYSTEM_NAMESPACES.includes(ns) && !createsPods([...spec.manifests, ...manifests], ns));
  const cluster = await Cluster.build(spec, { manifests: [...modelManifests(empty), ...manifests] });
  try {
    await cluster.runFor(POLICY_SETTLE_NS);
    const r = await runPolicyMatrix(cluster, { namespaces: o.namespaces, ports: o.ports, protocols: o.protocols });
    if (r.pods.length === 0) throw noPods(o.namespaces);
    // Flannel alone enforces nothing: say so rather than leave every X of the expectation unexplained.
    if (spec.networkPolicy.enforcer === 'none' && o.output === 'text') print('note: this cluster runs no NetworkPolicy enforcer (spec networkPolicy.enforcer: none; flannel alone enforces nothing); --enforcer kube-router runs kube-router\'s, as k3s does\n\n');
    return report(r, o.output, print);
  } finally {
    await cluster.close();
  }
}

/** The matrix of a running `netsim up`. */
export async function policyMatrixRemoteCommand(remote: KubeconfigEntry, o: PolicyMatrixArgs, print: (s: string) => void): Promise<number> {
  const body: MatrixOptions = { namespaces: o.namespaces, ports: o.ports, protocols: o.protocols };
  const res = await remoteRequest(remote, 'POST', POLICY_MATRIX_PATH, { 'content-type': 'application/json', accept: 'application/json' }, JSON.stringify(body));
  if (res.status !== 200) throw remoteFailure(remote, res);
  return report(matrixFromJson(remoteJson<MatrixJson>(remote, res), o.ports, o.protocols), o.output, print);
}

interface PolicyCliOptions extends RemoteArgs {
  spec?: string;
  filename?: string[];
  seed?: number;
  namespaces: string[];
  ports: number[];
  protocols: Protocol[];
  output: 'text' | 'json';
  enforcer?: NetworkPolicyEnforcer;
}

/**
 * Register `netsim policy …`. `withCluster`/`withRemote` add the shared --spec/-f/--seed
 * and --kubeconfig/--server/--token options; `clusterArgs`/`remoteArgs` read them back.
 */
export function registerPolicyCommands(program: Command, print: (s: string) => void, shared: {
  withCluster: (c: Command) => Command; withRemote: (c: Command) => Command;
  clusterArgs: (o: { spec?: string; filename?: string[]; seed?: number }) => ClusterArgs; remoteArgs: (o: RemoteArgs) => RemoteArgs;
}): void {
  const policy = program.command('policy').description('NetworkPolicy tools: the reachability matrix');
  shared.withRemote(shared.withCluster(policy
    .command('matrix')
    .description('probe every pod → pod cell per port and protocol through the datapath and compare with what the NetworkPolicies allow (upstream e2e truth-table layout)')))
    .option('--namespaces <a,b,c>', 'namespaces whose pods form the matrix (default x,y,z: upstream\'s model pods a, b, c are added where no manifest brings pods)', parseNamespaces, [...MODEL_NAMESPACES])
    .option('--ports <80,81>', 'destination ports', parsePorts, [80, 81])
    .option('--protocols <tcp,udp>', 'tcp, udp, sctp (sctp is not measured: the emulated stack has no SCTP)', parseProtocols, ['TCP', 'UDP'] as Protocol[])
    .addOption(new Option('--enforcer <name>', 'fresh cluster: the NetworkPolicy enforcer to run (default: the spec\'s networkPolicy.enforcer)').choices(['none', 'kube-router']))
    .addOption(new Option('-o, --output <format>', 'text (truth tables) or json ({cells, disagreements})').choices(['text', 'json']).default('text'))
    .action(async (o: PolicyCliOptions) => {
      const args: PolicyMatrixArgs = { namespaces: o.namespaces, ports: o.ports, protocols: o.protocols, output: o.output, ...(o.enforcer !== undefined ? { enforcer: o.enforcer } : {}) };
      const remote = resolveRemote(shared.remoteArgs(o));
      if (remote !== undefined) {
        if (o.spec !== undefined || (o.filename ?? []).length > 0 || o.enforcer !== undefined) throw new CliError('NETSIM_ERR_USAGE', '--spec, -f and --enforcer build a fresh cluster; with --server the matrix runs on the live cluster (apply policies there with kubectl or netsim apply)');
        process.exitCode = await policyMatrixRemoteCommand(remote, args, print);
        return;
      }
      process.exitCode = await policyMatrixCommand(shared.clusterArgs(o), args, print);
    });
}
