/**
 * What controllers need from the control plane: a small API (served in-process by the
 * registry, or over HTTP by the typed client) and a clock/timer the emulation can drive.
 */
import type { KubeObject } from '../api/index.ts';

export interface ControlApi {
  /** All objects of a resource (plural name, e.g. `pods`), in one namespace or all. They may be shared and frozen: copy before changing. */
  list<T = KubeObject>(resource: string, namespace?: string): Promise<T[]>;
  /** One object, a fresh copy the caller may change; undefined when there is none. */
  get<T = KubeObject>(resource: string, namespace: string | undefined, name: string): Promise<T | undefined>;
  create<T = KubeObject>(resource: string, namespace: string | undefined, obj: T): Promise<T>;
  update<T = KubeObject>(resource: string, namespace: string | undefined, name: string, obj: T): Promise<T>;
  updateStatus<T = KubeObject>(resource: string, namespace: string | undefined, name: string, obj: T): Promise<T>;
  /** PUT of another subresource (`finalize` of a namespace). */
  updateSubresource<T = KubeObject>(resource: string, namespace: string | undefined, name: string, subresource: string, obj: T): Promise<T>;
  delete(resource: string, namespace: string | undefined, name: string, opts?: { gracePeriodSeconds?: number; preconditions?: { uid?: string } }): Promise<void>;
  bind(namespace: string, podName: string, nodeName: string): Promise<void>;
  /** Calls `onChange` after any write to any served resource; returns a stop function. */
  onAnyChange?(onChange: () => void): Promise<() => void>;
}

export interface Timer {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimer: Timer = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** One reconcile pass of a controller. Returns the number of writes it made (0: converged). */
export interface Controller {
  readonly name: string;
  sync(): Promise<number>;
  /**
   * When (epoch ms, on the controller's clock) the controller wants another pass although
   * nothing changed: a grace period or back-off it is waiting out. Undefined: only on change.
   */
  nextWakeMs?(): number | undefined;
}

/** The earliest wake-up any of the controllers asked for. */
export function nextWake(controllers: readonly Controller[]): number | undefined {
  let at: number | undefined;
  for (const c of controllers) {
    const w = c.nextWakeMs?.();
    if (w !== undefined && (at === undefined || w < at)) at = w;
  }
  return at;
}

/** RFC 3339 without fractional seconds, as Kubernetes timestamps. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Ignore write races (409), objects deleted meanwhile (404) and creations refused because
 * their namespace is terminating (403): the next pass retries, or has nothing left to do.
 */
export function isRace(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 409 || code === 404 || code === 403;
}
