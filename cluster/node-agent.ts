/**
 * The kubelet-like node agent. For each pod bound to its node it creates the pod's
 * network (Docker runtime or CNI), starts the pod's emulated apps, and reports
 * phase Running, podIP/hostIP and readiness; readiness probes (httpGet, tcpSocket)
 * are real connections from the node's namespace to the pod, on the virtual clock,
 * with the probe's period, initial delay and thresholds. A pod marked for deletion
 * keeps serving through its shutdown delay (a `preStop` `sleep N`, or the
 * `netsim.io/shutdown-delay` annotation; never beyond the grace period), then its
 * apps stop, its network is torn down and the agent deletes it for good, as
 * kubelet does. The node's own Ready condition is set once at start. Each pod gets
 * /etc/resolv.conf by its dnsPolicy and kubelet's /etc/hosts (apps/dns/resolv-conf.ts),
 * which its programs and resolver read. A pod's program may exit (pod-apps.ts
 * `planExit`): by restartPolicy the pod ends Succeeded/Failed or its container restarts
 * after kubelet's back-off (CrashLoopBackOff). A pod that runs a node component
 * (system-pods.ts: kube-proxy, flanneld) starts and stops it.
 *
 * Not modelled: liveness/startup probes, exec probes, image pulls, resource limits,
 * init containers, a restart's effect on the apps (servers keep running).
 */
import type { NetNamespace } from '../netsim/stack/net-namespace.ts';
import type { Scheduler, TimerId } from '../netsim/time/scheduler.ts';
import { SECOND } from '../netsim/time/scheduler.ts';
import { formatIpv4 } from '../netsim/wire/addr.ts';
import type { Ipv4Addr } from '../netsim/wire/addr.ts';
import { httpGet } from '../netsim/apps/http.ts';
import type { Container, ContainerState, Node, Pod, PodCondition, PodStatus } from '../control/api/index.ts';
import type { ControlApi } from '../control/controllers/index.ts';
import { isNodeReady, readyNodeStatus } from '../control/controllers/index.ts';
import type { PodNetwork, PodNetworkProvider } from './pod-network.ts';
import { planApps, planExit, startApps, startAppsWhenBuilt } from './pod-apps.ts';
import type { AppEnv, AppLog, AppTap, ExitPlan, RunningApps } from './pod-apps.ts';
import { PodLogs } from './pod-logs.ts';
import { EventRecorder } from '../control/controllers/event-recorder.ts';

/** The User-Agent of the kubelet's HTTP probes (prober/http.go: "kube-probe/<major>.<minor>"). */
const KUBE_PROBE_AGENT = 'kube-probe/1.32';
import { parseDuration } from './spec.ts';
import { podHostsFile, podResolvConf } from '../apps/dns/resolv-conf.ts';
import type { ResolvConf } from '../apps/dns/resolv-conf.ts';
import type { NodeComponent } from './system-pods.ts';

export const SHUTDOWN_DELAY_ANNOTATION = 'netsim.io/shutdown-delay';

/** One pod as the agent runs it. */
export interface RunningPod {
  readonly key: string;
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly net: PodNetwork;
  readonly apps: RunningApps;
  /** What `kubectl logs` reads: the apps' lines per container. */
  readonly logs: PodLogs;
  ready: boolean;
  terminating: boolean;
  /** Apps stopped and network gone: waiting for the agent's final delete. */
  stopped: boolean;
  readonly startedAt: string;
  readonly timers: TimerId[];
  /** /etc/resolv.conf and /etc/hosts as kubelet wrote them for the pod. */
  readonly resolvConf: ResolvConf;
  readonly hosts: string;
  /** The node component this pod is (kube-proxy, flanneld), started and stopped with it. */
  readonly component: NodeComponent | undefined;
  readonly hasProbe: boolean;
  /** When the current run of its containers started (restarts move it). */
  containerStartedAt: string;
  restarts: number;
  /** The last exit of its program (containerStatuses' state.terminated, then lastState). */
  lastExit: { code: number; startedAt: string; finishedAt: string } | undefined;
  /** Waiting out kubelet's restart back-off (CrashLoopBackOff). */
  backingOff: boolean;
  /** The program ended for good (restartPolicy): the pod's terminal phase. */
  finished: 'Succeeded' | 'Failed' | undefined;
}

