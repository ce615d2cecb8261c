/**
 * `netsim verify`: one emulated node against its real twin, probe by probe.
 *
 * Order of work: plan the twin from the emulated objects, generate the probes,
 * build the twin in fresh `nsv-` namespaces, start one raw-socket agent per twin
 * namespace, tap the emulated node, then for every probe inject the same bytes into
 * both sides (the emulator first, then the kernel) and record each side's outcome.
 * Judgement, per group of probes:
 * - both sides deterministic (one outcome each): the outcomes must be equal;
 * - otherwise a random choice (statistic, masquerade ports): each side's outcomes
 *   must all be possible on the other side (the sets of outcomes — backends — are
 *   equal; an outcome only one side showed is first asked for again on the other,
 *   see askAgain), and a chi-square test of homogeneity must not reject that both are
 *   one distribution (p ≥ 0.001) — a group that fails it is drawn once more, fresh
 *   and equal-sized on both sides, and only that second sample decides (see redraw);
 * - a `random`-suite probe is one probe; the emulator runs it `emulatorRepeats`
 *   more times (with other source ports) and the kernel's outcome must be one of the
 *   emulator's outcomes.
 * Every namespace is removed afterwards, also on errors and signals.
 */
import type { TraceEvent } from '../../netsim/trace/trace-event.ts';
import { PcapngWriter } from '../../pcaps/pcapng-writer.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import type { EmulatedCluster } from '../emulated-cluster.ts';
import { cleanStaleVerifyNamespaces, NetnsSession, netnsUnavailableReason } from './raw/netns.ts';
import { planTwin, buildTwin } from './twin.ts';
import { buildFlannelProxy, startFlannelProxy } from './raw/flannel-proxy.ts';
import type { TwinPlan } from './twin.ts';
import { EmulatorSide } from './emulator-side.ts';
import { TwinSide } from './twin-side.ts';
import type { TwinTiming } from './twin-side.ts';
import { generateProbes, nodeFacts, SUITES } from './suites.ts';
import type { RulesFacts, SuiteName } from './suites.ts';
import { probeBytes, describeProbe } from './probe.ts';
import type { Observation, Probe } from './probe.ts';
import { chiSquareHomogeneity, describeObservations, outcomeSignature } from './compare.ts';
import type { Homogeneity } from './compare.ts';
import { keptInSecondDraw, oneSidedOutcomes } from './one-sided.ts';
import type { Draw } from './one-sided.ts';
import { CodedError } from '../../netsim/errors.ts';

/** Exit code of `netsim verify` when root, namespaces or raw sockets are missing. */
export const EXIT_VERIFY_UNAVAILABLE = 77;
/** Exit code when the harness itself failed (the twin could not be built, an agent died): no verdict about the emulator. */
export const EXIT_VERIFY_HARNESS = 3;

/** The verifier failed, not the emulator: nothing was judged. */
export class VerifyHarnessError extends Error {
  readonly code = 'NETSIM_VERIFY_HARNESS';
  constructor(readonly stage: string, readonly detail: string) {
    super(`netsim verify: the harness failed while ${stage}: ${detail}`);
    this.name = 'VerifyHarnessError';
  }
}

async function harness<T>(stage: string, f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw e instanceof VerifyHarnessError ? e : new VerifyHarnessError(stage, e instanceof Error ? e.message : String(e));
  }
}

export class VerifyUnavailableError extends CodedError {
  readonly code = 'NETSIM_VERIFY_UNAVAILABLE';
  constructor(readonly reason: string) {
    super(`netsim verify needs the real kernel: ${reason}`);
    this.name = 'VerifyUnavailableError';
  }
}

export interface VerifyOptions {
  readonly node: string;
  /** Probes per service group (random choices are judged over these). Default 40. */
  readonly samples?: number;
  /** Size of the randomised suite. Default 500. */
  readonly randomProbes?: number;
  readonly seed?: number;
  readonly suites?: readonly SuiteName[];
  /**
   * Extra emulator runs of each random-suite probe. Default 24: with 8, a probe to a
   * two-endpoint service had a 1 in 512 chance of the emulator never showing the
   * kernel's pick, i.e. a false disagreement in about one 500-probe run in ten.
   */
  readonly emulatorRepeats?: number;
  /**
   * Where the pcapng of each side of a disagreement goes: called with a file name
   * (`node01-probe-7-emulator.pcapng`) and the bytes, returns the path it wrote
   * (the CLI writes into --pcap-dir under its output-file rules).
   */
  readonly writePcap?: (name: string, bytes: Uint8Array) => string;
  readonly timing?: TwinTiming;
  /** Called after each probe (for progress output). */
  readonly onProbe?: (done: number, total: number) => void;
  /**
   * Real flannel devices in the twin (twin.ts {@link TwinOptions.underlay}): cross-node
   * probes are compared as the encapsulated packets each side puts on the underlay.
   * Default true; false puts sinks behind flannel's devices (egress compared before them).
   */
  readonly underlay?: boolean;
  /** Change the emulated side after the twin was built from it (tests: a deliberately broken rule). */
  readonly tamper?: (cluster: EmulatedCluster, plan: TwinPlan) => void;
}

