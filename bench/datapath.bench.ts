/**
 * CPU per delivered packet through the whole emulated datapath: a UDP flow from a pod
 * on node01 to a ClusterIP whose only endpoint is a pod on node02 — veth, docker0,
 * netfilter (conntrack, the nat table's Service chains, filter), routing, flannel's
 * encapsulation (udp: flannel0 TUN + flanneld; vxlan: flannel.1), the underlay, the
 * far node's decapsulation, bridge and veth, and the receiving socket.
 *
 * - established: one flow (fixed source port), the first packet sent before timing.
 * - new: every packet from its own source port (conntrack entry + nat table walk).
 * - with 10 and with 10 000 Services present (each selecting the nginx pods, so
 *   kube-proxy programs every one): the ruleset's size must not show per packet.
 *
 * Baseline in the same run: ns-3 (`bench/anchors/ns3bench.cc`, ns-3.37 UdpClient over
 * A→R→B point-to-point) when Debian's libns3-dev is installed — the bench builds the
 * program once into bench/.cache/ and says so when it cannot. CPU is the process's
 * user+system time (`process.cpuUsage`) over the timed run only. The sender schedules
 * each datagram from the previous one, as ns-3's UdpClient does.
 *
 * Second baseline in the same run: the real kernel (`bench/anchors/kernel-overlay.sh`, see
 * kernelPerPacket) when root, gcc, ip and iptables are there; skipped with the reason when not.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Cluster } from '../cluster/cluster.ts';
import { demoSpec } from '../cluster/demo-flows.ts';
import type { ClusterSpec } from '../cluster/spec.ts';
import { US, SECOND } from '../netsim/time/scheduler.ts';
import type { BenchRow } from './experiment.bench.ts';

const PORT = 9000;

function benchManifests(extraServices: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [{
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'bench-udp', namespace: 'default' },
    spec: { selector: { app: 'backend' }, ports: [{ protocol: 'UDP', port: PORT, targetPort: PORT }] },
  }];
  for (let i = 0; i < extraServices; i++) {
    out.push({
      apiVersion: 'v1', kind: 'Service', metadata: { name: `bench-${i}`, namespace: 'default' },
      spec: { selector: { app: 'nginx' }, ports: [{ protocol: 'TCP', port: 80, targetPort: 80 }] },
    });
  }
  return out;
}

function specWith(backend: 'udp' | 'vxlan'): ClusterSpec {
  const s = demoSpec();
  return { ...s, network: { ...s.network, flannel: { ...s.network.flannel, backend } } };
}

/** CPU per delivered packet; scheduler events run (timed and immediate) and timed entries queued (order keys given) per packet. */
export interface FlowCost { nsPerPacket: number; delivered: number; eventsPerPacket: number; queuedPerPacket: number }

/**
 * Build the cluster and send `n` 64-byte datagrams 20 µs of virtual time apart
 * (below the underlay's capacity, so no queueing), timing the CPU of delivering them.
 */
export async function udpFlowCost(backend: 'udp' | 'vxlan', n: number, opts: { newFlows?: boolean; extraServices?: number } = {}): Promise<FlowCost> {
  const c = await Cluster.build(specWith(backend), { manifests: benchManifests(opts.extraServices ?? 0) });
  try {
    const client = c.pods.get('default/webapp01');
    const server = c.pods.get('default/backend');
    const svc = c.services.get('default/bench-udp');
    if (client === undefined || server === undefined || svc === undefined) throw new Error('seed cluster without webapp01 / backend / bench-udp');
    if (client.node === server.node) throw new Error('bench flow is not cross-node');
    let delivered = 0;
    const sock = server.ns.udp.bind(PORT);
    sock.onMessage = () => {
      delivered++;
    };
    const payload = new Uint8Array(64);
    const src = client.ip;
    const t0 = c.sim.clock.now();
    // Warm-up: the flow's first packet (ARP, conntrack, NAT) and the JIT.
    const warm = Math.min(20_000, n);
    sendEvery(c, warm, (i) => void client.ns.udp.sendFrom(src, opts.newFlows === true ? 10000 + (i % 50000) : 40000, svc.clusterIP, PORT, payload));
    c.sim.clock.run(t0 + warm * 20 * US + SECOND);
    delivered = 0;
    const t1 = c.sim.clock.now();
    // New flows: source ports the warm-up did not use (conntrack keeps UDP entries 30 s).
    sendEvery(c, n, (i) => void client.ns.udp.sendFrom(src, opts.newFlows === true ? sportFor(i) : 40000, svc.clusterIP, PORT, payload));
    const events0 = c.sim.clock.eventsRun();
    const keys0 = c.sim.clock.keysGiven();
    const cpu0 = process.cpuUsage();
    c.sim.clock.run(t1 + n * 20 * US + SECOND);
    const cpu = process.cpuUsage(cpu0);
    if (delivered < n * 0.99) throw new Error(`${backend}: ${delivered}/${n} delivered`);
    return {
      nsPerPacket: ((cpu.user + cpu.system) * 1000) / delivered,
      delivered,
      eventsPerPacket: (c.sim.clock.eventsRun() - events0) / delivered,
      queuedPerPacket: (c.sim.clock.keysGiven() - keys0) / delivered,
    };
  } finally {
    await c.close();
  }
}

