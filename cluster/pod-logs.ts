/**
 * Container logs as the kubelet keeps them for `kubectl logs`: lines per container
 * with the time they were written, bounded like the kubelet's log rotation (the
 * oldest lines go first), and followers for `-f`. Written by the pod's emulated apps:
 * nginx's `combined` access log (the client address as the server saw it, so
 * masquerade and NodePort SNAT show), the echo servers' peers.
 */

/** Lines kept per container (the kubelet rotates at 10 MiB; a few hundred thousand short lines). */
export const LOG_LINES_PER_CONTAINER = 100_000;

export interface LogLine {
  /** Wall-clock epoch milliseconds of the write. */
  readonly ms: number;
  readonly text: string;
}

/**
 * A kept line: its text, or until someone reads it, the function that writes it for its
 * instant (an access log line is written per request and mostly never read: formatting
 * it only when `kubectl logs` or a follower asks gives the same text).
 */
interface KeptLine {
  readonly ms: number;
  text: string | undefined;
  render: ((ms: number) => string) | undefined;
}

function textOf(l: KeptLine): string {
  if (l.text === undefined) {
    l.text = (l.render as (ms: number) => string)(l.ms);
    l.render = undefined;
  }
  return l.text;
}

export class ContainerLog {
  private readonly lines: KeptLine[] = [];
  private dropped = 0;
  private followers: Array<(l: LogLine) => void> = [];

  constructor(private readonly max = LOG_LINES_PER_CONTAINER) {}

  /** Write a line at `ms`: its text, or a pure function of `ms` that gives it (called at most once, when it is first read). */
  append(ms: number, text: string | ((ms: number) => string)): void {
    const line: KeptLine = typeof text === 'string' ? { ms, text, render: undefined } : { ms, text: undefined, render: text };
    this.lines.push(line);
    if (this.lines.length > this.max) {
      // Drop in chunks: an array shift per line would make a full log quadratic.
      const n = Math.ceil(this.max / 10);
      this.lines.splice(0, n);
      this.dropped += n;
    }
    if (this.followers.length === 0) return;
    const out: LogLine = { ms, text: textOf(line) };
    for (const f of this.followers) f(out);
  }

  /** Lines at or after `sinceMs`, the last `tail` of them (all when undefined). */
  read(opts: { tail?: number; sinceMs?: number } = {}): LogLine[] {
    let out = opts.sinceMs !== undefined ? this.lines.filter((l) => l.ms >= (opts.sinceMs as number)) : this.lines;
    if (opts.tail !== undefined) out = opts.tail === 0 ? [] : out.slice(-opts.tail);
    return out.map((l) => ({ ms: l.ms, text: textOf(l) }));
  }

  follow(fn: (l: LogLine) => void): () => void {
    this.followers = [...this.followers, fn];
    return () => {
      this.followers = this.followers.filter((f) => f !== fn);
    };
  }
}

/** A pod's containers' logs, by container name. */
export class PodLogs {
  private readonly containers = new Map<string, ContainerLog>();

  constructor(readonly containerNames: readonly string[]) {
    for (const c of containerNames) this.containers.set(c, new ContainerLog());
  }

  container(name: string): ContainerLog | undefined {
    return this.containers.get(name);
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** nginx's `$time_local` in UTC: `07/Dec/2026:06:20:01 +0000`. */
export function nginxTime(ms: number): string {
  // The text changes once a second: an access log at 1 000 requests/s formats it once, not per line.
  const sec = Math.floor(Math.trunc(ms) / 1000);
  if (sec === lastSec) return lastTime;
  const d = new Date(ms);
  lastTime = `${twoDigits(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${twoDigits(d.getUTCHours())}:${twoDigits(d.getUTCMinutes())}:${twoDigits(d.getUTCSeconds())} +0000`;
  lastSec = sec;
  return lastTime;
}

let lastSec = Number.NaN;
let lastTime = '';

/** Two digits (a top-level function: an arrow inside nginxTime was a closure, and under tsx a name helper call, per log line). */
function twoDigits(n: number): string {
  return String(n).padStart(2, '0');
}
