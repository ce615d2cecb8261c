/**
 * The real kernel's half of a verification: one raw-socket agent per twin namespace;
 * each probe is injected by the agent of its source namespace, and every agent's
 * received packets until the twin has been quiet for a moment are its observations.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import { RawAgent } from './raw/raw-agent.ts';
import type { NetnsSession } from './raw/netns.ts';
import type { Twin } from './twin.ts';
import type { Observation, Probe } from './probe.ts';

export interface TwinTiming {
  /** Minimum wait after a send (ms). */
  readonly minMs: number;
  /** Quiet time after the last received packet that ends a probe (ms). */
  readonly quietMs: number;
  /** Upper bound per probe (ms). */
  readonly maxMs: number;
  /**
   * How long a probe waits for as many packets as the emulator saw for it, quiet or
   * not (ms; capped by maxMs): on a loaded machine an answer can come later than
   * quietMs and would otherwise count for the next probe.
   */
  readonly expectMs?: number;
}

// Generous on a loaded machine: a late answer would otherwise count for the next probe.
export const DEFAULT_TWIN_TIMING: TwinTiming = { minMs: 25, quietMs: 20, maxMs: 500, expectMs: 250 };

export class TwinSide {
  private constructor(private readonly agents: ReadonlyMap<string, RawAgent>, private readonly timing: TwinTiming) {}

  static async start(twin: Twin, session: NetnsSession, timing: TwinTiming = DEFAULT_TWIN_TIMING): Promise<TwinSide> {
    const agents = new Map<string, RawAgent>();
    for (const [label, ns] of twin.nsByLabel) agents.set(label, new RawAgent(ns));
    session.onDispose(() => {
      for (const a of agents.values()) a.close();
    });
    await Promise.all([...agents.values()].map((a) => a.ready));
    return new TwinSide(agents, timing);
  }

  /** Inject `bytes` and collect what every namespace receives; `expected` is how many packets the emulator saw. */
  async run(probe: Probe, bytes: Uint8Array, expected = 0): Promise<{ obs: Observation[]; sendError?: string }> {
    const agent = this.agents.get(probe.from);
    if (agent === undefined) throw new Error(`probe source ${probe.from} has no twin namespace`);
    for (const a of this.agents.values()) a.take();
    const sentAt = performance.now();
    let sendError: string | undefined;
    try {
      await agent.send(bytes, formatIpv4(probe.dst));
    } catch (e) {
      // EPERM from an OUTPUT DROP, ENETUNREACH, …: the packet never left, like a dropped probe.
      sendError = e instanceof Error ? e.message : String(e);
    }
    const expectMs = Math.min(this.timing.expectMs ?? 0, this.timing.maxMs);
    for (;;) {
      await sleep(3);
      const now = performance.now();
      let last = sentAt;
      let have = 0;
      for (const a of this.agents.values()) {
        last = Math.max(last, a.lastRxAt);
        have += a.pending;
      }
      const quiet = now - sentAt >= this.timing.minMs && now - last >= this.timing.quietMs;
      if ((quiet && (have >= expected || now - sentAt >= expectMs)) || now - sentAt >= this.timing.maxMs) break;
    }
    const obs: Observation[] = [];
    for (const [label, a] of this.agents) for (const r of a.take()) obs.push({ where: label, bytes: r.bytes });
    return sendError !== undefined ? { obs, sendError } : { obs };
  }

  close(): void {
    for (const a of this.agents.values()) a.close();
  }
}
