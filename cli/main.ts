/**
 * The `netsim` command line. Each command lives in cli/commands/; this file only
 * parses arguments (commander) and maps failures to exit codes and NETSIM_* errors.
 */
import { Command, InvalidArgumentError } from 'commander';
import { runDemo } from './commands/demo.ts';
import { traceCommand } from './commands/trace.ts';
import { nodeCommand, NODE_VIEWS } from './commands/node.ts';
import { captureCommand } from './commands/capture.ts';
import { registerVerifyCommands } from './commands/verify.ts';
import { NetsimError } from '../netsim/errors.ts';
import { EndpointError } from '../cluster/endpoint.ts';
import { SpecError } from '../cluster/spec.ts';
import { buildDemoTopology, demoAsCluster, demoNames, runPacketDemo } from '../cluster/packet-demo.ts';
import type { EmulatedCluster } from '../cluster/emulated-cluster.ts';

/** The cluster a command works on: today the hand-wired seed topology, settled by the demo's traffic. */
function clusterFor(o: { seed: number; settle: boolean }): EmulatedCluster {
  if (o.settle) return demoAsCluster(runPacketDemo(o.seed).cluster);
  return demoAsCluster(buildDemoTopology(o.seed));
}

function intArg(name: string) {
  return (v: string): number => {
    if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be an integer, got "${v}"`);
    return Number(v);
  };
}

export function buildProgram(print: (s: string) => void): Command {
  const program = new Command('netsim')
    .description('Packet-level emulator of Kubernetes cluster networking')
    .version('0.1.0')
    .showHelpAfterError();
  program
    .command('demo')
    .description('run the seed scenario: two nodes, four pods, traced hop by hop')
    .option('--out <dir>', 'directory for traces and captures', './netsim-out')
    .option('--seed <n>', 'seed of the run', intArg('--seed'), 1)
    .option('-q, --quiet', 'print outcomes only, not every hop')
    .action((o: { out: string; seed: number; quiet?: boolean }) => {
      process.exitCode = runDemo({ out: o.out, seed: o.seed, ...(o.quiet === true ? { quiet: true } : {}) }, print);
    });
  program
    .command('trace')
    .description('trace one packet and its reply hop by hop')
    .requiredOption('--from <endpoint>', 'pod:NS/NAME (or a bare pod name), node:NAME, external:NAME')
    .requiredOption('--to <endpoint>', 'pod:NS/NAME, service:NS/NAME[:PORT], node:NAME, ip:A.B.C.D, external:NAME')
    .option('--proto <proto>', 'icmp, udp or tcp', (v: string) => {
      if (v !== 'icmp' && v !== 'udp' && v !== 'tcp') throw new InvalidArgumentError(`--proto must be icmp, udp or tcp, got "${v}"`);
      return v;
    }, 'icmp')
    .option('--port <n>', 'destination port (udp/tcp; default 80)', intArg('--port'))
    .option('-o, --output <format>', 'text, json or events', (v: string) => {
      if (v !== 'text' && v !== 'json' && v !== 'events') throw new InvalidArgumentError(`-o must be text, json or events, got "${v}"`);
      return v;
    }, 'text')
    .option('--seed <n>', 'seed of the run', intArg('--seed'), 1)
    .action((o: { from: string; to: string; proto: 'icmp' | 'udp' | 'tcp'; port?: number; output: 'text' | 'json' | 'events'; seed: number }) => {
      process.exitCode = traceCommand(clusterFor({ seed: o.seed, settle: false }), { from: o.from, to: o.to, proto: o.proto, output: o.output, ...(o.port !== undefined ? { port: o.port } : {}) }, print);
    });
  program
    .command('capture')
    .description('run one exchange and write every interface it crossed to a pcapng file')
    .requiredOption('--from <endpoint>', 'pod:NS/NAME (or a bare pod name), node:NAME, external:NAME')
    .requiredOption('--to <endpoint>', 'pod:NS/NAME, service:NS/NAME[:PORT], node:NAME, ip:A.B.C.D, external:NAME')
    .requiredOption('-w, --write <file>', 'pcapng file to write')
    .option('--proto <proto>', 'icmp, udp or tcp', (v: string) => {
      if (v !== 'icmp' && v !== 'udp' && v !== 'tcp') throw new InvalidArgumentError(`--proto must be icmp, udp or tcp, got "${v}"`);
      return v;
    }, 'icmp')
    .option('--port <n>', 'destination port (udp/tcp; default 80)', intArg('--port'))
    .option('--seed <n>', 'seed of the run', intArg('--seed'), 1)
    .action((o: { from: string; to: string; write: string; proto: 'icmp' | 'udp' | 'tcp'; port?: number; seed: number }) => {
      const topo = buildDemoTopology(o.seed);
      process.exitCode = captureCommand(demoAsCluster(topo), { from: o.from, to: o.to, proto: o.proto, file: o.write, names: demoNames(topo), ...(o.port !== undefined ? { port: o.port } : {}) }, print);
    });
  program
    .command('node')
    .description(`print a node's state as the real tool would: ${NODE_VIEWS.join(', ')}`)
    .argument('<name>', 'node name, e.g. node01')
    .argument('<view>', NODE_VIEWS.join(' | '))
    .option('--seed <n>', 'seed of the run', intArg('--seed'), 1)
    .action((name: string, view: string, o: { seed: number }) => {
      process.exitCode = nodeCommand(clusterFor({ seed: o.seed, settle: true }), name, view, print);
    });
  registerVerifyCommands(program, print, (c) => c.option('--seed <n>', 'seed of the run', intArg('--seed'), 1), (o: { seed: number }) => clusterFor({ seed: o.seed, settle: false }));
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const print = (s: string): void => {
    process.stdout.write(s);
  };
  try {
    await buildProgram(print).parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof NetsimError || e instanceof EndpointError || e instanceof SpecError) {
      process.stderr.write(`netsim: ${e.code}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
