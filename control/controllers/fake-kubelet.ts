/**
 * FakeKubelet: a stand-in for the node agent until the emulator's real one runs pods.
 * It marks nodes Ready (optional), moves pods bound to a node to Running/Ready with a
 * podIP from the node's podCIDR (lowest free address from .2; .1 is the bridge) and
 * hostIP = the node's InternalIP, and finishes graceful deletions (deletes pods whose
 * deletionTimestamp was set `terminationDelayMs` ago). No containers, probes or restarts.
 */
import type { Node, Pod, PodCondition } from '../api/index.ts';
import type { ControlApi, Controller } from './types.ts';
import { isRace, rfc3339 } from './types.ts';
import { isNodeReady } from './scheduler.ts';

export interface FakeKubeletOptions {
  readonly clock?: () => Date;
  /** Also keep every node's Ready condition True (default true). */
  readonly manageNodes?: boolean;
  /** How long a terminating pod stays before it is removed (default 1000 ms). */
  readonly terminationDelayMs?: number;
  /** Only act for these nodes (default: all). */
  readonly nodeNames?: readonly string[];
}

/** The status kubelet posts when its node becomes Ready: a Ready=True condition (others kept) and nodeInfo (reported fields kept). */
export function readyNodeStatus(n: Node, now: string, containerRuntimeVersion: string): NonNullable<Node['status']> {
  const conditions = [...(n.status?.conditions ?? []).filter((c) => c.type !== 'Ready'), { type: 'Ready', status: 'True' as const, reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now }];
  return { ...n.status, conditions, nodeInfo: { kubeletVersion: 'v1.32.4', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0-netsim', containerRuntimeVersion, architecture: 'amd64', operatingSystem: 'linux', ...(n.status?.nodeInfo ?? {}) } };
}

function ipToInt(s: string): number { return s.split('.').reduce((a, o) => a * 256 + Number(o), 0); }
function intToIp(n: number): string { return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.'); }

export class FakeKubelet implements Controller {
  readonly name = 'fake-kubelet';
  private readonly clock: () => Date;
  constructor(private readonly api: ControlApi, private readonly opts: FakeKubeletOptions = {}) {
    this.clock = opts.clock ?? (() => new Date());
  }

  private mine(nodeName: string | undefined): boolean {
    return !!nodeName && (!this.opts.nodeNames || this.opts.nodeNames.includes(nodeName));
  }

  async sync(): Promise<number> {
    let writes = 0;
    const now = rfc3339(this.clock());
    const nodes = await this.api.list<Node>('nodes');
    if (this.opts.manageNodes !== false) {
      for (const n of nodes) {
        if (!this.mine(n.metadata.name)) continue;
        if (isNodeReady(n)) continue;
        const status = readyNodeStatus(n, now, 'netsim://0.1.0');
        try { await this.api.updateStatus('nodes', undefined, n.metadata.name!, { ...n, status }); writes++; } catch (e) { if (!isRace(e)) throw e; }
      }
    }
    const pods = await this.api.list<Pod>('pods');
    const delay = this.opts.terminationDelayMs ?? 1000;
    // Addresses given in this pass (the listed pods are shared and frozen: their status is not written back).
    const given = new Map<string, string>();
    for (const pod of pods) {
      if (!this.mine(pod.spec.nodeName)) continue;
      try {
        if (pod.metadata.deletionTimestamp) {
          const requested = Date.parse(pod.metadata.deletionTimestamp) - (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
          if (this.clock().getTime() >= requested + delay) { await this.api.delete('pods', pod.metadata.namespace, pod.metadata.name!, { gracePeriodSeconds: 0 }); writes++; }
          continue;
        }
        if (pod.status?.phase === 'Running' && pod.status.podIP) continue;
        if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
        const node = nodes.find((n) => n.metadata.name === pod.spec.nodeName);
        if (!node?.spec?.podCIDR) continue;
        const hostIP = (node.status?.addresses ?? []).find((a) => a.type === 'InternalIP')?.address;
        const podIP = pod.spec.hostNetwork ? hostIP : this.allocate(node.spec.podCIDR, pods.filter((p) => p.spec.nodeName === pod.spec.nodeName && p.metadata.uid !== pod.metadata.uid).map((p) => given.get(p.metadata.uid ?? '') ?? p.status?.podIP).filter((x): x is string => !!x));
        if (!podIP) continue;
        const cond = (type: string): PodCondition => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: now });
        const status = {
          ...pod.status,
          phase: 'Running' as const,
          conditions: [cond('PodReadyToStartContainers'), cond('Initialized'), cond('Ready'), cond('ContainersReady'), cond('PodScheduled')],
          podIP, podIPs: [{ ip: podIP }],
          ...(hostIP ? { hostIP, hostIPs: [{ ip: hostIP }] } : {}),
          startTime: now,
          containerStatuses: (pod.spec.containers ?? []).map((c, i) => ({
            name: c.name, ready: true, restartCount: 0, started: true, image: c.image ?? '', imageID: '',
            containerID: `netsim://${(pod.metadata.uid ?? '').replace(/-/g, '')}${i}`, state: { running: { startedAt: now } },
          })),
        };
        await this.api.updateStatus('pods', pod.metadata.namespace, pod.metadata.name!, { ...pod, status });
        given.set(pod.metadata.uid ?? '', podIP);
        writes++;
      } catch (e) { if (!isRace(e)) throw e; }
    }
    return writes;
  }

  private allocate(cidr: string, used: readonly string[]): string | undefined {
    const [ip, len] = cidr.split('/');
    const base = ipToInt(ip ?? '0.0.0.0');
    const size = 2 ** (32 - Number(len));
    const taken = new Set(used);
    for (let off = 2; off < size - 1; off++) {
      const cand = intToIp(base + off);
      if (!taken.has(cand)) return cand;
    }
    return undefined;
  }
}
