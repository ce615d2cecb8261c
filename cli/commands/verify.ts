/**
 * `netsim verify` (one emulated node against its real twin in Linux namespaces) and
 * `netsim replay` (a capture's packets into a real namespace). Both need root,
 * `ip netns` and the raw-socket addon; without them they say why and exit 77.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import type { EmulatedCluster } from '../../cluster/emulated-cluster.ts';
import { verifyNode, VerifyHarnessError, VerifyUnavailableError, EXIT_VERIFY_HARNESS, EXIT_VERIFY_UNAVAILABLE } from '../../cluster/verify/verify.ts';
import { DEFAULT_TWIN_TIMING } from '../../cluster/verify/twin-side.ts';
import type { TwinTiming } from '../../cluster/verify/twin-side.ts';
import type { Disagreement, VerifyReport } from '../../cluster/verify/verify.ts';
import { reportJson, reportText } from '../../cluster/verify/report.ts';
import { replayCapture } from '../../cluster/verify/replay.ts';
import { readCapture } from '../../pcaps/read-capture.ts';
import { CliError } from '../cli-error.ts';
import { prepareOutputDir, writeOutputFile } from '../output-file.ts';
import { intInRange } from '../args.ts';
import { netnsUnavailableReason } from '../../cluster/verify/raw/netns.ts';

export { EXIT_VERIFY_HARNESS, EXIT_VERIFY_UNAVAILABLE };

export interface VerifyCommandOptions {
  readonly node?: string;
  readonly probes: number;
  readonly samples: number;
  readonly seed: number;
  readonly output: 'text' | 'json';
  readonly pcapDir: string;
  /** The kernel side's waits (defaults: DEFAULT_TWIN_TIMING). */
  readonly timing?: Partial<TwinTiming>;
  /** Real flannel devices in the twin (default true; see VerifyOptions.underlay). */
  readonly underlay?: boolean;
  /** Where the cluster came from (the --spec file), for messages. */
  readonly source?: string;
}

/** Several nodes' reports as one (the Contract's counters add up; disagreements name their node). */
export function mergeReports(reports: readonly VerifyReport[]): VerifyReport {
  const disagreements: Disagreement[] = reports.flatMap((r) => r.disagreements.map((d) => ({ ...d, node: r.node }) as Disagreement));
  return {
    node: reports.map((r) => r.node).join(', '),
    probes: reports.reduce((s, r) => s + r.probes, 0),
    agreed: reports.reduce((s, r) => s + r.agreed, 0),
    skipped: reports.reduce((s, r) => s + r.skipped, 0),
    disagreements,
    suites: reports.flatMap((r) => r.suites.map((s) => ({ ...s, suite: reports.length > 1 ? `${r.node}/${s.suite}` : s.suite }))),
    notVerifiable: [...new Set(reports.flatMap((r) => r.notVerifiable))],
    twinNamespaces: reports.reduce((s, r) => s + r.twinNamespaces, 0),
  };
}

/**
 * Run the verification for one node (`--node`) or every node, each on a freshly built
 * cluster. Returns the exit code: 0 all agree, 1 a disagreement, 2 a pod did not start (nothing verified), 3 the harness failed
 * (no verdict), 77 no real kernel to ask.
 */
export async function verifyCommand(build: () => Promise<EmulatedCluster> | EmulatedCluster, o: VerifyCommandOptions, print: (s: string) => void, err: (s: string) => void): Promise<number> {
  // Without a real kernel to ask nothing else matters (and an unprivileged user may not be able to write --pcap-dir's default).
  const why = netnsUnavailableReason();
  if (why !== undefined) {
    err(`netsim: NETSIM_VERIFY_UNAVAILABLE: cannot build the real twin: ${why}\n`);
    return EXIT_VERIFY_UNAVAILABLE;
  }
  // --pcap-dir is a directory option (cli/output-file.ts): made, or refused with NETSIM_ERR_OUTPUT, before any work —
  // and removed again at the end when no disagreement wrote into it.
  const discardIfEmpty = prepareOutputDir(o.pcapDir);
  try {
    return await verifyNodes(build, o, print, err);
  } finally {
    discardIfEmpty();
  }
}

