/**
 * The `netsim` command line. Each command lives in cli/commands/; this file only
 * parses arguments (commander) and maps failures to exit codes and NETSIM_* errors.
 */
import { Command, InvalidArgumentError } from 'commander';
import { runDemo } from './commands/demo.ts';
import { NetsimError } from '../netsim/errors.ts';

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
    if (e instanceof NetsimError) {
      process.stderr.write(`netsim: ${e.code}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
