/**
 * ControllerManager: runs controllers as level-triggered reconcile passes. A pass runs
 * every controller once, in order; a pass that wrote anything schedules another one soon
 * (`kickMs`), any change in the store schedules one too, and a periodic resync
 * (`resyncMs`) catches the rest. Timers are injectable so the emulation can drive them on
 * its virtual clock; tests call `settle()` to run passes until nothing changes.
 */
import type { Controller, ControlApi, Timer } from './types.ts';
import { nextWake, realTimer } from './types.ts';

export interface ControllerManagerOptions {
  readonly timer?: Timer;
  readonly resyncMs?: number;
  readonly kickMs?: number;
  readonly onError?: (controller: string, err: unknown) => void;
  /** The controllers' clock in epoch ms, to turn their wake-up times into delays (default Date.now). */
  readonly now?: () => number;
}

export class ControllerManager {
  private readonly timer: Timer;
  private handle: unknown;
  private running = false;
  private pending = false;
  private busy: Promise<void> | undefined;
  private stopWatch: (() => void) | undefined;
  constructor(private readonly api: ControlApi, readonly controllers: readonly Controller[], private readonly opts: ControllerManagerOptions = {}) {
    this.timer = opts.timer ?? realTimer;
  }

  /** One pass over all controllers; returns the total number of writes. */
  async runOnce(): Promise<number> {
    let writes = 0;
    for (const c of this.controllers) {
      try { writes += await c.sync(); } catch (e) {
        if (this.opts.onError) this.opts.onError(c.name, e); else throw e;
      }
    }
    return writes;
  }

  /** Run passes until one makes no writes (at most `maxPasses`); returns the passes run. */
  async settle(maxPasses = 50): Promise<number> {
    for (let i = 1; i <= maxPasses; i++) if ((await this.runOnce()) === 0) return i;
    return maxPasses;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.api.onAnyChange) this.stopWatch = await this.api.onAnyChange(() => this.kick());
    this.schedule(0);
  }

  private kick(): void {
    if (!this.running) return;
    if (this.busy) { this.pending = true; return; }
    this.schedule(this.opts.kickMs ?? 10);
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    if (this.handle !== undefined) this.timer.clearTimeout(this.handle);
    this.handle = this.timer.setTimeout(() => { this.handle = undefined; void this.tick(); }, ms);
  }

  private async tick(): Promise<void> {
    if (!this.running || this.busy) return;
    let writes = 0;
    this.busy = (async () => { writes = await this.runOnce(); })();
    try { await this.busy; } catch (e) { this.opts.onError?.('manager', e); } finally { this.busy = undefined; }
    if (!this.running) return;
    if (writes > 0 || this.pending) { this.pending = false; this.schedule(this.opts.kickMs ?? 10); }
    else {
      // A controller waiting out a grace period or back-off gets its pass on time.
      const resync = this.opts.resyncMs ?? 5000;
      const wake = nextWake(this.controllers);
      this.schedule(wake === undefined ? resync : Math.max(0, Math.min(resync, wake - (this.opts.now ?? Date.now)())));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopWatch?.();
    if (this.handle !== undefined) this.timer.clearTimeout(this.handle);
    this.handle = undefined;
    if (this.busy) await this.busy.catch(() => {});
  }
}