export interface SideView {
  /** The outcome signature lines (`dropped` when nothing was seen). */
  readonly outcome: string[];
  /** The packets, tcpdump-style. */
  readonly packets: string[];
  /** Emulator only: why the emulator dropped it, from its trace. */
  readonly drops?: string[];
  readonly pcap?: string;
}

export interface Disagreement {
  readonly kind: 'probe' | 'distribution';
  readonly suite: string;
  readonly group: string;
  readonly probe?: number;
  readonly description: string;
  readonly reason: string;
  readonly emulator: SideView | { readonly counts: Record<string, number> };
  readonly kernel: SideView | { readonly counts: Record<string, number> };
  readonly pValue?: number;
  /**
   * A one-sided outcome of a group drawn twice (see redraw): each draw's outcomes, counted
   * per side (the outcome's signature lines joined by ` + `).
   */
  readonly draws?: { readonly first: DrawCounts; readonly second: DrawCounts };
}

export interface DrawCounts {
  readonly emulator: Record<string, number>;
  readonly kernel: Record<string, number>;
}

function countsOf(d: Draw): DrawCounts {
  const rec = (sigs: readonly string[]): Record<string, number> => Object.fromEntries([...outcomeCounts(sigs)].map(([k, v]) => [k.split('\n').join(' + '), v]));
  return { emulator: rec(d.emu), kernel: rec(d.kernel) };
}

export interface SuiteSummary {
  readonly suite: string;
  readonly probes: number;
  readonly agreed: number;
  readonly skipped: number;
}

export interface VerifyReport {
  readonly node: string;
  readonly probes: number;
  readonly agreed: number;
  readonly skipped: number;
  readonly disagreements: Disagreement[];
  readonly suites: SuiteSummary[];
  readonly notVerifiable: string[];
  readonly twinNamespaces: number;
  /** Packets the kernel side delivered that no probe explains (not judged). */
  readonly strays?: number;
  /** Outcomes one side showed once that a fresh draw of their group did not show again: not counted (suite: group: outcome). */
  readonly unconfirmed?: string[];
}

interface ProbeRun {
  readonly probe: Probe;
  readonly skipped: boolean;
  readonly emu: Observation[];
  readonly emuEvents: TraceEvent[];
  readonly twin: Observation[];
  readonly emuSig: string;
  twinSig: string;
  /** The kernel refused the injection (the raw socket's sendto failed). */
  readonly sendError?: string;
  /** Random suite, and the first probe of a ClientIP-sticky group: the emulator's possible outcomes (for a fresh client when sticky). */
  readonly emuSet?: Set<string>;
  /** A random probe whose kernel outcome the emulator never gave: how often fresh copies of it showed that outcome again (see redraw). */
  kernelAgain?: { readonly tries: number; readonly shown: number };
}

/**
 * IP ids of probes: far from the small per-namespace counters the emulator's own
 * packets start with, so a generated packet is never mistaken for the probe.
 */
function probeIpId(i: number): number {
  return 0xa000 + (i % 0x5fff);
}

function emuPcap(events: readonly TraceEvent[]): Uint8Array {
  const w = new PcapngWriter({ application: 'netsim verify (emulator side)' });
  const ids = new Map<string, number>();
  for (const e of events) {
    if ((e.kind !== 'rx' && e.kind !== 'tx') || e.data === undefined) continue;
    const key = `${e.netns}/${e.dev}`;
    let id = ids.get(key);
    if (id === undefined) {
      id = w.addInterface({ name: key, linkType: e.linkType === 'raw-ip' ? 101 : 1 });
      ids.set(key, id);
    }
    w.writePacket({ interfaceId: id, timestampNs: BigInt(e.t), data: e.data, direction: e.kind === 'rx' ? 'inbound' : 'outbound', comment: `trace ${e.pkt}` });
  }
  return w.toBytes();
}

function twinPcap(probe: Probe, bytes: Uint8Array, obs: readonly Observation[]): Uint8Array {
  const w = new PcapngWriter({ application: 'netsim verify (kernel side)', comment: 'raw IPv4 as the raw sockets of each twin namespace received it' });
  const ids = new Map<string, number>();
  const idOf = (name: string): number => {
    let id = ids.get(name);
    if (id === undefined) {
      id = w.addInterface({ name, linkType: 101, description: name === `${probe.from} (sent)` ? 'the injected probe' : `received in ${name}` });
      ids.set(name, id);
    }
    return id;
  };
  w.writePacket({ interfaceId: idOf(`${probe.from} (sent)`), timestampNs: 0n, data: bytes, direction: 'outbound' });
  obs.forEach((o, i) => w.writePacket({ interfaceId: idOf(o.where), timestampNs: BigInt(i + 1) * 1000n, data: o.bytes, direction: 'inbound' }));
  return w.toBytes();
}

