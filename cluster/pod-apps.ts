/**
 * Which emulated app a pod runs, chosen from its containers the way a reader of the
 * manifest would guess, or set explicitly:
 *
 * - annotation `netsim.io/apps: "http:80,udp-echo:7,tcp-echo:9"` (or `none`) wins;
 * - an image named nginx, httpd, http-echo or netsim/http serves HTTP on each TCP
 *   containerPort (port 80 when it declares none);
 * - an image named *echo* answers UDP and TCP on its containerPorts (port 7 when none);
 * - an image named coredns runs the cluster DNS server (cluster/dns-addon.ts) when
 *   the cluster has the add-on's record engine;
 * - a node component's image (kube-proxy, flannel, k8s-dns-node-cache) runs no app:
 *   the component serves its own ports (system-pods.ts);
 * - any other image serves HTTP on its TCP containerPorts and echoes on its UDP ones;
 *   an image without ports (busybox, curl, netsim/http-client) runs no server.
 *
 * HTTP pages say which pod answered (`Hello World, Kubernetes! from <pod>`), so
 * traces and experiments can see the backend. `setHealthy(false)` makes `/healthz`
 * and `/readyz` answer 503 (what a readiness probe sees) while pages are still served.
 */
import type { NetNamespace } from '../netsim/stack/net-namespace.ts';
import { startHttpServer } from '../netsim/apps/http.ts';
import type { HttpAccess } from '../netsim/apps/http.ts';
import { formatIpv4 } from '../netsim/wire/addr.ts';
import { nginxTime } from './pod-logs.ts';
import { startTcpEcho, startUdpEcho } from '../netsim/apps/echo.ts';
import type { Pod } from '../control/api/index.ts';
import { SECOND } from '../netsim/time/scheduler.ts';
import { parseDuration } from './spec.ts';
import { CodedError } from '../netsim/errors.ts';
import { componentOfImage } from './system-pods.ts';

export type AppKind = 'http' | 'udp-echo' | 'tcp-echo' | 'coredns';
/** One app on one port, and the container it stands for (whose log it writes). */
export interface AppPlan { readonly kind: AppKind; readonly port: number; readonly container?: string }

export const APPS_ANNOTATION = 'netsim.io/apps';

export class PodAppError extends CodedError {
  readonly code = 'NETSIM_ERR_POD_APPS';
  constructor(message: string) {
    super(message);
    this.name = 'PodAppError';
  }
}

function parseAnnotation(pod: Pod, text: string): AppPlan[] {
  if (text.trim() === 'none') return [];
  return text.split(',').map((part) => {
    const m = /^\s*(http|udp-echo|tcp-echo|coredns)(?::(\d{1,5}))?\s*$/.exec(part);
    const port = m?.[2] !== undefined ? Number(m[2]) : undefined;
    if (m === null || (port !== undefined && (port < 1 || port > 65535))) {
      throw new PodAppError(`pod ${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}: annotation ${APPS_ANNOTATION}: "${part.trim()}" is not KIND[:PORT] with KIND http, udp-echo, tcp-echo or coredns`);
    }
    const kind = m[1] as AppKind;
    return { kind, port: port ?? (kind === 'http' ? 80 : kind === 'coredns' ? 53 : 7) };
  });
}

