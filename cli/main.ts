/**
 * The `netsim` command line. Each command lives in cli/commands/; this file only
 * parses arguments (commander) and maps failures to exit codes and NETSIM_* errors:
 * 0 success, 1 the network said no (a drop, a failed flow), 2 bad input.
 */
import { Command, CommanderError, Option } from 'commander';
import { runDemo } from './commands/demo.ts';
import { traceCommand, traceRemoteCommand } from './commands/trace.ts';
import { nodeCommand, nodeRemoteCommand, NODE_VIEWS } from './commands/node.ts';
import { captureCommand, captureRemoteCommand, parseDuration } from './commands/capture.ts';
import { registerVerifyCommands } from './commands/verify.ts';
import { getRemoteCommand, renderGet, resolveResource } from './commands/get.ts';
import { upCommand } from './commands/up.ts';
import { LOG_LEVELS } from './up/log.ts';
import type { LogLevel } from './up/log.ts';
import { etcdEndpointsArg } from './up/etcd-endpoints.ts';
import type { StoreKind } from '../control/store/index.ts';
import { applyCommand } from './commands/apply.ts';
import { CliError } from './cli-error.ts';
import { observeCommand } from './commands/observe.ts';
import { portForwardCommand } from './commands/port-forward.ts';
import { resolveRemote } from './remote.ts';
import type { RemoteArgs } from './remote.ts';
import { isEmptyFilter, parseTraceFilter } from './trace-filter.ts';
import { loadCluster } from './load-cluster.ts';
import { checkOutputFile } from './output-file.ts';
import type { ClusterArgs } from './load-cluster.ts';
import { CodedError } from '../netsim/errors.ts';
import { collect, durationMsArg, intInRange, portArg, positiveArg, seedArg } from './args.ts';
import type { KubeObject } from '../control/api/index.ts';
import { registerExperimentCommand } from './commands/experiment.ts';
import { registerPolicyCommands } from './commands/policy.ts';
import { registerRunCommand } from './commands/run.ts';

/** --spec, -f (repeatable) and --seed: how every command that needs a cluster builds it. */
function withCluster(cmd: Command): Command {
  return cmd
    .option('--spec <file>', 'cluster spec (YAML); default: the built-in seed scenario')
    .option('-f, --filename <manifest>', 'Kubernetes manifest applied on top (repeatable; - for stdin)', collect)
    .option('--seed <n>', 'seed of the run (default: the spec\'s)', seedArg());
}

function clusterArgs(o: { spec?: string; filename?: string[]; seed?: number }): ClusterArgs {
  return { ...(o.spec !== undefined ? { spec: o.spec } : {}), ...(o.filename !== undefined ? { file: o.filename } : {}), ...(o.seed !== undefined ? { seed: o.seed } : {}) };
}

interface UpCliOptions {
  listen: string; state: string; kubeconfig?: string; anonymous?: boolean; tls?: boolean; tlsCert?: string; tlsKey?: string;
  store?: StoreKind; etcdEndpoints?: string; etcdPrefix?: string; logLevel: LogLevel; flowBuffer?: number; dnsListen?: string; spec?: string; filename?: string[]; seed?: number;
  partition?: string; underlayListen?: string; underlayPeer?: string[]; underlayKeyFile?: string; nodeStatusUpdateFrequency?: number; nodeMonitorGracePeriod?: number;
}

/** --kubeconfig, --server and --token: a command that also runs against a live `netsim up`. */
function withRemote(cmd: Command): Command {
  return cmd
    .option('--kubeconfig <file>', 'run against a running `netsim up` (the kubeconfig it wrote): its server, token and CA')
    .option('--server <url>', 'run against a running `netsim up` at this URL, e.g. https://127.0.0.1:6443')
    .option('--token <token>', 'bearer token for --server (default: $NETSIM_TOKEN)');
}

function remoteArgs(o: RemoteArgs): RemoteArgs {
  const token = o.token ?? process.env.NETSIM_TOKEN;
  return { ...(o.server !== undefined ? { server: o.server } : {}), ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}), ...(token !== undefined ? { token } : {}) };
}

const protoOption = (): Option => new Option('--proto <proto>', 'icmp, udp or tcp (default: a Service target\'s port protocol, else icmp)').choices(['icmp', 'udp', 'tcp']);

