/**
 * The flow stream of a live cluster: how many flows per CPU-second the trace bus →
 * FlowBuilder → hub path produces while the cluster carries a steady load (HTTP GETs
 * from a pod to the nginx ClusterIP, one after another), with 1 and with 100
 * subscribers each receiving every flow as the stream's JSON line; and the ring's
 * memory per flow.
 *
 * Baseline in the same run: the same load with nobody observing (the tracer off), so
 * the ratios say what observation costs the datapath.
 */
import { Cluster } from '../cluster/cluster.ts';
import { demoSpec } from '../cluster/demo-flows.ts';
import { httpGet } from '../netsim/apps/http.ts';
import { MS } from '../netsim/time/scheduler.ts';
import { LiveFlows, FlowRing } from '../observe/index.ts';
import type { Flow } from '../observe/index.ts';
import type { BenchRow } from './experiment.bench.ts';

const REQUESTS = 1500;

async function load(subscribers: number | undefined): Promise<{ cpuS: number; flows: number; sent: number }> {
  const cluster = await Cluster.build(demoSpec());
  await cluster.runFor(2000 * MS);
  const client = [...cluster.pods.values()].find((p) => p.key === 'default/webapp01')!;
  const vip = cluster.services.get('default/nginx-service')!.clusterIP;
  let live: LiveFlows | undefined;
  let sent = 0;
  if (subscribers !== undefined) {
    live = new LiveFlows(cluster, (t) => Date.UTC(2026, 11, 7) + t / 1e6);
    await live.refresh();
    for (let i = 0; i < subscribers; i++) live.hub.subscribe({ filter: {}, hops: false, send: (f: Flow) => { sent += JSON.stringify(f).length; return true; } });
  }
  const before = live?.hub.published ?? 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < REQUESTS; i++) {
    httpGet(client.ns, vip, 80);
    await cluster.runFor(5 * MS);
  }
  const dt = process.cpuUsage(t0);
  const flows = (live?.hub.published ?? 0) - before;
  live?.close();
  await cluster.close();
  return { cpuS: (dt.user + dt.system) / 1e6, flows, sent };
}

function ringBytesPerFlow(): number {
  const n = 100_000;
  const sample: Flow = {
    seq: 0, t: 0, time: '2026-12-07T06:20:01.172Z', traceId: 0, node: 'node01',
    source: { ip: '10.244.51.2', port: 59344, kind: 'pod', namespace: 'default', name: 'webapp01', labels: { app: 'webapp' }, node: 'node01' },
    destination: { ip: '10.244.58.4', port: 80, kind: 'pod', namespace: 'default', name: 'nginx-deployment-6d7bc6944-75df5', labels: { app: 'nginx' }, node: 'node02' },
    service: 'default/nginx-service', originalDestination: { ip: '10.96.63.155', port: 80 }, protocol: 'TCP', tcpFlags: ['SYN'], verdict: 'FORWARDED',
    decidedBy: 'nat KUBE-SEP-TFC6WFJGPP3KMRJ7:2 DNAT', nat: ['DNAT: tcp 10.244.51.2:59344 → 10.96.63.155:80 → destination 10.244.58.4:80'],
  };
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const h0 = process.memoryUsage().heapUsed;
  const ring = new FlowRing(n);
  // Each flow its own objects, as the builder makes them (endpoints shared only through identity labels).
  for (let i = 0; i < n; i++) ring.push({ ...sample, seq: i, t: i, traceId: i, source: { ...sample.source }, destination: { ...sample.destination }, nat: [...(sample.nat ?? [])] });
  gc?.();
  const bytes = (process.memoryUsage().heapUsed - h0) / n;
  return ring.size === n ? bytes : NaN;
}

export async function benchObserve(): Promise<BenchRow[]> {
  const base = await load(undefined);
  const one = await load(1);
  const hundred = await load(100);
  return [
    { name: `steady load, nobody observing (${REQUESTS} HTTP GETs through the ClusterIP)`, value: base.cpuS, unit: 's CPU', note: 'baseline' },
    { name: 'flows per CPU-second, ring + 1 subscriber', value: one.flows / one.cpuS, unit: 'flows/s', note: `${one.flows} flows; ${(one.cpuS / base.cpuS).toFixed(2)}× the baseline's CPU` },
    { name: 'flows per CPU-second, ring + 100 subscribers', value: hundred.flows / hundred.cpuS, unit: 'flows/s', note: `${(hundred.flows * 100 / hundred.cpuS).toFixed(0)} flow deliveries/s; ${(hundred.cpuS / base.cpuS).toFixed(2)}× the baseline's CPU` },
    { name: 'flow ring memory per flow (100 000 flows)', value: ringBytesPerFlow(), unit: 'bytes', note: 'heap per stored flow; run with node --expose-gc for a steadier figure' },
  ];
}
