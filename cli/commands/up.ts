/**
 * `netsim up`: the cluster in real time. The API server listens on HOST:PORT (port 0
 * picks a free one) for kubectl, client libraries and the browser (watch over HTTP
 * streaming and WebSocket); the store persists in --state DIR (or etcd); virtual time
 * follows the wall clock, and the control plane gets a turn every tick, so a
 * `kubectl apply` or `kubectl scale` reaches the node agents and kube-proxy within a tick.
 * Restarted on the same --state, it keeps the stored objects (a scale or apply made with
 * kubectl survives) instead of re-applying the spec.
 *
 * Safe by default, like a kubeadm cluster: a random bearer token per start (written to a
 * 0600 kubeconfig, `--anonymous` turns it off on loopback), TLS (cli/up/tls.ts; kubectl
 * sends a token only over TLS, so plain HTTP — `--no-tls` — is for loopback and other
 * clients), the state directory 0700 with 0600 files. It logs what it does on
 * stderr (`--log-level`), serves the web UI at `/` (cli/up/web-ui.ts), and SIGINT or SIGTERM stops it cleanly (exit 0), also through
 * `npx` (cli/up/stop-signal.ts). Start-up
 * failures are CLI errors with stable codes (cli/up/errors.ts), exit 2.
 *
 * With `--partition I/N` (cli/up/partition-args.ts) this process runs only its share of
 * the spec's nodes, on etcd shared with the other partitions, and trades underlay frames
 * with them over UDP (cluster/underlay-link.ts); `GET /netsim/v1/underlay` answers the
 * link's counters. README "Several machines" says what is exact and what is not.
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { openStore } from '../../control/store/index.ts';
import type { ObjectStore, StoreKind } from '../../control/store/index.ts';
import type { Cluster } from '../../cluster/cluster.ts';
import { MS } from '../../netsim/time/scheduler.ts';
import type { ClusterArgs } from '../load-cluster.ts';
import { loadCluster } from '../load-cluster.ts';
import { CliError } from '../cli-error.ts';
import { isLoopback, isWildcard, loadTls, selfSignedTls } from '../up/tls.ts';
import type { TlsMaterial } from '../up/tls.ts';
import { writeKubeconfig, writePrivateFile } from '../up/kubeconfig.ts';
import { prepareStateDir } from '../up/state-dir.ts';
import { listenError, storeFailedError, storeOpenError } from '../up/errors.ts';
import { createLogger } from '../up/log.ts';
import { waitForStop } from '../up/stop-signal.ts';
import { LiveFlows, registerFlowRoutes, registerTopologyRoute } from '../../observe/index.ts';
import { serveExec } from '../../cluster/remote-command.ts';
import { serveLogs } from '../../cluster/pod-log-server.ts';
import type { Logger, LogLevel } from '../up/log.ts';
import { startDnsBridge } from '../dns-bridge.ts';
import type { DnsBridge } from '../dns-bridge.ts';
import { servePortForward } from '../../cluster/port-forward.ts';
import { registerLiveRoutes } from '../up/live-routes.ts';
import { TRACE_HALF_PATH } from '../up/live-trace.ts';
import type { Crossing } from '../up/live-trace.ts';
import { TraceHalves } from '../../cluster/trace-halves.ts';
import type { TraceReport } from '../../netsim/trace/report.ts';
import { serveWebUi } from '../up/web-ui.ts';
import { parsePartitionArgs } from '../up/partition-args.ts';
import type { PartitionArgs, PartitionPlan } from '../up/partition-args.ts';
import { UdpUnderlayLink } from '../../cluster/underlay-link.ts';
import { blockPartition } from '../../cluster/partition.ts';
import type { Partition } from '../../cluster/partition.ts';
import { specFor } from '../load-cluster.ts';
import { addNetsimRoute } from '../../control/server/app.ts';

export function parseListen(s: string): { host: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(s);
  const port = m !== null ? Number(m[2]) : NaN;
  if (m === null || m[1] === '' || port > 65535) throw new CliError('NETSIM_ERR_LISTEN', `--listen must be HOST:PORT (port 0 picks a free one), got "${s}"`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

export interface UpOptions extends ClusterArgs, PartitionArgs {
  readonly listen: string;
  readonly state: string;
  /** Flows kept in the ring for `netsim observe` (default observe/'s DEFAULT_FLOW_RING). */
  readonly flowBuffer?: number;
  /** `--dns-listen HOST:PORT`: bridge real DNS queries (UDP and TCP) to the kube-dns Service (cli/dns-bridge.ts). */
  readonly dnsListen?: string;
  /** Driver tick in wall-clock milliseconds (default 50). */
  readonly tickMs?: number;
  /** Where to write the kubeconfig (default STATE/kubeconfig). */
  readonly kubeconfig?: string;
  /** No token: anyone who reaches the port may do anything (loopback only). */
  readonly anonymous?: boolean;
  /** false: plain HTTP (loopback only). Default TLS: kubectl sends a bearer token only over TLS. */
  readonly tls?: boolean;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly store?: StoreKind;
  /** etcd client URL(s), comma-separated; the first is used. */
  readonly etcdEndpoints?: string;
  /** Key prefix of this cluster in a shared etcd (kube-apiserver's --etcd-prefix). */
  readonly etcdPrefix?: string;
  readonly logLevel?: LogLevel;
  /** With --partition: how often each node posts its status (wall-clock ms, default 10 000). */
  readonly nodeStatusUpdateMs?: number;
  /** With --partition: the node lifecycle controller's grace period (ms, default 50 000). */
  readonly nodeMonitorGraceMs?: number;
}

