/** Small helpers over API objects shared by controllers, proxies and agents. */
import type { Container, IntOrString, Pod, PodCondition, ServicePort } from './types.ts';

/** True when the pod's Ready condition is True (what the endpoints controller uses). */
export function isPodReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c: PodCondition) => c.type === 'Ready' && c.status === 'True');
}

export function isPodTerminating(pod: Pod): boolean {
  return pod.metadata.deletionTimestamp !== undefined;
}

/**
 * Resolve a Service port's targetPort against a pod's containers: numbers pass through,
 * names look up `containers[].ports[].name` with the same protocol (podutil.FindPort).
 */
export function resolveTargetPort(sp: ServicePort, containers: readonly Container[]): number | undefined {
  const tp: IntOrString = sp.targetPort ?? sp.port;
  if (typeof tp === 'number') return tp;
  if (/^\d+$/.test(tp)) return Number(tp);
  const proto = sp.protocol ?? 'TCP';
  for (const c of containers) for (const p of c.ports ?? []) {
    if (p.name === tp && (p.protocol ?? 'TCP') === proto) return p.containerPort;
  }
  return undefined;
}

/** intstr.GetScaledValueFromIntOrPercent: `25%` of total, rounding up or down. */
export function scaledValue(v: IntOrString | undefined, total: number, roundUp: boolean): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return Number.parseInt(v, 10) || 0;
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** Stable 32-bit FNV-1a hash, rendered like Kubernetes' pod-template-hash (safe-encoded). */
export function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';
/** rand.SafeEncodeString over the decimal hash: no vowels, as in `nginx-deployment-674ff86d`. */
export function safeEncode(n: number): string {
  const s = String(n);
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE[s.charCodeAt(i) % SAFE.length]!;
  return out;
}

/** `count` characters of the safe alphabet, the base-27 digits of `n` (utilrand.String's alphabet; 27⁵ < 2³² for five). */
export function safeDigits(n: number, count: number): string {
  let out = '';
  for (let i = 0, v = n; i < count; i++, v = Math.floor(v / SAFE.length)) out += SAFE[v % SAFE.length]!;
  return out;
}

/** Deterministic JSON with sorted keys (for hashes and equality). */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}
