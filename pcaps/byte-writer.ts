/**
 * The output side shared by the pcap and pcapng writers: blocks are encoded in
 * place into a buffer, which either grows in memory ({@link ByteWriter.toBytes})
 * or is handed to a {@link ChunkSink} whenever a batch fills (default 1 MiB), so
 * a long capture never holds more than one batch. Batching matters: one
 * `writeSync` per packet is about ten times slower than one per megabyte.
 *
 * Invariant: a buffer region is written once and never reused, so padding bytes
 * that the encoders skip over are always zero.
 */
import { writeSync } from 'node:fs';

/**
 * Receives encoded bytes in order. Each chunk is handed over: the writer never
 * touches it again, so the sink may keep it without copying.
 */
export type ChunkSink = (chunk: Uint8Array) => void;

/** A sink that appends to an open file descriptor with `fs.writeSync` (handles short writes). */
export function fdSink(fd: number): ChunkSink {
  return (chunk) => {
    let off = 0;
    while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
  };
}

/** Default batch size for sink output. */
export const DEFAULT_BATCH_BYTES = 1 << 20;
const INITIAL_MEMORY_BYTES = 1 << 16;

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;
  private flushed = 0;
  private closed = false;

  constructor(
    readonly littleEndian: boolean,
    private readonly sink: ChunkSink | undefined,
    private readonly batchBytes: number = DEFAULT_BATCH_BYTES,
  ) {
    if (!Number.isInteger(batchBytes) || batchBytes < 64) throw new RangeError(`batchBytes must be an integer ≥ 64 (got ${batchBytes})`);
    this.buf = new Uint8Array(sink === undefined ? INITIAL_MEMORY_BYTES : batchBytes);
    this.view = new DataView(this.buf.buffer);
  }

  /** Total bytes encoded so far (flushed or not). */
  get length(): number {
    return this.flushed + this.pos;
  }

  /** Reserve `n` contiguous zeroed bytes; returns their offset for the `set*` calls. */
  reserve(n: number): number {
    if (this.closed) throw new Error('capture writer is closed');
    if (this.pos + n > this.buf.length) {
      if (this.sink !== undefined) {
        this.flush();
        if (n > this.buf.length) this.replace(new Uint8Array(n));
      } else {
        let cap = this.buf.length * 2;
        while (cap < this.pos + n) cap *= 2;
        const next = new Uint8Array(cap);
        next.set(this.buf.subarray(0, this.pos));
        this.replace(next);
      }
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u16(at: number, v: number): void {
    this.view.setUint16(at, v, this.littleEndian);
  }

  u32(at: number, v: number): void {
    this.view.setUint32(at, v, this.littleEndian);
  }

  bytes(at: number, src: Uint8Array): void {
    this.buf.set(src, at);
  }

  /** Hand everything encoded so far to the sink (no-op in memory mode). */
  flush(): void {
    if (this.sink === undefined || this.pos === 0) return;
    const chunk = this.buf.subarray(0, this.pos);
    this.flushed += this.pos;
    this.pos = 0;
    // The chunk now belongs to the sink: continue in a fresh (zeroed) buffer.
    this.replace(new Uint8Array(this.batchBytes));
    this.sink(chunk);
  }

  /** Flush and refuse further writes. */
  close(): void {
    this.flush();
    this.closed = true;
  }

  /** A copy of the whole file so far (memory mode only). */
  toBytes(): Uint8Array {
    if (this.sink !== undefined) throw new Error('toBytes() is not available when writing to a sink');
    return this.buf.slice(0, this.pos);
  }

  private replace(next: Uint8Array): void {
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }
}
