/**
 * A deterministic, self-contained experiment result for tests, goldens and the
 * report screenshot: what the runner will produce, made here with a seeded PRNG
 * instead of a cluster. iptables picks uniformly at random; IPVS rr rotates per
 * node (each node's kube-proxy alone); IPVS sh hashes few client addresses. At 40 %
 * of the run a third endpoint is added (scale 2 → 3), at 70 % the first one turns
 * unready (a few UDP flows keep going to it: black-holed).
 */
import { ExperimentAccumulator } from '../results.ts';
import type { ExperimentResult, ProxyModeName } from '../results.ts';

const MS = 1_000_000;
const SECOND = 1_000_000_000;

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SampleOptions {
  readonly connections?: number;
  readonly seed?: number;
  /** Pod names for the three endpoints (e.g. hostile ones for escaping tests). */
  readonly pods?: readonly [string, string, string];
  readonly modes?: readonly ProxyModeName[];
  /** Churn label for the scale-up event. */
  readonly scaleLabel?: string;
}

export function sampleResult(opts: SampleOptions = {}): ExperimentResult {
  const n = opts.connections ?? 3000;
  const rand = mulberry32(opts.seed ?? 1);
  const pods = opts.pods ?? ['web-7d4b9-a1', 'web-7d4b9-b2', 'web-7d4b9-c3'];
  const eps = [
    { ip: '10.244.1.2', pod: pods[0], node: 'node01' },
    { ip: '10.244.2.2', pod: pods[1], node: 'node02' },
    { ip: '10.244.2.3', pod: pods[2], node: 'node02' },
  ];
  const duration = 10 * SECOND;
  const acc = new ExperimentAccumulator({ experiment: 'sample: scale-up and an unready pod', seed: opts.seed ?? 1, windowNs: SECOND });
  const modes = opts.modes ?? ['iptables', 'ipvs-rr', 'ipvs-sh'];
  for (const mode of modes) {
    acc.declareRun(mode);
    acc.setEndpoints(mode, 0, eps.slice(0, 2));
    let active = eps.slice(0, 2);
    const rr = new Map<string, number>();
    let phase = 0;
    for (let i = 0; i < n; i++) {
      const t = Math.floor((i / n) * duration);
      if (phase === 0 && t >= 0.4 * duration) {
        phase = 1;
        active = eps.slice(0, 3);
        acc.setEndpoints(mode, t, active, opts.scaleLabel ?? 'scale web 2 → 3');
      }
      if (phase === 1 && t >= 0.7 * duration) {
        phase = 2;
        active = eps.slice(1, 3);
        acc.setEndpoints(mode, t, active, `${pods[0]} unready`);
      }
      const node = i % 3 === 0 ? 'node01' : 'node02';
      const client = Math.floor(rand() * 4);
      let ep: (typeof eps)[number];
      let blackholed = false;
      if (phase === 2 && rand() < 0.02) {
        ep = eps[0]!; // stale conntrack entry to the unready pod
        blackholed = true;
      } else if (mode === 'iptables') ep = active[Math.floor(rand() * active.length)]!;
      else if (mode === 'ipvs-rr') {
        const k = (rr.get(node) ?? 0) + 1;
        rr.set(node, k);
        ep = active[k % active.length]!;
      } else ep = active[(client * 7 + 1) % 5 % active.length]!;
      const latencyNs = 150_000 + Math.floor(-Math.log(1 - rand()) * (mode === 'iptables' ? 60_000 : 40_000)) + (ep.node === node ? 0 : 100_000);
      acc.recordConnection({ mode, node, endpointIp: ep.ip, pod: ep.pod, requests: blackholed ? 0 : 1 + Math.floor(rand() * 3), blackholed, latencyNs, t });
    }
    if (mode === 'iptables') acc.recordConnection({ mode, node: 'node01', t: 9 * SECOND + 5 * MS, failed: true });
  }
  return acc.result();
}
