/**
 * `kubectl exec` into an emulated pod: the remote-command protocol kubectl 1.32
 * speaks first, a WebSocket upgrade of `GET /api/v1/namespaces/NS/pods/NAME/exec?
 * command=…&stdout=true&stderr=true` with subprotocol `v5.channel.k8s.io` (or
 * v4). Each binary message starts with its channel: 1 stdout, 2 stderr, 3 the final
 * `Status` (Success, or Failure with reason NonZeroExitCode and the code in
 * details.causes, which kubectl turns into its own exit status); 0 is stdin and 255
 * (v5) closes a stream, both read and ignored. Modelled on kubelet's
 * `pkg/kubelet/cri/streaming/remotecommand` and client-go's websocket executor.
 *
 * The command runs in the pod's network namespace through apps/tools (a program or
 * `sh -c`); its packets cross the emulated datapath on the virtual clock, which the
 * live cluster drives.
 *
 * Not modelled: the SPDY fallback (kubectl only uses it when the WebSocket upgrade
 * is refused), TTYs and resize, stdin contents, attach.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { addUpgradeRoute, refuseUpgrade } from '../control/server/app.ts';
import type { StatusReason } from '../control/api/index.ts';
import { PROGRAMS, runCommand } from '../apps/tools/index.ts';
import type { ProgramContext } from '../apps/tools/index.ts';
import { lookup } from '../apps/dns/stub-resolver.ts';
import { podHostsFile, renderResolvConf } from '../apps/dns/resolv-conf.ts';
import type { Ipv4Addr } from '../netsim/wire/addr.ts';
import { formatIpv4, parseIpv4 } from '../netsim/wire/addr.ts';
import type { PodRef } from './emulated-cluster.ts';
import type { Cluster } from './cluster.ts';

const EXEC_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach)$/;
/** Subprotocols in order of preference (client-go offers v5 then v4). */
const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const enum Channel { Stdout = 1, Stderr = 2, Error = 3 }

interface PodSpecLike {
  readonly metadata: { readonly name?: string; readonly namespace?: string };
  readonly spec?: { readonly containers?: ReadonlyArray<{ readonly name: string }>; readonly hostAliases?: ReadonlyArray<{ readonly ip: string; readonly hostnames?: readonly string[] }>; readonly hostname?: string; readonly subdomain?: string };
}

/** What a pod's programs see besides sockets: kubelet-written files and a resolver. */
export interface PodEnvironment {
  readonly files: ReadonlyMap<string, string>;
  resolve(name: string): Promise<Ipv4Addr | undefined>;
}

