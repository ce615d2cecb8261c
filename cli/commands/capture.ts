/**
 * `netsim capture --from X --to Y [--proto] [--port] -w FILE`: run traced exchanges
 * and write the interfaces they crossed. `--node` and `-i/--interface` select
 * interfaces (`node01/eth0`, `*\/flannel0`, `default/*\/eth0`), `--host` keeps
 * packets to or from an address (like tcpdump's `host`, and also inside flannel's
 * UDP or VXLAN encapsulation), `--count N` repeats the
 * exchange (a progress bar on a terminal), `--format pcap` writes classic pcap for
 * exactly one interface. `-w -` writes the capture to standard output (tcpdump's
 * `-w -`); output paths follow cli/output-file.ts. With --kubeconfig/--server it records the
 * live traffic of a running `netsim up` instead, for `--duration` or `--count` packets
 * (cli/up/live-routes.ts serves it), into pcapng.
 */
import { SingleBar, Presets } from 'cli-progress';
import type { EmulatedCluster } from '../../cluster/emulated-cluster.ts';
import { resolveEndpoint } from '../../cluster/endpoint.ts';
import { runTrace } from '../../cluster/trace-runner.ts';
import type { TraceProto, TraceRun } from '../../cluster/trace-runner.ts';
import { Capture } from '../../pcaps/capture.ts';
import { CliError } from '../cli-error.ts';
import { ipv4Headers } from '../../netsim/wire/encap.ts';
import { tryParseIpv4 } from '../../netsim/wire/addr.ts';
import { writeOutputFile } from '../output-file.ts';
import { remoteFailure, remoteStream } from '../remote.ts';
import type { KubeconfigEntry } from '../up/kubeconfig.ts';

/** Where a running `netsim up` serves a live capture (cli/up/live-routes.ts). */
export const CAPTURE_PATH = '/netsim/v1/capture';

export interface CaptureCliOptions {
  from: string;
  to: string;
  proto?: TraceProto;
  port?: number;
  file: string;
  names?: Array<{ ip: number; name: string }>;
  nodes?: readonly string[];
  interfaces?: readonly string[];
  host?: string;
  count?: number;
  format?: 'pcapng' | 'pcap';
  /** Classic pcap's timestamp resolution; default 'us' (tcpdump's, and every reader's). */
  timePrecision?: 'us' | 'ns';
  /** One file per interface: FILE's name with the interface inserted (cap.pcapng → cap-node01_eth0.pcapng). */
  split?: boolean;
  progress?: boolean;
}