function dropsOf(events: readonly TraceEvent[]): string[] {
  return events.filter((e): e is Extract<TraceEvent, { kind: 'drop' }> => e.kind === 'drop').map((e) => `${e.netns}${e.dev !== undefined ? `/${e.dev}` : ''}: ${e.reason} (${e.detail})`);
}

export async function verifyNode(cluster: EmulatedCluster, opts: VerifyOptions): Promise<VerifyReport> {
  const why = netnsUnavailableReason();
  if (why !== undefined) throw new VerifyUnavailableError(why);
  const samples = opts.samples ?? 40;
  const repeats = opts.emulatorRepeats ?? 24;
  const plan = planTwin(cluster, opts.node, { underlay: opts.underlay !== false });
  let proxyBin: string | undefined;
  if (plan.flannelProxies.length > 0) {
    const b = buildFlannelProxy();
    if ('reason' in b) throw new VerifyUnavailableError(b.reason);
    proxyBin = b.bin;
  }
  const templates = generateProbes(cluster, plan, { samples, randomProbes: opts.randomProbes ?? 500, seed: opts.seed ?? 1, ...(opts.suites !== undefined ? { suites: opts.suites } : {}) });
  const probes: Probe[] = templates.map((t, i) => ({ ...t, index: i, sport: 20000 + (i % 20000), ipId: probeIpId(i) }));
  const facts = nodeFacts(cluster, opts.node);
  const known = new Set<number>([...facts.ports, 53, 80, 443, 8080]);
  for (const s of cluster.services.values()) for (const p of s.ports) {
    known.add(p.port);
    if (p.nodePort !== undefined) known.add(p.nodePort);
  }
  for (const p of probes) if (p.dport > 0) known.add(p.dport);

  // Namespaces of earlier runs that were killed before they could clean up.
  cleanStaleVerifyNamespaces();
  const session = new NetnsSession();
  const runs: ProbeRun[] = [];
  let emu: EmulatorSide | undefined;
  let twinSide: TwinSide | undefined;
  let strays = 0;
  const podOfIp = new Map<string, string>();
  for (const p of cluster.pods.values()) podOfIp.set(formatIpv4(p.ip), p.key);
  const extras = new Map<string, GroupExtras>();
  try {
    const twin = await harness('building the twin namespaces', () => buildTwin(plan, session));
    const nodeNs = twin.nsByLabel.get('node') as string;
    await harness('starting the twin\'s flanneld udp proxy', () => Promise.all(plan.flannelProxies.map((p) => startFlannelProxy(proxyBin as string, session, nodeNs, p))));
    twinSide = await harness('starting the raw-socket agents', () => TwinSide.start(twin, session, opts.timing));
    const ts = twinSide;
    opts.tamper?.(cluster, plan);
    emu = new EmulatorSide(plan);
    const side = emu;
    let repeatPort = 40000;
    /** `probe` once more on the emulator with a fresh source port (as a fresh client when `fresh`): its outcome and packet count. */
    const emuAgain = (probe: Probe, fresh: boolean): { sig: string; count: number } => {
      const again: Probe = { ...probe, sport: repeatPort, ipId: probeIpId(repeatPort) };
      repeatPort = repeatPort >= 64999 ? 40000 : repeatPort + 1;
      const obs = (fresh ? side.runFresh(again, probeBytes(again)) : side.run(again, probeBytes(again))).obs;
      return { sig: outcomeSignature(obs, again, known), count: obs.length };
    };
    // How many packets the kernel side waits for: the fewest the emulator saw for the group. The kernel may
    // pick another backend than the emulator did, with fewer packets (a remote one: the SYN leaves; a local
    // one: the SYN and the pod's RST), and waiting for the emulator's count would then take the whole
    // expectMs. A packet that comes later still counts: packets are attributed by content, and the final
    // drain waits for the emulator's own count of each probe (on a loaded machine a RST can come 100 ms late).
    const fewest = new Map<string, number>();
    for (const probe of probes) {
      if (probe.skip !== undefined) {
        runs.push({ probe, skipped: true, emu: [], emuEvents: [], twin: [], emuSig: '', twinSig: '' });
        opts.onProbe?.(runs.length, probes.length);
        continue;
      }
      const bytes = probeBytes(probe);
      const e = emu.run(probe, bytes);
      const emuSig = outcomeSignature(e.obs, probe, known);
      const sticky = probe.service !== undefined && facts.sticky.has(probe.service);
      const firstOfGroup = !fewest.has(probe.group);
      let expected = Math.min(e.obs.length, fewest.get(probe.group) ?? Infinity);
      // A random probe, or the first of a ClientIP-sticky group: the outcomes the emulator can give it (for a fresh client when sticky).
      let emuSet: Set<string> | undefined;
      if (probe.suite === 'random' || (sticky && firstOfGroup)) {
        emuSet = new Set([emuSig]);
        for (let k = 0; k < repeats; k++) {
          const a = emuAgain(probe, sticky);
          emuSet.add(a.sig);
          expected = Math.min(expected, a.count);
        }
      } else if (firstOfGroup && probe.service !== undefined) {
        for (let k = 0; k < 6; k++) expected = Math.min(expected, emuAgain(probe, false).count);
      }
      fewest.set(probe.group, expected);
      // The drain at the end still waits (up to lateMs) for as many as the emulator saw for this very probe.
      const t = await harness(`probing the kernel (probe ${probe.index})`, () => ts.run(probe, bytes, expected, e.obs.length));
      // The kernel's signature is taken once every late packet had its chance (below).
      runs.push({
        probe, skipped: false, emu: e.obs, emuEvents: e.events, twin: t.obs, emuSig, twinSig: '',
        ...(t.sendError !== undefined ? { sendError: t.sendError } : {}), ...(emuSet !== undefined ? { emuSet } : {}),
      });
      opts.onProbe?.(runs.length, probes.length);
    }
    await harness('waiting for late packets', () => ts.drain());
    for (const r of runs) if (!r.skipped) r.twinSig = outcomeSignature(r.twin, r.probe, known);
    const next = { index: probes.length };
    await harness('asking again for rare outcomes', () => askAgain({ runs, facts, podOfIp, repeats, samples, emuAgain, ts, next, known, extras }));
    await harness('drawing again the groups whose distributions differ', () => redraw({ runs, facts, emuAgain, ts, next, known, extras }));
    strays = ts.strays;
  } finally {
    emu?.dispose();
    twinSide?.close();
    session.dispose();
  }
  return { ...judge(opts, plan, runs, facts, podOfIp, extras), strays };
}