/** The underlay link's counters, beside the API (`netsim up --partition`). */
const UNDERLAY_PATH = '/netsim/v1/underlay';
/** Where each partition registers its API URL, so a live trace can ask the others for their half. */
const PARTITIONS_KEY = '/netsim/partitions/';

async function registerPartition(store: ObjectStore, index: number, url: string): Promise<void> {
  const value = JSON.stringify({ url });
  const key = `${PARTITIONS_KEY}${index}`;
  await store.create(key, value).catch(() => store.update(key, value));
}

/**
 * The other partitions' halves of a trace, from the API each registered. The request
 * carries no token: a peer started with a token (the default) answers 401, which the
 * report names; --anonymous peers on loopback answer.
 */
async function peerHalves(store: ObjectStore, index: number, traceId: number): Promise<Awaited<ReturnType<Crossing['halves']>>> {
  const peers = (await store.list(PARTITIONS_KEY)).items.map((kv) => ({ partition: Number(kv.key.slice(PARTITIONS_KEY.length)), url: (JSON.parse(kv.value) as { url: string }).url })).filter((p) => p.partition !== index);
  return Promise.all(peers.map(async ({ partition, url }) => {
    try {
      const r = await fetch(`${url}${TRACE_HALF_PATH}?id=${traceId}`, { signal: AbortSignal.timeout(2000) });
      if (r.status === 404) return { partition };
      if (r.status !== 200) return { partition, error: `${url} answered ${r.status}` };
      return { partition, report: (await r.json()) as TraceReport };
    } catch (e) {
      return { partition, error: `${url}: ${(e as Error).message}` };
    }
  }));
}

/** Bind this partition's underlay socket; a bind failure is a CLI error. */
async function openPartition(plan: PartitionPlan, nodes: readonly string[], log: Logger): Promise<{ partition: Partition; link: UdpUnderlayLink }> {
  let link: UdpUnderlayLink;
  try {
    link = await UdpUnderlayLink.open({ index: plan.index, listen: plan.listen, peers: plan.peers, ...(plan.key !== undefined ? { key: plan.key } : {}) });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new CliError('NETSIM_ERR_UNDERLAY', `cannot bind the underlay socket on ${plan.listen.host}:${plan.listen.port}: ${code}; choose another --underlay-listen`);
  }
  const partition = blockPartition(nodes, plan.index, plan.count, link);
  log.info(`partition ${plan.index}/${plan.count}: nodes ${nodes.filter((n) => partition.owns(n)).join(', ')}; underlay on udp ${link.address.host}:${link.address.port}, peers ${[...plan.peers].map(([i, p]) => `${i}=${p.host}:${p.port}`).join(' ')}${plan.key !== undefined ? ', HMAC-SHA256' : ', unauthenticated'}${plan.index === 0 ? '; runs the controllers' : ''}`);
  return { partition, link };
}

