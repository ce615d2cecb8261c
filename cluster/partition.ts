/**
 * Node partitions: which of a cluster's nodes this process (or worker) runs, and how
 * an underlay frame for a node elsewhere leaves it. Every partition builds the same
 * spec; each creates the namespaces, agents, kube-proxy and flanneld of its own nodes
 * only, and its underlay segment gets one {@link UnderlayUplink} port (netsim/link/
 * remote-port.ts) for all the others.
 *
 * Assignment is by contiguous blocks in spec order (node i of n goes to partition
 * ⌊i·count/n⌋), so neighbours in a node pool stay together and every partition
 * computes the same assignment from the spec alone.
 */
import { CodedError } from '../netsim/errors.ts';

/** Where underlay frames for other partitions' nodes go, and where theirs come in. */
export interface UnderlayUplink {
  /** An Ethernet frame for a node of another partition (or a broadcast); `traceId`: its packet is traced. */
  send(frame: Uint8Array, traceId?: number): void;
  /** Frames from other partitions (with the trace id they carried); one receiver. */
  onFrame(receive: (frame: Uint8Array, traceId: number | undefined) => void): void;
}

export interface Partition {
  readonly index: number;
  readonly count: number;
  /** Whether this partition runs `node`. */
  owns(node: string): boolean;
  /** The link to the other partitions (absent: frames for their nodes are dropped unseen). */
  readonly uplink?: UnderlayUplink;
}

export class PartitionError extends CodedError {
  readonly code = 'NETSIM_ERR_PARTITION';
  constructor(message: string) {
    super(message);
    this.name = 'PartitionError';
  }
}

/** The partition of index `index` of `count` over `nodes` (names in spec order). */
export function blockPartition(nodes: readonly string[], index: number, count: number, uplink?: UnderlayUplink): Partition {
  if (!Number.isInteger(count) || count < 1) throw new PartitionError(`partition count must be a positive integer, got ${count}`);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new PartitionError(`partition index must be in 0..${count - 1}, got ${index}`);
  if (count > nodes.length) throw new PartitionError(`${count} partitions for ${nodes.length} node(s): every partition needs at least one node`);
  const mine = new Set(nodes.filter((_, i) => Math.floor((i * count) / nodes.length) === index));
  return { index, count, owns: (n) => mine.has(n), ...(uplink !== undefined ? { uplink } : {}) };
}
