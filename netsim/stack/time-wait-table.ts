/**
 * TIME_WAIT records, compact (the kernel's inet_timewait_sock in the established hash):
 * typed-array columns in a ring ordered by expiry (every record lives TIME_WAIT_NS, so
 * arrival order is expiry order), found by (lport, raddr, rport) through an
 * open-addressing hash over the ring's slots. One timer sweeps the expired head;
 * lookups also ignore a record whose time is up. No object per record: a record lives
 * a minute of virtual time, and per-record objects (a Map per local port, as this index
 * was) outlived the young generation by thousands per second.
 */

/** Index cell values: 0 empty, -1 deleted, k + 1 for ring slot k. */
const EMPTY = 0;
const DELETED = -1;

export class TimeWaitTable {
  private cap = 0;
  private head = 0;
  private count = 0;
  private nextId = 1;
  private ids = new Float64Array(0);
  private until = new Float64Array(0);
  private laddr = new Uint32Array(0);
  private raddr = new Uint32Array(0);
  private ports = new Uint32Array(0); // lport << 16 | rport
  private snd = new Uint32Array(0);
  private rcv = new Uint32Array(0);
  /** The hash: a power-of-two array of cells, at most half of them used or deleted. */
  private cells = new Int32Array(64);
  private used = 0;
  private deleted = 0;

  get size(): number {
    return this.count;
  }

  private grow(): void {
    const cap = Math.max(64, this.cap * 2);
    const move = <T extends Float64Array | Uint32Array>(a: T, mk: (n: number) => T): T => {
      const b = mk(cap);
      for (let k = 0; k < this.count; k++) b[k] = a[(this.head + k) % this.cap] as number;
      return b;
    };
    this.ids = move(this.ids, (n) => new Float64Array(n));
    this.until = move(this.until, (n) => new Float64Array(n));
    this.laddr = move(this.laddr, (n) => new Uint32Array(n));
    this.raddr = move(this.raddr, (n) => new Uint32Array(n));
    this.ports = move(this.ports, (n) => new Uint32Array(n));
    this.snd = move(this.snd, (n) => new Uint32Array(n));
    this.rcv = move(this.rcv, (n) => new Uint32Array(n));
    // Slots moved: slot k is now (k - head) mod the old capacity.
    const old = this.cap;
    const head = this.head;
    this.rehash(cap, (k) => (k - head + old) % old);
    this.head = 0;
    this.cap = cap;
  }

  /** Rebuild the hash with room for `cap` records, renumbering indexed slots by `slot`. */
  private rehash(cap: number, slot: (k: number) => number): void {
    const prev = this.cells;
    let n = 64;
    while (n < cap * 2) n *= 2;
    this.cells = new Int32Array(n);
    this.used = 0;
    this.deleted = 0;
    for (let i = 0; i < prev.length; i++) {
      const v = prev[i] as number;
      if (v > 0) this.insertCell(slot(v - 1));
    }
  }

  private static hash(lport: number, raddr: number, rport: number): number {
    let h = Math.imul(raddr ^ 0x9e3779b9, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h ^ ((lport << 16) | rport), 0xc2b2ae35);
    return h ^ (h >>> 16);
  }

  /** The cell holding the tuple's slot, or -1. */
  private cellOf(lport: number, raddr: number, rport: number): number {
    const cells = this.cells;
    const mask = cells.length - 1;
    const ports = ((lport << 16) | rport) >>> 0;
    const ra = raddr >>> 0;
    for (let i = TimeWaitTable.hash(lport, raddr, rport) & mask; ; i = (i + 1) & mask) {
      const v = cells[i] as number;
      if (v === EMPTY) return -1;
      if (v > 0 && this.ports[v - 1] === ports && this.raddr[v - 1] === ra) return i;
    }
  }

  /** Index slot `k` (its tuple is not indexed). */
  private insertCell(k: number): void {
    const cells = this.cells;
    const mask = cells.length - 1;
    const p = this.ports[k] as number;
    for (let i = TimeWaitTable.hash(p >>> 16, this.raddr[k] as number, p & 0xffff) & mask; ; i = (i + 1) & mask) {
      const v = cells[i] as number;
      if (v === EMPTY || v === DELETED) {
        if (v === DELETED) this.deleted--;
        cells[i] = k + 1;
        this.used++;
        return;
      }
    }
  }

  add(laddr: number, lport: number, raddr: number, rport: number, snd: number, rcv: number, until: number): number {
    if (this.count === this.cap) this.grow();
    const k = (this.head + this.count) % this.cap;
    this.count++;
    const id = this.nextId++;
    this.ids[k] = id;
    this.until[k] = until;
    this.laddr[k] = laddr;
    this.raddr[k] = raddr;
    this.ports[k] = ((lport << 16) | rport) >>> 0;
    this.snd[k] = snd;
    this.rcv[k] = rcv;
    // A tuple indexed already (its record expired but not yet swept) now finds the new record.
    const c = this.cellOf(lport, raddr, rport);
    if (c >= 0) {
      this.cells[c] = k + 1;
      return id;
    }
    if ((this.used + this.deleted + 1) * 2 > this.cells.length) this.rehash(Math.max(this.cap, this.used + 1), (s) => s);
    this.insertCell(k);
    return id;
  }

  /** The live record's slot for this tuple, or -1. */
  find(lport: number, raddr: number, rport: number, now: number): number {
    const c = this.cellOf(lport, raddr, rport);
    if (c < 0) return -1;
    const k = (this.cells[c] as number) - 1;
    return (this.until[k] as number) <= now ? -1 : k;
  }

  /** The slot of record `id` while it is the one its tuple finds, or -1. */
  slotOf(id: number, lport: number, raddr: number, rport: number): number {
    const c = this.cellOf(lport, raddr, rport);
    if (c < 0) return -1;
    const k = (this.cells[c] as number) - 1;
    return this.ids[k] === id ? k : -1;
  }

  /** Take a record out of the index (its ring slot just ages out). */
  unindex(k: number): void {
    const p = this.ports[k] as number;
    const c = this.cellOf(p >>> 16, this.raddr[k] as number, p & 0xffff);
    if (c >= 0 && this.cells[c] === k + 1) {
      this.cells[c] = DELETED;
      this.used--;
      this.deleted++;
    }
    this.until[k] = 0;
  }

  /** Drop expired records from the head; returns the next expiry (0: none). */
  sweep(now: number): number {
    while (this.count > 0) {
      const k = this.head;
      const u = this.until[k] as number;
      if (u > now) return u;
      if (u !== 0) this.unindex(k);
      this.head = (this.head + 1) % this.cap;
      this.count--;
    }
    return 0;
  }

  laddrOf(k: number): number { return this.laddr[k] as number; }
  sndOf(k: number): number { return this.snd[k] as number; }
  rcvOf(k: number): number { return this.rcv[k] as number; }
  setRcv(k: number, v: number): void { this.rcv[k] = v; }
}
