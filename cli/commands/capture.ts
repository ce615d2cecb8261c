/**
 * `netsim capture --from X --to Y [--proto] [--port] -w FILE`: run traced exchanges
 * and write the interfaces they crossed. `--node` and `-i/--interface` select
 * interfaces (`node01/eth0`, `*\/flannel0`, `default/*\/eth0`), `--host` keeps
 * packets to or from an address (like tcpdump's `host`, and also inside flannel's
 * UDP or VXLAN encapsulation), `--count N` repeats the
 * exchange (a progress bar on a terminal), `--format pcap` writes classic pcap for
 * exactly one interface. `-w -` writes the capture to standard output (tcpdump's
 * `-w -`); output paths follow cli/output-file.ts.
 */
import { SingleBar, Presets } from 'cli-progress';
import type { EmulatedCluster } from '../../cluster/emulated-cluster.ts';
import { resolveEndpoint } from '../../cluster/endpoint.ts';
import { runTrace } from '../../cluster/trace-runner.ts';
import type { TraceProto, TraceRun } from '../../cluster/trace-runner.ts';
import { Capture } from '../../pcaps/capture.ts';
import { readPcapng } from '../../pcaps/pcapng-reader.ts';
import { PcapWriter } from '../../pcaps/pcap-writer.ts';
import { CliError } from '../cli-error.ts';
import { ipv4Headers } from '../../netsim/wire/encap.ts';
import { tryParseIpv4 } from '../../netsim/wire/addr.ts';
import { writeOutputFile } from '../output-file.ts';

export interface CaptureCliOptions {
  from: string;
  to: string;
  proto: TraceProto;
  port?: number;
  file: string;
  names?: Array<{ ip: number; name: string }>;
  nodes?: readonly string[];
  interfaces?: readonly string[];
  host?: string;
  count?: number;
  format?: 'pcapng' | 'pcap';
  progress?: boolean;
}

/** A shell-style glob (`*` any run of characters, `?` one) as a whole-string matcher. */
export function globMatcher(pattern: string): (s: string) => boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return (s) => re.test(s);
}

/** Whether any IPv4 header of the frame — the outer one, or one inside flannel's IP-in-UDP or VXLAN — is to or from `ip` (for --host). */
function hasHost(data: Uint8Array, linkType: 'ether' | 'raw-ip', ip: number): boolean {
  return ipv4Headers(data, linkType).some((h) => h.src === ip || h.dst === ip);
}

export function captureCommand(cluster: EmulatedCluster, o: CaptureCliOptions, print: (s: string) => void): number {
  const from = resolveEndpoint(o.from, cluster);
  const to = resolveEndpoint(o.to, cluster);
  for (const n of o.nodes ?? []) if (!cluster.nodes.has(n)) throw new CliError('NETSIM_ERR_RESOURCE', `unknown node "${n}" (nodes: ${[...cluster.nodes.keys()].join(', ')})`);
  const host = o.host !== undefined ? tryParseIpv4(o.host) : undefined;
  if (o.host !== undefined && host === undefined) throw new CliError('NETSIM_ERR_FILTER', `--host must be an IPv4 address, got "${o.host}"`);
  const all = [...cluster.nodes.values(), ...[...cluster.pods.values()].map((p) => p.ns), ...cluster.external.values()].flatMap((ns) => [...ns.devices.keys()].map((d) => `${ns.name}/${d}`));
  for (const g of o.interfaces ?? []) {
    if (!all.some(globMatcher(g))) throw new CliError('NETSIM_ERR_FILTER', `-i ${g}: matches no interface of this cluster (e.g. ${all.slice(0, 4).join(', ')}, …)`);
  }
  const globs = (o.interfaces ?? []).map(globMatcher);
  const cap = new Capture(cluster.sim.tracer, {
    interfaces: (i) => ((o.nodes ?? []).length === 0 || (o.nodes ?? []).includes(i.node)) && (globs.length === 0 || globs.some((g) => g(`${i.netns}/${i.dev}`))),
    ...(host !== undefined ? { filter: (e) => e.data !== undefined && hasHost(e.data, e.linkType, host) } : {}),
  });
  if (o.names !== undefined) cap.addNames(o.names);
  const count = o.count ?? 1;
  const bar = o.progress === true && count > 1 ? new SingleBar({ format: 'capture [{bar}] {value}/{total} exchanges | {packets} packets | ETA {eta_formatted}' }, Presets.shades_classic) : undefined;
  bar?.start(count, 0, { packets: 0 });
  let last: TraceRun | undefined;
  let delivered = 0;
  for (let i = 0; i < count; i++) {
    last = runTrace(cluster, from, to, { proto: o.proto, ...(o.port !== undefined ? { port: o.port } : {}) });
    if (last.report.verdict === 'delivered') delivered++;
    bar?.update(i + 1, { packets: cap.packets });
  }
  bar?.stop();
  cap.stop();
  const names = cap.interfaceNames();
  const out = (bytes: Uint8Array): void => {
    if (o.file === '-') process.stdout.write(bytes);
    else writeOutputFile(o.file, bytes);
  };
  if ((o.format ?? 'pcapng') === 'pcap') {
    if (names.length !== 1) throw new CliError('NETSIM_ERR_FILTER', `--format pcap holds one interface; the selection has ${names.length} (${names.join(', ')}); narrow it with -i`);
    const file = readPcapng(cap.bytes());
    const w = new PcapWriter({ linkType: file.interfaces[0]?.linkType ?? 1 });
    for (const p of file.packets) w.writePacket({ timestampNs: p.timestampNs, data: p.data, originalLength: p.originalLength });
    out(w.toBytes());
  } else {
    out(cap.bytes());
  }
  const verdict = last?.report.verdict ?? 'dropped';
  // With `-w -` the capture is standard output, so the summary goes to stderr (as tcpdump's does).
  const say = o.file === '-' ? (s: string): void => void process.stderr.write(s) : print;
  say(`${cap.packets} packets on ${names.length} interfaces written to ${o.file} (${count > 1 ? `${delivered}/${count} delivered` : verdict})\n`);
  say(`interfaces: ${names.join(', ')}\n`);
  return delivered === count ? 0 : 1;
}