interface ProbeSpec {
  /** The container whose probe this is (events name it). */
  readonly container: string;
  readonly kind: 'http' | 'tcp';
  readonly port: number;
  readonly path: string;
  readonly initialDelayNs: number;
  readonly periodNs: number;
  readonly timeoutNs: number;
  readonly successThreshold: number;
  readonly failureThreshold: number;
}

function num(v: unknown, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : dflt;
}

/** The first container's readinessProbe, resolved to numbers (named ports looked up in the container). */
function readinessProbe(pod: Pod): ProbeSpec | undefined {
  for (const c of pod.spec.containers ?? []) {
    const p = c.readinessProbe as Record<string, unknown> | undefined;
    if (p === undefined) continue;
    const http = p['httpGet'] as { port?: unknown; path?: unknown } | undefined;
    const tcp = p['tcpSocket'] as { port?: unknown } | undefined;
    const portOf = (v: unknown): number | undefined => {
      if (typeof v === 'number') return v;
      if (typeof v === 'string') return /^\d+$/.test(v) ? Number(v) : (c as Container).ports?.find((cp) => cp.name === v)?.containerPort;
      return undefined;
    };
    const port = portOf(http?.port ?? tcp?.port);
    if (port === undefined) continue;
    return {
      container: c.name,
      kind: http !== undefined ? 'http' : 'tcp',
      port,
      path: typeof http?.path === 'string' ? http.path : '/',
      initialDelayNs: num(p['initialDelaySeconds'], 0) * SECOND,
      periodNs: Math.max(1, num(p['periodSeconds'], 10)) * SECOND,
      timeoutNs: Math.max(1, num(p['timeoutSeconds'], 1)) * SECOND,
      successThreshold: Math.max(1, num(p['successThreshold'], 1)),
      failureThreshold: Math.max(1, num(p['failureThreshold'], 3)),
    };
  }
  return undefined;
}

/** How long a terminating pod keeps serving: preStop `sleep N`, else the annotation, capped by the grace period. */
function shutdownDelayNs(pod: Pod): number {
  let ns = 0;
  const ann = pod.metadata.annotations?.[SHUTDOWN_DELAY_ANNOTATION];
  if (ann !== undefined) {
    try { ns = parseDuration(ann); } catch { ns = 0; }
  }
  for (const c of pod.spec.containers ?? []) {
    const cmd = ((c['lifecycle'] as { preStop?: { exec?: { command?: unknown } } } | undefined)?.preStop?.exec?.command);
    const text = Array.isArray(cmd) ? cmd.join(' ') : '';
    const m = /(?:^|\s|;)sleep\s+(\d+(?:\.\d+)?)/.exec(text);
    if (m !== null) ns = Math.max(ns, Number(m[1]) * SECOND);
  }
  const grace = (pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30) * SECOND;
  return Math.min(ns, grace);
}

export interface NodeAgentOptions {
  readonly nodeName: string;
  readonly node: NetNamespace;
  readonly network: PodNetworkProvider;
  readonly api: ControlApi;
  readonly clock: Scheduler;
  /** Virtual-time wall clock for status timestamps. */
  readonly wallClock: () => Date;
  /** Start the pods' apps (default true). */
  readonly apps?: boolean;
  /** Observation tap on the pods' echo apps; called with the pod's key (namespace/name). */
  readonly appTap?: AppTap;
  /** What the cluster offers apps (the DNS add-on). */
  readonly appEnv?: AppEnv;
  /** kubelet's DNS settings: --cluster-dns (empty: none), --cluster-domain, --resolv-conf (the node's file). */
  readonly dns?: { readonly clusterDNS: readonly string[]; readonly clusterDomain: string; readonly node: ResolvConf };
  /** The node component a pod is, if any (system-pods.ts): started with the pod, stopped with it. */
  readonly components?: (pod: Pod) => NodeComponent | undefined;
}

export class NodeAgent {
  readonly pods = new Map<string, RunningPod>();
  private nodeReady = false;
  /** The node is down (shutdown() until resume()): no pods run, nothing is written. */
  private halted = false;
  /** Work the next reconcile must do even if the store did not change (a probe flipped, a shutdown ended). */
  private dirty = false;
  /** Pods whose start failed, by uid: "namespace/name" and the reason (reported in status, not retried). */
  readonly failures = new Map<string, { readonly key: string; readonly message: string }>();

