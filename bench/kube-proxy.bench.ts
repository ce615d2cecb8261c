/**
 * kube-proxy (iptables mode) at 10 000 services × 10 endpoints.
 *
 * - Full sync: apply the change trackers and build the complete iptables-restore
 *   input (first sync: chain names hashed; a second full sync: names memoised).
 * - Partial sync after one endpoint of one service changes: only that service's
 *   chains are written (KUBE-SERVICES and the other top-level chains are complete
 *   every time, as upstream does).
 * The restore goes to a recording backend: this measures kube-proxy's side only.
 *
 * Run alone: `node --import tsx bench/kube-proxy.bench.ts`.
 */
import { IptablesProxier } from '../proxy/iptables/proxier.ts';
import { RecordingIptablesBackend } from '../proxy/iptables/netsim-backend.ts';
import type { EndpointSliceInfo, ServiceInfo } from '../proxy/service-port.ts';

export interface BenchRow { name: string; value: number; unit: string; note?: string }

const SERVICES = 10_000;
const ENDPOINTS = 10;

function svc(i: number): ServiceInfo {
  const name = `svc${i}`;
  return {
    namespace: 'bench', name,
    ports: [{
      name: `bench/${name}:http`, service: `bench/${name}`, portName: 'http', protocol: 'tcp', type: 'ClusterIP', clusterIP: `10.96.${i >> 8}.${i & 255}`, port: 80,
      nodePort: 0, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [], stickyMaxAgeSeconds: undefined, externalPolicyLocal: false, internalPolicyLocal: false, healthCheckNodePort: 0,
    }],
  };
}

function eps(i: number, moved = -1): EndpointSliceInfo {
  return {
    namespace: 'bench', serviceName: `svc${i}`, sliceName: `svc${i}-x`, ports: [{ name: 'http', port: 8080, protocol: 'tcp' }],
    endpoints: Array.from({ length: ENDPOINTS }, (_, j) => ({ addresses: [`10.${100 + j}.${i >> 8}.${j === moved ? 254 - (i & 127) : i & 255}`], ready: true, serving: true, terminating: false, nodeName: `node${j}` })),
  };
}

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export async function benchKubeProxy(): Promise<BenchRow[]> {
  await Promise.resolve();
  const rec = new RecordingIptablesBackend();
  const p = new IptablesProxier(rec, { nodeName: 'node0', clusterCIDR: '10.0.0.0/8' });
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < SERVICES; i++) {
    p.onServiceUpdate(undefined, svc(i));
    p.onEndpointSliceUpdate(eps(i), false);
  }
  const track = ms(t0);
  t0 = process.hrtime.bigint();
  const full = p.sync();
  const fullMs = ms(t0);
  const lines = full.iptablesText.split('\n').length;
  t0 = process.hrtime.bigint();
  const warm = p.sync({ full: true });
  const warmMs = ms(t0);
  p.onEndpointSliceUpdate(eps(4242, 3), false);
  t0 = process.hrtime.bigint();
  const partial = p.sync();
  const partialMs = ms(t0);
  const partialLines = partial.iptablesText.split('\n').length;
  if (!warm.full || partial.full || partial.updatedServices.length !== 1) throw new Error('unexpected sync kinds');
  return [
    { name: 'kube-proxy: change tracking, 10 000 services × 10 endpoints (add events)', value: track, unit: 'ms' },
    { name: 'kube-proxy: full sync, 10 000 services × 10 endpoints (first, names hashed)', value: fullMs, unit: 'ms', note: `${lines.toLocaleString('en-US')} lines, ${(full.iptablesText.length / 1e6).toFixed(1)} MB` },
    { name: 'kube-proxy: full sync again (names memoised)', value: warmMs, unit: 'ms' },
    { name: 'kube-proxy: partial sync after one endpoint change', value: partialMs, unit: 'ms', note: `${partialLines.toLocaleString('en-US')} lines` },
    { name: 'kube-proxy: full / partial sync time', value: warmMs / partialMs, unit: '×' },
    { name: 'kube-proxy: full / partial restore size', value: lines / partialLines, unit: '×' },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchKubeProxy()) {
    const v = r.value >= 100 ? Math.round(r.value).toLocaleString('en-US') : r.value.toFixed(2);
    console.log(`${r.name.padEnd(80)} ${v.padStart(10)} ${r.unit}${r.note !== undefined ? `  (${r.note})` : ''}`);
  }
}
