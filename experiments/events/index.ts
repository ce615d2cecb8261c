/**
 * experiments/events/: the kinds of timed event an experiment file may list
 * (`events: [{at, action, …}]`), one module per family and one line each in
 * {@link EVENT_KINDS}. A kind owns its fields' schema, its parsing and default label,
 * and what it does to the running cluster; the file parser and the runner only look
 * kinds up here. Adding a kind: a module and a line below (and its type in the union).
 *
 * Not modelled: events that change the clients or the target themselves.
 */
import type { EventKind } from './event-kind.ts';
import { rollingUpdateEvent, scaleEvent } from './workload-events.ts';
import type { RollingUpdateEvent, ScaleEvent } from './workload-events.ts';
import { endpointFailEvent, endpointReadyEvent, endpointUnreadyEvent, podDeleteEvent } from './pod-events.ts';
import type { PodDeleteEvent, PodHealthEvent } from './pod-events.ts';
import { nodeDownEvent, nodeUpEvent, proxySyncDelayEvent } from './node-events.ts';
import type { NodeStateEvent, ProxySyncDelayEvent } from './node-events.ts';
import { policyApplyEvent, policyDeleteEvent } from './policy-events.ts';
import type { PolicyApplyEvent, PolicyDeleteEvent } from './policy-events.ts';

export type ExperimentEvent =
  | ScaleEvent | RollingUpdateEvent
  | PodHealthEvent<'endpoint-fail'> | PodHealthEvent<'endpoint-unready'> | PodHealthEvent<'endpoint-ready'> | PodDeleteEvent
  | NodeStateEvent<'node-down'> | NodeStateEvent<'node-up'> | ProxySyncDelayEvent
  | PolicyApplyEvent | PolicyDeleteEvent;
export type EventAction = ExperimentEvent['action'];

/** The registry: action → kind. */
export const EVENT_KINDS: { readonly [A in EventAction]: EventKind<Extract<ExperimentEvent, { action: A }>> } = {
  scale: scaleEvent,
  'rolling-update': rollingUpdateEvent,
  'endpoint-fail': endpointFailEvent,
  'endpoint-unready': endpointUnreadyEvent,
  'endpoint-ready': endpointReadyEvent,
  'pod-delete': podDeleteEvent,
  'node-down': nodeDownEvent,
  'node-up': nodeUpEvent,
  'proxy-sync-delay': proxySyncDelayEvent,
  'policy-apply': policyApplyEvent,
  'policy-delete': policyDeleteEvent,
};

export const EVENT_ACTIONS = Object.keys(EVENT_KINDS) as EventAction[];

/** The kind of an action (typed loosely: the caller holds an event of that action). */
export function eventKind(action: EventAction): EventKind<ExperimentEvent> {
  return EVENT_KINDS[action] as unknown as EventKind<ExperimentEvent>;
}

export { splitName } from './event-kind.ts';
export type { EventContext, EventKind, NamespacedName, RawEvent } from './event-kind.ts';