/** What asking again and drawing again work from: the first pass, and both sides to ask. */
interface SecondLook {
  readonly runs: readonly ProbeRun[];
  readonly facts: RulesFacts;
  /** `probe` once more on the emulator with a fresh source port (as a fresh client when `fresh`). */
  readonly emuAgain: (probe: Probe, fresh: boolean) => { sig: string; count: number };
  readonly ts: TwinSide;
  /** The next probe index on the kernel side (each fresh probe gets its own source port and IP id). */
  readonly next: { index: number };
  readonly known: ReadonlySet<number>;
  readonly extras: Map<string, GroupExtras>;
}

/** What each side showed for a group when asked again (see {@link askAgain}). */
interface GroupExtras {
  readonly emu: Set<string>;
  readonly kernel: Set<string>;
  emuTries: number;
  kernelTries: number;
  /**
   * The fresh, equal-sized draw of both sides made when the first showed an outcome on
   * one side only or failed the chi-square test (then with the first's test; see {@link redraw}).
   */
  second?: Draw & { readonly first?: Homogeneity };
}

/**
 * How many tries make missing one of `k` equally likely outcomes (a backend of k)
 * a one-in-a-million chance: the least n with (1 − 1/k)^n < 1e-6 (k = 2: 20, 4: 49).
 */
export function triesToSee(k: number): number {
  return k <= 1 ? 0 : Math.ceil(Math.log(1e-6) / Math.log(1 - 1 / k));
}

/**
 * A backend one side never showed may only be rare: with four endpoints each is a
 * quarter of the picks, and 20 samples miss one of them once in 300 (24 emulator
 * repeats of a random probe, once in 1000) — a false disagreement in most runs of a
 * cluster with many such groups. Before an outcome only one side showed counts, the
 * other side is asked again with fresh source ports until it shows it or the tries
 * are spent: the emulator (cheap) up to 8 × `repeats` times, the kernel up to
 * 2 × `samples` times and at least {@link triesToSee} the group's outcomes (with 8
 * samples, 8 + 16 kernel probes missed one of four backends once in a thousand groups:
 * a false disagreement in about one run of the three-node example in four, 3 of 7
 * here). A side that truly cannot produce the outcome still never shows it. Extra
 * tries only widen the sets of possible outcomes; the chi-square test stays on the
 * group's own, equal-sized samples.
 */
