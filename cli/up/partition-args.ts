/**
 * `netsim up --partition I/N --underlay-listen HOST:PORT --underlay-peer J=HOST:PORT …`:
 * the options of a node partition (cluster/partition.ts), checked before anything
 * starts. Mistakes are `NETSIM_ERR_PARTITION` (exit 2) naming the option:
 * a partition out of range, a peer missing, duplicated or naming this partition, a
 * host that is not a numeric IP (datagrams are matched to peers by source address),
 * partitions without etcd (they share nothing otherwise), a key file others can read.
 */
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { CliError } from '../cli-error.ts';
import type { UdpPeer } from '../../cluster/underlay-link.ts';

export interface PartitionArgs {
  /** `I/N`. */
  readonly partition?: string;
  readonly underlayListen?: string;
  /** `J=HOST:PORT`, one per other partition. */
  readonly underlayPeer?: readonly string[];
  /** A file holding the underlay's HMAC key (at least 16 bytes; mode 0600). */
  readonly underlayKeyFile?: string;
}

export interface PartitionPlan {
  readonly index: number;
  readonly count: number;
  readonly listen: UdpPeer;
  readonly peers: ReadonlyMap<number, UdpPeer>;
  readonly key: Uint8Array | undefined;
}

const fail = (m: string): never => {
  throw new CliError('NETSIM_ERR_PARTITION', m);
};

/** Smallest key accepted: 128 bits (RFC 2104 §3 recommends at least the hash output; 16 bytes is the floor here). */
const MIN_KEY_BYTES = 16;

function hostPort(s: string, what: string): UdpPeer {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(s);
  const host = m?.[1]?.replace(/^\[|\]$/g, '') ?? '';
  const port = Number(m?.[2]);
  if (m === null || port > 65535) return fail(`${what} must be HOST:PORT, got "${s}"`);
  if (isIP(host) === 0) return fail(`${what}: "${host}" is not a numeric IP address (peers are recognised by the source address of their datagrams)`);
  return { host, port };
}

/** The partition's plan, or undefined without `--partition`; `store` is the chosen store kind. */
export function parsePartitionArgs(a: PartitionArgs, store: string): PartitionPlan | undefined {
  if (a.partition === undefined) {
    if (a.underlayListen !== undefined || (a.underlayPeer ?? []).length > 0 || a.underlayKeyFile !== undefined) fail('--underlay-listen, --underlay-peer and --underlay-key-file need --partition I/N');
    return undefined;
  }
  const m = /^(\d{1,4})\/(\d{1,4})$/.exec(a.partition);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (m === null || count < 1 || index >= count) return fail(`--partition must be I/N with 0 <= I < N (e.g. 0/2), got "${a.partition}"`);
  if (count > 1 && store !== 'etcd') fail(`--partition ${a.partition}: partitions share the cluster through etcd; add --store etcd --etcd-endpoints URL`);
  if (count > 1 && a.underlayListen === undefined) fail(`--partition ${a.partition} needs --underlay-listen HOST:PORT (where the other partitions send this one's frames)`);
  const listen = a.underlayListen !== undefined ? hostPort(a.underlayListen, '--underlay-listen') : { host: '127.0.0.1', port: 0 };
  const peers = new Map<number, UdpPeer>();
  for (const p of a.underlayPeer ?? []) {
    const pm = /^(\d{1,4})=(.*)$/.exec(p);
    if (pm === null) fail(`--underlay-peer must be J=HOST:PORT (J the peer's partition index), got "${p}"`);
    const j = Number(pm?.[1]);
    if (j >= count) fail(`--underlay-peer ${p}: partition ${j} does not exist in ${count}`);
    if (j === index) fail(`--underlay-peer ${p}: that is this partition (${index}); give the others`);
    if (peers.has(j)) fail(`--underlay-peer ${p}: partition ${j} given twice`);
    peers.set(j, hostPort(pm?.[2] ?? '', `--underlay-peer ${j}`));
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => i !== index && !peers.has(i));
  if (missing.length > 0) fail(`--partition ${a.partition}: no --underlay-peer for partition${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  return { index, count, listen, peers, key: a.underlayKeyFile !== undefined ? readKey(a.underlayKeyFile) : undefined };
}

function readKey(file: string): Uint8Array {
  let key: Buffer;
  try {
    if ((statSync(file).mode & 0o077) !== 0) fail(`--underlay-key-file ${file}: readable by others; chmod 600 ${file}`);
    key = readFileSync(file);
  } catch (e) {
    if (e instanceof CliError) throw e;
    return fail(`--underlay-key-file ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const trimmed = Buffer.from(key.toString('latin1').replace(/\s+$/, ''), 'latin1');
  if (trimmed.length < MIN_KEY_BYTES) fail(`--underlay-key-file ${file}: the key has ${trimmed.length} bytes, at least ${MIN_KEY_BYTES} are needed (e.g. head -c 32 /dev/urandom | base64 > ${file})`);
  return trimmed;
}