async function verifyNodes(build: () => Promise<EmulatedCluster> | EmulatedCluster, o: VerifyCommandOptions, print: (s: string) => void, err: (s: string) => void): Promise<number> {
  const first = await build();
  const nodes = o.node !== undefined ? [o.node] : [...first.nodes.keys()];
  if (o.node !== undefined && !first.nodes.has(o.node)) {
    err(`netsim: NETSIM_ERR_UNKNOWN_NODE: unknown node "${o.node}" (nodes: ${[...first.nodes.keys()].join(', ')})\n`);
    return 2;
  }
  // A pod that did not start (hostPort on the docker runtime, …) has no namespace to copy: the twin
  // would silently lack it and every probe involving it would agree about nothing. Refuse the spec.
  const failed = first.failedPods?.() ?? [];
  if (failed.length > 0) {
    const where = o.source !== undefined ? `${o.source}: ` : '';
    err(failed.map((p) => `netsim: NETSIM_VERIFY_POD_NOT_STARTED: ${where}pod ${p.key} on ${p.node} did not start: ${p.message}\n`).join('')
      + `(every pod must run for its node to be verified; nothing was verified)\n`);
    return 2;
  }
  const reports: VerifyReport[] = [];
  const timing: TwinTiming = { ...DEFAULT_TWIN_TIMING, ...o.timing };
  for (const [i, node] of nodes.entries()) {
    const cluster = i === 0 ? first : await build();
    try {
      reports.push(await verifyNode(cluster, { node, randomProbes: o.probes, samples: o.samples, seed: o.seed, timing, underlay: o.underlay !== false, writePcap: (name, bytes) => {
        const path = join(o.pcapDir, name);
        writeOutputFile(path, bytes);
        return path;
      } }));
    } catch (e) {
      if (e instanceof VerifyUnavailableError) {
        err(`netsim: ${e.code}: ${e.reason}\n`);
        return EXIT_VERIFY_UNAVAILABLE;
      }
      if (e instanceof VerifyHarnessError) {
        // The verifier broke, not the emulator: no disagreement is counted, nothing is reported as one.
        err(`netsim: ${e.code}: node ${node}: the harness failed while ${e.stage}: ${e.detail}\n(no verdict about the emulator; exit ${EXIT_VERIFY_HARNESS})\n`);
        return EXIT_VERIFY_HARNESS;
      }
      throw e;
    }
  }
  if (o.output === 'json') print(reportJson(mergeReports(reports)));
  else for (const r of reports) print(reportText(r));
  return reports.every((r) => r.disagreements.length === 0) ? 0 : 1;
}