/** The file of one interface under --split: `dir/cap.pcapng` + `node01/eth0` → `dir/cap-node01_eth0.pcapng`. */
export function splitFileName(file: string, iface: string): string {
  const m = /^(.*?)(\.[^./]*)?$/.exec(file);
  return `${m?.[1] ?? file}-${iface.replace(/\//g, '_')}${m?.[2] ?? ''}`;
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

/** What a capture keeps: --node, -i and --host, checked against the cluster. */
export interface CaptureSelection {
  readonly nodes?: readonly string[];
  readonly interfaces?: readonly string[];
  readonly host?: string;
}

/** Start capturing the selected interfaces (bad selections are CLI errors); stop() the result when done. */
export function openCapture(cluster: EmulatedCluster, o: CaptureSelection): Capture {
  for (const n of o.nodes ?? []) if (!cluster.nodes.has(n)) throw new CliError('NETSIM_ERR_RESOURCE', `unknown node "${n}" (nodes: ${[...cluster.nodes.keys()].join(', ')})`);
  const host = o.host !== undefined ? tryParseIpv4(o.host) : undefined;
  if (o.host !== undefined && host === undefined) throw new CliError('NETSIM_ERR_FILTER', `--host must be an IPv4 address, got "${o.host}"`);
  // The interface names come from the devices themselves: pods kept as records are built first (cluster/lazy-pods.ts).
  if ((o.interfaces ?? []).length > 0) cluster.materialise?.();
  const all = (o.interfaces ?? []).length === 0 ? [] : [...cluster.nodes.values(), ...[...cluster.pods.values()].map((p) => p.ns), ...cluster.external.values()].flatMap((ns) => [...ns.devices.keys()].map((d) => `${ns.name}/${d}`));
  for (const g of o.interfaces ?? []) {
    if (!all.some(globMatcher(g))) throw new CliError('NETSIM_ERR_FILTER', `-i ${g}: matches no interface of this cluster (e.g. ${all.slice(0, 4).join(', ')}, …)`);
  }
  const globs = (o.interfaces ?? []).map(globMatcher);
  const cap = new Capture(cluster.sim.tracer, {
    interfaces: (i) => ((o.nodes ?? []).length === 0 || (o.nodes ?? []).includes(i.node)) && (globs.length === 0 || globs.some((g) => g(`${i.netns}/${i.dev}`))),
    ...(host !== undefined ? { filter: (e) => e.data !== undefined && hasHost(e.data, e.linkType, host) } : {}),
  });
  return cap;
}

export function captureCommand(cluster: EmulatedCluster, o: CaptureCliOptions, print: (s: string) => void): number {
  const from = resolveEndpoint(o.from, cluster);
  const to = resolveEndpoint(o.to, cluster);
  const cap = openCapture(cluster, o);
  if (o.names !== undefined) cap.addNames(o.names);
  const count = o.count ?? 1;
  const bar = o.progress === true && count > 1 ? new SingleBar({ format: 'capture [{bar}] {value}/{total} exchanges | {packets} packets | ETA {eta_formatted}' }, Presets.shades_classic) : undefined;
  bar?.start(count, 0, { packets: 0 });
  let last: TraceRun | undefined;
  let delivered = 0;
  for (let i = 0; i < count; i++) {
    // A TCP exchange carries a request and its response and closes with FINs, so the file shows a real conversation.
    last = runTrace(cluster, from, to, { tcp: 'request', ...(o.proto !== undefined ? { proto: o.proto } : {}), ...(o.port !== undefined ? { port: o.port } : {}) });
    if (last.report.verdict === 'delivered') delivered++;
    bar?.update(i + 1, { packets: cap.packets });
  }
  bar?.stop();
  cap.stop();
  const names = cap.interfaceNames();
  const format = o.format ?? 'pcapng';
  const precision = o.timePrecision ?? 'us';
  const perInterface = o.split === true && format === 'pcapng' ? new Map(cap.split().map((f) => [f.name, f.bytes])) : undefined;
  const fileOf = (name: string): Uint8Array => perInterface?.get(name) ?? cap.pcap(name, precision);
  const written: string[] = [];
  if (o.split === true) {
    for (const name of names) {
      const path = splitFileName(o.file, name);
      writeOutputFile(path, fileOf(name));
      written.push(path);
    }
  } else {
    if (format === 'pcap' && names.length !== 1) throw new CliError('NETSIM_ERR_FILTER', `--format pcap holds one interface; the selection has ${names.length} (${names.join(', ')}); narrow it with -i, or write one file per interface with --split`);
    const bytes = format === 'pcap' ? cap.pcap(names[0]!, precision) : cap.bytes();
    if (o.file === '-') process.stdout.write(bytes);
    else writeOutputFile(o.file, bytes);
    written.push(o.file);
  }
  const verdict = last?.report.verdict ?? 'dropped';
  // With `-w -` the capture is standard output, so the summary goes to stderr (as tcpdump's does).
  const say = o.file === '-' ? (s: string): void => void process.stderr.write(s) : print;
  say(`${cap.packets} packets on ${names.length} interfaces written to ${o.split === true ? `${written.length} files` : o.file} (${count > 1 ? `${delivered}/${count} delivered` : verdict})\n`);
  if (o.split === true) for (const w of written) say(`  ${w}\n`);
  say(`interfaces: ${names.join(', ')}\n`);
  return delivered === count ? 0 : 1;
}

/** `--duration` as wall-clock ms: seconds, or a number with ms, s or m. */
export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v);
  const ms = m === null ? NaN : Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
  if (!(ms >= 1)) throw new CliError('NETSIM_ERR_ARGUMENT', `--duration must be like 5s, 500ms or 2m, got "${v}"`);
  return Math.round(ms);
}

/** The live traffic of a running cluster, for a duration or a packet count, into one pcapng file. */
export async function captureRemoteCommand(remote: KubeconfigEntry, o: CaptureSelection & { file: string; durationMs?: number; count?: number }, print: (s: string) => void): Promise<number> {
  if (o.durationMs === undefined && o.count === undefined) throw new CliError('NETSIM_ERR_USAGE', 'a live capture needs --duration, --count, or both');
  const q = new URLSearchParams();
  if (o.durationMs !== undefined) q.set('duration-ms', String(o.durationMs));
  if (o.count !== undefined) q.set('count', String(o.count));
  for (const n of o.nodes ?? []) q.append('node', n);
  for (const i of o.interfaces ?? []) q.append('interface', i);
  if (o.host !== undefined) q.set('host', o.host);
  const res = await remoteStream(remote, `${CAPTURE_PATH}?${q.toString()}`, { accept: 'application/x-pcapng' });
  const chunks: Buffer[] = [];
  for await (const c of res.body) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks);
  if (res.status !== 200) throw remoteFailure(remote, { status: res.status, body: body.toString('utf8') });
  if (o.file === '-') process.stdout.write(body);
  else writeOutputFile(o.file, new Uint8Array(body));
  const say = o.file === '-' ? (s: string): void => void process.stderr.write(s) : print;
  const names = String(res.body.headers['x-netsim-interfaces'] ?? '').split(',').filter((x) => x !== '');
  say(`${String(res.body.headers['x-netsim-packets'] ?? '?')} packets on ${names.length} interfaces written to ${o.file}\n`);
  say(`interfaces: ${names.join(', ')}\n`);
  return 0;
}
