/**
 * netsim/time — virtual time and seeded randomness.
 *
 * Contract: everything below cluster/ takes time from a {@link Scheduler} and
 * randomness from an {@link Rng}; nothing reads the wall clock or Math.random()
 * (lint enforces it). The same seed and inputs give the same run.
 *
 * Events run by (instant, order key); a moving deadline (a socket's retransmission timer)
 * is a {@link Timer}, which runs exactly where its one re-checked event would and leaves
 * nothing queued when it is stopped or moved earlier. Immediate work (`soonest`) runs FIFO
 * before the next timed event; an event's first such entry is held and run as the event
 * returns, and an entry may carry an argument (`atOnWith`) instead of a closure.
 *
 * Not modelled: clock drift between nodes (all nodes share one virtual clock),
 * CPU time (processing is instantaneous unless a cost model adds delay).
 */
export * from './scheduler.ts';
export * from './rng.ts';