export async function replayCommand(file: string, o: { netns: string; interface?: string }, print: (s: string) => void, err: (s: string) => void): Promise<number> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (e) {
    throw new CliError('NETSIM_ERR_INPUT', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  // Bad input is refused before the kernel is asked: a non-capture or truncated file fails here with its PCAP_* code.
  readCapture(bytes);
  const why = netnsUnavailableReason();
  if (why !== undefined) {
    err(`netsim: NETSIM_VERIFY_UNAVAILABLE: ${why}\n`);
    return EXIT_VERIFY_UNAVAILABLE;
  }
  const r = await replayCapture(bytes, { netns: o.netns, ...(o.interface !== undefined ? { interface: o.interface } : {}) });
  print(`replayed ${r.sent} IPv4 packet${r.sent === 1 ? '' : 's'} into netns ${o.netns}${o.interface !== undefined ? ` (from ${o.interface})` : ''}; skipped ${r.skipped} (not IPv4)\n`);
  for (const e of r.errors) err(`  send failed: ${e}\n`);
  return r.errors.length > 0 ? 1 : 0;
}

const nonNegInt = (name: string): ((v: string) => number) => intInRange(name, 0, Number.MAX_SAFE_INTEGER);
/** At least one: a service group judged over no samples never ends. */
const posInt = (name: string): ((v: string) => number) => intInRange(name, 1, Number.MAX_SAFE_INTEGER);

/**
 * Add `verify` and `replay` to the program. `withCluster` adds the cluster options
 * (--spec, -f, --seed) the other commands share; `load` builds a cluster from them.
 */
export function registerVerifyCommands<O extends object>(
  program: Command,
  print: (s: string) => void,
  withCluster: (c: Command) => Command,
  load: (o: O) => Promise<EmulatedCluster> | EmulatedCluster,
): void {
  const err = (s: string): void => {
    process.stderr.write(s);
  };
  withCluster(program
    .command('verify')
    .description('check the emulation of a node against the real Linux kernel: build its twin in network namespaces, send the same probes into both (needs root; exit 0 only when every probe agrees, 1 on a disagreement, 2 when a pod of the cluster did not start, 3 when the harness itself failed, 77 when no real kernel can be asked)'))
    .option('--node <name>', 'node to verify (default: every node)')
    .option('--probes <n>', 'size of the randomised suite', nonNegInt('--probes'), 500)
    .option('--samples <n>', 'probes per service group (random backend choices are judged over these)', posInt('--samples'), 40)
    .option('-o, --output <format>', 'text or json', (v: string) => {
      if (v !== 'text' && v !== 'json') throw new InvalidArgumentError(`-o must be text or json, got "${v}"`);
      return v;
    }, 'text')
    .option('--pcap-dir <dir>', 'where the pcapng of each side of a disagreement goes', './netsim-out/verify')
    .option('--quiet-ms <n>', 'kernel side: quiet time after a probe\'s last packet that ends its wait', nonNegInt('--quiet-ms'), DEFAULT_TWIN_TIMING.quietMs)
    .option('--max-wait-ms <n>', 'kernel side: longest wait per probe (packets that come later still count for their probe)', nonNegInt('--max-wait-ms'), DEFAULT_TWIN_TIMING.maxMs)
    .option('--no-underlay', 'put sinks behind flannel\'s TUN and VXLAN devices instead of real ones (cross-node packets are then compared before encapsulation, not on the underlay)')
    .option('--late-ms <n>', 'kernel side: after the last probe, how long packets still owed are waited for (ICMP after an ARP failure takes ~3 s)', nonNegInt('--late-ms'), DEFAULT_TWIN_TIMING.lateMs)
    .action(async (o: O & { node?: string; probes: number; samples: number; output: 'text' | 'json'; pcapDir: string; seed?: number; quietMs: number; maxWaitMs: number; lateMs: number; underlay: boolean; spec?: string }) => {
      process.exitCode = await verifyCommand(() => load(o), {
        ...(o.node !== undefined ? { node: o.node } : {}), ...(o.spec !== undefined ? { source: o.spec } : {}), probes: o.probes, samples: o.samples, seed: o.seed ?? 1, output: o.output, pcapDir: o.pcapDir,
        timing: { quietMs: o.quietMs, maxMs: o.maxWaitMs, lateMs: o.lateMs }, underlay: o.underlay,
      }, print, err);
    });
  program
    .command('replay')
    .description('send the IPv4 packets of a pcap/pcapng capture into a real network namespace through a raw socket (needs root)')
    .argument('<file>', 'capture file (pcapng from netsim capture/demo, or pcap)')
    .requiredOption('--netns <name>', 'target namespace (ip netns list)')
    .option('--interface <name>', 'only packets captured on this interface, e.g. node01/eth0')
    .action(async (file: string, o: { netns: string; interface?: string }) => {
      process.exitCode = await replayCommand(file, o, print, err);
    });
}