export function buildProgram(print: (s: string) => void): Command {
  const program = new Command('netsim')
    .description('Packet-level emulator of Kubernetes cluster networking')
    .version('0.1.0')
    // Usage errors become one coded line and exit 2 (reportError), not commander's exit 1 and the whole help.
    .exitOverride()
    .configureOutput({ outputError: () => undefined });
  program
    .command('demo')
    .description('run the seed scenario: two nodes, flannel UDP, docker0, kube-proxy; five flows traced hop by hop and captured')
    .option('--out <dir>', 'directory for traces and captures', './netsim-out')
    .option('--seed <n>', 'seed of the run', seedArg())
    .option('-q, --quiet', 'print outcomes only, not every hop')
    .action(async (o: { out: string; seed?: number; quiet?: boolean }) => {
      process.exitCode = await runDemo({ out: o.out, ...(o.seed !== undefined ? { seed: o.seed } : {}), ...(o.quiet === true ? { quiet: true } : {}) }, print);
    });
  withCluster(program
    .command('up')
    .description('run the cluster in real time and serve the Kubernetes API (kubectl, watch, WebSocket) until SIGINT/SIGTERM'))
    .option('--listen <host:port>', 'address of the API server (port 0 picks a free one)', '127.0.0.1:6443')
    .option('--state <dir>', 'private directory (0700) of the store, kubeconfig and token', './.netsim')
    .option('--kubeconfig <file>', 'where to write the kubeconfig (default STATE/kubeconfig)')
    .option('--flow-buffer <n>', 'flows kept for `netsim observe` (a ring; default 262144)', positiveArg('--flow-buffer'))
    .option('--dns-listen <host:port>', 'also bridge real DNS queries (UDP and TCP, e.g. from dig) to the kube-dns Service')
    .option('--anonymous', 'no bearer token: every request is allowed (loopback only; for tests)')
    .option('--no-tls', 'serve plain HTTP (loopback only; kubectl sends no token over it, so pair with --anonymous for kubectl)')
    .option('--tls-cert <file>', 'PEM certificate (chain) to serve (default: a self-signed CA and certificate made at start)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .addOption(new Option('--store <kind>', 'where objects live: file (in STATE/store), etcd or memory').choices(['file', 'etcd', 'memory']))
    .option('--etcd-endpoints <urls>', 'etcd client URLs, comma-separated, e.g. http://127.0.0.1:2379 (implies --store etcd; the first is dialled)', etcdEndpointsArg)
    .option('--etcd-prefix <prefix>', 'key prefix of this cluster in etcd')
    .option('--partition <i/n>', 'run only partition I of N of the spec\'s nodes (contiguous blocks), sharing the cluster through etcd with the others; 0 runs the controllers')
    .option('--underlay-listen <host:port>', 'UDP address where the other partitions send this one\'s underlay frames')
    .option('--underlay-peer <j=host:port>', 'the UDP address of partition J (repeat for every other partition)', collect)
    .option('--underlay-key-file <file>', 'HMAC-SHA256 key (mode 0600, at least 16 bytes) that every partition shares; frames without a valid tag are dropped')
    .option('--node-status-update-frequency <duration>', 'with --partition: how often each node posts its status (kubelet\'s flag; default 10s)', durationMsArg('--node-status-update-frequency'))
    .option('--node-monitor-grace-period <duration>', 'with --partition: how long a node may stay silent before it is NotReady (kube-controller-manager\'s flag; default 50s)', durationMsArg('--node-monitor-grace-period'))
    .addOption(new Option('--log-level <level>', 'what to log on stderr').choices([...LOG_LEVELS]).default('info'))
    .action(async (o: UpCliOptions) => {
      process.exitCode = await upCommand({
        ...clusterArgs(o), listen: o.listen, state: o.state, logLevel: o.logLevel, ...(o.flowBuffer !== undefined ? { flowBuffer: o.flowBuffer } : {}),
        ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}), ...(o.anonymous === true ? { anonymous: true } : {}),
        ...(o.tls !== undefined ? { tls: o.tls } : {}), ...(o.tlsCert !== undefined ? { tlsCert: o.tlsCert } : {}), ...(o.tlsKey !== undefined ? { tlsKey: o.tlsKey } : {}),
        ...(o.store !== undefined ? { store: o.store } : {}), ...(o.etcdEndpoints !== undefined ? { etcdEndpoints: o.etcdEndpoints } : {}), ...(o.etcdPrefix !== undefined ? { etcdPrefix: o.etcdPrefix } : {}),
        ...(o.dnsListen !== undefined ? { dnsListen: o.dnsListen } : {}),
        ...(o.partition !== undefined ? { partition: o.partition } : {}), ...(o.underlayListen !== undefined ? { underlayListen: o.underlayListen } : {}),
        ...(o.underlayPeer !== undefined ? { underlayPeer: o.underlayPeer } : {}), ...(o.underlayKeyFile !== undefined ? { underlayKeyFile: o.underlayKeyFile } : {}),
        ...(o.nodeStatusUpdateFrequency !== undefined ? { nodeStatusUpdateMs: o.nodeStatusUpdateFrequency } : {}), ...(o.nodeMonitorGracePeriod !== undefined ? { nodeMonitorGraceMs: o.nodeMonitorGracePeriod } : {}),
      }, print);
    });
  program
    .command('observe')
    .description('print the flows of a running `netsim up` as hubble observe does: one line per packet verdict, filtered on the server')
    .option('--kubeconfig <file>', 'kubeconfig of a running `netsim up` (it prints `export KUBECONFIG=…`): its server, token and CA')
    .option('--server <url>', 'the API server of `netsim up`, e.g. https://127.0.0.1:6443')
    .option('--token <token>', 'bearer token (default: $NETSIM_TOKEN)')
    .option('-f, --follow', 'keep streaming new flows until Ctrl-C')
    .option('--last <n>', 'start with the last N matching flows (default 20, or 0 with --follow)', intInRange('--last', 0, Number.MAX_SAFE_INTEGER))
    .option('--since <time>', 'only flows since a duration ago (30s, 5m) or an RFC 3339 time')
    .option('--from-pod <ns/name>', 'flows from this pod')
    .option('--to-pod <ns/name>', 'flows to this pod')
    .option('--pod <ns/name>', 'flows from or to this pod')
    .option('--to-service <ns/name>', 'flows sent to this Service (ClusterIP, NodePort)')
    .option('--node <name>', 'flows whose verdict happened on this node')
    .option('--verdict <v>', 'FORWARDED, DROPPED or REJECTED')
    .option('--protocol <p>', 'TCP, UDP or ICMP')
    .option('--port <n>', 'source or destination port')
    .option('--label <k=v>', 'source or destination pod label (repeatable: all must match)', collect)
    .option('--hops', 'one record per hop as well')
    .addOption(new Option('-o, --output <format>', 'compact, json or table').choices(['compact', 'json', 'table']).default('compact'))
    .action(async (o: { server?: string; kubeconfig?: string; token?: string; follow?: boolean; last?: number; since?: string; fromPod?: string; toPod?: string; pod?: string; toService?: string; node?: string; verdict?: string; protocol?: string; port?: string; label?: string[]; hops?: boolean; output: 'compact' | 'json' | 'table' }) => {
      const token = o.token ?? process.env.NETSIM_TOKEN;
      const abort = new AbortController();
      const stop = (): void => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const colour = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
      process.exitCode = await observeCommand({ ...o, ...(token !== undefined ? { token } : {}), colour, signal: abort.signal }, print);
    });
  program
    .command('port-forward')
    .description('forward local ports on 127.0.0.1 to a pod of a running `netsim up`, as kubectl port-forward does')
    .argument('<pod>', 'NAME or NAMESPACE/NAME of the pod')
    .argument('<ports...>', '[LOCAL:]REMOTE, e.g. 8080:80 (LOCAL empty or 0 picks a free port)')
    .option('--kubeconfig <file>', 'kubeconfig of a running `netsim up` (default: $KUBECONFIG): its server, token and CA')
    .option('--server <url>', 'the API server of `netsim up`, e.g. https://127.0.0.1:6443')
    .option('--token <token>', 'bearer token (default: the kubeconfig\'s, or $NETSIM_TOKEN)')
    .action(async (pod: string, ports: string[], o: { server?: string; token?: string; kubeconfig?: string }) => {
      const token = o.token ?? process.env.NETSIM_TOKEN;
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      process.once('SIGTERM', () => abort.abort());
      process.exitCode = await portForwardCommand({ ...o, pod, ports, signal: abort.signal, ...(token !== undefined ? { token } : {}) }, print);
    });
  withCluster(program
    .command('apply')
    .description('apply manifests: to a running `netsim up` with --server, else to a fresh cluster from --spec (prints what the cluster did)'))
    .option('--kubeconfig <file>', 'kubeconfig of a running `netsim up` (it prints `export KUBECONFIG=…`): its server, token and CA')
    .option('--server <url>', 'API server of a running `netsim up`, e.g. https://127.0.0.1:6443')
    .option('--token <token>', 'bearer token for --server')
    .action(async (o: { server?: string; token?: string; kubeconfig?: string; spec?: string; filename?: string[]; seed?: number }) => {
      if ((o.filename ?? []).length === 0) throw new CliError('NETSIM_ERR_MANIFEST', 'apply needs at least one -f MANIFEST');
      process.exitCode = await applyCommand({ ...clusterArgs(o), ...(o.server !== undefined ? { server: o.server } : {}), ...(o.token !== undefined ? { token: o.token } : {}), ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}) }, print);
    });
  withRemote(withCluster(program
    .command('get')
    .description('list nodes, pods, services, endpoints, endpointslices, deployments or replicasets as kubectl prints them')
    .argument('<resource>', 'nodes | pods | services | endpoints | endpointslices | deployments | replicasets (kubectl short names work)')
    .argument('[name]', 'only this object')))
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-A, --all-namespaces', 'objects of every namespace')
    .addOption(new Option('-o, --output <format>', 'table, wide, json or yaml').choices(['table', 'wide', 'json', 'yaml']).default('table'))
    .action(async (resource: string, name: string | undefined, o: RemoteArgs & { namespace: string; allNamespaces?: boolean; output: 'table' | 'wide' | 'json' | 'yaml'; spec?: string; filename?: string[]; seed?: number }) => {
      const plural = resolveResource(resource);
      const opts = { output: o.output, allNamespaces: o.allNamespaces === true, namespace: o.namespace, ...(name !== undefined ? { name } : {}) };
      const remote = resolveRemote(remoteArgs(o));
      if (remote !== undefined) {
        process.exitCode = await getRemoteCommand(remote, plural, opts, print);
        return;
      }
      const cluster = await loadCluster(clusterArgs(o));
      const items = await cluster.control.api.list<KubeObject>(plural);
      try {
        print(renderGet(plural, items, cluster.control.registry.clock(), opts));
      } finally {
        await cluster.close();
      }
    });
  withRemote(withCluster(program
    .command('trace')
    .description('trace one packet and its reply hop by hop')
    .requiredOption('--from <endpoint>', 'pod:NS/NAME (or a bare pod name), node:NAME, external:NAME')
    .requiredOption('--to <endpoint>', 'pod:NS/NAME, service:NS/NAME[:PORT], node:NAME, ip:A.B.C.D, external:NAME')
    .addOption(protoOption())
    .option('--port <n>', 'destination port (udp/tcp; default 80)', portArg())
    .addOption(new Option('-o, --output <format>', 'text, json or events').choices(['text', 'json', 'events']).default('text'))
    .option('--node <name>', 'show only decisions made on this node (hubble observe --node)')
    .option('--pod <ns/name>', 'show only decisions inside this pod\'s namespace')
    .option('--ip <addr>', 'show only hops whose packet has this source or destination')
    .option('--type <kinds>', 'show only these hop components / event kinds, comma-separated (route, netfilter, conntrack, nat, bridge, neigh, device, encap, decap, drop, …)')
    .option('--verdict <v>', 'dropped (only the drop) or forwarded (everything else)')))
    .action(async (o: RemoteArgs & { from: string; to: string; proto?: 'icmp' | 'udp' | 'tcp'; port?: number; output: 'text' | 'json' | 'events'; node?: string; pod?: string; ip?: string; type?: string; verdict?: string; spec?: string; filename?: string[]; seed?: number }) => {
      const filter = parseTraceFilter(o);
      const remote = resolveRemote(remoteArgs(o));
      if (remote !== undefined) {
        const raw = Object.fromEntries((['node', 'pod', 'ip', 'type', 'verdict'] as const).flatMap((k) => (o[k] !== undefined ? [[k, o[k]]] : [])));
        process.exitCode = await traceRemoteCommand(remote, { from: o.from, to: o.to, output: o.output, filter: raw, ...(o.proto !== undefined ? { proto: o.proto } : {}), ...(o.port !== undefined ? { port: o.port } : {}) }, print);
        return;
      }
      const cluster = await loadCluster(clusterArgs(o));
      process.exitCode = traceCommand(cluster, { from: o.from, to: o.to, ...(o.proto !== undefined ? { proto: o.proto } : {}), output: o.output, ...(o.port !== undefined ? { port: o.port } : {}), ...(isEmptyFilter(filter) ? {} : { filter }) }, print);
      await cluster.close();
    });
  withRemote(withCluster(program
    .command('capture')
    .description('run one exchange and write every interface it crossed to a pcapng file; with --server, record the live traffic of a running `netsim up`')
    .option('--from <endpoint>', 'pod:NS/NAME (or a bare pod name), node:NAME, external:NAME (required without --server)')
    .option('--to <endpoint>', 'pod:NS/NAME, service:NS/NAME[:PORT], node:NAME, ip:A.B.C.D, external:NAME (required without --server)')
    .option('--duration <d>', 'live capture (--server): record for this long (5s, 500ms, 2m)')
    .requiredOption('-w, --write <file>', 'capture file to write (- for standard output)')
    .addOption(protoOption())
    .option('--port <n>', 'destination port (udp/tcp; default 80)', portArg())
    .option('--node <name>', 'capture only interfaces of this node and its pods (repeatable)', collect)
    .option('-i, --interface <glob>', 'capture only matching interfaces, e.g. node01/eth0, */flannel0 (repeatable)', collect)
    .option('--host <addr>', 'keep only packets to or from this IPv4 address (inner address for raw-IP devices)')
    .option('--count <n>', 'repeat the exchange N times (progress bar on a terminal); live (--server): stop after N packets', positiveArg('--count'))
    .addOption(new Option('--format <format>', 'pcapng (every interface) or pcap (exactly one interface, or one per file with --split)').choices(['pcapng', 'pcap']).default('pcapng'))
    .addOption(new Option('--time-precision <p>', 'timestamps of --format pcap: us (tcpdump\'s default, read by every tool) or ns').choices(['us', 'ns']))
    .option('--split', 'one file per interface (FILE-node01_eth0.pcapng, …), so no packet appears twice in a file')))
    .action(async (o: RemoteArgs & { from?: string; to?: string; duration?: string; write: string; proto?: 'icmp' | 'udp' | 'tcp'; port?: number; node?: string[]; interface?: string[]; host?: string; count?: number; format: 'pcapng' | 'pcap'; timePrecision?: 'us' | 'ns'; split?: boolean; spec?: string; filename?: string[]; seed?: number }) => {
      if (o.timePrecision !== undefined && o.format !== 'pcap') throw new CliError('NETSIM_ERR_USAGE', '--time-precision applies to --format pcap (pcapng records nanoseconds)');
      if (o.split === true && o.write === '-') throw new CliError('NETSIM_ERR_USAGE', '--split writes several files; give -w a file name, not -');
      if (o.write !== '-') checkOutputFile(o.write);
      const remote = resolveRemote(remoteArgs(o));
      if (remote !== undefined) {
        if (o.from !== undefined || o.to !== undefined) throw new CliError('NETSIM_ERR_USAGE', 'a live capture (--server) records the traffic that flows; --from/--to are for a fresh cluster (use netsim trace --server to send a probe)');
        if (o.format !== 'pcapng' || o.split === true) throw new CliError('NETSIM_ERR_USAGE', 'a live capture (--server) writes one pcapng file: drop --format pcap and --split');
        process.exitCode = await captureRemoteCommand(remote, {
          file: o.write, ...(o.duration !== undefined ? { durationMs: parseDuration(o.duration) } : {}), ...(o.count !== undefined ? { count: o.count } : {}),
          ...(o.node !== undefined ? { nodes: o.node } : {}), ...(o.interface !== undefined ? { interfaces: o.interface } : {}), ...(o.host !== undefined ? { host: o.host } : {}),
        }, print);
        return;
      }
      if (o.from === undefined || o.to === undefined) throw new CliError('NETSIM_ERR_USAGE', `required option '${o.from === undefined ? '--from' : '--to'} <endpoint>' not specified (or give --server to record a running cluster's traffic)`);
      if (o.duration !== undefined) throw new CliError('NETSIM_ERR_USAGE', '--duration is for a live capture (--server); a fresh cluster repeats the exchange --count times');
      const cluster = await loadCluster(clusterArgs(o));
      process.exitCode = captureCommand(cluster, {
        from: o.from, to: o.to, file: o.write, names: cluster.names(), count: o.count ?? 1, format: o.format, progress: process.stderr.isTTY === true,
        ...(o.proto !== undefined ? { proto: o.proto } : {}), ...(o.timePrecision !== undefined ? { timePrecision: o.timePrecision } : {}), ...(o.split === true ? { split: true } : {}),
        ...(o.port !== undefined ? { port: o.port } : {}), ...(o.node !== undefined ? { nodes: o.node } : {}), ...(o.interface !== undefined ? { interfaces: o.interface } : {}), ...(o.host !== undefined ? { host: o.host } : {}),
      }, print);
      await cluster.close();
    });
  withRemote(withCluster(program
    .command('node')
    .description(`print a node's state as the real tool would: ${NODE_VIEWS.join(', ')}`)
    .argument('<name>', 'node name, e.g. node01')
    .argument('<view>', NODE_VIEWS.join(' | '))))
    .option('-S, --stats', 'with the conntrack view: conntrack -S, the per-CPU statistics (same as the conntrack-stats view)')
    .action(async (name: string, viewArg: string, o: RemoteArgs & { spec?: string; filename?: string[]; seed?: number; stats?: boolean }) => {
      if (o.stats === true && viewArg !== 'conntrack') throw new CliError('NETSIM_ERR_ARGUMENT', `-S goes with the conntrack view (conntrack -S), not "${viewArg}"`);
      const view = o.stats === true ? 'conntrack-stats' : viewArg;
      const remote = resolveRemote(remoteArgs(o));
      if (remote !== undefined) {
        process.exitCode = await nodeRemoteCommand(remote, name, view, print);
        return;
      }
      const cluster = await loadCluster(clusterArgs(o), { settle: 'traffic' });
      process.exitCode = nodeCommand(cluster, name, view, print);
      await cluster.close();
    });
  registerExperimentCommand(program, print);
  registerRunCommand(program, print, withCluster, clusterArgs);
  registerPolicyCommands(program, print, { withCluster, withRemote, clusterArgs, remoteArgs });
  registerVerifyCommands(program, print, withCluster, (o: { spec?: string; filename?: string[]; seed?: number }) => loadCluster(clusterArgs(o), { apps: false }));
  return program;
}

