/**
 * Streaming per-endpoint counters with an exact expectation under churn, O(1) work
 * per connection and O(1) memory per endpoint (nothing is kept per connection).
 *
 * The null hypothesis for a load balancer is: each new connection picks one of the
 * endpoints that are active at that moment, with probability weight / (sum of active
 * weights). Over a run whose endpoint set changes (scale up, a pod fails, a weight
 * drops to 0) an endpoint's expected count is therefore
 *   E_i = w_i · Σ_{connections c while i active} 1 / W(c)
 * Keeping one running sum S = Σ 1/W(c) over all counted connections, an endpoint
 * that became active when S was s₀ has E_i = w_i · (S − s₀) plus what it earned in
 * earlier active intervals. Σ_i E_i equals the number of counted connections exactly
 * (up to rounding).
 *
 * A connection counts towards the test ("selected") when its endpoint was active at
 * the time; connections that reach an endpoint the model says is gone (a stale
 * conntrack entry, a terminating pod) are counted separately as `offActive`.
 *
 * Until {@link Tally.setActive} is first called, every endpoint seen is taken to have
 * been there all along with weight 1: the expectation for that phase is uniform
 * over the endpoints seen (so a runner that never declares endpoints still gets a
 * uniform test, but endpoints that got nothing are only known when declared).
 */

export interface EndpointTally {
  readonly key: string;
  /** All connections recorded to this endpoint. */
  connections: number;
  /** Connections counted in the test (the endpoint was active at the time). */
  selected: number;
  requests: number;
  failed: number;
  blackholed: number;
  /** Connections that reached it while it was not active (terminating, removed, stale). */
  offActive: number;
  weight: number;
  active: boolean;
  /** Σ 1/W when it became active (valid while active). */
  since: number;
  /** Expectation earned in earlier active intervals. */
  earned: number;
}

export class Tally {
  private readonly byKey = new Map<string, EndpointTally>();
  private readonly order: EndpointTally[] = [];
  private activeWeight = 0;
  private s = 0;
  /** True once the active set was declared; before that, endpoints seen appear active since the start. */
  private declared = false;
  /** Connections recorded before the first declaration. */
  private undeclared = 0;

  /** Endpoints in first-seen order. */
  get endpoints(): readonly EndpointTally[] {
    return this.order;
  }

  get(key: string): EndpointTally | undefined {
    return this.byKey.get(key);
  }

  private add(key: string, weight: number, active: boolean): EndpointTally {
    const t: EndpointTally = { key, connections: 0, selected: 0, requests: 0, failed: 0, blackholed: 0, offActive: 0, weight, active: false, since: 0, earned: 0 };
    this.byKey.set(key, t);
    this.order.push(t);
    if (active) this.activate(t, weight, this.s);
    return t;
  }

  private activate(t: EndpointTally, weight: number, since: number): void {
    t.active = true;
    t.weight = weight;
    t.since = since;
    this.activeWeight += weight;
  }

  private deactivate(t: EndpointTally): void {
    if (!t.active) return;
    t.earned += t.weight * (this.s - t.since);
    t.active = false;
    this.activeWeight -= t.weight;
  }

  /**
   * Declare the active endpoints from now on, with their weights (1 = uniform).
   * Endpoints not listed become inactive; a changed weight starts a new interval.
   */
  setActive(endpoints: ReadonlyArray<{ readonly key: string; readonly weight: number }>): void {
    if (!this.declared) this.closeUndeclaredPhase();
    const keep = new Set<string>();
    for (const e of endpoints) {
      if (!(e.weight >= 0) || !Number.isFinite(e.weight)) throw new RangeError(`weight of ${e.key} must be finite and >= 0, got ${e.weight}`);
      keep.add(e.key);
    }
    for (const t of this.order) if (t.active && !keep.has(t.key)) this.deactivate(t);
    for (const e of endpoints) {
      const t = this.byKey.get(e.key);
      if (t === undefined) this.add(e.key, e.weight, true);
      else if (!t.active || t.weight !== e.weight) {
        this.deactivate(t);
        this.activate(t, e.weight, this.s);
      }
    }
    // Recompute to avoid drift from repeated += / -= of weights.
    this.activeWeight = 0;
    for (const t of this.order) if (t.active) this.activeWeight += t.weight;
    this.declared = true;
  }

  /** Share the connections seen before any declaration uniformly (by weight) among the endpoints seen. */
  private closeUndeclaredPhase(): void {
    let w = 0;
    for (const t of this.order) w += t.weight;
    for (const t of this.order) {
      if (w > 0) t.earned += (this.undeclared * t.weight) / w;
      t.active = false;
    }
    this.activeWeight = 0;
    this.undeclared = 0;
  }

  /** Copy another tally's active set (for a breakdown created mid-run). */
  adoptActive(from: Tally): void {
    if (from.declared) this.setActive(from.order.filter((t) => t.active).map((t) => ({ key: t.key, weight: t.weight })));
  }

  /** Make sure an endpoint exists (inactive unless nothing was declared yet). */
  touch(key: string): EndpointTally {
    return this.byKey.get(key) ?? this.add(key, 1, !this.declared);
  }

  /** Count one connection to `key`; returns the endpoint's tally. */
  record(key: string, requests: number, failed: boolean, blackholed: boolean): EndpointTally {
    const t = this.touch(key);
    t.connections++;
    t.requests += requests;
    if (failed) t.failed++;
    if (blackholed) t.blackholed++;
    if (!this.declared) {
      t.selected++;
      this.undeclared++;
    } else if (t.active && this.activeWeight > 0 && t.weight > 0) {
      t.selected++;
      this.s += 1 / this.activeWeight;
    } else t.offActive++;
    return t;
  }

  /** Expected count of `selected` connections for each endpoint, in `endpoints` order. */
  expected(): number[] {
    if (!this.declared) {
      let w = 0;
      for (const t of this.order) w += t.weight;
      return this.order.map((t) => (w > 0 ? (this.undeclared * t.weight) / w : 0));
    }
    return this.order.map((t) => t.earned + (t.active ? t.weight * (this.s - t.since) : 0));
  }

  /** Observed `selected` counts, in `endpoints` order. */
  observed(): number[] {
    return this.order.map((t) => t.selected);
  }
}
