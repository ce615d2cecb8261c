/**
 * `npm run bench`: runs every benchmark module in bench/ and prints one table.
 * Each module exports an async function returning rows `{name, value, unit, note?}`;
 * ratios against a baseline are computed inside each module from numbers measured
 * in the same run. `npm run bench -- forwarding` runs only the named modules.
 * Results are also written to bench/results.json (not committed) for comparison.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';

interface BenchRow { name: string; value: number; unit: string; note?: string }

const modules: Array<[string, string, string]> = [
  ['forwarding', './forwarding.bench.ts', 'benchForwarding'],
  ['netfilter', './netfilter.bench.ts', 'benchNetfilter'],
  ['nftables', './nftables.bench.ts', 'benchNftables'],
  ['conntrack', './conntrack.bench.ts', 'benchConntrack'],
  ['store', './store.bench.ts', 'benchStore'],
  ['kube-proxy', './kube-proxy.bench.ts', 'benchKubeProxy'],
  ['kube-proxy-modes', './kube-proxy-modes.bench.ts', 'benchKubeProxyModes'],
  ['scale-share', './scale-share.bench.ts', 'benchScaleShare'],
  ['policy', './policy.bench.ts', 'benchPolicy'],
  ['apiserver', './apiserver.bench.ts', 'benchApiserver'],
  ['protobuf', './protobuf.bench.ts', 'benchProtobuf'],
  ['experiment', './experiment.bench.ts', 'benchExperiment'],
  ['datapath', './datapath.bench.ts', 'benchDatapath'],
  ['dns', './dns.bench.ts', 'benchDns'],
  ['observe', './observe.bench.ts', 'benchObserve'],
  ['web-ui', './web-ui.bench.ts', 'benchWebUi'],
  ['underlay-link', './underlay-link.bench.ts', 'benchUnderlayLink'],
  ['lazy-pods', './lazy-pods.bench.ts', 'benchLazyPods'],
  ['scale', './scale.bench.ts', 'benchScale'],
  ['lockstep', './lockstep.bench.ts', 'benchLockstep'],
];

const only = process.argv.slice(2);
const results: Record<string, BenchRow[]> = {};
console.log(`netsim benchmarks — ${new Date().toISOString().slice(0, 10)}, ${os.cpus()[0]?.model ?? 'cpu'} ×${os.cpus().length}, Node ${process.version}`);
for (const [name, file, fn] of modules) {
  if (only.length > 0 && !only.includes(name)) continue;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(file)) as Record<string, unknown>;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') continue;
    throw e;
  }
  const run = mod[fn] as (() => Promise<BenchRow[]>) | undefined;
  if (run === undefined) continue;
  console.log(`\n## ${name}`);
  const rows = await run();
  results[name] = rows;
  for (const r of rows) {
    const v = r.value >= 100 ? Math.round(r.value).toLocaleString('en-US') : r.value.toFixed(2);
    console.log(`${r.name.padEnd(72)} ${v.padStart(16)} ${r.unit}${r.note !== undefined ? `  (${r.note})` : ''}`);
  }
}
writeFileSync(new URL('./results.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, results }, null, 2));
