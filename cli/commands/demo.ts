/**
 * `netsim demo`: the main job. Today it runs the packet-core demo (hand-wired seed
 * topology, real bytes, per-hop traces) and writes what it traced.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runPacketDemo } from '../../cluster/packet-demo.ts';
import { renderTraceText } from '../render/trace-text.ts';

export interface DemoOptions {
  out: string;
  seed: number;
  quiet?: boolean;
}

export function runDemo(opts: DemoOptions, print: (s: string) => void): number {
  const { flows } = runPacketDemo(opts.seed);
  const out = resolve(opts.out);
  mkdirSync(out, { recursive: true });
  print(`netsim demo (seed ${opts.seed}): nodes node01, node02; pods webapp01, webapp02 on node01, webapp03, backend on node02\n`);
  flows.forEach((f, i) => {
    print(`\n== ${i + 1}. ${f.title}\n`);
    if (opts.quiet !== true) print(renderTraceText(f.events));
    print(`-> ${f.outcome}\n`);
    writeFileSync(join(out, `flow-${i + 1}.trace.txt`), renderTraceText(f.events));
    writeFileSync(join(out, `flow-${i + 1}.pcapng`), f.pcapng);
    print(`   capture: ${join(out, `flow-${i + 1}.pcapng`)} (${f.interfaces.length} interfaces: ${f.interfaces.join(', ')})\n`);
  });
  print(`\nTraces and pcapng captures written to ${out}\n`);
  print(`Open a capture in Wireshark, or: tshark -r ${join(out, 'flow-2.pcapng')} -T fields -e frame.interface_name -e ip.src -e ip.dst -e frame.comment\n`);
  print('(flannel UDP needs `-d udp.port==8285,ip`, flannel VXLAN `-d udp.port==8472,vxlan`; name resolution with `-N n` shows pod names)\n');
  return 0;
}