async function askAgain(a: SecondLook & {
  podOfIp: ReadonlyMap<string, string>;
  repeats: number;
  samples: number;
}): Promise<void> {
  const emuTries = 8 * a.repeats;
  for (const r of a.runs) {
    // A random probe, or the first of a ClientIP-sticky group: the kernel's outcome must be one the emulator can give.
    if (r.skipped || r.emuSet === undefined) continue;
    const sticky = r.probe.service !== undefined && a.facts.sticky.has(r.probe.service);
    const norm = sticky ? normaliser(a.facts, r.probe.service as string, a.podOfIp) : (s: string): string => s;
    const want = norm(r.twinSig);
    for (let k = 0; k < emuTries && ![...r.emuSet].some((e) => norm(e) === want); k++) r.emuSet.add(a.emuAgain(r.probe, sticky).sig);
  }
  const pending: Array<{ ex: GroupExtras; probe: Probe; obs: Observation[] }> = [];
  for (const [group, rs] of groupsOf(a.runs)) {
    const first = rs[0] as ProbeRun;
    if (!judgedAsDistribution(first, a.facts)) continue;
    const emuSet = new Set(rs.map((r) => r.emuSig));
    const twinSet = new Set(rs.map((r) => r.twinSig));
    // Deterministic on both sides: judged as it is.
    if (emuSet.size === 1 && twinSet.size === 1) continue;
    const ex: GroupExtras = { emu: new Set(), kernel: new Set(), emuTries: 0, kernelTries: 0 };
    a.extras.set(group, ex);
    const kernelOnly = [...twinSet].filter((s) => !emuSet.has(s));
    while (ex.emuTries < emuTries && kernelOnly.some((s) => !ex.emu.has(s))) {
      ex.emuTries++;
      ex.emu.add(a.emuAgain(first.probe, false).sig);
    }
    const emuOnly = [...emuSet].filter((s) => !twinSet.has(s));
    const kernelTries = Math.max(2 * a.samples, triesToSee(new Set([...emuSet, ...twinSet]).size));
    while (ex.kernelTries < kernelTries && emuOnly.some((s) => !ex.kernel.has(s))) {
      ex.kernelTries++;
      const probe = freshProbe(first.probe, a.next);
      const t = await a.ts.run(probe, probeBytes(probe), ...packetsOwed(rs));
      pending.push({ ex, probe, obs: t.obs });
      // Judged now to know when to stop; taken again below, once late packets had their chance.
      ex.kernel.add(outcomeSignature(t.obs, probe, a.known));
    }
  }
  if (pending.length === 0) return;
  await a.ts.drain();
  for (const ex of a.extras.values()) ex.kernel.clear();
  for (const p of pending) p.ex.kernel.add(outcomeSignature(p.obs, p.probe, a.known));
}

/** The same probe as a new one on the kernel side: the next index, its own source port and IP id. */
function freshProbe(probe: Probe, next: { index: number }): Probe {
  const index = next.index++;
  return { ...probe, index, sport: 20000 + (index % 20000), ipId: probeIpId(index) };
}

/** How many packets the kernel side waits for on a fresh probe of a group: the fewest and the most the emulator saw. */
function packetsOwed(rs: readonly ProbeRun[]): [number, number] {
  return [Math.min(...rs.map((r) => r.emu.length)), Math.max(...rs.map((r) => r.emu.length))];
}

/** A group of service probes without ClientIP affinity: a random choice, judged by its distribution. */
function judgedAsDistribution(first: ProbeRun, facts: RulesFacts): boolean {
  return first.probe.suite !== 'random' && !(first.probe.service !== undefined && facts.sticky.has(first.probe.service));
}

function outcomeCounts(sigs: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of sigs) m.set(s, (m.get(s) ?? 0) + 1);
  return m;
}

/** Below this p, two samples are judged to come from different distributions. */
const DISTRIBUTION_ALPHA = 0.001;

/**
 * A chi-square test at p < 0.001 still rejects one group in a thousand that truly is
 * one distribution, and a run judges hundreds of groups (CI once failed on p = 5e-4
 * for a 50/50 NodePort split). A group that fails is therefore drawn once more, fresh
 * and equal-sized on both sides, and only that second sample decides: a false alarm
 * then needs two independent one-in-a-thousand chances, while a real difference
 * (another weight, a missing rule) shows again in the second sample.
 * A group with an outcome one side showed and the other never did, even when asked
 * again, is drawn once more too, at least {@link triesToSee} its outcomes a side: the
 * outcome counts only if its side shows it again (one-sided.ts) — a one-in-65 536
 * coincidence (a --random-fully masquerade drawing the probe's own port) does not, a
 * rule broken on one side does. A random probe likewise: fresh copies go to the kernel.
 */