/**
 * One line on stderr and the exit code for anything a command threw: a usage error
 * or any {@link CodedError} is bad input (2, its stable code); anything else is a bug
 * in netsim (70, EX_SOFTWARE; the stack only with NETSIM_DEBUG=1). No error type,
 * old or new, escapes as a bare stack trace.
 */
export function reportError(e: unknown, err: (s: string) => void): number {
  if (e instanceof CommanderError) {
    // --help and --version exit 0; a bare `netsim` printed its help to stderr.
    if (e.exitCode === 0 || e.code === 'commander.help') return e.exitCode === 0 ? 0 : 2;
    const code = e.code === 'commander.invalidArgument' ? 'NETSIM_ERR_ARGUMENT' : 'NETSIM_ERR_USAGE';
    err(`netsim: ${code}: ${e.message.replace(/^error: /, '').split('\n')[0]} (see --help)\n`);
    return 2;
  }
  if (e instanceof CodedError) {
    err(`netsim: ${e.code}: ${e.message}\n`);
    return 2;
  }
  const msg = e instanceof Error ? e.message : String(e);
  err(`netsim: NETSIM_ERR_INTERNAL: ${msg}${process.env['NETSIM_DEBUG'] === '1' && e instanceof Error ? `\n${e.stack ?? ''}` : ' (a bug in netsim; NETSIM_DEBUG=1 shows where)'}\n`);
  return 70;
}

/** A reader that went away (`netsim demo | head -1`) ends the run quietly, as Unix filters do. */
function exitQuietlyOnEpipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

export async function main(argv: string[]): Promise<number> {
  exitQuietlyOnEpipe(process.stdout);
  exitQuietlyOnEpipe(process.stderr);
  const print = (s: string): void => {
    process.stdout.write(s);
  };
  try {
    await buildProgram(print).parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    return reportError(e, (s) => process.stderr.write(s));
  }
}