function status(code: number): object {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {}, status: 'Failure', message: `command terminated with non-zero exit code: exit status ${code}`,
    reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

function refuse(socket: Duplex, code: number, reason: StatusReason, message: string): void {
  refuseUpgrade(socket, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

/**
 * What the node agent wrote for a running pod: kubelet's /etc/hosts, /etc/resolv.conf
 * (by dnsPolicy) and /etc/hostname, and getaddrinfo through the pod's stub resolver
 * (hosts, then DNS with its search path — apps/dns/stub-resolver.ts).
 */
export function podEnvironment(pod: PodSpecLike, running: PodRef, clusterDomain = 'cluster.local'): PodEnvironment {
  const name = pod.metadata.name ?? '';
  const hostname = pod.spec?.hostname ?? name;
  const hosts = running.hosts ?? podHostsFile({
    podName: name, namespace: pod.metadata.namespace ?? 'default', podIP: formatIpv4(running.ip), clusterDomain,
    ...(pod.spec?.hostname !== undefined ? { hostname: pod.spec.hostname } : {}), ...(pod.spec?.subdomain !== undefined ? { subdomain: pod.spec.subdomain } : {}),
    ...(pod.spec?.hostAliases !== undefined ? { hostAliases: pod.spec.hostAliases } : {}),
  });
  const resolvConf = running.resolvConf ?? { nameservers: [], search: [], options: [] };
  const files = new Map([['/etc/hosts', hosts], ['/etc/resolv.conf', renderResolvConf(resolvConf)], ['/etc/hostname', `${hostname}\n`]]);
  return {
    files,
    resolve: (n) => new Promise<Ipv4Addr | undefined>((done) => {
      lookup(running.ns, n, { resolvConf, hosts }, (r) => done(r.ok && r.addresses[0] !== undefined ? parseIpv4(r.addresses[0]) : undefined));
    }),
  };
}

/** How long an exec waits after the upgrade before its command runs (see the handler). */
const STREAM_SETUP_GRACE_MS = 50;

/**
 * Serve exec on the cluster's API listener. `environment` gives a pod's files and
 * resolver (default: {@link podEnvironment}). Returns a function that closes open sessions.
 */
export function serveExec(cluster: Cluster, environment?: (pod: PodSpecLike, running: PodRef) => PodEnvironment): () => void {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 1024 * 1024,
    handleProtocols: (offered) => PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  const envOf = environment ?? ((pod: PodSpecLike, running: PodRef): PodEnvironment => podEnvironment(pod, running, cluster.spec.dns.clusterDomain));
  const handle = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = EXEC_PATH.exec(url.pathname) as RegExpExecArray;
    const [, namespace, name, verb] = m as unknown as [string, string, string, string];
    if (verb === 'attach') {
      refuse(socket, 400, 'BadRequest', 'attach is not supported: emulated containers have no main process console; use exec');
      return;
    }
    const command = url.searchParams.getAll('command');
    if (command.length === 0) {
      refuse(socket, 400, 'BadRequest', 'you must specify at least 1 command');
      return;
    }
    if (url.searchParams.get('tty') === 'true') {
      refuse(socket, 400, 'BadRequest', 'tty is not supported by emulated containers; run without -t');
      return;
    }
    void (async () => {
      const pods = await cluster.control.api.list<PodSpecLike>('pods', namespace);
      const pod = pods.find((p) => p.metadata.name === name);
      if (pod === undefined) return refuse(socket, 404, 'NotFound', `pods "${name}" not found`);
      const container = url.searchParams.get('container');
      const containers = (pod.spec?.containers ?? []).map((c) => c.name);
      if (container !== null && !containers.includes(container)) return refuse(socket, 400, 'BadRequest', `container ${container} is not valid for pod ${name}`);
      const running = cluster.pods.get(`${namespace}/${name}`);
      if (running === undefined) return refuse(socket, 400, 'BadRequest', `pod ${name} is not running: it has no network namespace on any node yet`);
      const env = envOf(pod, running);
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        ws.on('error', () => ws.terminate());
        ws.on('message', () => { /* stdin and stream-close frames: no program reads stdin */ });
        const send = (channel: Channel, text: string): void => {
          if (ws.readyState !== ws.OPEN || text === '') return;
          const bytes = Buffer.from(text, 'utf8');
          ws.send(Buffer.concat([Buffer.from([channel]), bytes]));
        };
        const ctx: ProgramContext = {
          ns: running.ns, argv: command, files: env.files, resolve: env.resolve,
          stdout: (t) => { if (url.searchParams.get('stdout') !== 'false') send(Channel.Stdout, t); },
          stderr: (t) => { if (url.searchParams.get('stderr') !== 'false') send(Channel.Stderr, t); },
        };
        // kubectl creates its streams only after its read loop has started (client-go
        // remotecommand websocket.go: StreamWithContext runs readDemuxLoop and the stream
        // setup concurrently). A frame that arrives first is discarded as an unknown stream,
        // and a close that arrives first fails the setup ("closed all streams", exit 1) —
        // which an emulated command answering at once did, once in a loaded CI run. The
        // command starts after a grace a real container runtime's latency gives as well.
        const start = setTimeout(() => {
          if (ws.readyState !== ws.OPEN) return;
          void runCommand(ctx, { programs: PROGRAMS, hostname: pod.spec?.hostname ?? name })
            .catch((e: unknown) => {
              // A fault in a program is ours, not the user's: say so on stderr, exit as a crashed program.
              send(Channel.Stderr, `netsim: internal error running ${command[0]}: ${(e as Error).message}\n`);
              return 255;
            })
            .then((code) => {
              send(Channel.Error, JSON.stringify(status(code)));
              ws.close(1000);
            });
        }, STREAM_SETUP_GRACE_MS);
        ws.on('close', () => clearTimeout(start));
      });
    })().catch((e: unknown) => refuse(socket, 500, 'InternalError', (e as Error).message));
  };
  addUpgradeRoute(cluster.control.app, (path) => EXEC_PATH.test(path), handle);
  return () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
  };
}