async function redraw(a: SecondLook): Promise<void> {
  const pending: Array<{ group: string; emu: string[]; probes: Probe[]; obs: Observation[][]; first?: Homogeneity }> = [];
  for (const [group, rs] of groupsOf(a.runs)) {
    const first = rs[0] as ProbeRun;
    if (!judgedAsDistribution(first, a.facts)) continue;
    const ex = a.extras.get(group);
    if (ex === undefined) continue;
    const missing = outcomesMissing(rs, ex);
    const h = chiSquareHomogeneity(outcomeCounts(rs.map((r) => r.emuSig)), outcomeCounts(rs.map((r) => r.twinSig)));
    if (!missing && h.pValue >= DISTRIBUTION_ALPHA) continue;
    const n = missing ? Math.max(rs.length, triesToSee(new Set([...rs.map((r) => r.emuSig), ...rs.map((r) => r.twinSig)]).size)) : rs.length;
    const p = { group, emu: [] as string[], probes: [] as Probe[], obs: [] as Observation[][], ...(missing ? {} : { first: h }) };
    for (let k = 0; k < n; k++) {
      p.emu.push(a.emuAgain(first.probe, false).sig);
      const probe = freshProbe(first.probe, a.next);
      p.probes.push(probe);
      p.obs.push((await a.ts.run(probe, probeBytes(probe), ...packetsOwed(rs))).obs);
    }
    pending.push(p);
  }
  // A random probe (without affinity) whose kernel outcome the emulator never gave, even asked again: the kernel is
  // sent fresh copies until it shows that outcome again or triesToSee the outcomes are spent.
  const randoms: Array<{ r: ProbeRun; probes: Probe[]; obs: Observation[][] }> = [];
  for (const r of a.runs) {
    if (r.skipped || r.probe.suite !== 'random' || r.emuSet === undefined || r.emuSet.has(r.twinSig)) continue;
    if (r.probe.service !== undefined && a.facts.sticky.has(r.probe.service)) continue;
    const x = { r, probes: [] as Probe[], obs: [] as Observation[][] };
    for (let k = 0; k < triesToSee(r.emuSet.size + 1); k++) {
      const probe = freshProbe(r.probe, a.next);
      const t = await a.ts.run(probe, probeBytes(probe), r.emu.length);
      x.probes.push(probe);
      x.obs.push(t.obs);
      // Judged now to know when to stop; taken again below, once late packets had their chance.
      if (outcomeSignature(t.obs, probe, a.known) === r.twinSig) break;
    }
    randoms.push(x);
  }
  // A ClientIP-sticky group where one client got more than one outcome on a side: the same client draws the group
  // again on both sides. Broken affinity breaks again; a one-off (the masquerade's one-in-65 536 port) does not.
  for (const [group, rs] of groupsOf(a.runs)) {
    const first = rs[0] as ProbeRun;
    if (first.probe.suite === 'random' || first.probe.service === undefined || !a.facts.sticky.has(first.probe.service)) continue;
    if (new Set(rs.map((r) => r.emuSig)).size === 1 && new Set(rs.map((r) => r.twinSig)).size === 1) continue;
    const p = { group, emu: [] as string[], probes: [] as Probe[], obs: [] as Observation[][] };
    for (let k = 0; k < rs.length; k++) {
      p.emu.push(a.emuAgain(first.probe, false).sig);
      const probe = freshProbe(first.probe, a.next);
      p.probes.push(probe);
      p.obs.push((await a.ts.run(probe, probeBytes(probe), ...packetsOwed(rs))).obs);
    }
    if (!a.extras.has(group)) a.extras.set(group, { emu: new Set(), kernel: new Set(), emuTries: 0, kernelTries: 0 });
    pending.push(p);
  }
  if (pending.length === 0 && randoms.length === 0) return;
  await a.ts.drain();
  for (const x of randoms) {
    x.r.kernelAgain = { tries: x.probes.length, shown: x.probes.filter((probe, i) => outcomeSignature(x.obs[i] as Observation[], probe, a.known) === x.r.twinSig).length };
  }
  for (const p of pending) {
    (a.extras.get(p.group) as GroupExtras).second = {
      emu: p.emu, kernel: p.probes.map((probe, i) => outcomeSignature(p.obs[i] as Observation[], probe, a.known)), ...(p.first !== undefined ? { first: p.first } : {}),
    };
  }
}

/** Whether some outcome of a distribution group was shown by one side only, even when asked again. */
function outcomesMissing(rs: readonly ProbeRun[], ex: GroupExtras): boolean {
  const o = oneSidedOutcomes(firstDraw(rs), ex);
  return o.kernelOnly.size > 0 || o.emuOnly.size > 0;
}

function firstDraw(rs: readonly ProbeRun[]): Draw {
  return { emu: rs.map((r) => r.emuSig), kernel: rs.map((r) => r.twinSig) };
}

function groupsOf(runs: readonly ProbeRun[]): Map<string, ProbeRun[]> {
  const groups = new Map<string, ProbeRun[]>();
  for (const r of runs) {
    if (r.skipped) continue;
    const g = groups.get(r.probe.group) ?? [];
    g.push(r);
    groups.set(r.probe.group, g);
  }
  return groups;
}

function normaliser(facts: RulesFacts, service: string, podOfIp: ReadonlyMap<string, string>): (sig: string) => string {
  const eps = facts.endpoints.get(service) ?? new Set<string>();
  return (sig) => withoutBackend(sig, eps, podOfIp);
}

