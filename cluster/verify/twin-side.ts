/**
 * The real kernel's half of a verification: one raw-socket agent per twin namespace;
 * each probe is injected by the agent of its source namespace; every packet any agent
 * receives is attributed to its probe by content (attribution.ts), so a packet that
 * comes late is still counted for the probe it answers, never for the next one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import { RawAgent } from './raw/raw-agent.ts';
import type { NetnsSession } from './raw/netns.ts';
import type { Twin } from './twin.ts';
import type { Observation, Probe } from './probe.ts';
import { ProbeIndex } from './attribution.ts';

export interface TwinTiming {
  /** Minimum wait after a send (ms). */
  readonly minMs: number;
  /** Quiet time after the probe's last packet that ends its wait (ms). */
  readonly quietMs: number;
  /** Upper bound per probe (ms). */
  readonly maxMs: number;
  /**
   * How long a probe waits for as many packets as the emulator saw for it, quiet or
   * not (ms; capped by maxMs).
   */
  readonly expectMs?: number;
  /**
   * After the last probe: how long to wait for packets still owed (probes that saw
   * fewer packets than the emulator), e.g. the ICMP host unreachable the kernel sends
   * ~3 s after an ARP failure (ms).
   */
  readonly lateMs?: number;
}

// Packets are attributed by content, so a late one still lands on its own probe: the
// per-probe waits only need to be long enough to keep the run fast and ordered.
export const DEFAULT_TWIN_TIMING: TwinTiming = { minMs: 25, quietMs: 20, maxMs: 500, expectMs: 250, lateMs: 4000 };

interface Slot {
  readonly probe: Probe;
  readonly obs: Observation[];
  /** Packets the probe's own wait waits for. */
  expected: number;
  /** Packets the final drain waits for (up to lateMs). */
  owed: number;
  lastAt: number;
}

export class TwinSide {
  private readonly index = new ProbeIndex<Slot>();
  private readonly slots: Slot[] = [];
  /** Packets no probe explains (neighbour solicitations of the kernel's own, …): dropped, counted. */
  strays = 0;
  private lastSendAt = 0;

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

  /** Hand every received packet to the probe it belongs to. */
  private collect(): void {
    const now = performance.now();
    for (const [label, a] of this.agents) {
      for (const r of a.take()) {
        const slot = this.index.find(r.bytes);
        if (slot === undefined) {
          this.strays++;
          continue;
        }
        slot.obs.push({ where: label, bytes: r.bytes });
        slot.lastAt = now;
      }
    }
  }

  /**
   * Inject `bytes` and wait until its packets seem complete; `expected` is how many
   * packets to wait for now, `owed` how many the final {@link drain} still waits for
   * (default `expected`; e.g. the emulator saw two — SYN and RST — where another
   * backend would give one). The returned observations stay live: packets of this
   * probe that come later (until {@link drain} ends) are added to them.
   */
  async run(probe: Probe, bytes: Uint8Array, expected = 0, owed = expected): Promise<{ obs: Observation[]; sendError?: string }> {
    const agent = this.agents.get(probe.from);
    if (agent === undefined) throw new Error(`probe source ${probe.from} has no twin namespace`);
    this.collect();
    const sentAt = performance.now();
    const slot: Slot = { probe, obs: [], expected, owed: Math.max(owed, expected), lastAt: sentAt };
    this.index.add(slot);
    this.slots.push(slot);
    this.lastSendAt = sentAt;
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
      this.collect();
      const now = performance.now();
      const quiet = now - sentAt >= this.timing.minMs && now - slot.lastAt >= this.timing.quietMs;
      if ((quiet && (slot.obs.length >= expected || now - sentAt >= expectMs)) || now - sentAt >= this.timing.maxMs) break;
    }
    return sendError !== undefined ? { obs: slot.obs, sendError } : { obs: slot.obs };
  }

  /**
   * After the last probe: wait (up to lateMs after the last send) until no probe is owed
   * packets, then expectMs more — a packet nothing owes can still be on its way (a local
   * backend's RST where the emulator's pick had none; on a loaded machine a raw-socket
   * helper can be scheduled 100 ms late), and after the last probe no later wait collects it.
   */
  async drain(): Promise<void> {
    const lateMs = this.timing.lateMs ?? 0;
    for (;;) {
      this.collect();
      const owed = this.slots.some((s) => s.obs.length < s.owed);
      if (!owed || performance.now() - this.lastSendAt >= lateMs) break;
      await sleep(10);
    }
    await sleep(Math.max(this.timing.quietMs, this.timing.expectMs ?? 0));
    this.collect();
  }

  close(): void {
    for (const a of this.agents.values()) a.close();
  }
}