/** How often the store's health is checked (wall-clock ms). */
const STORE_PROBE_MS = 2000;

interface Security {
  readonly token: string | undefined;
  readonly tls: TlsMaterial | undefined;
}

/** The checks a user can fail before anything is created: TLS and anonymity against the address. */
function checkSecurity(o: UpOptions, host: string): { useTls: boolean } {
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new CliError('NETSIM_ERR_TLS', '--tls-cert and --tls-key go together: give both, or neither for a generated certificate');
  if (o.tls === false && o.tlsCert !== undefined) throw new CliError('NETSIM_ERR_TLS', '--no-tls contradicts --tls-cert/--tls-key');
  const loopback = isLoopback(host);
  if (!loopback && o.tls === false) {
    throw new CliError('NETSIM_ERR_INSECURE', `refusing to serve plain HTTP on ${host}, which is not a loopback address: the bearer token would cross the network in clear text. Drop --no-tls (a self-signed certificate is generated and put in the kubeconfig), give --tls-cert/--tls-key, or listen on 127.0.0.1`);
  }
  if (!loopback && o.anonymous === true) {
    throw new CliError('NETSIM_ERR_INSECURE', `refusing --anonymous on ${host}, which is not a loopback address: anyone who reaches it could change the cluster. Use --anonymous only with --listen 127.0.0.1:PORT`);
  }
  return { useTls: o.tls !== false };
}