function sideView(obs: readonly Observation[], sig: string, extra: { drops?: string[]; pcap?: string }): SideView {
  return { outcome: sig.split('\n'), packets: describeObservations(obs), ...(extra.drops !== undefined && extra.drops.length > 0 ? { drops: extra.drops } : {}), ...(extra.pcap !== undefined ? { pcap: extra.pcap } : {}) };
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * An outcome with the backend made anonymous: the endpoint addresses of `service`
 * become `$ep` and the endpoint pods' labels `$ep-pod`. Under ClientIP affinity each
 * side picks a backend once per client and keeps it, so which one it picked is not a
 * property two kernels can share — that it is kept, and what happens to the packet, are.
 */
function withoutBackend(sig: string, eps: ReadonlySet<string>, podOfIp: ReadonlyMap<string, string>): string {
  let s = sig;
  for (const ip of eps) {
    s = s.replace(new RegExp(`(?<![\\d.])${escapeRe(ip)}(?![\\d])`, 'g'), '$ep');
    const pod = podOfIp.get(ip);
    if (pod !== undefined) s = s.replace(new RegExp(`^${escapeRe(pod)}:`, 'gm'), '$ep-pod:');
  }
  return s.split('\n').sort().join('\n');
}

function judge(opts: VerifyOptions, plan: TwinPlan, runs: readonly ProbeRun[], facts: RulesFacts, podOfIp: ReadonlyMap<string, string>, extras: ReadonlyMap<string, GroupExtras>): VerifyReport {
  const bad = new Set<ProbeRun>();
  const disagreements: Disagreement[] = [];
  const unconfirmed: string[] = [];
  const probeDisagreement = (r: ProbeRun, reason: string, draws?: Disagreement['draws']): void => {
    bad.add(r);
    let pe: string | undefined;
    let pk: string | undefined;
    if (opts.writePcap !== undefined) {
      pe = opts.writePcap(`${plan.node}-probe-${r.probe.index}-emulator.pcapng`, emuPcap(r.emuEvents));
      pk = opts.writePcap(`${plan.node}-probe-${r.probe.index}-kernel.pcapng`, twinPcap(r.probe, probeBytes(r.probe), r.twin));
    }
    disagreements.push({
      kind: 'probe', suite: r.probe.suite, group: r.probe.group, probe: r.probe.index,
      description: `${r.probe.description}: ${describeProbe(r.probe)} sport ${r.probe.sport}`, reason,
      emulator: sideView(r.emu, r.emuSig, { drops: dropsOf(r.emuEvents), ...(pe !== undefined ? { pcap: pe } : {}) }),
      kernel: sideView(r.twin, r.twinSig, { ...(pk !== undefined ? { pcap: pk } : {}), ...(r.sendError !== undefined ? { drops: [`injection failed: ${r.sendError}`] } : {}) }),
      ...(draws !== undefined ? { draws } : {}),
    });
  };
  for (const [group, rs] of groupsOf(runs)) {
    const first = rs[0] as ProbeRun;
    const sticky = first.probe.service !== undefined && facts.sticky.has(first.probe.service);
    if (sticky) {
      // ClientIP affinity is judged as the property it is: one client keeps its backend on each side.
      const norm = normaliser(facts, first.probe.service as string, podOfIp);
      if (first.probe.suite === 'random') {
        for (const r of rs) if (![...(r.emuSet as Set<string>)].some((e) => norm(e) === norm(r.twinSig))) probeDisagreement(r, 'different outcome (backend choice aside: ClientIP affinity)');
        continue;
      }
      const emuSet = new Set(rs.map((r) => r.emuSig));
      const twinSet = new Set(rs.map((r) => r.twinSig));
      let kept = first.twinSig;
      if (emuSet.size > 1 || twinSet.size > 1) {
        const second = extras.get(group)?.second;
        const held = second === undefined ? undefined : keptInSecondDraw(firstDraw(rs), second);
        if (held === undefined) {
          const r = rs.find((x) => x.emuSig !== first.emuSig || x.twinSig !== first.twinSig) ?? first;
          probeDisagreement(r, `ClientIP affinity not kept by the ${emuSet.size > 1 ? 'emulator' : 'kernel'}: one client got ${Math.max(emuSet.size, twinSet.size)} different outcomes${second !== undefined ? `, and again in a fresh draw of ${second.emu.length}` : ''}`);
          for (const x of rs) bad.add(x);
          continue;
        }
        const odd = [...emuSet, ...twinSet].filter((o) => o !== held.emu && o !== held.kernel);
        for (const o of new Set(odd)) unconfirmed.push(`${first.probe.suite}: ${first.probe.description}: ${o.split('\n').join(' + ')} (one client, ClientIP affinity; kept in a fresh draw of ${second?.emu.length})`);
        kept = held.kernel;
      }
      // The kernel's pick must be one a fresh client can get from the emulator (which backend is chance).
      const possible = new Set([...(first.emuSet ?? new Set([first.emuSig]))].map(norm));
      if (!possible.has(norm(kept))) for (const r of rs) probeDisagreement(r, 'the kernel\'s outcome is none a fresh client gets from the emulator (backend choice aside: ClientIP affinity)');
      continue;
    }
    if (first.probe.suite === 'random') {
      for (const r of rs) {
        if ((r.emuSet as Set<string>).has(r.twinSig)) continue;
        const k = r.kernelAgain;
        // Shown once and never again in fresh copies of the probe: not counted (see one-sided.ts).
        if (k !== undefined && k.shown === 0) unconfirmed.push(`random: ${r.probe.description}: ${r.twinSig.split('\n').join(' + ')}`);
        else probeDisagreement(r, `${(r.emuSet as Set<string>).size > 1 ? 'the kernel chose an outcome the emulator never produces' : 'different outcome'}${k !== undefined ? `; it showed again in ${k.shown} of ${k.tries} fresh copies of the probe` : ''}`);
      }
      continue;
    }
    const emuSet = new Set(rs.map((r) => r.emuSig));
    const twinSet = new Set(rs.map((r) => r.twinSig));
    if (emuSet.size === 1 && twinSet.size === 1) {
      for (const r of rs) if (r.emuSig !== r.twinSig) probeDisagreement(r, 'different outcome');
      continue;
    }
    // A random choice: same possible outcomes (counting what each side showed when asked again and
    // whether a one-sided outcome showed again in the second draw), same distribution.
    const ex = extras.get(group);
    const second = ex?.second;
    const one = oneSidedOutcomes(firstDraw(rs), ex ?? { emu: new Set(), kernel: new Set() }, second);
    for (const o of one.unconfirmed) unconfirmed.push(`${first.probe.suite}: ${first.probe.description}: ${o.split('\n').join(' + ')}`);
    const draws = second !== undefined ? { first: countsOf(firstDraw(rs)), second: countsOf(second) } : undefined;
    const again = (side: readonly string[] | undefined, o: string): string => (side === undefined ? '' : `; it showed again in a fresh draw of the group, ${side.filter((x) => x === o).length} of ${side.length}`);
    let reported = 0;
    for (const r of rs) {
      if (one.kernelOnly.has(r.twinSig) || one.emuOnly.has(r.emuSig)) {
        // Report the first few in full; count all.
        if (reported++ < 3) {
          probeDisagreement(r, one.kernelOnly.has(r.twinSig)
            ? `the kernel produced an outcome the emulator never did in this group (nor in ${ex?.emuTries ?? 0} more tries${second !== undefined ? ` and ${second.emu.length} fresh ones` : ''})${again(second?.kernel, r.twinSig)}`
            : `the emulator produced an outcome the kernel never did in this group (nor in ${ex?.kernelTries ?? 0} more tries${second !== undefined ? ` and ${second.kernel.length} fresh ones` : ''})${again(second?.emu, r.emuSig)}`, draws);
        } else bad.add(r);
      }
    }
    if (reported > 0) continue;
    // The second, fresh draw decides when there is one (see redraw).
    const ce = outcomeCounts(second?.emu ?? rs.map((r) => r.emuSig));
    const ck = outcomeCounts(second?.kernel ?? rs.map((r) => r.twinSig));
    const h = chiSquareHomogeneity(ce, ck);
    if (h.pValue < DISTRIBUTION_ALPHA) {
      for (const r of rs) bad.add(r);
      const names = new Map<string, string>();
      [...new Set([...ce.keys(), ...ck.keys()])].forEach((k, i) => names.set(k, `outcome ${i + 1}: ${k.split('\n')[0] ?? k}`));
      const counts = (m: Map<string, number>): Record<string, number> => Object.fromEntries([...m].map(([k, v]) => [names.get(k) as string, v]));
      const stat = (x: Homogeneity): string => `chi-square ${x.statistic.toFixed(2)}, df ${x.df}, p ${x.pValue.toExponential(2)}`;
      const f = ex?.second?.first;
      disagreements.push({
        kind: 'distribution', suite: first.probe.suite, group, description: first.probe.description,
        reason: `distributions differ (${stat(h)}${f !== undefined ? `; in a fresh sample of both sides after the first gave ${stat(f)}` : ''})`,
        emulator: { counts: counts(ce) }, kernel: { counts: counts(ck) }, pValue: h.pValue,
      });
    }
  }
  const suites: SuiteSummary[] = [];
  for (const s of SUITES) {
    const rs = runs.filter((r) => r.probe.suite === s);
    if (rs.length === 0) continue;
    const skipped = rs.filter((r) => r.skipped).length;
    suites.push({ suite: s, probes: rs.length, skipped, agreed: rs.filter((r) => !r.skipped && !bad.has(r)).length });
  }
  const skipped = runs.filter((r) => r.skipped).length;
  return {
    node: plan.node,
    probes: runs.length,
    agreed: runs.filter((r) => !r.skipped && !bad.has(r)).length,
    skipped,
    disagreements,
    suites,
    notVerifiable: plan.notVerifiable,
    twinNamespaces: plan.namespaces.length,
    ...(unconfirmed.length > 0 ? { unconfirmed } : {}),
  };
}
