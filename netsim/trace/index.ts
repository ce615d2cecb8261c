/**
 * netsim/trace — structured events for every packet decision.
 *
 * Contract: producers emit only when {@link Tracer.enabled}; events are plain data
 * (JSON-serialisable except the optional `data` bytes). Packet ids are stable across
 * hops and encapsulation. Not modelled here: rendering (text, JSON, pcapng) — that
 * belongs to the layers above.
 */
export * from './trace-event.ts';
export * from './tracer.ts';
export * from './report.ts';
