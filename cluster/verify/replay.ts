/**
 * Replay: send the IPv4 packets of a pcap or pcapng file (an emulator capture, or any
 * other) into a real network namespace through a raw IP_HDRINCL socket, as if a
 * process there had sent them. Ethernet frames are stripped to their IPv4 packet;
 * ARP and other non-IPv4 frames are skipped.
 */
import { readCapture } from '../../pcaps/read-capture.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import { RawAgent } from './raw/raw-agent.ts';
import { sh } from './raw/netns.ts';
import { CodedError } from '../../netsim/errors.ts';

export interface ReplayOptions {
  readonly netns: string;
  /** Only packets captured on this interface (pcapng `if_name`, e.g. `node01/eth0`). */
  readonly interface?: string;
  /** Only packets sent out of the interface (pcapng direction outbound) when direction is known. */
  readonly outboundOnly?: boolean;
}

export interface ReplayResult {
  readonly sent: number;
  readonly skipped: number;
  readonly errors: string[];
  readonly interfaces: string[];
}

export class ReplayError extends CodedError {
  constructor(readonly code: 'NETSIM_REPLAY_NO_NETNS' | 'NETSIM_REPLAY_NO_INTERFACE', message: string) {
    super(message);
    this.name = 'ReplayError';
  }
}

/** The IPv4 packet inside a captured frame, or undefined (ARP, IPv6, truncated…). */
export function ipv4Of(linkType: number, data: Uint8Array): Uint8Array | undefined {
  let ip: Uint8Array;
  if (linkType === 1) {
    if (data.length < 34 || data[12] !== 0x08 || data[13] !== 0x00) return undefined;
    ip = data.subarray(14);
  } else if (linkType === 101 || linkType === 228) ip = data;
  else return undefined;
  if (ip.length < 20 || (ip[0] as number) >> 4 !== 4) return undefined;
  const total = ((ip[2] as number) << 8) | (ip[3] as number);
  return total >= 20 && total <= ip.length ? ip.subarray(0, total) : undefined;
}

export async function replayCapture(file: Uint8Array, opts: ReplayOptions): Promise<ReplayResult> {
  const cap = readCapture(file);
  const names = cap.interfaces.map((i, n) => i.name ?? `if${n}`);
  let only: number | undefined;
  if (opts.interface !== undefined) {
    only = names.indexOf(opts.interface);
    if (only < 0) throw new ReplayError('NETSIM_REPLAY_NO_INTERFACE', `no interface "${opts.interface}" in the capture (it has: ${names.join(', ')})`);
  }
  const list = sh('ip', ['netns', 'list']);
  if (list.code !== 0 || !list.out.split('\n').some((l) => l.split(' ')[0] === opts.netns)) {
    throw new ReplayError('NETSIM_REPLAY_NO_NETNS', `no network namespace "${opts.netns}" (ip netns list)`);
  }
  const agent = new RawAgent(opts.netns);
  let sent = 0;
  let skipped = 0;
  const errors: string[] = [];
  try {
    await agent.ready;
    for (const p of cap.packets) {
      if (only !== undefined && p.interfaceId !== only) continue;
      if (opts.outboundOnly === true && p.direction === 'inbound') {
        skipped++;
        continue;
      }
      const itf = cap.interfaces[p.interfaceId];
      const ip = itf === undefined ? undefined : ipv4Of(itf.linkType, p.data);
      if (ip === undefined) {
        skipped++;
        continue;
      }
      const dst = formatIpv4((((ip[16] as number) << 24) | ((ip[17] as number) << 16) | ((ip[18] as number) << 8) | (ip[19] as number)) >>> 0);
      try {
        await agent.send(ip, dst);
        sent++;
      } catch (e) {
        errors.push(e instanceof Error ? e.message : String(e));
      }
    }
  } finally {
    agent.close();
  }
  return { sent, skipped, errors, interfaces: names };
}
