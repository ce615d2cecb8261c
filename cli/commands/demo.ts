/**
 * `netsim demo`: the main job. Builds the seed scenario from its spec (control
 * plane, node agents, flanneld UDP, docker0, kube-proxy iptables mode), runs its
 * five flows with real bytes, prints each flow's per-hop trace and writes the traces
 * and pcapng captures.
 */
import { join, resolve } from 'node:path';
import { Cluster } from '../../cluster/cluster.ts';
import { demoSpec, runFlows, seedFlowPlans } from '../../cluster/demo-flows.ts';
import { renderTraceText } from '../render/trace-text.ts';
import { stdoutStyle } from '../render/hop-lines.ts';
import { prepareOutputDir, writeOutputFile } from '../output-file.ts';

export interface DemoOptions {
  out: string;
  seed?: number;
  quiet?: boolean;
}

export async function runDemo(opts: DemoOptions, print: (s: string) => void): Promise<number> {
  const out = resolve(opts.out);
  prepareOutputDir(out);
  const base = demoSpec();
  const spec = opts.seed !== undefined ? { ...base, seed: opts.seed } : base;
  const cluster = await Cluster.build(spec);
  const flows = await runFlows(cluster, seedFlowPlans(cluster));
  const byNode = new Map<string, string[]>();
  for (const p of cluster.pods.values()) byNode.set(p.node, [...(byNode.get(p.node) ?? []), p.key.replace(/^default\//, '')]);
  print(`netsim demo (seed ${spec.seed}): ${[...byNode].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([n, ps]) => `${n}: ${ps.join(', ')}`).join('; ')}\n`);
  flows.forEach((f, i) => {
    print(`\n== ${i + 1}. ${f.title}\n`);
    if (opts.quiet !== true) print(renderTraceText(f.events, stdoutStyle()));
    print(`-> ${f.outcome}\n`);
    writeOutputFile(join(out, `flow-${i + 1}.trace.txt`), renderTraceText(f.events));
    writeOutputFile(join(out, `flow-${i + 1}.pcapng`), f.pcapng);
    print(`   capture: ${join(out, `flow-${i + 1}.pcapng`)} (${f.interfaces.length} interfaces: ${f.interfaces.join(', ')})\n`);
  });
  await cluster.close();
  print(`\nTraces and pcapng captures written to ${out}\n`);
  print(`Open a capture in Wireshark, or: tshark -r ${join(out, 'flow-2.pcapng')} -d udp.port==8285,ip -T fields -e frame.interface_name -e ip.src -e ip.dst -e frame.comment\n`);
  print('(flannel UDP needs `-d udp.port==8285,ip`, flannel VXLAN `-d udp.port==8472,vxlan`; name resolution with `-N n` shows pod names)\n');
  return flows.every((f) => f.ok) ? 0 : 1;
}