  /** The kubelet's events (Pulled, Created, Started, Killing, Unhealthy, FailedCreatePodSandBox), written at the end of each pass. */
  private readonly events: EventRecorder;

  constructor(private readonly o: NodeAgentOptions) {
    this.events = new EventRecorder(o.api, 'kubelet', o.wallClock, o.nodeName);
  }

  get name(): string {
    return this.o.nodeName;
  }

  get hasPendingWork(): boolean {
    return this.dirty;
  }

  private now(): string {
    return this.o.wallClock().toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  /** One pass over the pods (all pods of the cluster; the agent picks its own). Returns writes made. */
  async sync(allPods: readonly Pod[], nodes: readonly Node[]): Promise<number> {
    this.dirty = false;
    if (this.halted) return 0;
    let writes = 0;
    if (!this.nodeReady) writes += await this.markNodeReady(nodes);
    const seen = new Set<string>();
    for (const pod of allPods) {
      if (pod.spec.nodeName !== this.o.nodeName) continue;
      const uid = pod.metadata.uid ?? '';
      seen.add(uid);
      let run = this.pods.get(uid);
      if (pod.metadata.deletionTimestamp !== undefined) {
        if (run === undefined) {
          writes += await this.finalDelete(pod);
          continue;
        }
        if (!run.terminating) this.beginTermination(run, pod);
        if (run.stopped) {
          writes += await this.finalDelete(pod);
          this.pods.delete(uid);
          continue;
        }
      } else if (run === undefined) {
        // A pod that ran to completion is not run again (after a node restart, say).
        if (this.failures.has(uid) || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
        run = this.start(pod);
        if (run === undefined) {
          writes += await this.writeStatus(pod, this.failedStatus(pod));
          continue;
        }
      }
      const status = this.statusFor(pod, run);
      if (this.statusDiffers(pod.status, status)) writes += await this.writeStatus(pod, status);
    }
    // Pods removed from the store behind our back (force delete): tear them down.
    for (const [uid, run] of this.pods) {
      if (seen.has(uid)) continue;
      this.stop(run);
      this.pods.delete(uid);
    }
    return writes + await this.events.flush();
  }

  private async markNodeReady(nodes: readonly Node[]): Promise<number> {
    const n = nodes.find((x) => x.metadata.name === this.o.nodeName);
    if (n === undefined) return 0;
    this.nodeReady = true;
    if (isNodeReady(n)) return 0;
    const status = readyNodeStatus(n, this.now(), `${this.o.network.kind === 'docker' ? 'docker' : 'containerd'}://netsim`);
    await this.o.api.updateStatus('nodes', undefined, this.o.nodeName, { ...n, status });
    return 1;
  }

  private start(pod: Pod): RunningPod | undefined {
    const namespace = pod.metadata.namespace ?? 'default';
    const name = pod.metadata.name ?? '';
    const uid = pod.metadata.uid ?? '';
    let net: PodNetwork;
    let apps: RunningApps;
    const logs = new PodLogs((pod.spec.containers ?? []).map((c) => c.name));
    let exit: ExitPlan | undefined;
    try {
      exit = planExit(pod);
      const portMappings = (pod.spec.containers ?? []).flatMap((c) => (c.ports ?? []).filter((p) => p.hostPort !== undefined).map((p) => ({ hostPort: p.hostPort as number, containerPort: p.containerPort, protocol: p.protocol ?? 'TCP' })));
      const plans = this.o.apps === false ? [] : planApps(pod);
      net = this.o.network.setup({ namespace, name, uid, hostNetwork: pod.spec.hostNetwork === true, portMappings });
      const tap = this.o.appTap;
      const key = `${namespace}/${name}`;
      const first = logs.containerNames[0];
      const log: AppLog = (container, line) => {
        const ms = this.o.wallClock().getTime();
        logs.container(container ?? first ?? '')?.append(ms, line);
      };
      apps = startAppsWhenBuilt(plans, net.whenBuilt, (ns) => startApps(ns, name, plans, tap === undefined ? undefined : (_pod, kind, port, data) => tap(key, kind, port, data), log, this.o.appEnv));
    } catch (e) {
      this.failures.set(uid, { key: `${namespace}/${name}`, message: (e as Error).message });
      this.events.queue(pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(e as Error).message}`);
      return undefined;
    }
    // kuberuntime_container.go startContainer: the image is "pulled" (always present here), then created and started.
    for (const c of pod.spec.containers ?? []) {
      const fieldPath = `spec.containers{${c.name}}`;
      this.events.queue(pod, 'Normal', 'Pulled', `Container image "${c.image ?? ''}" already present on machine`, fieldPath);
      this.events.queue(pod, 'Normal', 'Created', `Created container: ${c.name}`, fieldPath);
      this.events.queue(pod, 'Normal', 'Started', `Started container ${c.name}`, fieldPath);
    }
    const probe = readinessProbe(pod);
    const component = this.o.components?.(pod);
    component?.start();
    const dns = this.o.dns ?? { clusterDNS: [], clusterDomain: 'cluster.local', node: { nameservers: [], search: [], options: [] } };
    const spec = pod.spec as Pod['spec'] & { dnsConfig?: Parameters<typeof podResolvConf>[0]['dnsConfig']; hostAliases?: Array<{ ip: string; hostnames?: string[] }> };
    const resolvConf = podResolvConf({ namespace, ...(spec.dnsPolicy !== undefined ? { dnsPolicy: spec.dnsPolicy } : {}), hostNetwork: spec.hostNetwork === true, ...(spec.dnsConfig !== undefined ? { dnsConfig: spec.dnsConfig } : {}), clusterDNS: dns.clusterDNS, clusterDomain: dns.clusterDomain, node: dns.node });
    const hosts = podHostsFile({ podName: name, namespace, podIP: formatIpv4(net.ip), ...(spec.hostname !== undefined ? { hostname: spec.hostname } : {}), ...(spec.subdomain !== undefined ? { subdomain: spec.subdomain } : {}), clusterDomain: dns.clusterDomain, ...(spec.hostAliases !== undefined ? { hostAliases: spec.hostAliases } : {}) });
    const startedAt = this.now();
    const run: RunningPod = {
      key: `${namespace}/${name}`, uid, namespace, name, net, apps, logs, ready: probe === undefined, terminating: false, stopped: false, startedAt, timers: [], resolvConf, hosts, component,
      hasProbe: probe !== undefined, containerStartedAt: startedAt, restarts: 0, lastExit: undefined, backingOff: false, finished: undefined,
    };
    this.pods.set(uid, run);
    if (probe !== undefined) this.scheduleProbes(run, probe);
    if (exit !== undefined) this.scheduleExit(run, exit, pod.spec.restartPolicy ?? 'Always');
    return run;
  }

  /**
   * The pod's program ends with `plan.code` after `plan.afterNs`. By restartPolicy (kubelet's
   * computePodActions): Never, or OnFailure with code 0, ends the pod (phase Succeeded when
   * 0, else Failed; its network is torn down, its status kept); otherwise the container
   * restarts after kubelet's back-off (10 s doubling to 5 min; CrashLoopBackOff meanwhile).
   */
  private scheduleExit(run: RunningPod, plan: ExitPlan, policy: string): void {
    const clock = this.o.clock;
    run.timers.push(clock.after(plan.afterNs, () => {
      if (run.stopped) return;
      run.lastExit = { code: plan.code, startedAt: run.containerStartedAt, finishedAt: this.now() };
      run.ready = false;
      this.dirty = true;
      if (policy === 'Never' || (policy === 'OnFailure' && plan.code === 0)) {
        run.finished = plan.code === 0 ? 'Succeeded' : 'Failed';
        this.stop(run);
        return;
      }
      run.restarts++;
      run.backingOff = true;
      const backoffNs = Math.min(300, 10 * 2 ** (run.restarts - 1)) * SECOND;
      run.timers.push(clock.after(backoffNs, () => {
        if (run.stopped) return;
        run.backingOff = false;
        run.containerStartedAt = this.now();
        // Without a readiness probe a started container is ready; with one, the probes decide.
        if (!run.hasProbe) run.ready = true;
        this.dirty = true;
        this.scheduleExit(run, plan, policy);
      }));
    }));
  }

  private scheduleProbes(run: RunningPod, probe: ProbeSpec): void {
    const clock = this.o.clock;
    let successes = 0;
    let failures = 0;
    const tick = (): void => {
      if (run.stopped) return;
      this.probeOnce(run, probe, (ok, why) => {
        if (ok) { successes++; failures = 0; } else { failures++; successes = 0; }
        if (!ok) {
          // prober/worker.go records every failed probe; the correlator folds repeats into one Event's count.
          const subject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: run.name, namespace: run.namespace, uid: run.uid } };
          this.events.queue(subject, 'Warning', 'Unhealthy', `Readiness probe failed: ${why}`, `spec.containers{${probe.container}}`);
          this.dirty = true;
        }
        const was = run.ready;
        if (!was && successes >= probe.successThreshold) run.ready = true;
        if (was && failures >= probe.failureThreshold) run.ready = false;
        if (was !== run.ready) this.dirty = true;
      });
      run.timers.push(clock.after(probe.periodNs, tick));
    };
    run.timers.push(clock.after(probe.initialDelayNs, tick));
  }

  /** One probe from the node's namespace; `done(ok)` once, by the timeout at the latest. */
  private probeOnce(run: RunningPod, probe: ProbeSpec, done: (ok: boolean, why: string) => void): void {
    const clock = this.o.clock;
    let finished = false;
    const finish = (ok: boolean, why = ''): void => {
      if (finished) return;
      finished = true;
      clock.cancel(timer);
      done(ok, why);
    };
    const dst: Ipv4Addr = run.net.ip;
    const target = `${formatIpv4(dst)}:${probe.port}`;
    // The messages of prober/http and prober/tcp (Go's net/http and net errors).
    const url = `http://${target}${probe.path}`;
    let abort = (): void => {};
    let timeoutWhy = `dial tcp ${target}: i/o timeout`;
    if (probe.kind === 'http') {
      timeoutWhy = `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`;
      const s = httpGet(this.o.node, dst, probe.port, { path: probe.path, host: formatIpv4(dst), userAgent: KUBE_PROBE_AGENT, onDone: (sess) => {
        const st = sess.results[0]?.status;
        if (st === undefined) finish(false, `Get "${url}": dial tcp ${target}: connect: ${sess.error === 'refused' ? 'connection refused' : sess.error === 'reset' ? 'connection reset by peer' : 'no route to host'}`);
        else finish(st >= 200 && st < 400, `HTTP probe failed with statuscode: ${st}`);
      } });
      abort = () => s.conn.abort();
    } else {
      const c = this.o.node.tcp.connect(dst, probe.port);
      c.onConnect = () => { c.end(); finish(true); };
      c.onClose = (reason) => finish(false, `dial tcp ${target}: connect: ${reason === 'refused' ? 'connection refused' : 'no route to host'}`);
      abort = () => c.abort();
    }
    const timer = clock.after(probe.timeoutNs, () => { abort(); finish(false, timeoutWhy); });
  }

  private beginTermination(run: RunningPod, pod: Pod): void {
    run.terminating = true;
    for (const c of pod.spec.containers ?? []) this.events.queue(pod, 'Normal', 'Killing', `Stopping container ${c.name}`, `spec.containers{${c.name}}`);
    const stopAt = shutdownDelayNs(pod);
    const finish = (): void => {
      this.stop(run);
      this.dirty = true;
    };
    if (stopAt <= 0) finish();
    else run.timers.push(this.o.clock.after(stopAt, finish));
  }

  private stop(run: RunningPod): void {
    if (run.stopped) return;
    run.stopped = true;
    run.ready = false;
    for (const t of run.timers.splice(0)) this.o.clock.cancel(t);
    run.apps.stop();
    run.component?.stop();
    run.net.teardown();
  }

  private async finalDelete(pod: Pod): Promise<number> {
    try {
      await this.o.api.delete('pods', pod.metadata.namespace, pod.metadata.name ?? '', { gracePeriodSeconds: 0 });
      return 1;
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 404 || code === 409) return 0;
      throw e;
    }
  }

  private statusFor(pod: Pod, run: RunningPod): PodStatus {
    const prev = new Map((pod.status?.conditions ?? []).map((c) => [c.type, c]));
    const now = this.now();
    const cond = (type: string, ok: boolean): PodCondition => {
      const status = ok ? 'True' : 'False';
      const old = prev.get(type);
      return { type, status, lastProbeTime: null, lastTransitionTime: old !== undefined && old.status === status ? old.lastTransitionTime ?? now : now };
    };
    const ip = formatIpv4(run.net.ip);
    const hostIP = formatIpv4(this.o.node.primaryAddress('eth0') ?? 0);
    const ready = run.ready && !run.stopped;
    const done = run.finished !== undefined;
    // A finished pod's Ready and ContainersReady are False with reason PodCompleted (kubelet's generateAPIPodStatus).
    const notReady = (c: PodCondition): PodCondition => (done && c.status === 'False' ? { ...c, reason: 'PodCompleted' } : c);
    const exit = run.lastExit;
    const terminated = exit !== undefined
      ? { exitCode: exit.code, reason: exit.code === 0 ? 'Completed' : 'Error', startedAt: exit.startedAt, finishedAt: exit.finishedAt }
      : undefined;
    return {
      ...pod.status,
      phase: run.finished ?? 'Running',
      conditions: [cond('PodReadyToStartContainers', !done), cond('Initialized', true), notReady(cond('Ready', ready)), notReady(cond('ContainersReady', ready)), cond('PodScheduled', true)],
      hostIP, hostIPs: [{ ip: hostIP }],
      podIP: ip, podIPs: [{ ip }],
      startTime: pod.status?.startTime ?? run.startedAt,
      qosClass: 'BestEffort',
      containerStatuses: (pod.spec.containers ?? []).map((c, i) => {
        const containerID = `${this.o.network.kind === 'docker' ? 'docker' : 'containerd'}://${run.uid.replace(/-/g, '')}${i}`;
        let state: ContainerState = { running: { startedAt: run.containerStartedAt } };
        if (done && terminated !== undefined) state = { terminated: { ...terminated, containerID } };
        else if (run.backingOff) state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${Math.min(300, 10 * 2 ** (run.restarts - 1))}s restarting failed container=${c.name} pod=${run.name}_${run.namespace}(${run.uid})` } };
        return {
          name: c.name, ready, restartCount: run.restarts, started: !done && !run.backingOff, image: c.image ?? '', imageID: '', containerID, state,
          ...(!done && terminated !== undefined ? { lastState: { terminated: { ...terminated, containerID } } } : {}),
        };
      }),
    };
  }

  private failedStatus(pod: Pod): PodStatus {
    const why = this.failures.get(pod.metadata.uid ?? '')?.message ?? 'unknown error';
    return { ...pod.status, phase: 'Pending', reason: 'FailedCreatePodSandBox', message: `Failed to create pod sandbox: ${why}` };
  }

  private statusDiffers(a: PodStatus | undefined, b: PodStatus): boolean {
    const ready = (s: PodStatus | undefined): string | undefined => s?.conditions?.find((c) => c.type === 'Ready')?.status;
    const containers = (st: PodStatus | undefined): string => JSON.stringify((st?.containerStatuses ?? []).map((c) => [c.restartCount, Object.keys(c.state ?? {})]));
    return a?.phase !== b.phase || a?.podIP !== b.podIP || a?.hostIP !== b.hostIP || ready(a) !== ready(b) || a?.message !== b.message || containers(a) !== containers(b);
  }

  private async writeStatus(pod: Pod, status: PodStatus): Promise<number> {
    try {
      // The listed pod is shared and frozen (the API's list cache): the next list has the new status.
      await this.o.api.updateStatus<Pod>('pods', pod.metadata.namespace, pod.metadata.name ?? '', { ...pod, status });
      return 1;
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 404 || code === 409) { this.dirty = true; return 0; }
      throw e;
    }
  }

  /** Make a pod's readiness endpoint fail or recover (what a probe then sees). */
  setHealthy(key: string, healthy: boolean): boolean {
    for (const run of this.pods.values()) {
      if (run.key !== key) continue;
      run.apps.healthy = healthy;
      return true;
    }
    return false;
  }

  /** Stop everything (node going down): apps and networks, no API writes; the agent stays idle until {@link resume}. */
  shutdown(): void {
    this.halted = true;
    for (const run of this.pods.values()) this.stop(run);
    this.pods.clear();
  }

  /** The node is back (after {@link shutdown}): report Ready again and start its pods afresh on the next sync. */
  resume(): void {
    this.halted = false;
    this.nodeReady = false;
    this.dirty = true;
  }

  get isDown(): boolean {
    return this.halted;
  }
}

