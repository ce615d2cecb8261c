/**
 * What one kind of timed experiment event is: the fields its file entry takes (their
 * JSON schema), how the validated entry becomes a typed event, its default chart label,
 * and what it does to the running cluster. Each kind lives in one module of this
 * folder and is one line of the registry (index.ts); the file parser
 * (experiment-spec.ts) and the runner (runner/run-mode.ts) only look kinds up.
 */
import type { Cluster } from '../../cluster/cluster.ts';

export interface NamespacedName {
  readonly namespace: string;
  readonly name: string;
}

/** `NS/NAME` or `NAME` (namespace default). */
export function splitName(s: string): NamespacedName {
  const i = s.indexOf('/');
  return i < 0 ? { namespace: 'default', name: s } : { namespace: s.slice(0, i), name: s.slice(i + 1) };
}

/** Every event: when (virtual ns from the run's start) and its chart label. */
export interface EventBase {
  readonly at: number;
  readonly label: string;
}

/** What an event may use of the run. */
export interface EventContext {
  readonly cluster: Cluster;
  /** The running pod an event names: that pod, else the first running pod named `NAME-…`. */
  podKey(p: NamespacedName): string;
  /** A failure of this event (the cluster lacks what it names): NETSIM_EXP_RUN, with the event's time. */
  fail(message: string): never;
}

/** Raw fields of a schema-checked file entry. */
export type RawEvent = Readonly<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface EventKind<E extends EventBase & { readonly action: string }> {
  /** JSON schema of each field this action takes (shared names must share a schema). */
  readonly fields: Readonly<Record<string, object>>;
  /** The fields it needs (the others are optional). */
  readonly required: readonly string[];
  /** The typed event from its schema-checked entry; `fail(field, message)` reports a bad value there. */
  parse(raw: RawEvent, base: EventBase, fail: (field: string, message: string) => never): E;
  /** The label when the entry gives none. */
  defaultLabel(raw: RawEvent): string;
  /** Do it to the running cluster (the runner reconciles afterwards). */
  apply(ctx: EventContext, e: E): Promise<void>;
}

const nsNamePattern = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$';
/** Field schemas several kinds share. */
export const NS_NAME = { type: 'string', pattern: nsNamePattern, maxLength: 317 } as const;
export const DNS_NAME = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', maxLength: 253 } as const;
export const DURATION = { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m)$' } as const;
