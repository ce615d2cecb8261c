/**
 * `netsim run`: the cluster's declared clients (the spec's `clients:`) for a span of
 * virtual time, serially or split over worker threads in lockstep (cluster/lockstep-run.ts)
 * — the same counts and the same capture bytes either way.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { runLockstep } from '../../cluster/lockstep-run.ts';
import type { LockstepRunResult } from '../../cluster/lockstep-run.ts';
import { MS } from '../../netsim/time/scheduler.ts';
import { Tracer } from '../../netsim/trace/tracer.ts';
import { Capture } from '../../pcaps/capture.ts';
import { durationMsArg, positiveArg } from '../args.ts';
import { loadManifestFiles, specFor } from '../load-cluster.ts';
import type { ClusterArgs } from '../load-cluster.ts';
import { checkOutputFile, writeOutputFile } from '../output-file.ts';
import { CliError } from '../cli-error.ts';

interface RunOptions { duration: number; workers?: number; output: 'table' | 'json'; write?: string }

function render(r: LockstepRunResult, output: 'table' | 'json'): string {
  if (output === 'json') return `${JSON.stringify({ clients: r.clients }, null, 2)}\n`;
  const rows = [['CLIENT', 'SENT', 'ANSWERED', 'FAILED', 'SKIPPED', 'BACKENDS'], ...r.clients.map((c) => [c.name, `${c.sent}`, `${c.answered}`, `${c.failed}`, `${c.skipped}`, Object.entries(c.backends).map(([b, n]) => `${b}=${n}`).join(',') || '-'])];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  return rows.map((row) => row.map((x, i) => (i === row.length - 1 ? x : x.padEnd(widths[i] ?? 0))).join('   ')).join('\n') + '\n';
}

export function registerRunCommand(program: Command, print: (s: string) => void, withCluster: (c: Command) => Command, clusterArgs: (o: { spec?: string; filename?: string[]; seed?: number }) => ClusterArgs): void {
  withCluster(program.command('run'))
    .description('run the spec\'s declared clients for --duration of virtual time and print their counts; --workers N splits the nodes over worker threads with identical results')
    .requiredOption('--duration <d>', 'virtual time to run after the cluster settled, e.g. 2s, 500ms', durationMsArg('--duration'))
    .option('--workers <n>', 'worker threads running the nodes in lockstep (default 1)', positiveArg('--workers'))
    .addOption(new Option('-o, --output <format>', 'table or json').choices(['table', 'json']).default('table'))
    .option('-w, --write <file>', 'write the run\'s packets as pcapng (every interface)')
    .action(async (o: RunOptions & { spec?: string; filename?: string[]; seed?: number }) => {
      const a = clusterArgs(o);
      const spec = specFor(a);
      if (spec.clients.length === 0) throw new CliError('NETSIM_ERR_ARGUMENT', 'the cluster spec declares no clients (`clients:`): nothing would run');
      if (o.write !== undefined) checkOutputFile(o.write);
      const r = await runLockstep({ spec, manifests: loadManifestFiles(a.file ?? []), durationNs: o.duration * MS, workers: o.workers ?? 1, trace: o.write !== undefined });
      if (o.write !== undefined) {
        const tracer = new Tracer();
        const cap = new Capture(tracer);
        for (const e of r.events ?? []) tracer.emit(e);
        cap.stop();
        writeOutputFile(o.write, cap.bytes());
      }
      print(render(r, o.output));
    });
}
