/**
 * One raw-socket agent per real namespace: a child process
 * `ip netns exec NS node raw-helper.mjs` holding raw IPv4 sockets there (the
 * `raw-socket` addon: IPPROTO_RAW + IP_HDRINCL to inject, one socket per ICMP/UDP/TCP
 * to receive what the namespace delivers locally). The parent talks JSON lines.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const RAW_HELPER = fileURLToPath(new URL('./raw-helper.mjs', import.meta.url));

export interface RawRx {
  /** The IPv4 packet as the namespace delivered it (header included). */
  readonly bytes: Uint8Array;
  /** Milliseconds since the agent started (its own monotonic clock). */
  readonly t: number;
}

export class RawAgent {
  private readonly child: ChildProcessWithoutNullStreams;
  private rx: RawRx[] = [];
  private readonly waiters = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private exited = false;
  private closing = false;
  private stderr = '';
  /** Time (parent's ms clock) of the last received packet. */
  lastRxAt = 0;
  readonly ready: Promise<void>;

  constructor(readonly ns: string) {
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, RAW_HELPER], { stdio: ['pipe', 'pipe', 'pipe'] });
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise<void>((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.child.on('exit', (code) => {
      this.exited = true;
      const e = new Error(`raw helper in ${ns} exited (${code ?? 'signal'}): ${this.stderr.trim()}`);
      readyReject(e);
      for (const w of this.waiters.values()) w.reject(e);
      this.waiters.clear();
    });
    this.child.on('error', (e) => readyReject(e));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (m['ready'] === true) readyResolve();
      else if (typeof m['fatal'] === 'string') readyReject(new Error(`raw helper in ${ns}: ${m['fatal']}`));
      else if (typeof m['rx'] === 'string') {
        this.rx.push({ bytes: new Uint8Array(Buffer.from(m['rx'], 'hex')), t: Number(m['t']) });
        this.lastRxAt = performance.now();
      } else if (typeof m['sent'] === 'number') {
        this.waiters.get(m['sent'])?.resolve();
        this.waiters.delete(m['sent']);
      } else if (typeof m['sendError'] === 'number') {
        const w = this.waiters.get(m['sendError']);
        this.waiters.delete(m['sendError']);
        w?.reject(new Error(`send in ${ns}: ${String(m['message'])}`));
      }
    });
  }

  /** Inject a complete IPv4 packet (as a local sender would) toward `dst`. */
  send(ipPacket: Uint8Array, dst: string): Promise<void> {
    if (this.exited) return Promise.reject(new Error(`raw helper in ${this.ns} is gone: ${this.stderr.trim()}`));
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.waiters.set(id, { resolve, reject });
      this.child.stdin.write(JSON.stringify({ send: Buffer.from(ipPacket).toString('hex'), dst, id }) + '\n');
    });
  }

  /** How many packets {@link take} would return now. */
  get pending(): number {
    return this.rx.length;
  }

  /** Everything received since the last call. */
  take(): RawRx[] {
    const r = this.rx;
    this.rx = [];
    return r;
  }

  close(): void {
    if (this.exited || this.closing) return;
    this.closing = true;
    try {
      this.child.stdin.end(JSON.stringify({ quit: 1 }) + '\n');
    } catch {
      // already closing
    }
    this.child.kill('SIGTERM');
  }
}
