import { Cluster } from '/work/wt-twin/cluster/cluster.ts';
import { verifyNode } from '/work/wt-twin/cluster/verify/verify.ts';
import { reportText } from '/work/wt-twin/cluster/verify/report.ts';
import { seedSpec } from '/work/wt-twin/tests/support/spec-cluster.ts';
const c = await Cluster.build(seedSpec(), { apps: false });
const r = await verifyNode(c, { node: 'node02', samples: 4, randomProbes: 60, suites: ['random'] });
console.log(reportText(r));
await c.close();