/** The apps a pod runs (in container order, duplicates removed). */
export function planApps(pod: Pod): AppPlan[] {
  const ann = pod.metadata.annotations?.[APPS_ANNOTATION];
  const plans: AppPlan[] = [];
  if (ann !== undefined) plans.push(...parseAnnotation(pod, ann));
  else {
    for (const c of pod.spec.containers ?? []) {
      const image = (c.image ?? '').toLowerCase();
      const repo = image.split('@')[0]?.replace(/:[^/]*$/, '') ?? '';
      const name = repo.split('/').pop() ?? '';
      const ports = c.ports ?? [];
      const tcp = ports.filter((p) => (p.protocol ?? 'TCP') === 'TCP').map((p) => p.containerPort);
      const udp = ports.filter((p) => p.protocol === 'UDP').map((p) => p.containerPort);
      if (componentOfImage(image) !== undefined) continue; // a node component (system-pods.ts) serves its own ports
      if (name === 'coredns') plans.push({ kind: 'coredns', port: 53, container: c.name });
      else if (['nginx', 'httpd', 'http-echo'].includes(name) || repo === 'netsim/http') {
        for (const port of tcp.length > 0 ? tcp : [80]) plans.push({ kind: 'http', port, container: c.name });
      } else if (name.includes('echo')) {
        for (const port of tcp.length > 0 || udp.length > 0 ? tcp : [7]) plans.push({ kind: 'tcp-echo', port, container: c.name });
        for (const port of tcp.length > 0 || udp.length > 0 ? udp : [7]) plans.push({ kind: 'udp-echo', port, container: c.name });
      } else {
        for (const port of tcp) plans.push({ kind: 'http', port, container: c.name });
        for (const port of udp) plans.push({ kind: 'udp-echo', port, container: c.name });
      }
    }
  }
  const seen = new Set<string>();
  return plans.filter((p) => {
    const k = p.kind === 'coredns' ? 'coredns' : `${p.kind === 'udp-echo' ? 'udp' : 'tcp'}/${p.port}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * An observation tap on a pod's echo apps (experiments use it to see which pod a
 * datagram reached): called with the pod's name, the port and the payload of every
 * datagram (udp-echo) or segment (tcp-echo) the app reads, before it answers.
 */
export type AppTap = (pod: string, kind: 'udp-echo' | 'tcp-echo', port: number, data: Uint8Array) => void;

export interface RunningApps {
  readonly plans: readonly AppPlan[];
  healthy: boolean;
  /** Requests (HTTP) answered so far. */
  requests(): number;
  stop(): void;
}

/**
 * Where apps write their log lines: the container (undefined: the pod's first) and the line, given the wall-clock time of the write.
 * The log calls `line` when the line is first read (cluster/pod-logs.ts), so it must be a pure function of the time and hold
 * only what it prints (scalars, strings): not a packet's bytes (a slab view keeps its whole slab) nor a connection.
 */
export type AppLog = (container: string | undefined, line: (wallMs: number) => string) => void;

/** What the cluster offers the apps beyond their namespace (the DNS add-on's server factory). */
export interface AppEnv {
  readonly dns?: (ns: NetNamespace, podName: string) => { stop(): void };
}

/** Start the planned apps in the pod's namespace; with `log`, they write their logs (nginx's access log, echo peers). */
export function startApps(ns: NetNamespace, podName: string, plans: readonly AppPlan[], tap?: AppTap, log?: AppLog, env: AppEnv = {}): RunningApps {
  const stops: Array<() => void> = [];
  const counters: Array<() => number> = [];
  const apps: RunningApps = {
    plans,
    healthy: true,
    requests: () => counters.reduce((a, f) => a + f(), 0),
    stop: () => {
      for (const s of stops.splice(0)) s();
    },
  };
  for (const p of plans) {
    if (p.kind === 'coredns') {
      // Without the add-on's record engine (DNS switched off) a coredns image runs nothing.
      const d = env.dns?.(ns, podName);
      if (d !== undefined) stops.push(() => d.stop());
    } else if (p.kind === 'http') {
      const s = startHttpServer(ns, {
        port: p.port, podName, healthy: () => apps.healthy,
        ...(log !== undefined ? { onAccess: (a: HttpAccess) => log(p.container, (ms) => accessLine(a, ms)) } : {}),
      });
      stops.push(() => s.close());
      counters.push(() => s.requests);
    } else if (p.kind === 'udp-echo') {
      const s = startUdpEcho(ns, p.port);
      if (tap !== undefined || log !== undefined) {
        const echo = s.onMessage;
        s.onMessage = (m) => {
          tap?.(podName, 'udp-echo', p.port, m.data);
          if (log !== undefined) {
            const n = m.data.length;
            const src = m.src;
            const sport = m.sport;
            log(p.container, () => `udp-echo: ${n} bytes from ${formatIpv4(src)}:${sport} on port ${p.port}`);
          }
          echo?.(m);
        };
      }
      stops.push(() => s.close());
    } else {
      const l = startTcpEcho(ns, p.port, tap === undefined ? undefined : (d) => tap(podName, 'tcp-echo', p.port, d),
        log === undefined ? undefined : (c) => {
          const raddr = c.remoteAddr;
          const rport = c.remotePort;
          log(p.container, () => `tcp-echo: connection from ${formatIpv4(raddr)}:${rport} on port ${p.port}`);
        });
      stops.push(() => l.close());
    }
  }
  return apps;
}

/**
 * Apps started by `start` once their namespace exists (`whenBuilt`: now, or when a pod kept
 * as a record is built, lazy-pods.ts). Until then nothing can reach them, so they have
 * answered nothing; health set meanwhile carries over.
 */
export function startAppsWhenBuilt(plans: readonly AppPlan[], whenBuilt: (f: (ns: NetNamespace) => void) => void, start: (ns: NetNamespace) => RunningApps): RunningApps {
  let running: RunningApps | undefined;
  let healthy = true;
  let stopped = false;
  whenBuilt((ns) => {
    if (stopped) return;
    running = start(ns);
    running.healthy = healthy;
  });
  return {
    plans,
    get healthy(): boolean { return running?.healthy ?? healthy; },
    set healthy(h: boolean) {
      healthy = h;
      if (running !== undefined) running.healthy = h;
    },
    requests: () => running?.requests() ?? 0,
    stop: () => {
      stopped = true;
      running?.stop();
    },
  };
}

/**
 * nginx's `combined` format without the time, which the log adds as it writes:
 * `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`.
 */
function accessLine(a: HttpAccess, ms: number): string {
  return `${formatIpv4(a.remoteAddr)} - - [${nginxTime(ms)}] "${a.request}" ${a.status} ${a.bytes} "${a.referer}" "${a.userAgent}"`;
}

export const EXIT_ANNOTATION = 'netsim.io/exit';

/** When and how a pod's program ends: exit code `code` after `afterNs` of running. */
export interface ExitPlan {
  readonly code: number;
  readonly afterNs: number;
}

/** A finite program without `sleep N` in its command runs this long (a `perl … bpi(2000)`, an `echo`). */
export const DEFAULT_RUN_NS = SECOND;

/**
 * Whether and how a pod's program exits (the container's end, which the node agent turns
 * into phase Succeeded/Failed or a restart by restartPolicy):
 *
 * - annotation `netsim.io/exit: "CODE[@DURATION]"` (e.g. `"0@5s"`, `"1"`) wins, for any pod;
 * - a pod with restartPolicy Never or OnFailure (a Job's) whose containers serve nothing
 *   runs its command: it exits with the last `exit N` in it (0 without one) after the sum
 *   of its `sleep N`s (1 s without one); `sleep infinity` never ends;
 * - anything else runs until it is stopped.
 */
export function planExit(pod: Pod): ExitPlan | undefined {
  const ann = pod.metadata.annotations?.[EXIT_ANNOTATION];
  if (ann !== undefined) {
    const m = /^\s*(\d{1,3})\s*(?:@\s*(\S+))?\s*$/.exec(ann);
    let afterNs = 0;
    try { afterNs = m?.[2] !== undefined ? parseDuration(m[2]) : 0; } catch { afterNs = -1; }
    if (m === null || Number(m[1]) > 255 || afterNs < 0) {
      throw new PodAppError(`pod ${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}: annotation ${EXIT_ANNOTATION}: "${ann}" is not CODE[@DURATION] with CODE 0..255 (e.g. "1@2s")`);
    }
    return { code: Number(m[1]), afterNs };
  }
  const policy = pod.spec.restartPolicy ?? 'Always';
  if (policy === 'Always' || planApps(pod).length > 0) return undefined;
  const text = (pod.spec.containers ?? []).map((c) => [...(c.command ?? []), ...(c.args ?? [])].join(' ')).join(' ; ');
  if (/\bsleep\s+inf(inity)?\b/.test(text)) return undefined;
  let afterNs = 0;
  let slept = false;
  for (const m of text.matchAll(/\bsleep\s+(\d+(?:\.\d+)?)(s|m|h)?\b/g)) {
    slept = true;
    afterNs += Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1) * SECOND;
  }
  const exits = [...text.matchAll(/\bexit\s+(\d{1,3})\b/g)];
  const code = exits.length > 0 ? Math.min(255, Number(exits[exits.length - 1]![1])) : 0;
  return { code, afterNs: slept ? Math.round(afterNs) : DEFAULT_RUN_NS };
}