/** The URL clients use: a wildcard listener is reached over loopback. */
function clientUrl(host: string, port: number, tls: boolean): string {
  const h = isWildcard(host) ? (host.includes(':') ? '::1' : '127.0.0.1') : host;
  return `${tls ? 'https' : 'http'}://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/**
 * The store the flags choose and, for etcd, the endpoint dialled (the first of --etcd-endpoints, which
 * cli/up/etcd-endpoints.ts checked). Flags that contradict each other are the user's argument mistake,
 * refused before anything is made or bound.
 */
function storeChoice(o: UpOptions): { kind: StoreKind; endpoint: string | undefined } {
  const kind: StoreKind = o.store ?? (o.etcdEndpoints !== undefined ? 'etcd' : 'file');
  const endpoint = o.etcdEndpoints?.split(',')[0]?.trim();
  if (kind === 'etcd' && (endpoint === undefined || endpoint === '')) throw new CliError('NETSIM_ERR_ARGUMENT', '--store etcd needs --etcd-endpoints URL (e.g. http://127.0.0.1:2379)');
  if (kind !== 'etcd' && o.etcdEndpoints !== undefined) throw new CliError('NETSIM_ERR_ARGUMENT', `--etcd-endpoints needs --store etcd, not --store ${kind}`);
  return { kind, endpoint };
}

async function openUpStore(o: UpOptions, dir: string, log: Logger): Promise<{ store: ObjectStore; where: string; kind: StoreKind }> {
  const { kind, endpoint } = storeChoice(o);
  const where = kind === 'etcd' ? endpoint as string : kind === 'file' ? join(dir, 'store') : 'memory';
  try {
    const store = await openStore(kind, { dir: join(dir, 'store'), onWarning: (m) => log.warn(m), ...(endpoint !== undefined ? { endpoint } : {}), ...(o.etcdPrefix !== undefined ? { namespace: o.etcdPrefix } : {}) });
    log.info(`store: ${kind} at ${where}, revision ${store.revision()}`);
    return { store, where, kind };
  } catch (e) {
    const mapped = storeOpenError(e, where, kind);
    if (mapped instanceof CliError) throw mapped;
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) throw new CliError('NETSIM_ERR_STATE', `cannot open the store in ${where}: ${code}`);
    throw e;
  }
}

/**
 * Whether a store holds no cluster yet (etcd's revision counts other prefixes' writes too).
 * Partitions start together, and the others' API servers and nodes write to /registry/ at
 * once: for them the mark partition 0 leaves once it applied the spec is what counts.
 */
async function isFresh(store: ObjectStore, partitioned: boolean): Promise<boolean> {
  if (partitioned) return (await store.get(SPEC_APPLIED_KEY)) === undefined;
  return (await store.list('/registry/', { limit: 1 })).items.length === 0;
}

/** Written by partition 0 after it applied the spec's objects (outside /registry/: no API object). */
const SPEC_APPLIED_KEY = '/netsim/spec-applied';

function describeCluster(cluster: Cluster, log: Logger): void {
  const s = cluster.spec;
  for (const cn of cluster.clusterNodes.values()) {
    log.info(`node ${cn.name}: kubelet, kube-proxy (${s.proxy.mode}), flanneld (${s.network.flannel.backend}) started`);
  }
  log.info(`controllers started; ${cluster.pods.size} pods running, ${cluster.services.size} services`);
}

export async function upCommand(o: UpOptions, print: (s: string) => void): Promise<number> {
  const log = createLogger(o.logLevel ?? 'info');
  const { host, port } = parseListen(o.listen);
  const dnsAt = o.dnsListen !== undefined ? parseListen(o.dnsListen) : undefined;
  const { useTls } = checkSecurity(o, host);
  const plan = parsePartitionArgs(o, storeChoice(o).kind);
  // An I/N this spec cannot have fails before anything is opened or bound.
  const nodeNames = plan !== undefined ? specFor(o).nodes.map((n) => n.name) : [];
  if (plan !== undefined) blockPartition(nodeNames, plan.index, plan.count);
  const dir = resolve(o.state);
  prepareStateDir(dir);
  const kubeconfig = resolve(o.kubeconfig ?? join(dir, 'kubeconfig'));

  let tls: TlsMaterial | undefined;
  if (o.tlsCert !== undefined && o.tlsKey !== undefined) {
    tls = loadTls(o.tlsCert, o.tlsKey);
    log.info(`tls: serving ${o.tlsCert}`);
  } else if (useTls) {
    tls = await selfSignedTls(host);
    log.info('tls: generated a self-signed CA and serving certificate (the CA is in the kubeconfig)');
  }
  const sec: Security = { token: o.anonymous === true ? undefined : randomBytes(32).toString('base64url'), tls };
  if (sec.token === undefined) log.warn('--anonymous: every request is allowed without a token');

  const { store, where, kind } = await openUpStore(o, dir, log);
  // A store that stops answering later (etcd timing out under load) is the same CLI error, whichever step met it.
  const failed = (e: unknown): unknown => storeFailedError(e, where, kind);
  let cluster: Cluster;
  let link: UdpUnderlayLink | undefined;
  try {
    let partition: Partition | undefined;
    if (plan !== undefined) ({ partition, link } = await openPartition(plan, nodeNames, log));
    const epochMs = Date.now();
    // Real time is not reproducible anyway, and a kept store holds uids an earlier run drew from the same seed.
    // A kept store already holds the objects (and whatever kubectl did to them since): the spec's manifests are not re-applied.
    const fresh = await isFresh(store, plan !== undefined);
    cluster = await loadCluster(o, {
      store, epochMs, uid: () => crypto.randomUUID(), specManifests: fresh,
      ...(partition !== undefined ? { partition, nodeStatusUpdateNs: (o.nodeStatusUpdateMs ?? 10_000) * MS, ...(o.nodeMonitorGraceMs !== undefined ? { nodeMonitorGraceMs: o.nodeMonitorGraceMs } : {}) } : {}),
      serving: { ...(sec.token !== undefined ? { token: sec.token } : {}), ...(sec.tls !== undefined ? { https: { key: sec.tls.key, cert: sec.tls.cert } } : {}) },
    });
    if (fresh && plan?.index === 0) await store.create(SPEC_APPLIED_KEY, JSON.stringify({ appliedAt: new Date(epochMs).toISOString() })).catch(() => {});
    log.info(fresh ? `cluster built from the spec: ${cluster.clusterNodes.size} nodes` : `cluster resumed from the store: ${cluster.clusterNodes.size} nodes`);
    describeCluster(cluster, log);
  } catch (e) {
    await link?.close();
    await store.close().catch(() => {});
    throw failed(e);
  }

  const base = cluster.sim.clock.now();
  const started = Date.now();
  // Virtual time follows the wall clock from here, so a flow's wall time is the start plus its virtual offset.
  const flows = new LiveFlows(cluster, (t) => started + (t - base) / MS, o.flowBuffer);
  const closeFlowRoutes = registerFlowRoutes(cluster.control.app, flows.hub);
  const closeExec = serveExec(cluster);
  serveLogs(cluster);
  const closePortForward = servePortForward(cluster);
  // The driver's tick in progress; a live trace runs virtual time itself, so it waits for the tick to end.
  let tick: Promise<void> | undefined;
  const uplinkPort = cluster.underlay.uplinkPort;
  let crossing: Crossing | undefined;
  if (plan !== undefined && uplinkPort !== undefined) {
    const halves = new TraceHalves(cluster.sim, uplinkPort);
    addNetsimRoute(cluster.control.app, 'GET', TRACE_HALF_PATH, (req, reply) => {
      const id = Number(new URL(req.url, 'http://localhost').searchParams.get('id'));
      const report = Number.isInteger(id) && id >= 0 ? halves.report(id) : undefined;
      return report !== undefined ? reply.send(report) : reply.code(404).send({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'NotFound', code: 404, message: 'no frame of that trace arrived here' });
    });
    crossing = { port: uplinkPort, halves: (id) => peerHalves(store, plan.index, id) };
  }
  registerLiveRoutes(cluster, async () => {
    while (tick !== undefined) await tick;
  }, crossing);
  registerTopologyRoute(cluster.control.app, cluster);
  if (link !== undefined) {
    const l = link;
    addNetsimRoute(cluster.control.app, 'GET', UNDERLAY_PATH, (_req, reply) => reply.send({ partition: plan?.index, partitions: plan?.count, listen: l.address, ...l.stats }));
  }
  const closeServing = async (): Promise<void> => {
    flows.close();
    closeFlowRoutes();
    closeExec();
    closePortForward();
    await cluster.close();
    await link?.close();
  };
  try {
    await flows.refresh();
    await serveWebUi(cluster.control.app);
  } catch (e) {
    await closeServing().catch(() => {});
    throw failed(e);
  }
  let refreshed = Date.now();

  // Handlers first: a SIGTERM that arrives between "listening" and a later handler would kill the process (no exit 0).
  const stopped = waitForStop();
  let url: string;
  try {
    await cluster.control.app.listen({ host, port });
    url = clientUrl(host, (cluster.control.app.server.address() as AddressInfo).port, sec.tls !== undefined);
  } catch (e) {
    await closeServing().catch(() => {});
    throw listenError(e, o.listen);
  }
  try {
    writeKubeconfig(kubeconfig, { server: url, ...(sec.token !== undefined ? { token: sec.token } : {}), ...(sec.tls !== undefined ? { caPem: sec.tls.ca } : {}) });
    if (sec.token !== undefined) writePrivateFile(join(dir, 'token'), `${sec.token}\n`);
    if (plan !== undefined) await registerPartition(store, plan.index, url);
  } catch (e) {
    await closeServing().catch(() => {});
    throw failed(e);
  }
  log.info(`pid ${process.pid}: API server listening on ${url} (${sec.tls !== undefined ? 'TLS' : 'plain HTTP, loopback only: kubectl sends no token over it'}, ${sec.token !== undefined ? 'bearer token' : 'anonymous'}); kubeconfig ${kubeconfig}`);
  print(`API server listening on ${url}\n`);
  print(`export KUBECONFIG=${kubeconfig}\n`);
  // The token rides in the URL's fragment, which the browser never sends; only a terminal sees it (logs and pipes get the file's path).
  const ui = sec.token === undefined ? `${url}/` : process.stdout.isTTY ? `${url}/#token=${sec.token}` : `${url}/ (token in ${join(dir, 'token')})`;
  print(`Web UI: ${ui}\n`);
  let dnsBridge: DnsBridge | undefined;
  if (dnsAt !== undefined) {
    try {
      dnsBridge = await startDnsBridge(cluster, dnsAt.host, dnsAt.port);
    } catch (e) {
      await closeServing().catch(() => {});
      throw e;
    }
    log.info(`dns: bridging ${dnsBridge.host}:${dnsBridge.port} (UDP and TCP) to kube-dns ${cluster.dns?.serviceIP}:53 from ${[...cluster.clusterNodes.keys()][0]}`);
    print(`DNS listening on ${dnsBridge.host}:${dnsBridge.port} (UDP and TCP)\n`);
  }

  const tickMs = o.tickMs ?? 50;
  let failing = false;
  const timer = setInterval(() => {
    if (tick !== undefined) return;
    // Virtual time catches up with the wall clock (plus the settling time the build used).
    const target = (Date.now() - started) * MS + base;
    const dt = Math.max(0, target - cluster.sim.clock.now());
    const before = cluster.control.revision();
    // Identities (pods come and go with their labels) are re-read at most once a second.
    const refresh = Date.now() - refreshed > 1000;
    if (refresh) refreshed = Date.now();
    tick = cluster.runFor(dt).then(() => (refresh ? flows.refresh() : undefined)).then(() => {
      const after = cluster.control.revision();
      if (after !== before) log.debug(`sync: store revision ${before} -> ${after}`);
      if (failing) log.info('control plane: recovered');
      failing = false;
    }, (e: unknown) => {
      // One line per outage, not one per tick: an etcd outage would otherwise log 20 lines a second.
      if (!failing) log.error(`control plane: ${(e as Error).message}`);
      failing = true;
    }).finally(() => { tick = undefined; });
  }, tickMs);

  // kube-apiserver's etcd health check: an outage is logged even when no controller has work to notice it.
  let storeDown = false;
  let malformedLogged = 0;
  const probe = setInterval(() => {
    // What peers sent that could not be used: one line per probe, not one per datagram.
    const bad = link === undefined ? 0 : Object.values(link.stats.dropped).reduce((a, b) => a + b, 0);
    if (link !== undefined && bad > malformedLogged) {
      log.warn(`underlay: ${bad - malformedLogged} datagram(s) dropped (${Object.entries(link.stats.dropped).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ')}; last error: ${link.stats.lastError ?? 'none'})`);
      malformedLogged = bad;
    }
    store.get('/registry/namespaces/default').then(() => {
      if (storeDown) log.info('store: reachable again');
      storeDown = false;
    }, (e: unknown) => {
      if (!storeDown) log.error(`store: ${(e as Error).message} (the API answers 503 until it is back)`);
      storeDown = true;
    });
  }, STORE_PROBE_MS);

  const reason = await stopped;
  log.info(`${reason}: stopping`);
  // A second signal while stopping means "now".
  const force = (): void => process.exit(130);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  clearInterval(timer);
  clearInterval(probe);
  await tick;
  await dnsBridge?.close();
  await closeServing();
  process.off('SIGINT', force);
  process.off('SIGTERM', force);
  log.info('stopped');
  print('netsim up: stopped\n');
  return 0;
}