/**
 * Call `send(i)` for i = 0…n−1, 20 µs of virtual time apart from now, each send
 * scheduling the next (as ns-3's UdpClient::Send does): one pending event, not n
 * closures in the scheduler's heap, whose depth the timed run would otherwise pay.
 */
function sendEvery(c: Cluster, n: number, send: (i: number) => void): void {
  let i = 0;
  const tick = (): void => {
    send(i);
    if (++i < n) c.sim.clock.after(20 * US, tick);
  };
  if (n > 0) c.sim.clock.after(0, tick);
}

/** Distinct (source address, port) per new-flow packet: ports 1024–9999 then 60000+ (the warm-up uses 10000–59999). */
function sportFor(i: number): number {
  return i < 8976 ? 1024 + i : 60000 + ((i - 8976) % 5535);
}

/** ns-3's CPU per delivered packet (ns3bench.cc --mode=packets), or undefined with the reason. */
export function ns3PerPacket(): { ns: number } | { why: string } {
  const src = fileURLToPath(new URL('./anchors/ns3bench.cc', import.meta.url));
  const dir = fileURLToPath(new URL('./.cache/', import.meta.url));
  const bin = `${dir}ns3bench`;
  try {
    if (!existsSync(bin)) {
      let mods: string;
      try {
        mods = execFileSync('pkg-config', ['--list-all'], { encoding: 'utf8' });
      } catch {
        return { why: 'pkg-config is not installed' };
      }
      const names = ['core', 'network', 'internet', 'point-to-point', 'applications'].map((m) => new RegExp(`^((?:lib)?ns3[\\d.]*-${m}) `, 'm').exec(mods)?.[1]);
      if (names.some((x) => x === undefined)) return { why: 'ns-3 is not installed (Debian: apt-get install libns3-dev)' };
      const flags = execFileSync('pkg-config', ['--cflags', '--libs', ...(names as string[])], { encoding: 'utf8' }).trim().split(/\s+/)
        // Debian's ns3 .pc files carry a stray '-I/usr\\;' and name libgsl.so, which only libgsl-dev installs.
        .filter((f) => !f.includes(';') && !(f.startsWith('/') && !existsSync(f)));
      mkdirSync(dir, { recursive: true });
      execFileSync('g++', ['-O2', '-o', bin, src, ...flags], { stdio: 'pipe' });
    }
    const out = execFileSync('bash', ['-c', `/usr/bin/time -f 'CPU %U %S' ${bin} --mode=packets --simTime=0.3 2>&1`], { encoding: 'utf8' });
    const rx = Number(/rx=(\d+)/.exec(out)?.[1]);
    const m = /CPU ([\d.]+) ([\d.]+)/.exec(out);
    if (!(rx > 0) || m === null) return { why: `ns3bench printed no result: ${out.slice(0, 200)}` };
    return { ns: ((Number(m[1]) + Number(m[2])) * 1e9) / rx };
  } catch (e) {
    return { why: `ns-3 anchor failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

/** Build bench/anchors/NAME.c into bench/.cache/NAME (again when the source is newer) and return the binary's path. */
function buildC(name: string, dir: string): string {
  const bin = `${dir}${name}`;
  const src = fileURLToPath(new URL(`./anchors/${name}.c`, import.meta.url));
  if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(dir, { recursive: true });
    execFileSync('gcc', ['-O2', '-o', bin, src], { stdio: 'pipe' });
  }
  return bin;
}

function hasTool(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface KernelCost { ns: number; rx: number; tx: number; procsNs: number; ksoftirqdNs: number; load: string }

/**
 * The real kernel's CPU per delivered packet on the same path (`anchors/kernel-overlay.sh`:
 * pod → ClusterIP DNAT → veth/bridge/conntrack/routing → flannel udp (TUN + the userspace
 * forwarder `anchors/tunproxy.c`) or kernel VXLAN → veth underlay → decap → bridge → pod),
 * `n` 64-byte datagrams of one established flow paced at `rate` per second.
 *
 * Counted: user + system CPU (getrusage, which the kernel scales to the task's exact runtime)
 * of the sender, the receiver and both forwarders, plus the ksoftirqd threads' CPU over the run.
 * Softirq time: this kernel has no CONFIG_IRQ_TIME_ACCOUNTING, so NET_RX/NET_TX softirqs run
 * in a task's context (veth/TUN transmit raises them and `local_bh_enable` runs them in the
 * sending task) are part of that task's system time, hence counted; softirqs deferred to
 * ksoftirqd are counted through its threads (machine-wide: an upper bound, other sessions'
 * deferred softirqs count too). Not counted: softirq or interrupt work that runs while a CPU
 * is idle (the idle task is charged nothing; on this all-virtual path nothing arrives by
 * hardware interrupt, so that is the rescheduling IPIs' share only), and the setup of
 * namespaces and rules. The forwarders' and the receiver's sockets get 16 MiB buffers and
 * the TUN queue 20 000 packets, so that a process the loaded machine deschedules queues
 * rather than drops; a packet still lost costs CPU without being delivered, as in the
 * emulator's figure, and the row's note says how many arrived.
 */
export function kernelPerPacket(mode: 'udp' | 'vxlan', n: number, rate: number): KernelCost | { why: string } {
  if (process.getuid?.() !== 0) return { why: 'not root (network namespaces need it)' };
  if (!hasTool('gcc', ['--version'])) return { why: 'gcc is not installed (Debian: apt-get install gcc)' };
  if (!hasTool('ip', ['-V'])) return { why: 'ip is not installed (Debian: apt-get install iproute2)' };
  if (!hasTool('iptables', ['--version'])) return { why: 'iptables is not installed (Debian: apt-get install iptables)' };
  const dir = fileURLToPath(new URL('./.cache/', import.meta.url));
  try {
    for (const name of ['tunproxy', 'udpblast', 'udpsink']) buildC(name, dir);
    const script = fileURLToPath(new URL('./anchors/kernel-overlay.sh', import.meta.url));
    const out = execFileSync('bash', [script, mode, String(n), String(rate), dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    const m = /result mode=\S+ tx=(\d+) rx=(\d+) procs_us=(\d+) ksoftirqd_us=(\d+) load=(\S+)/.exec(out);
    if (m === null) return { why: `kernel-overlay.sh printed no result: ${out.slice(0, 200)}` };
    const [tx, rx, procsUs, ksoftUs] = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
    if (!(rx > 0)) return { why: `kernel ${mode}: nothing delivered (${tx} sent)` };
    return { ns: ((procsUs + ksoftUs) * 1000) / rx, rx, tx, procsNs: (procsUs * 1000) / rx, ksoftirqdNs: (ksoftUs * 1000) / rx, load: m[5] ?? '?' };
  } catch (e) {
    return { why: `real-kernel anchor failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

export async function benchDatapath(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const n = Number(process.env['NETSIM_BENCH_DATAPATH_N'] ?? 200_000);
  const ns3 = ns3PerPacket();
  if ('ns' in ns3) rows.push({ name: 'baseline: ns-3.37 UdpClient over A→R→B point-to-point, CPU per delivered packet', value: ns3.ns, unit: 'ns' });
  else console.log(`  (no ns-3 baseline: ${ns3.why})`);
  const rate = Number(process.env['NETSIM_BENCH_KERNEL_RATE'] ?? 40_000);
  for (const backend of ['udp', 'vxlan'] as const) {
    const kernel = kernelPerPacket(backend, n, rate);
    if ('ns' in kernel) {
      rows.push({
        name: `baseline: real kernel, flannel ${backend === 'udp' ? 'udp (TUN + userspace forwarder)' : 'vxlan (kernel flannel.1)'}, CPU per delivered packet`,
        value: kernel.ns, unit: 'ns',
        note: `${kernel.rx}/${kernel.tx} delivered at ${rate}/s; processes ${Math.round(kernel.procsNs)} + ksoftirqd ${Math.round(kernel.ksoftirqdNs)} ns; load ${kernel.load}`,
      });
    } else console.log(`  (no real-kernel ${backend} baseline: ${kernel.why})`);
    const est = await udpFlowCost(backend, n);
    const notes: string[] = [`${est.eventsPerPacket.toFixed(2)} events run (timed and immediate), ${est.queuedPerPacket.toFixed(2)} timed entries queued a packet`];
    if ('ns' in ns3) notes.push(`ns-3 / emulator = ${(ns3.ns / est.nsPerPacket).toFixed(2)}×`);
    if ('ns' in kernel) notes.push(`kernel / emulator = ${(kernel.ns / est.nsPerPacket).toFixed(2)}×`);
    rows.push({ name: `flannel ${backend}: pod → ClusterIP → pod (other node), established UDP flow`, value: est.nsPerPacket, unit: 'ns CPU/packet', note: notes.join(', ') });
  }
  const cases: Array<[number, boolean]> = [[10, false], [10_000, false], [10, true], [10_000, true]];
  const byCase = new Map<string, number>();
  for (const [svcs, fresh] of cases) {
    const r = await udpFlowCost('udp', Math.min(n, 50_000), { extraServices: svcs, newFlows: fresh });
    byCase.set(`${svcs}/${fresh}`, r.nsPerPacket);
    const row: BenchRow = { name: `flannel udp, ${svcs} extra Services, ${fresh ? 'new flow per packet' : 'established flow'}`, value: r.nsPerPacket, unit: 'ns CPU/packet' };
    if (svcs === 10_000) row.note = `${(r.nsPerPacket / (byCase.get(`10/${fresh}`) ?? r.nsPerPacket)).toFixed(2)}× the 10-Service case`;
    rows.push(row);
  }
  return rows;
}
